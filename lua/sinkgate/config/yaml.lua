-- sinkgate.config.yaml — YAML text to Lua values, through the C core's
-- libyaml node tree. Returns the value and a table of key path → line, so
-- that config errors can point at the line of the offending key.
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

-- expand (optional): function(text, key path, line) → text or nil, err,
-- applied to every scalar value before plain scalars are typed, so that an
-- expanded plain `${N}` can still become a number.
local function scalar(doc, n, path, expand)
  local s = ffi.string(doc.text + n.off, n.len)
  if expand then
    local err
    s, err = expand(s, path, n.line)
    if not s then return nil, ("line %d: %s: %s"):format(n.line, path == "" and "(top level)" or path, err) end
  end
  if n.plain == 0 then return s end
  if s == "true" or s == "True" or s == "TRUE" then return true end
  if s == "false" or s == "False" or s == "FALSE" then return false end
  if s == "" or s == "~" or s == "null" or s == "Null" or s == "NULL" then return nil end
  local num = s:match("^[-+]?%d+$") and tonumber(s) or (s:match("^[-+]?%d*%.%d+$") and tonumber(s))
  if num then return num end
  return s
end

local function join(path, key)
  if type(key) == "number" then return path .. "[" .. key .. "]" end
  return path == "" and key or path .. "." .. key
end

local convert

local function convert_map(doc, n, path, lines, expand)
  local t = {}
  local i = n.first_child
  while i >= 0 do
    local kn = doc.nodes[i]
    local vi = kn.next_sibling
    if kn.kind ~= C.SG_Y_SCALAR then
      return nil, ("line %d: map keys must be plain text"):format(kn.line)
    end
    local key = ffi.string(doc.text + kn.off, kn.len)
    local p = join(path, key)
    lines[p] = kn.line
    if t[key] ~= nil then return nil, ("line %d: %s: key given twice"):format(kn.line, p) end
    local v, err = convert(doc, vi, p, lines, expand)
    if err then return nil, err end
    t[key] = v
    i = doc.nodes[vi].next_sibling
  end
  return t
end

convert = function(doc, idx, path, lines, expand)
  local n = doc.nodes[idx]
  if lines[path] == nil then lines[path] = n.line end
  if n.kind == C.SG_Y_SCALAR then return scalar(doc, n, path, expand) end
  if n.kind == C.SG_Y_MAP then return convert_map(doc, n, path, lines, expand) end
  local t, k = {}, 0
  local i = n.first_child
  while i >= 0 do
    k = k + 1
    local v, err = convert(doc, i, join(path, k), lines, expand)
    if err then return nil, err end
    t[k] = v
    i = doc.nodes[i].next_sibling
  end
  return t
end

-- Returns value, lines or nil, "line N: message".
function M.decode(text, expand)
  local doc = C.sg_yaml_parse(text, #text, core.errbuf, core.ERRLEN)
  if doc == nil then return nil, core.err() end
  doc = ffi.gc(doc, C.sg_yaml_free)
  if doc.nnodes == 0 then return {}, {} end
  local lines = {}
  local v, err = convert(doc, 0, "", lines, expand)
  if err then return nil, err end
  return v, lines
end

-- Line of a key path, or of its nearest ancestor that has one.
function M.line_of(lines, path)
  path = path ~= nil and tostring(path) or nil
  while path and path ~= "" do
    if lines[path] then return lines[path] end
    path = path:match("^(.*)%[%d+%]$") or path:match("^(.*)%.[^%.]+$")
  end
  return lines[""] or 1
end

return M
