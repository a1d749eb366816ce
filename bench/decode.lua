-- bench/decode.lua — decode ns/message per source format, for `make bench`
-- (bench/run.lua puts these lines in its table and bench/results/latest.md).
--
-- Avro, JSON, TEXT, BYTES, CSV and Debezium come from build/decode_bench
-- (C, with avro-c's generic reader alone as the Avro baseline); Protobuf
-- is measured here, through the same C decoder the sources call, on the
-- same 6-column row, its bytes written by hand and checked by decoding
-- them back before timing.
--
-- Alone: `luajit bench/run.lua decode` prints the section and replaces the
-- decode section of bench/results/latest.md (between its markers), leaving
-- the rest of that file, from the last full `make bench`, as it was.
local M = {}

M.BEGIN, M.END = "<!-- decode:begin -->", "<!-- decode:end -->"

local function sh(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("*a")
  f:close()
  return out
end

local PROTO = [[
syntax = "proto3";
package bench;
message Row { int64 id = 1; string name = 2; double price = 3; int32 qty = 4; int64 ts = 5; bool active = 6; }
]]

local function varint(n) -- n: a non-negative Lua number below 2^53
  local out = {}
  repeat
    local b = n % 128
    n = (n - b) / 128
    out[#out + 1] = string.char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(out)
end

-- The bench row as Protobuf wire bytes.
local function row_bytes()
  local ffi = require "ffi"
  local d = ffi.new("double[1]", 19.99)
  return "\8" .. varint(123456789) .. "\18\6widget" .. "\25" .. ffi.string(d, 8) .. "\32" .. varint(42)
    .. "\40" .. varint(1704164645678901) .. "\48\1"
end

-- ns/message of the Protobuf decoder (best of 3 × n), or nil, error.
function M.protobuf(n)
  n = n or 1000000
  local C = require("sinkgate.core").C
  local pb = require "sinkgate.decode.protobuf"
  local fds, err = pb.compile(PROTO, "bench.proto")
  if not fds then return nil, err end
  local d
  d, err = pb.new { descriptor_set = fds, message = "bench.Row" }
  if not d then return nil, err end
  local rel = d:relation("row")
  -- Freed here, not by the collector: one 1024-row batch per call.
  local b = C.sg_batch_new(rel:c_schema(), 1024)
  local best, why = M.time_protobuf(d, rel, b, n)
  C.sg_batch_free(b)
  if not best then return nil, why end
  return best, why
end

function M.time_protobuf(d, rel, b, n)
  local core = require "sinkgate.core"
  local rows = require "sinkgate.rows"
  local C = core.C
  local msg = row_bytes()
  local r = C.sg_batch_push_row(b, 1, 1)
  local ok, derr = d:decode(b, r, 0, msg)
  if not ok then return nil, derr end
  local want = { 123456789, "widget", 19.99, 42, 1704164645678901, true }
  for i, c in ipairs(rel.columns) do
    local v = rows.get(b, r, i - 1, c.type)
    if type(v) == "cdata" then v = tonumber(v) end
    if v ~= want[i] then
      return nil, ("hand-written bytes: column %s decodes to %s, not %s"):format(c.name, tostring(v), tostring(want[i]))
    end
  end
  local errbuf, errlen, len = core.errbuf, core.ERRLEN, #msg
  local best = math.huge
  local clock = require("socket").gettime
  for _ = 1, 3 do
    local t0 = clock()
    for i = 0, n - 1 do
      if i % 1024 == 0 then C.sg_batch_clear(b) end
      local row = C.sg_batch_push_row(b, 1, 1)
      if C.sg_pb_decode(d.c, msg, len, b, row, 0, errbuf, errlen) ~= 0 then return nil, core.err() end
    end
    best = math.min(best, (clock() - t0) / n * 1e9)
  end
  return best, len
end

-- { { format =, ns =, note = }, … } in decode_bench's order, Protobuf last.
function M.measure()
  local out = sh("build/decode_bench 1000000")
  local res = {}
  for fmt, ns, note in out:gmatch("decode (%S+)%s+([%d.]+) ns/msg%s+%((.-)%)") do
    res[#res + 1] = { format = fmt, ns = tonumber(ns), note = note }
  end
  if #res == 0 then error("build/decode_bench failed (make build/decode_bench):\n" .. out) end
  local ns, len = M.protobuf()
  if not ns then error("protobuf decode bench: " .. tostring(len)) end
  res[#res + 1] = { format = "protobuf", ns = ns, note = ("%d bytes, through the Lua FFI"):format(len) }
  return res
end

-- The markdown section (with its markers).
function M.section(res)
  local load = (io.open("/proc/loadavg") or { read = function() return "?" end, close = function() end })
  local avg = load:read("*l") or "?"
  load:close()
  local lines = { M.BEGIN, "", ("Decoding one 6-column row per message, single thread, best of 3 × 1M (%s, load average %s):"):format(
    os.date("!%Y-%m-%d %H:%M UTC"), avg:match("^(%S+)") or "?"), "", "| format | ns/message | |", "|---|---:|---|" }
  local by = {}
  for _, r in ipairs(res) do by[r.format] = r end
  for _, r in ipairs(res) do
    local note = r.note
    if r.format == "avro" and by["avro-c"] then
      note = ("%s; %.1f× avro-c's generic reader"):format(note, r.ns / by["avro-c"].ns)
    end
    lines[#lines + 1] = ("| %s | %.1f | %s |"):format(r.format, r.ns, note)
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = M.END
  return lines
end

-- Replaces (or appends) the decode section of a results file.
function M.update(path, lines)
  local f = io.open(path)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  local section = table.concat(lines, "\n")
  local b, e = text:find(M.BEGIN, 1, true), select(2, text:find(M.END, 1, true))
  if b and e then
    text = text:sub(1, b - 1) .. section .. text:sub(e + 1)
  else
    text = text .. (text:match("\n$") and "" or "\n") .. "\n" .. section .. "\n"
  end
  f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

return M
