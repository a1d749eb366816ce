-- Issue 9, item 4: no path prints a secret's value. Every output of every
-- leak path the issue lists (stdout, stderr, check --json, the status file)
-- is searched for the values; exit status 70 counts as a failure too.
local helpers = require "helpers"
local cjson = require "cjson"

local PW = "hunter2-Sx9-value"          -- a SASL password (environment)
local FILE_PW = "from-the-file-Q7"      -- a secret given in a --secrets file
local URL_PW = "url-pw-Zk4-value"       -- a password in a registry URL's userinfo
local VALUES = { PW, FILE_PW, URL_PW }

local CONFIG = [[
local sg = require "sinkgate"
local k = sg.kafka_connection { brokers = "127.0.0.1:1", sasl_username = "u", sasl_password = sg.secret "SG_LEAK_PW",
  security_protocol = "sasl_plaintext", sasl_mechanisms = "PLAIN", options = { ["socket.timeout.ms"] = 1000 } }
local csr = sg.registry_connection { url = sg.env("SG_LEAK_URL"), password = sg.secret "SG_LEAK_FILE_PW", retries = 0,
  timeout = "1s" }
local g = sg.source.load_generator { kind = "counter" }
sg.sink "s" { from = g, into = { connection = k, topic = "t" }, key = { "counter" },
  format = sg.avro { registry = csr }, envelope = "upsert", mode = "at_least_once" }
%s
]]

local ENV = { SG_LEAK_PW = PW, SG_LEAK_URL = "http://reguser:" .. URL_PW .. "@127.0.0.1:1" }

local function leaks(text)
  local found = {}
  for _, v in ipairs(VALUES) do
    if text:find(v, 1, true) then found[#found + 1] = v end
  end
  return found
end

local function assert_clean(name, r, extra)
  assert.are_not.equal(70, r.rc, name .. ": " .. r.err)
  assert.same({}, leaks(r.out .. "\n" .. r.err .. "\n" .. (extra or "")), name .. " leaked a secret")
end

describe("secret values never show", function()
  local secrets, path
  before_each(function()
    secrets = helpers.write_tmp("# secrets\nSG_LEAK_FILE_PW=" .. FILE_PW .. "\n", ".secrets")
  end)
  after_each(function()
    os.remove(secrets)
    if path then os.remove(path) end
  end)

  local function config(extra)
    path = helpers.write_tmp(CONFIG:format(extra or ""), ".lua")
    return path
  end

  it("in check (text and JSON), which masks the URL's password and stays valid JSON", function()
    config()
    local r = helpers.sinkgate("check --secrets " .. secrets .. " " .. path, ENV)
    assert.equal(0, r.rc, r.err)
    assert.matches("http://reguser:%*%*%*@127%.0%.0%.1:1", r.out)
    assert_clean("check", r)
    r = helpers.sinkgate("check --json --secrets " .. secrets .. " " .. path, ENV)
    assert.equal(0, r.rc, r.err)
    assert_clean("check --json", r)
    local doc = cjson.decode(r.out)
    assert.matches("%*%*%*", doc.sinks[1].value_format)
  end)

  it("in run: stdout, stderr and the status file", function()
    config()
    local status = helpers.tmpname(".json")
    local r = helpers.sinkgate("run --duration 1s --status-interval 200ms --status-file " .. status ..
      " --secrets " .. secrets .. " " .. path, ENV)
    local st = helpers.read(status)
    os.remove(status)
    assert_clean("run", r, st)
  end)

  it("through error(): os.getenv is gone, sg.env refuses a secret's name even before its declaration", function()
    for _, extra in ipairs({
      'error(os.getenv("SG_LEAK_PW"))',
      'error(sg.env("SG_LEAK_FILE_PW"))',
      'error(sg.env("SG_LEAK" .. "_PW"))',
      'error(tostring(sg.secret("SG_LEAK_PW"):reveal()))',
      'error(require("sinkgate.secret").reveal(sg.secret "SG_LEAK_PW"))',
      'error(sg.ffi.string(sg.ffi.C.getenv("SG_LEAK_PW")))',
    }) do
      config(extra)
      local r = helpers.sinkgate("check --secrets " .. secrets .. " " .. path, ENV)
      assert.equal(1, r.rc, extra)
      assert_clean(extra, r)
    end
    -- a variable read on a line above the one that names it a secret
    path = helpers.write_tmp('local sg = require "sinkgate"\nerror(sg.env("SG_LEAK_PW"))\nlocal s = sg.secret "SG_LEAK_PW"\n', ".lua")
    local r = helpers.sinkgate("check " .. path, ENV)
    assert.equal(1, r.rc)
    assert.matches(":2: env.SG_LEAK_PW: SG_LEAK_PW is a secret", r.err)
    assert_clean("env before secret", r)
  end)

  it("in run -e, which honours --secrets", function()
    for _, chunk in ipairs({
      'return os.getenv("SG_LEAK_PW")',
      'return sg.env("SG_LEAK_FILE_PW")',
      'local s = sg.secret "SG_LEAK_PW"; return s, tostring(s), s:reveal()',
      'local s = sg.secret "SG_LEAK_PW"; return sg.env("SG_LEAK_PW")',
      'return sg.env("SG_LEAK_PW"), sg.secret "SG_LEAK_PW"',
    }) do
      local r = helpers.sinkgate("run --secrets " .. secrets .. " -e " .. helpers.q(chunk), ENV)
      assert.equal(1, r.rc, chunk .. "\n" .. r.out .. r.err)
      assert_clean(chunk, r)
    end
  end)

  it("in YAML: ${NAME} of a secret is refused, {secret: NAME} is never expanded", function()
    path = helpers.write_tmp([[
connections:
  k:
    type: kafka
    brokers: "127.0.0.1:1"
    sasl_password: { secret: SG_LEAK_PW }
    security_protocol: sasl_ssl
    sasl_mechanisms: PLAIN
    name: "${SG_LEAK_PW}"
]], ".yaml")
    local r = helpers.sinkgate("check " .. path, ENV)
    assert.equal(1, r.rc)
    assert.matches(":8: connections.k.name: ${SG_LEAK_PW}: SG_LEAK_PW is a secret", r.err)
    assert_clean("yaml", r)
  end)

  it("a secret too short to scrub exactly is refused, not printed", function()
    config()
    local r = helpers.sinkgate("check " .. path, { SG_LEAK_PW = "1", SG_LEAK_URL = "http://127.0.0.1:1" })
    assert.matches("SG_LEAK_PW is shorter than 4 characters", r.err)
    r = helpers.sinkgate("run --duration 1s --secrets " .. secrets .. " " .. path,
      { SG_LEAK_PW = "1", SG_LEAK_URL = "http://127.0.0.1:1" })
    assert.are_not.equal(70, r.rc, r.err)
    assert.matches("at least 4", r.err)
  end)
end)
