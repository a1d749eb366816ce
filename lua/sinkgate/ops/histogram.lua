-- sinkgate.ops.histogram — a cumulative histogram with fixed upper bounds,
-- as Prometheus exposes one (_bucket{le}, _sum, _count). Observing is a
-- short loop over the bounds: cheap enough per committed tick.
local M = {}
M.__index = M

-- Commit latency, milliseconds: from a tick's time to the end of the
-- commit that made it visible.
M.LATENCY_MS = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000 }

function M.new(bounds)
  local counts = {}
  for i = 1, #bounds do counts[i] = 0 end
  return setmetatable({ bounds = bounds, counts = counts, sum = 0, count = 0 }, M)
end

function M:observe(v)
  self.sum, self.count = self.sum + v, self.count + 1
  local b = self.bounds
  for i = #b, 1, -1 do
    if v > b[i] then break end
    self.counts[i] = self.counts[i] + 1
  end
end

return M
