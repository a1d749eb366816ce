-- sinkgate.decode.avro_defaults — reader fields a writer schema lacks.
-- avro-c's resolver (1.11) refuses a reader field missing from the writer
-- even when it has a default, which Avro's resolution rules allow. For
-- top-level fields we bridge that gap: the writer schema gets the missing
-- fields appended (with the reader's types), and the decoder appends the
-- Avro encoding of their defaults to each message of that writer, so
-- avro-c resolves a writer that "wrote" the defaults. A missing field
-- without a default, or a missing field inside a nested record, is left to
-- avro-c, which reports it as incompatible.
local cjson = require "cjson.safe"
local ffi = require "ffi"

local M = {}

local function zigzag(n)
  -- n: a Lua number holding an integer (defaults are small) or an int64 cdata
  local v = 0LL + n
  local u = ffi.cast("uint64_t", v < 0 and (-(v + 1)) * 2 + 1 or v * 2)
  local out = {}
  repeat
    local b = tonumber(u % 128)
    u = u / 128
    out[#out + 1] = string.char(u ~= 0 and b + 128 or b)
  until u == 0
  return table.concat(out)
end

local fbuf = ffi.new("union { float f; double d; uint8_t b[8]; }")

local encode

-- Avro writes bytes defaults as JSON strings of code points 0-255; cjson
-- hands them over as UTF-8, so two-byte sequences fold back into one byte.
local function latin1(v)
  return (v:gsub("[\194\195][\128-\191]", function(c)
    local a, b = c:byte(1, 2)
    return string.char((a - 192) * 64 + (b - 128))
  end))
end

-- Named types of a schema, by full name (and short name).
local function collect(s, ns, named)
  if type(s) ~= "table" then return end
  if s[1] ~= nil then
    for _, b in ipairs(s) do collect(b, ns, named) end
    return
  end
  if s.name and (s.type == "record" or s.type == "enum" or s.type == "fixed" or s.type == "error") then
    local full = s.name:find(".", 1, true) and s.name or ((s.namespace or ns) and ((s.namespace or ns) .. "." .. s.name) or s.name)
    named[full] = s
    named[s.name] = named[s.name] or s
    ns = full:match("^(.*)%.[^.]*$") or ns
  end
  if type(s.type) == "table" then collect(s.type, ns, named) end
  for _, f in ipairs(s.fields or {}) do collect(f.type, ns, named) end
  collect(s.items, ns, named)
  collect(s.values, ns, named)
end

-- Avro binary of a JSON default value v for schema s (Avro spec's default
-- encoding: bytes/fixed as strings of code points 0-255, unions take their
-- first branch), or nil, message.
encode = function(s, v, named)
  if type(s) == "string" then
    if s == "null" then return "" end
    if s == "boolean" then return v and "\1" or "\0" end
    if s == "int" or s == "long" then
      if type(v) ~= "number" then return nil, "bad integer default" end
      return zigzag(v)
    end
    if s == "float" or s == "double" then
      if type(v) ~= "number" then return nil, "bad float default" end
      if s == "float" then
        fbuf.f = v
        return ffi.string(fbuf.b, 4)
      end
      fbuf.d = v
      return ffi.string(fbuf.b, 8)
    end
    if s == "string" or s == "bytes" then
      if type(v) ~= "string" then return nil, "bad string default" end
      if s == "bytes" then v = latin1(v) end
      return zigzag(#v) .. v
    end
    local def = named[s]
    if not def then return nil, "unknown type " .. s end
    return encode(def, v, named)
  end
  if s[1] ~= nil then -- union: the default is for the first branch
    local body, err = encode(s[1], v, named)
    if not body then return nil, err end
    return "\0" .. body
  end
  local t = s.type
  if type(t) == "table" then return encode(t, v, named) end
  if t == "record" or t == "error" then
    if type(v) ~= "table" then return nil, "bad record default" end
    local parts = {}
    for i, f in ipairs(s.fields or {}) do
      local fv = v[f.name]
      if fv == nil then fv = f.default end
      if fv == nil then return nil, "record default lacks field " .. f.name end
      local body, err = encode(f.type, fv, named)
      if not body then return nil, err end
      parts[i] = body
    end
    return table.concat(parts)
  end
  if t == "enum" then
    for i, sym in ipairs(s.symbols or {}) do
      if sym == v then return zigzag(i - 1) end
    end
    return nil, "enum default is not a symbol"
  end
  if t == "fixed" then
    if type(v) ~= "string" then return nil, "bad fixed default" end
    v = latin1(v)
    if #v ~= s.size then return nil, "fixed default has the wrong size" end
    return v
  end
  if t == "array" or t == "map" then
    if type(v) ~= "table" then return nil, "bad " .. t .. " default" end
    local parts, n = {}, 0
    if t == "array" then
      for _, x in ipairs(v) do
        local body, err = encode(s.items, x, named)
        if not body then return nil, err end
        n = n + 1
        parts[n] = body
      end
    else
      for k, x in pairs(v) do
        local body, err = encode(s.values, x, named)
        if not body then return nil, err end
        n = n + 1
        parts[n] = zigzag(#k) .. k .. body
      end
    end
    return n == 0 and "\0" or (zigzag(n) .. table.concat(parts) .. "\0")
  end
  return encode(t, v, named) -- {"type": "long", "logicalType": …}
end

-- (writer schema JSON to resolve with, suffix bytes) for a writer, or the
-- writer unchanged and "" when nothing needs bridging.
function M.bridge(reader_json, writer_json)
  local r, w = cjson.decode(reader_json), cjson.decode(writer_json)
  if type(r) ~= "table" or type(w) ~= "table" or r.type ~= "record" or w.type ~= "record" then return writer_json, "" end
  local have = {}
  for _, f in ipairs(w.fields or {}) do have[f.name] = true end
  local rnamed, wnamed = {}, {}
  collect(r, nil, rnamed)
  collect(w, nil, wnamed)
  local suffix, added = {}, false
  for _, f in ipairs(r.fields or {}) do
    local aliased = false
    for _, a in ipairs(f.aliases or {}) do aliased = aliased or have[a] end
    if not have[f.name] and not aliased and f.default ~= nil then
      local body = encode(f.type, f.default, rnamed)
      if body then
        local ft = f.type
        -- a named type the writer does not define travels with the field
        if type(ft) == "string" and rnamed[ft] and not wnamed[ft] then ft = rnamed[ft] end
        w.fields[#w.fields + 1] = { name = f.name, type = ft }
        suffix[#suffix + 1] = body
        added = true
      end
    end
  end
  if not added then return writer_json, "" end
  return cjson.encode(w), table.concat(suffix)
end

return M
