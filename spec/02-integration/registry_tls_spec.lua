-- The registry client's TLS options against the dev registry's HTTPS
-- listener, with a throwaway CA and certificates made here by openssl:
-- server verification (the CA given, or refused without it), and client
-- certificates (required by the listener when it has a CA).
local helpers = require "helpers"
local registry = require "sinkgate.registry"
local cjson = require "cjson"

local q = helpers.q

local function sh(cmd)
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  return ok == 0 or ok == true
end

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- A CA, a server certificate for 127.0.0.1 and a client certificate, both
-- signed by it, and a second CA that signed nothing of this.
local function make_pki(dir)
  local function cert(name, subj, ext)
    local extfile = dir .. "/" .. name .. ".ext"
    local f = assert(io.open(extfile, "w"))
    f:write(ext)
    f:close()
    assert(sh(("openssl req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj %s"):format(
      q(dir .. "/" .. name .. ".key"), q(dir .. "/" .. name .. ".csr"), q(subj))))
    assert(sh(("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 2 -out %s -extfile %s"):format(
      q(dir .. "/" .. name .. ".csr"), q(dir .. "/ca.pem"), q(dir .. "/ca.key"), q(dir .. "/" .. name .. ".pem"),
      q(extfile))))
  end
  for _, ca in ipairs({ "ca", "other-ca" }) do
    assert(sh(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout %s -out %s -subj %s"):format(
      q(dir .. "/" .. ca .. ".key"), q(dir .. "/" .. ca .. ".pem"), q("/CN=sinkgate test " .. ca))))
  end
  cert("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
  cert("client", "/CN=sinkgate-client", "extendedKeyUsage=clientAuth\n")
end

local SCHEMA = cjson.encode({ type = "record", name = "r", fields = { { name = "a", type = "long" } } })

describe("registry client over TLS", function()
  local dev, dir
  setup(function()
    dir = helpers.tmpname(".pki")
    assert(sh("mkdir -m 700 " .. q(dir)))
    make_pki(dir)
    dev = helpers.dev_start("--registry-tls " .. q(dir .. "/server.pem," .. dir .. "/server.key," .. dir .. "/ca.pem"))
    dev.https = helpers.read(dev.env_file):match("SINKGATE_REGISTRY_HTTPS=(%S+)")
  end)
  teardown(function()
    helpers.dev_stop(dev)
    os.execute("rm -rf " .. q(dir))
  end)

  local function client(extra)
    local opts = { url = dev.https, timeout = 5000, retries = 0 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(registry.client(opts))
  end

  it("registers over HTTPS with the CA and a client certificate", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", dev.https)
    local c = client({ ssl_certificate_authority = slurp(dir .. "/ca.pem"),
      ssl_certificate = slurp(dir .. "/client.pem"), ssl_key = slurp(dir .. "/client.key") })
    local id = assert(c:register("tls-value", SCHEMA))
    -- the same registry behind both listeners
    local st, body = helpers.http("GET", dev.registry .. "/subjects/tls-value/versions/latest")
    assert.same({ 200, id }, { st, body.id })
  end)

  it("refuses a server its CA did not sign", function()
    local id, err = client({ ssl_certificate_authority = slurp(dir .. "/other-ca.pem"),
      ssl_certificate = slurp(dir .. "/client.pem"), ssl_key = slurp(dir .. "/client.key") }):register("tls2-value", SCHEMA)
    assert.is_nil(id)
    assert.matches("certificate", err.message:lower())
  end)

  it("is refused by the listener without a client certificate", function()
    local id, err = client({ ssl_certificate_authority = slurp(dir .. "/ca.pem") }):register("tls3-value", SCHEMA)
    assert.is_nil(id)
    assert.is_string(err.message)
    -- and the listener goes on serving
    local c = client({ ssl_certificate_authority = slurp(dir .. "/ca.pem"),
      ssl_certificate = slurp(dir .. "/client.pem"), ssl_key = slurp(dir .. "/client.key") })
    assert.is_number(c:register("tls3-value", SCHEMA))
  end)
end)
