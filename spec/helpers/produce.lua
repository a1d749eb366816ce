-- helpers.produce(dev, topic, messages, opts): messages produced by an
-- independent client (spec/helpers/produce.py: Debian's python3-confluent-
-- kafka, python3-avro, python3-protobuf), never by sinkgate's own code, so
-- a spec reading them back checks sinkgate against another implementation.
--
--   helpers.produce(dev, "orders", { { key = "k", value = { id = 1 } }, … }, {
--     key_format = "text", value_format = { type = "avro", schema = {…} } })
--   → { produced = n, key_id = id, value_id = id, positions = { {p, offset}, … } }
--
-- Formats and message fields are those produce.py documents. A value of
-- nil in a message is a tombstone (use cjson.null inside JSON values).
-- lua-cjson writes an empty table as {}: where a datum needs an empty JSON
-- list, pass `messages` as the JSON text of the whole list instead.
local cjson = require "cjson"

local M = {}

M.PYTHON = "/usr/bin/python3" -- Debian's: the one that sees python3-* packages
M.SCRIPT = "spec/helpers/produce.py"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function M.produce(dev, topic, messages, opts)
  opts = opts or {}
  local job = cjson.encode({
    brokers = dev.brokers, registry = dev.registry, topic = topic,
    key_format = opts.key_format, value_format = opts.value_format, messages = "\0MESSAGES\0",
  })
  local list = type(messages) == "string" and messages or (#messages == 0 and "[]" or cjson.encode(messages))
  job = job:gsub('"\\u0000MESSAGES\\u0000"', function() return list end)
  local inp, out, err = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(inp, "w"))
  f:write(job)
  f:close()
  local ok = os.execute(("%s %s <%s >%s 2>%s"):format(M.PYTHON, M.SCRIPT, q(inp), q(out), q(err)))
  local function slurp(p)
    local h = io.open(p, "r")
    local s = h and h:read("*a") or ""
    if h then h:close() end
    os.remove(p)
    return s
  end
  local text, etext = slurp(out), slurp(err)
  os.remove(inp)
  if not (ok == true or ok == 0) then error("produce.py failed: " .. etext, 2) end
  return cjson.decode(text)
end

return M
