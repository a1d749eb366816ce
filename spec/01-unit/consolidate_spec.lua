-- Consolidation and key pairing of a batch into updates (core/sink/consolidate.c).
local core = require "sinkgate.core"
local relation = require "sinkgate.relation"
local rows = require "sinkgate.rows"

local C, ffi = core.C, core.ffi

local rel = assert(relation.new("t", { { "k", "bigint" }, { "v", "text" } }, { { "k" } }))

-- changes: { {time, diff, k, v}, … } → list of "time:before>after" strings
local function consolidate(changes, key, since, as_of)
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 8), C.sg_batch_free)
  for _, ch in ipairs(changes) do
    local r = C.sg_batch_push_row(b, ch[1], ch[2])
    rows.set(b, r, 0, rel.columns[1].type, ch[3])
    rows.set(b, r, 1, rel.columns[2].type, ch[4])
  end
  local u = ffi.gc(ffi.new("sg_updates[1]"), C.sg_updates_free)
  local cols = ffi.new("int[1]", 0)
  assert(C.sg_consolidate(b, cols, key and 1 or 0, since or 0, as_of or -1, u, core.errbuf, core.ERRLEN) == 0)
  local function show(r)
    if r < 0 then return "-" end
    return rows.get(b, r, 0, rel.columns[1].type) .. "=" .. tostring(rows.get(b, r, 1, rel.columns[2].type))
  end
  local out = {}
  for i = 0, u[0].n - 1 do
    local it = u[0].items[i]
    out[#out + 1] = ("%d:%s>%s"):format(tonumber(it.time), show(it.before), show(it.after))
  end
  table.sort(out)
  return out, tonumber(u[0].multi_key)
end

describe("consolidation", function()
  it("drops changes that cancel within a timestamp and keeps them across timestamps", function()
    assert.same({}, consolidate({ { 1, 1, 1, "a" }, { 1, -1, 1, "a" } }, true))
    assert.same({ "1:->1=a", "2:1=a>-" }, consolidate({ { 1, 1, 1, "a" }, { 2, -1, 1, "a" } }, true))
  end)

  it("sums multiplicities of identical rows", function()
    assert.same({ "1:->1=a", "1:->1=a" }, consolidate({ { 1, 3, 1, "a" }, { 1, -1, 1, "a" } }, false))
  end)

  it("pairs a deletion and an insertion of one key into an update", function()
    assert.same({ "5:1=a>1=b" }, consolidate({ { 5, -1, 1, "a" }, { 5, 1, 1, "b" } }, true))
  end)

  it("pairs nothing across keys or without a key", function()
    assert.same({ "5:->2=b", "5:1=a>-" }, consolidate({ { 5, -1, 1, "a" }, { 5, 1, 2, "b" } }, true))
    assert.same({ "5:->1=b", "5:1=a>-" }, consolidate({ { 5, -1, 1, "a" }, { 5, 1, 1, "b" } }, false))
  end)

  it("counts several live rows for one key at one time", function()
    local out, multi = consolidate({ { 1, 1, 1, "a" }, { 1, 1, 1, "b" }, { 2, 1, 2, "c" } }, true)
    assert.same({ "1:->1=a", "1:->1=b", "2:->2=c" }, out)
    assert.equal(1, multi)
  end)

  it("keeps NULLs apart from values and pairs them by key", function()
    assert.same({ "1:1=nil>1=x" }, consolidate({ { 1, -1, 1, nil }, { 1, 1, 1, "x" } }, true))
  end)

  it("skips times before `since` and folds times up to `as_of` into one snapshot", function()
    local ch = { { 1, 1, 1, "a" }, { 2, -1, 1, "a" }, { 2, 1, 1, "b" }, { 3, 1, 2, "c" }, { 9, 1, 3, "d" } }
    assert.same({ "3:->2=c", "9:->3=d" }, consolidate(ch, true, 3))
    assert.same({ "3:->1=b", "3:->2=c", "9:->3=d" }, consolidate(ch, true, 0, 3))
  end)
end)
