local secret = require "sinkgate.secret"
local json = require "sinkgate.util.json"
local cjson = require "cjson"
local helpers = require "helpers"

describe("secrets", function()
  before_each(function() secret._reset() end)
  after_each(function() secret._reset() end)

  it("redact only whole occurrences of protected values", function()
    assert.is_true(secret.protect("kafka", "secret(K)"))
    assert.equal("secret(K) connection", secret.redact("kafka connection"))
    assert.equal("kafkacat and mykafka stay", secret.redact("kafkacat and mykafka stay"))
    assert.equal("x=secret(K);y=secret(K)", secret.redact("x=kafka;y=kafka"))
    assert.equal("user:secret(K)@host", secret.redact("user:kafka@host"))
  end)

  it("refuse values too short to be scrubbed exactly, and never redact them", function()
    local ok, err = secret.protect("1", "secret(ONE)")
    assert.is_nil(ok)
    assert.matches("at least 4", err)
    assert.equal('{"offset":1,"n":11}', secret.redact('{"offset":1,"n":11}'))
  end)

  it("reveal refuses short and unset secrets with a clear message", function()
    local path = helpers.write_tmp("SHORT=abc\nLONG=long-enough\n", ".secrets")
    assert.is_true(secret.load_file(path))
    os.remove(path)
    local v, err = secret.reveal(secret.new("SHORT"))
    assert.is_nil(v)
    assert.matches("secret%(SHORT%) is 3 characters long", err)
    assert.equal("long-enough", secret.reveal(secret.new("LONG")))
    v, err = secret.reveal(secret.new("SG_SURELY_UNSET_SECRET"))
    assert.is_nil(v)
    assert.matches("is not set", err)
    assert.is_false((secret.available(secret.new("SHORT"))))
  end)

  it("keep JSON valid: values are redacted before encoding, never in the text", function()
    secret.protect("p\"w\\1234", "secret(PW)")
    secret.protect("1234", "secret(N)")
    local doc = { name = "p\"w\\1234", count = 1234, list = { "1234", "a 1234 b" } }
    local text = json.encode(secret.redact_value(doc))
    local back = cjson.decode(text)
    assert.equal("secret(PW)", back.name)
    assert.equal(1234, back.count) -- a number is not a secret's text
    assert.same({ "secret(N)", "a secret(N) b" }, back.list)
  end)

  it("cannot be revealed through the object", function()
    local s = secret.new("X1")
    assert.has_error(function() return s:reveal() end,
      "secret.X1: reveal() is not available to config code: only the engine reveals a secret, when it connects")
    assert.equal("secret", getmetatable(s))
    assert.is_true(secret.is(s))
    assert.is_false(secret.is({ name = "X1" }))
  end)

  it("mask the password of a URL's userinfo", function()
    assert.equal("https://reg:***@csr.example:8081/x", secret.redact_url("https://reg:s3cret@csr.example:8081/x"))
    assert.equal("http://user@h:1", secret.redact_url("http://user@h:1"))
    assert.equal("http://h:1/a@b", secret.redact_url("http://h:1/a@b"))
    assert.equal("s3cret", secret.url_password("https://reg:s3cret@csr.example:8081"))
    assert.is_nil(secret.url_password("https://csr.example:8081"))
  end)

  it("report a bad secrets-file line with its own line number", function()
    local path = helpers.write_tmp("# comment\n\nA=1\nB = two\nnot a pair\n", ".secrets")
    local ok, err = secret.load_file(path)
    os.remove(path)
    assert.is_nil(ok)
    assert.matches(":5: expected NAME=value", err)
    assert.is_true(secret.is_secret_name("A"))
  end)
end)
