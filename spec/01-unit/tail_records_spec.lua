-- sinkgate tail shows records inside lists and maps of Avro messages: the
-- bytes the encoder writes, decoded against the schema the plan registers.
local core = require "sinkgate.core"
local rows = require "sinkgate.rows"
local tail = require "sinkgate.tail"
local json = require "sinkgate.util.json"
local cfg = require "helpers.config"
local cjson = require "cjson"
local sg = require "sinkgate"

local C, ffi = core.C, core.ffi

describe("tail of records inside lists and maps", function()
  it("decodes them against the registered schema", function()
    local plans = assert(cfg.plans(cfg.sink_config(
      [[{ {"pts","pt list",not_null=true}, {"m","map[text=>pt]"}, {"deep",{ array = { list = "pt" } },not_null=true} }]],
      "{}", [[envelope = "debezium", format = sg.avro { registry = csr }]],
      [[sg.type "pt" { record = { {"x","integer",not_null=true}, {"y","text"} } }]])))
    local rel, schema = plans[1].relation, plans[1].avro.value
    local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free)
    local r = C.sg_batch_push_row(b, 1, 1)
    rows.set(b, r, 0, rel.columns[1].type, { { x = 1, y = "a" }, sg.null, n = 2 })
    rows.set(b, r, 1, rel.columns[2].type, { k = { x = 2 } })
    rows.set(b, r, 2, rel.columns[3].type, { { { x = 3, y = "z" } } })
    local buf = ffi.new("sg_buf[1]")
    assert.equal(0, C.sg_encode_avro_debezium(b, -1, 0, 42, buf, core.errbuf, core.ERRLEN), core.err())
    local bytes = ffi.string(buf[0].data, buf[0].len)
    C.sg_buf_free(buf)
    -- a tail whose schema cache already holds id 42: no registry round trip
    local t = setmetatable({ registry = "http://127.0.0.1:1", schemas = { [42] = assert(require("sinkgate.avro.decode").compile(schema)) } }, tail)
    local shown = cjson.decode(json.encode(t:decode(bytes, "avro")))
    assert.equal(cjson.null, shown.before)
    local row = shown.after.row
    -- avro-c's JSON form: non-null union branches are labelled by type name
    assert.same({ { record0 = { x = 1, y = { string = "a" } } }, cjson.null }, row.pts) -- NOT NULL: no union
    assert.same({ map = { k = { record1 = { x = 2, y = cjson.null } } } }, row.m)
    assert.same({ { array = { { record2 = { x = 3, y = { string = "z" } } } } } }, row.deep)
  end)
end)
