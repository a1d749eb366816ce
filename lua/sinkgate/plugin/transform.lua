-- sinkgate.plugin.transform — a transform plugin in front of a sink's
-- encoders (the sink option `transform`). Until views (sg.view) take
-- transforms, this is where one runs: at plan time its `columns` function
-- gives the relation the sink publishes (so JSON, Avro schemas, TEXT/BYTES
-- checks and keys all see the transformed columns); at run time the rows a
-- range of updates references are rewritten into a second batch, with a
-- copy of the updates pointing at them: consolidation stays on the input,
-- and the built-in C encoders encode the result exactly as they encode any
-- row. The view owner can call M.relation / M.runner the same way for
-- `sg.view { from = src, transform = redact { … } }`.
--
-- Column shape given to and taken from columns(): { name =, type = "sql type
-- text", nullable =, comment = }. Key columns must pass through unchanged.
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"
local types = require "sinkgate.types"
local check = require "sinkgate.rows_check"

local C, ffi = core.C, core.ffi
local M = {}

-- The columns as plugins see them: { name =, type = "sql text", nullable =, comment = }.
local function public_columns(rel)
  local out = {}
  for i, c in ipairs(rel.columns) do
    out[i] = { name = c.name, type = types.render(c.type), nullable = c.nullable, comment = c.comment }
  end
  return out
end

M.public_columns = public_columns

-- The relation after the transform (the source's when it fails, with problems).
function M.relation(src, o, path, problems)
  local t = o.transform
  local p = path .. ".transform"
  local cols = public_columns(src)
  if t.runtime.columns then
    local ok, res = pcall(t.runtime.columns, cols, { key = o.key or {}, relation = src.name })
    if not ok or type(res) ~= "table" then
      problems[#problems + 1] = ("%s: plugin %s: columns() %s"):format(p, t.plugin.name,
        ok and ("returned " .. type(res) .. ", expected a list of columns") or ("failed: " .. tostring(res)))
      return src
    end
    cols = res
  end
  local out = relation.new(src.name, {}, {})
  local by_name = {}
  for _, c in ipairs(src.columns) do by_name[c.name] = c end
  for i, c in ipairs(cols) do
    local orig = by_name[c.name]
    local ty, err
    if orig and c.type == types.render(orig.type) then ty = orig.type else ty, err = types.parse(c.type) end
    if type(c.name) ~= "string" or not ty then
      problems[#problems + 1] = ("%s: plugin %s: column %d: %s"):format(p, t.plugin.name, i,
        err or "expected { name =, type = }")
      return src
    end
    out.columns[i] = { name = c.name, type = ty, nullable = c.nullable ~= false, comment = c.comment }
    out.index[c.name] = i
  end
  -- keys survive when all their columns do, with the same type
  local function same(col)
    local a, b = by_name[col], out.columns[out.index[col] or 0]
    return a and b and types.render(a.type) == types.render(b.type)
  end
  for _, key in ipairs(src.keys) do
    local all = true
    for _, col in ipairs(key) do all = all and same(col) end
    if all then out.keys[#out.keys + 1] = key end
  end
  for i, col in ipairs(o.key or {}) do
    if by_name[col] and not same(col) then
      problems[#problems + 1] = ("%s.key[%d]: plugin %s changes or drops key column \"%s\"; keys must pass " ..
        "through a transform unchanged"):format(path, i, t.plugin.name, col)
    end
  end
  return out
end

-- The run-time side: rewrite(batch, u, from, to) transforms the rows that
-- updates [from, to) of u reference (each once) into the output batch and
-- returns it with a copy of those updates pointing at the output rows
-- (items [0, to - from)), so a range costs its own rows, not the whole
-- batch (a snapshot split across transactions). skipped[k] marks update k
-- whose row raised under on_error = "count" (its message is left out).
function M.runner(plan, problems, counters)
  local t = plan.opts.transform
  local self = { skipped = {}, fn = t.runtime.row, name = t.plugin.name }
  self.out = ffi.gc(C.sg_batch_new(plan.relation:c_schema(), 4096), C.sg_batch_free)
  local fail = plan.opts.on_error == "fail"
  local path = "sinks." .. plan.name .. ".transform"
  counters.plugin_errors = counters.plugin_errors or 0
  function self.rewrite(_, src, u, from, to)
    local out, fn = self.out, self.fn
    C.sg_batch_clear(out)
    local n = to - from
    local items = ffi.new("sg_update[?]", math.max(1, n))
    local upd = ffi.new("sg_updates[1]")
    upd[0].items, upd[0].n, upd[0].cap = items, n, n
    local view = rows.view(plan.source_relation, src)
    local map, bad, failure = {}, {}, nil
    local function row_index(r)
      if r < 0 then return -1 end
      local m = map[r]
      if m then return m end
      local ok, res = pcall(fn, view:at(r))
      local err
      if ok then
        local _, perr = rows.push(out, plan.relation, src.times[r], src.diffs[r], res)
        if perr then err = "returned a row that does not fit: " .. perr end
      else
        local where, msg = check.raised_at(fn, res)
        err = where .. ": " .. msg
      end
      if err then
        local where, msg = err:match("^(%S-:%d+): (.*)$")
        local text = where and ("%s: %s: plugin %s: %s"):format(where, path, self.name, msg)
          or ("%s: plugin %s: %s"):format(path, self.name, err)
        if fail then failure = failure or text .. " (on_error = \"fail\")" end
        counters.plugin_errors = counters.plugin_errors + 1
        problems:note("plugin_errors", text, "the message was not sent")
        C.sg_batch_push_row(out, src.times[r], src.diffs[r]) -- a placeholder, never sent
        bad[out.nrows - 1] = true
      end
      map[r] = out.nrows - 1
      return map[r]
    end
    local skipped = {}
    for i = from, to - 1 do
      local s, d = u.items[i], items[i - from]
      d.time, d.before, d.after = s.time, row_index(s.before), row_index(s.after)
      if failure then return nil, failure end
      if bad[d.before] or bad[d.after] then skipped[i - from] = true end
    end
    self.skipped = skipped
    return out, upd, items
  end
  return self
end

return M
