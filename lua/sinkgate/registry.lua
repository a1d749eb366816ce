-- sinkgate.registry — publishing a sink's Avro schemas before any data:
-- subjects <topic>-key / <topic>-value, a configured compatibility level set
-- only where none is set, ids cached per schema text. A 409 (incompatible)
-- or 42201 (invalid) answer, or a registry that cannot be reached, leaves the
-- sink *stalled* with the registry's message; the runner retries and
-- produces nothing meanwhile, so no message ever carries a wrong id.
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}
M.__index = M

local function reveal(v)
  if require("sinkgate.secret").is(v) then return require("sinkgate.secret").reveal(v) end
  if type(v) == "table" and v.reveal then return v:reveal() end -- test doubles
  return v
end

-- A client for a validated registry_connection's options; nil, err.
function M.client(opts)
  local fields = { url = opts.url, timeout_ms = opts.timeout, retries = opts.retries, backoff_ms = 200 }
  for lua_key, c_key in pairs({ username = "username", password = "password", ssl_certificate_authority = "ca_pem",
    ssl_certificate = "cert_pem", ssl_key = "key_pem" }) do
    if opts[lua_key] ~= nil then
      local v, err = reveal(opts[lua_key])
      if v == nil then return nil, err end
      fields[c_key] = v
    end
  end
  local keep = {}
  for k, v in pairs(fields) do if type(v) == "string" then keep[k] = v end end
  local copts = ffi.new("sg_registry_opts", fields)
  local h = C.sg_registry_new(copts, core.errbuf, core.ERRLEN)
  if h == nil then return nil, core.err() end
  return setmetatable({ h = ffi.gc(h, C.sg_registry_free), ids = {}, keep = keep, res = ffi.new("sg_registry_result") }, M)
end

local function failure(res, what)
  local msg = ffi.string(res.message)
  return {
    http_status = res.http_status, error_code = res.error_code,
    message = ("%s: %s%s"):format(what, msg, res.error_code ~= 0 and (" (error " .. res.error_code .. ")") or ""),
  }
end

-- Registers schema text under subject; returns id or nil, failure.
-- schema_type: nil (Avro) or "PROTOBUF"/"JSON" (plugin formats).
function M:register(subject, schema, schema_type)
  local ck = subject .. "\0" .. schema .. "\0" .. (schema_type or "")
  local cached = self.ids[ck]
  if cached then return cached end
  if C.sg_registry_register_typed(self.h, subject, schema, schema_type, self.res) ~= 0 then
    return nil, failure(self.res, "register " .. subject)
  end
  local id = self.res.id
  self.ids[ck] = id
  return id
end

-- Sets subject compatibility to level unless one is already set.
function M:ensure_compatibility(subject, level)
  local buf = ffi.new("char[64]")
  local rc = C.sg_registry_get_config(self.h, subject, buf, 64, self.res)
  if rc < 0 then return nil, failure(self.res, "read compatibility of " .. subject) end
  if rc == 1 then return ffi.string(buf), "kept" end
  if C.sg_registry_put_config(self.h, subject, level, self.res) ~= 0 then
    return nil, failure(self.res, "set compatibility of " .. subject)
  end
  return level, "set"
end

local function get_json(self, fn, arg, what)
  local buf = ffi.new("sg_buf")
  local rc = fn(self.h, arg, buf, self.res)
  local body = rc == 0 and ffi.string(buf.data, buf.len) or nil
  C.sg_buf_free(buf)
  if rc ~= 0 then return nil, failure(self.res, what) end
  local t = require("cjson.safe").decode(body)
  if type(t) ~= "table" or type(t.schema) ~= "string" then
    return nil, { message = what .. ": registry answered without a schema: " .. body:sub(1, 200) }
  end
  return t
end

-- The schema text of a registry id (GET /schemas/ids/ID), cached: ids are
-- immutable. Returns text, schemaType or nil, failure.
function M:schema_by_id(id)
  self.by_id = self.by_id or {}
  local hit = self.by_id[id]
  if hit then return hit[1], hit[2] end
  local t, err = get_json(self, C.sg_registry_schema_by_id, id, "schema id " .. tostring(id))
  if not t then return nil, err end
  self.by_id[id] = { t.schema, t.schemaType or "AVRO" }
  return t.schema, t.schemaType or "AVRO"
end

-- The latest version of a subject: { id =, version =, schema =, schemaType = } or nil, failure.
function M:latest(subject)
  local t, err = get_json(self, C.sg_registry_latest, subject, "latest " .. subject)
  if not t then return nil, err end
  return { id = t.id, version = t.version, schema = t.schema, schemaType = t.schemaType or "AVRO" }
end

-- Publishes a sink plan's Avro schemas; returns { key = id?, value = id? }
-- or nil, failure (a table with message, http_status, error_code).
function M:publish(plan)
  local ids = {}
  for _, which in ipairs({ "key", "value" }) do
    local schema = plan.avro and plan.avro[which]
    if schema then
      local subject = plan.topic .. "-" .. which
      local fmt = which == "key" and plan.key_format or plan.value_format
      local level = fmt.opts[which .. "_compatibility_level"]
      if level then
        local ok, err = self:ensure_compatibility(subject, level)
        if not ok then return nil, err end
      end
      local id, err = self:register(subject, schema)
      if not id then return nil, err end
      ids[which] = id
    end
  end
  return ids
end

return M
