-- Issue 10: the Avro schemas where sinkgate used to differ from the reference
-- (docs/formats.md, semantics.md §5). Whole schemas are compared as text,
-- so key order, doc placement and naming are all checked.
local cfg = require "helpers.config"
local cjson = require "cjson"

-- The plan's Avro schemas (key text, value text) for a table source `t`.
local function schemas(columns, fields, avro_opts, extra, keys)
  local text = cfg.sink_config(columns, keys or "{}",
    fields .. ", format = sg.avro { registry = csr" .. (avro_opts and (", " .. avro_opts) or "") .. " }", extra)
  local plans, errs = cfg.plans(text)
  if not plans then return nil, errs end
  return plans[1].avro.key, plans[1].avro.value
end

describe("Avro conformance", function()
  describe("Debezium value schema", function()
    it("puts the relation's comment on the inner row record, none on the envelope", function()
      local cols = [[{ {"id","bigint",not_null=true} }]]
      local text = ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = "127.0.0.1:1" }
local csr = sg.registry_connection { url = "http://127.0.0.1:1" }
local t = sg.source.table { name = "t", comment = "the t", columns = %s }
sg.sink "s" { from = t, into = { connection = kafka, topic = "out" }, envelope = "debezium",
  format = sg.avro { registry = csr } }
]]):format(cols)
      local plans = assert(cfg.plans(text))
      assert.equal('{"type":"record","name":"envelope","fields":[{"name":"before","type":["null",' ..
        '{"type":"record","name":"row","doc":"the t","fields":[{"name":"id","type":"long"}]}]},' ..
        '{"name":"after","type":["null","row"]}]}', plans[1].avro.value)
    end)

    it("puts a DOC ON TYPE naming the relation on the row record too, with NULL DEFAULTS", function()
      local _, v = schemas([[{ {"id","bigint",not_null=true} }]], [[envelope = "debezium"]],
        [[null_defaults = true, doc_on = { { type = "t", scope = "value", doc = "rows of t" } }]])
      assert.equal('{"type":"record","name":"envelope","fields":[{"name":"before","type":["null",' ..
        '{"type":"record","name":"row","doc":"rows of t","fields":[{"name":"id","type":"long"}]}],"default":null},' ..
        '{"name":"after","type":["null","row"],"default":null}]}', v)
    end)

    it("keeps the doc on the value record itself under UPSERT", function()
      local _, v = schemas([[{ {"id","bigint",not_null=true} }]], [[key = {"id"}, envelope = "upsert"]],
        [[doc_on = { { type = "t", doc = "rows of t" } }]], nil, [[{ {"id"} }]])
      assert.equal('{"type":"record","name":"envelope","doc":"rows of t","fields":[{"name":"id","type":"long"}]}', v)
    end)
  end)

  describe("column docs of renamed columns", function()
    local cols = [[{ {"id","bigint",not_null=true,comment="the id"},
      {"c3_map[text=>text]","map[text=>text]",not_null=true,comment="a map"},
      {"a-b","integer",not_null=true,comment="dash"}, {"a_b","integer",not_null=true,comment="underscore"} }]]
    local docs = [[doc_on = { { column = "t.c3_map[text=>text]", doc = "doc on the map" } }]]

    it("are looked up by the sanitized field name, as the reference does", function()
      local _, v = schemas(cols, [[key = {"id"}, envelope = "upsert"]], docs, nil, [[{ {"id"} }]])
      -- c3_map[text=>text] → c3_map_text__text_: no column of that name, no doc; a-b → a_b takes the
      -- comment of the column literally named a_b, whose own field a_b1 has none.
      assert.equal('{"type":"record","name":"envelope","fields":[' ..
        '{"name":"id","type":"long","doc":"the id"},' ..
        '{"name":"c3_map_text__text_","type":{"type":"map","values":["null","string"]}},' ..
        '{"name":"a_b","type":"int","doc":"underscore"},' ..
        '{"name":"a_b1","type":"int"}]}', v)
    end)

    it("are kept by column name with keep_renamed_column_docs", function()
      local k, v = schemas(cols, [[key = {"id"}, envelope = "upsert"]], docs .. ", keep_renamed_column_docs = true",
        nil, [[{ {"id"} }]])
      assert.equal('{"type":"record","name":"envelope","fields":[' ..
        '{"name":"id","type":"long","doc":"the id"},' ..
        '{"name":"c3_map_text__text_","type":{"type":"map","values":["null","string"]},"doc":"doc on the map"},' ..
        '{"name":"a_b","type":"int","doc":"dash"},' ..
        '{"name":"a_b1","type":"int","doc":"underscore"}]}', v)
      assert.equal('{"type":"record","name":"row","fields":[{"name":"id","type":"long","doc":"the id"}]}', k)
    end)

    it("find a key field's comment among all the relation's columns", function()
      -- key column a-b → field a_b, which takes the comment of the non-key column named a_b
      local k = schemas(cols, [[key = {"a-b"}, envelope = "upsert", not_enforced = true]])
      assert.equal('{"type":"record","name":"row","fields":[{"name":"a_b","type":"int","doc":"underscore"}]}', k)
      k = schemas(cols, [[key = {"a-b"}, envelope = "upsert", not_enforced = true]], "keep_renamed_column_docs = true")
      assert.equal('{"type":"record","name":"row","fields":[{"name":"a_b","type":"int","doc":"dash"}]}', k)
    end)

    it("apply the same rule to the fields of a named record type", function()
      local extra = [[sg.type "pt" { record = { {"x-1","integer",comment="renamed"}, {"y","integer",comment="kept"} } }]]
      local _, v = schemas([[{ {"p","pt",not_null=true} }]], [[envelope = "debezium"]], nil, extra)
      local p = cjson.decode(v).fields[1].type[2].fields[1].type
      assert.same({ { name = "x_1", type = { "null", "int" } }, { name = "y", type = { "null", "int" }, doc = "kept" } },
        p.fields)
      _, v = schemas([[{ {"p","pt",not_null=true} }]], [[envelope = "debezium"]], "keep_renamed_column_docs = true",
        extra)
      p = cjson.decode(v).fields[1].type[2].fields[1].type
      assert.equal("renamed", p.fields[1].doc)
    end)
  end)

  describe("records inside lists, arrays and maps; named types", function()
    local extra = [[
sg.type "my_app.point" { record = { {"x","integer",not_null=true}, {"y","integer",comment="y of a point"} },
  comment = "a point" }
sg.type "point_list" { list = "my_app.point" }
sg.type "point_map" { map = "my_app.point" }
]]
    local cols = [[{ {"id","bigint",not_null=true}, {"pts","my_app.point list"}, {"m","point_map",not_null=true},
      {"deep", { list = { map = "my_app.point" } }, not_null=true}, {"arr","my_app.point[]",not_null=true},
      {"pl","point_list",not_null=true} }]]

    -- The point record as the generator must write it at occurrence n.
    local function point(n, doc, ydoc, default)
      return ('{"type":"record","name":"com.materialize.sink.record%d"%s,"fields":[{"name":"x","type":"int"},' ..
        '{"name":"y","type":["null","int"]%s%s}]}'):format(n, doc and (',"doc":"' .. doc .. '"') or "",
        default and ',"default":null' or "", ydoc and (',"doc":"' .. ydoc .. '"') or "")
    end

    it("name each occurrence recordN, depth first, with the type's comments", function()
      local _, v = schemas(cols, [[envelope = "debezium"]], nil, extra)
      local p = function(n) return point(n, "a point", "y of a point") end
      assert.equal('{"type":"record","name":"envelope","fields":[{"name":"before","type":["null",' ..
        '{"type":"record","name":"row","fields":[' ..
        '{"name":"id","type":"long"},' ..
        '{"name":"pts","type":["null",{"type":"array","items":["null",' .. p(0) .. ']}]},' ..
        '{"name":"m","type":{"type":"map","values":["null",' .. p(1) .. ']}},' ..
        '{"name":"deep","type":{"type":"array","items":["null",{"type":"map","values":["null",' .. p(2) .. ']}]}},' ..
        '{"name":"arr","type":{"type":"array","items":["null",' .. p(3) .. ']}},' ..
        '{"name":"pl","type":{"type":"array","items":["null",' .. p(4) .. ']}}' ..
        ']}]},{"name":"after","type":["null","row"]}]}', v)
    end)

    it("apply DOC ON TYPE / DOC ON COLUMN of the named type everywhere, and NULL DEFAULTS inside", function()
      local k, v = schemas(cols, [[key = {"id"}, envelope = "upsert"]],
        [[null_defaults = true, doc_on = { { type = "my_app.point", scope = "value", doc = "value point" },
          { type = "my_app.point", doc = "any point" }, { column = "my_app.point.y", doc = "the y" } }]],
        extra, [[{ {"id"} }]])
      assert.equal('{"type":"record","name":"row","fields":[{"name":"id","type":"long"}]}', k)
      local p = function(n) return point(n, "value point", "the y", true) end
      assert.equal('{"type":"record","name":"envelope","fields":[' ..
        '{"name":"id","type":"long"},' ..
        '{"name":"pts","type":["null",{"type":"array","items":["null",' .. p(0) .. ']}],"default":null},' ..
        '{"name":"m","type":{"type":"map","values":["null",' .. p(1) .. ']}},' ..
        '{"name":"deep","type":{"type":"array","items":["null",{"type":"map","values":["null",' .. p(2) .. ']}]}},' ..
        '{"name":"arr","type":{"type":"array","items":["null",' .. p(3) .. ']}},' ..
        '{"name":"pl","type":{"type":"array","items":["null",' .. p(4) .. ']}}]}', v)
    end)

    it("give the key schema its own record numbering and the general DOC ON TYPE", function()
      local k = schemas([[{ {"p","my_app.point",not_null=true}, {"q","my_app.point list",not_null=true} }]],
        [[key = {"q","p"}, envelope = "upsert", not_enforced = true]],
        [[doc_on = { { type = "my_app.point", scope = "value", doc = "value point" },
          { type = "my_app.point", doc = "any point" } }]], extra)
      assert.equal('{"type":"record","name":"row","fields":[' ..
        '{"name":"q","type":{"type":"array","items":["null",' .. point(0, "any point", "y of a point") .. ']}},' ..
        '{"name":"p","type":' .. point(1, "any point", "y of a point") .. '}]}', k)
    end)

    it("report unknown, duplicate, built-in and recursive type names", function()
      local _, errs = schemas([[{ {"p","nope list"} }]], [[envelope = "debezium"]])
      assert.matches('sources%.t%.columns%[1%]: unknown type "nope"', errs[1])
      _, errs = schemas([[{ {"p","r"} }]], [[envelope = "debezium"]], nil, [[sg.type "r" { list = "r" }]])
      assert.matches('type "r" refers to itself', errs[1])
      _, errs = schemas([[{ {"p","r"} }]], [[envelope = "debezium"]], nil,
        [[sg.type "r" { list = "text" }
sg.type "r" { map = "text" }]])
      assert.matches("FILE:6: types%.r: declared twice", errs[1])
      _, errs = schemas([[{ {"p","text"} }]], [[envelope = "debezium"]], nil, [[sg.type "text" { list = "text" }]])
      assert.matches('"text" is a built%-in type', errs[1])
    end)

    it("render named types by name in the plan", function()
      local plans = assert(cfg.plans(cfg.sink_config(cols, "{}", [[envelope = "debezium", format = "json"]], extra)))
      local types = require "sinkgate.types"
      local got = {}
      for i, c in ipairs(plans[1].relation.columns) do got[i] = types.render(c.type) end
      assert.same({ "bigint", "my_app.point list", "point_map", "map[text=>my_app.point] list", "my_app.point[]",
        "point_list" }, got)
    end)
  end)

  it("pick the next free suffix where the reference's field names would collide", function()
    -- the reference counts per sanitized name: a-, a_1, a@ → a_, a_1, a_1 (an invalid schema)
    local _, v = schemas([[{ {"a-","integer",not_null=true}, {"a_1","integer",not_null=true},
      {"a@","integer",not_null=true} }]], [[envelope = "debezium"]])
    local names = {}
    for i, f in ipairs(cjson.decode(v).fields[1].type[2].fields) do names[i] = f.name end
    assert.same({ "a_", "a_1", "a_2" }, names)
  end)

  describe("character types", function()
    it("map char(n), varchar(n), character varying(n), character(n) to string", function()
      local _, v = schemas([[{ {"a","char(3)",not_null=true}, {"b","varchar(5)",not_null=true},
        {"c","character varying(2)"}, {"d","character(4)",not_null=true}, {"e","varchar",not_null=true} }]],
        [[envelope = "debezium"]])
      assert.same({ type = "record", name = "row", fields = { { name = "a", type = "string" },
        { name = "b", type = "string" }, { name = "c", type = { "null", "string" } }, { name = "d", type = "string" },
        { name = "e", type = "string" } } }, cjson.decode(v).fields[1].type[2])
    end)
  end)
end)
