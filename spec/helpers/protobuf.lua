-- Protobuf fixtures for the decoder specs: the test schemas compiled by
-- protoc (a descriptor set, and Python classes), messages encoded by Debian's
-- python3-protobuf (spec/fixtures/protobuf/encode.py), and the canonical form
-- both sides are compared in.
local cjson = require "cjson"
local pb = require "sinkgate.decode.protobuf"
local rows = require "sinkgate.rows"
local core = require "sinkgate.core"

local C, ffi = core.C, core.ffi
local M = {}

M.DIR = "spec/fixtures/protobuf"

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Compiles the test schemas once per process; returns the work directory.
local work
function M.work()
  if work then return work end
  work = os.tmpname()
  os.remove(work)
  assert(sh("mkdir -p " .. work))
  assert(sh(("protoc --include_imports --descriptor_set_out=%s/all.fds --python_out=%s -I%s sgtest.proto sgtest2.proto")
    :format(work, work, M.DIR)), "protoc failed (apt-get install protobuf-compiler)")
  return work
end

function M.fds()
  return slurp(M.work() .. "/all.fds")
end

-- The Python-encoded cases (see encode.py), decoded from JSON.
function M.cases()
  local w = M.work()
  -- env -u: a sanitizer preloaded into the specs (ASan runs) must not reach Python.
  assert(sh(("env -u LD_PRELOAD PYTHONPATH=%s /usr/bin/python3 %s/encode.py %s/cases.json 2>/dev/null"):format(w, M.DIR, w)),
    "encode.py failed (apt-get install python3-protobuf)")
  return cjson.decode(slurp(w .. "/cases.json"))
end

function M.unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function hex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- A decoded value in the canonical form encode.py writes.
function M.canon(t, v)
  if v == nil or v == rows.null then return nil end
  local name = t.name
  if name == "record" then
    local out = {}
    for _, f in ipairs(t.fields) do out[f.name] = M.canon(f.type, v[f.name]) end
    return out
  elseif name == "list" then
    local out = {}
    for i = 1, v.n do out[i] = M.canon(t.elem, v[i]) end
    return out
  elseif name == "map" then
    local out = {}
    for k, x in pairs(v) do out[k] = M.canon(t.value, x) end
    return out
  elseif name == "bytea" then
    return "x:" .. hex(v)
  elseif type(v) == "cdata" then
    return (tostring(v):gsub("U?LL$", ""))
  elseif type(v) == "number" then
    return ("%.17g"):format(v)
  end
  return v
end

-- Decodes bytes with decoder d into a fresh one-row batch; returns the
-- canonical record of the columns, or nil, err, code.
function M.decode(d, bytes, rel)
  rel = rel or assert(d:relation())
  local b = ffi.gc(C.sg_batch_new(rel:c_schema(), 1), C.sg_batch_free)
  local r = C.sg_batch_push_row(b, 1, 1)
  local ok, err, code = d:decode(b, r, 0, bytes)
  if not ok then return nil, err, code end
  local out = {}
  for i, c in ipairs(rel.columns) do out[c.name] = M.canon(c.type, rows.get(b, r, i - 1, c.type)) end
  return out
end

function M.decoder(message, opts)
  opts = opts or {}
  opts.descriptor_set, opts.message = M.fds(), message
  return assert(pb.new(opts))
end

return M
