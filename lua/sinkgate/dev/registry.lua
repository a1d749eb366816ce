-- sinkgate.dev.registry — an in-memory Schema Registry that answers the
-- Confluent REST API calls sinkgate and its tests make: subjects and
-- versions, global schema ids (identical schemas share an id), config
-- with 40401/40408, 409 on incompatible schemas, 42201 on invalid ones,
-- optional basic auth, and injected failures. Not durable: dev and tests only.
-- schemaType AVRO (the default), PROTOBUF (checked by compiling it with
-- protoc) and JSON are accepted; compatibility is only checked for Avro
-- (other types register as if the level were NONE).
local cjson = require "cjson.safe"
local core = require "sinkgate.core"
local json = require "sinkgate.util.json"
local mime = require "mime"

local M = {}
M.__index = M

local LEVELS = { BACKWARD = true, BACKWARD_TRANSITIVE = true, FORWARD = true, FORWARD_TRANSITIVE = true,
  FULL = true, FULL_TRANSITIVE = true, NONE = true }

function M.new(opts)
  opts = opts or {}
  return setmetatable({
    ids = {},          -- id -> { schema = text, canon = text }
    by_canon = {},     -- canonical text -> id
    subjects = {},     -- name -> list of { id =, version = }
    config = {},       -- subject -> level
    global = "BACKWARD",
    auth = opts.auth,  -- "user:password" or nil
    next_id = 1,
    failures = {},     -- queued injected HTTP statuses
    requests = 0,
  }, M)
end

local function err(status, code, message)
  return status, { error_code = code, message = message }
end

-- Canonical form: parsed and re-encoded with sorted keys, no whitespace.
local function canonical(text)
  local t = cjson.decode(text)
  if t == nil then return nil end
  return json.encode(t), t
end

------------------------------------------------------------------------------
-- Schema compatibility (Avro resolution rules, the cases sinks meet).

local PROMOTE = { int = { long = true, float = true, double = true }, long = { float = true, double = true },
  float = { double = true }, string = { bytes = true }, bytes = { string = true } }

local function type_name(t)
  if type(t) == "string" then return t end
  if type(t) == "table" and t.type then return t.type end
  if type(t) == "table" then return "union" end
  return tostring(t)
end

local readable

-- Can a reader of schema `r` read data written with schema `w`?
readable = function(r, w)
  if json.encode(r) == json.encode(w) then return true end
  local rn, wn = type_name(r), type_name(w)
  if wn == "union" then
    for _, branch in ipairs(w) do
      if not readable(r, branch) then return false end
    end
    return true
  end
  if rn == "union" then
    for _, branch in ipairs(r) do
      if readable(branch, w) then return true end
    end
    return false
  end
  if PROMOTE[wn] and PROMOTE[wn][rn] then return true end
  if rn ~= wn then return false end
  if rn == "record" then
    local wf = {}
    for _, f in ipairs(w.fields or {}) do wf[f.name] = f end
    for _, f in ipairs(r.fields or {}) do
      if wf[f.name] then
        if not readable(f.type, wf[f.name].type) then return false end
      elseif f.default == nil then
        return false
      end
    end
    return true
  end
  if rn == "array" then return readable(r.items, w.items) end
  if rn == "map" then return readable(r.values, w.values) end
  if rn == "fixed" then return r.size == w.size and r.name == w.name end
  if rn == "enum" then return true end
  return type(r) == "string" or (r.logicalType == w.logicalType)
end

function M:compatible(subject, new_tbl)
  local level = self.config[subject] or self.global
  if level == "NONE" then return true end
  local versions = self.subjects[subject] or {}
  local against = {}
  if level:match("_TRANSITIVE$") then
    for i = 1, #versions do against[i] = versions[i] end
  elseif #versions > 0 then
    against[1] = versions[#versions]
  end
  for _, v in ipairs(against) do
    if self.ids[v.id].type ~= "AVRO" then return true end -- no rules across schema types here
    local old = cjson.decode(self.ids[v.id].schema)
    local back = readable(new_tbl, old)
    local fwd = readable(old, new_tbl)
    local base = level:gsub("_TRANSITIVE$", "")
    if (base == "BACKWARD" and not back) or (base == "FORWARD" and not fwd)
        or (base == "FULL" and not (back and fwd)) then
      return false
    end
  end
  return true
end

------------------------------------------------------------------------------
-- REST handlers.

-- Like Confluent's, answers name schemaType only when it is not AVRO.
local function version_entry(self, subject, v)
  local s = self.ids[v.id]
  return json.object({ "subject", "version", "id", "schemaType", "schema" },
    { subject = subject, version = v.version, id = v.id, schema = s.schema,
      schemaType = s.type ~= "AVRO" and s.type or nil })
end

-- Validates a schema of the given type; returns its canonical form (the
-- identity under which identical registrations share an id) and, for Avro,
-- the parsed schema, or nil and a message.
local function check_schema(kind, text)
  if kind == "AVRO" then
    if core.C.sg_avro_schema_check(text, #text, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
    return canonical(text)
  elseif kind == "JSON" then
    local c = canonical(text)
    if not c then return nil, "not JSON" end
    return "JSON:" .. c
  elseif kind == "PROTOBUF" then
    local ok, why = require("sinkgate.decode.protobuf").compile(text)
    if not ok then return nil, why end
    return "PROTOBUF:" .. text
  end
  return nil, "unknown schemaType " .. tostring(kind)
end

function M:register(subject, body)
  local req = cjson.decode(body or "")
  if type(req) ~= "table" or type(req.schema) ~= "string" then
    return err(422, 42201, "Invalid schema: request needs a \"schema\" string")
  end
  local kind = req.schemaType or "AVRO"
  local canon, tbl = check_schema(kind, req.schema)
  if not canon then return err(422, 42201, "Invalid schema " .. tbl) end
  local versions = self.subjects[subject] or {}
  local id = self.by_canon[canon]
  for _, v in ipairs(versions) do
    if v.id == id then return 200, { id = id } end
  end
  if kind == "AVRO" and not self:compatible(subject, tbl) then
    return err(409, 409, "Schema being registered is incompatible with an earlier schema for subject \"" ..
      subject .. "\"")
  end
  if not id then
    id = self.next_id
    self.next_id = id + 1
    self.ids[id] = { schema = req.schema, canon = canon, type = kind }
    self.by_canon[canon] = id
  end
  versions[#versions + 1] = { id = id, version = #versions + 1 }
  self.subjects[subject] = versions
  return 200, { id = id }
end

function M:lookup(subject, body)
  local versions = self.subjects[subject]
  if not versions then return err(404, 40401, "Subject '" .. subject .. "' not found.") end
  local req = cjson.decode(body or "")
  local canon = type(req) == "table" and type(req.schema) == "string" and check_schema(req.schemaType or "AVRO", req.schema)
  for _, v in ipairs(versions) do
    if canon and self.ids[v.id].canon == canon then return 200, version_entry(self, subject, v) end
  end
  return err(404, 40403, "Schema not found")
end

function M:get_version(subject, which)
  local versions = self.subjects[subject]
  if not versions then return err(404, 40401, "Subject '" .. subject .. "' not found.") end
  local v = which == "latest" and versions[#versions] or versions[tonumber(which) or -1]
  if not v then return err(404, 40402, "Version " .. which .. " not found.") end
  return 200, version_entry(self, subject, v)
end

function M:get_config(subject)
  if not subject then return 200, { compatibilityLevel = self.global } end
  if self.config[subject] then return 200, { compatibilityLevel = self.config[subject] } end
  if not self.subjects[subject] then return err(404, 40401, "Subject '" .. subject .. "' not found.") end
  return err(404, 40408, "Subject '" .. subject .. "' does not have subject-level compatibility configured")
end

function M:put_config(subject, body)
  local req = cjson.decode(body or "")
  local level = type(req) == "table" and req.compatibility
  if not LEVELS[level or ""] then
    return err(422, 42203, "Invalid compatibility level. Valid values are none, backward, forward, full, " ..
      "backward_transitive, forward_transitive, and full_transitive")
  end
  if subject then self.config[subject] = level else self.global = level end
  return 200, { compatibility = level }
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

function M:authorized(headers)
  if not self.auth then return true end
  local h = headers["authorization"] or ""
  local b64 = h:match("^[Bb]asic%s+(%S+)")
  return b64 ~= nil and mime.unb64(b64) == self.auth
end

-- Routes one request; returns HTTP status and a Lua table for the body.
function M:handle(method, path, headers, body)
  self.requests = self.requests + 1
  if #self.failures > 0 then
    local status = table.remove(self.failures, 1)
    return err(status, status * 100 + 1, "injected failure (dev registry)")
  end
  if not self:authorized(headers or {}) then return err(401, 401, "Unauthorized") end
  path = path:gsub("%?.*$", "")
  local subject, rest = path:match("^/subjects/([^/]+)(.*)$")
  if subject then subject = unescape(subject) end
  if method == "GET" and path == "/subjects" then
    local names = {}
    for k in pairs(self.subjects) do names[#names + 1] = k end
    table.sort(names)
    return 200, #names > 0 and names or json.empty_array
  elseif subject and rest == "/versions" and method == "POST" then
    return self:register(subject, body)
  elseif subject and rest == "/versions" and method == "GET" then
    local versions = self.subjects[subject]
    if not versions then return err(404, 40401, "Subject '" .. subject .. "' not found.") end
    local list = {}
    for i, v in ipairs(versions) do list[i] = v.version end
    return 200, list
  elseif subject and rest:match("^/versions/[^/]+$") and method == "GET" then
    return self:get_version(subject, rest:match("^/versions/([^/]+)$"))
  elseif subject and rest == "" and method == "POST" then
    return self:lookup(subject, body)
  elseif subject and rest == "" and method == "DELETE" then
    local versions = self.subjects[subject]
    if not versions then return err(404, 40401, "Subject '" .. subject .. "' not found.") end
    self.subjects[subject], self.config[subject] = nil, nil
    local list = {}
    for i, v in ipairs(versions) do list[i] = v.version end
    return 200, list
  end
  local id = path:match("^/schemas/ids/(%d+)$")
  if id and method == "GET" then
    local s = self.ids[tonumber(id)]
    if not s then return err(404, 40403, "Schema " .. id .. " not found") end
    return 200, { schema = s.schema, schemaType = s.type ~= "AVRO" and s.type or nil }
  end
  local cfg_subject = path:match("^/config/([^/]+)$")
  if path == "/config" or cfg_subject then
    cfg_subject = cfg_subject and unescape(cfg_subject)
    if method == "GET" then return self:get_config(cfg_subject) end
    if method == "PUT" then return self:put_config(cfg_subject, body) end
  end
  return err(404, 404, "HTTP 404 Not Found")
end

return M
