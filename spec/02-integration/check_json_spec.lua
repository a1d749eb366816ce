-- `sinkgate check --json` prints JSON whether the config is fine or not:
-- each problem with its file, line, key path and message; status 1.
local helpers = require "helpers"
local cjson = require "cjson"

describe("sinkgate check --json", function()
  it("lists the problems as JSON, with the plain text output unchanged", function()
    local path = helpers.write_tmp([[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "b:1" }
local t = sg.source.table { name = "t", columns = { {"id","bigint"}, {"v","char(2)"} } }
sg.sink "orders" { from = t, into = { connection = k, topic = "o" }, key = { "id" }, envelope = "upsert" }
]], ".lua")
    local j = helpers.sinkgate("check --json " .. path)
    local plain = helpers.sinkgate("check " .. path)
    os.remove(path)
    assert.equal(1, j.rc)
    assert.equal(1, plain.rc)
    local doc = cjson.decode(j.out)
    assert.is_false(doc.ok)
    assert.equal(1, #doc.problems)
    local p = doc.problems[1]
    assert.same({ path, 4, "sinks.orders.key" }, { p.file, p.line, p.path })
    assert.matches('^upsert key could not be validated as unique\nDETAIL: sinkgate could not prove that the ' ..
      'specified upsert envelope key\n%("id"%) is a unique key', p.message)
    -- the text form is what it always was: the problem line, then the count
    assert.equal(("%s:4: sinks.orders.key: %s\nsinkgate check: %s: 1 problem\n"):format(path, p.message, path), plain.err)
    assert.equal("", plain.out)
  end)

  it("gives file and message with null line and path when there is no location", function()
    local r = helpers.sinkgate("check --json /nonexistent/config.lua")
    assert.equal(1, r.rc)
    local p = cjson.decode(r.out).problems[1]
    assert.equal("/nonexistent/config.lua", p.file)
    assert.equal(cjson.null, p.line)
    assert.equal(cjson.null, p.path)
    assert.matches("^cannot read config: ", p.message)
  end)

  it("splits problem lines into their parts", function()
    local describe_ = require "sinkgate.describe"
    local function parts(text)
      local o = describe_.problem_json(text, "CFG")
      return { o.file, o.line, o.path, o.message }
    end
    assert.same({ "a.lua", 7, "sinks.o-2.v1.key[2]", "no column \"x\" in t" },
      parts('a.lua:7: sinks.o-2.v1.key[2]: no column "x" in t'))
    assert.same({ "a.yaml", 3, "sources.t.columns[1]", "type \"r\": unknown type \"q\"" },
      parts('a.yaml:3: sources.t.columns[1]: type "r": unknown type "q"'))
    assert.same({ "a.lua", 1, cjson.null, "undefined global 'x': see docs" }, parts("a.lua:1: undefined global 'x': see docs"))
    assert.same({ "CFG", cjson.null, cjson.null, "cannot read config: gone" }, parts("cannot read config: gone"))
  end)

  it("still prints the plan when there are no problems", function()
    local r = helpers.sinkgate("check --json examples/quickstart.lua")
    assert.equal(0, r.rc, r.err)
    assert.equal("quickstart", cjson.decode(r.out).sinks[1].name)
  end)
end)
