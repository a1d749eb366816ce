-- Helpers for the Kafka source specs: messages produced by an independent
-- producer (Debian's python3-confluent-kafka, spec/helpers/kafka_produce.py),
-- Avro encoded by python3-avro (avro_write.py) with the Confluent framing
-- written here, Protobuf by python3-protobuf, and a config run for a while
-- with its output read back through `sinkgate tail`.
local helpers = require "helpers"
local cjson = require "cjson"

local M = {}

local function b64(s)
  local p = io.popen("base64 -w0 <" .. helpers.write_tmp(s, ".bin"))
  local out = p:read("*a")
  p:close()
  return out
end
M.b64 = b64

-- msgs: list of { key = s|nil, value = s|nil, headers = {{k, v}}, partition = n }.
-- Bytes that are not printable ASCII go base64.
function M.produce(dev, topic, msgs)
  local lines = {}
  for i, m in ipairs(msgs) do
    local o = { partition = m.partition or 0, headers = m.headers }
    local k = m.key ~= cjson.null and m.key or nil
    local v = m.value ~= cjson.null and m.value or nil
    -- printable ASCII as it is; other bytes through base64 (a process per
    -- string: too slow for hundreds of messages)
    if k == nil then o.key = cjson.null elseif k:find("^[\32-\126]*$") then o.key = k else o.key_b64 = b64(k) end
    if v == nil then o.value = cjson.null elseif v:find("^[\32-\126]*$") then o.value = v else o.value_b64 = b64(v) end
    lines[i] = cjson.encode(o)
  end
  local file = helpers.write_tmp(table.concat(lines, "\n") .. "\n", ".jsonl")
  local ok = os.execute(("/usr/bin/python3 spec/helpers/kafka_produce.py %s %s <%s >/dev/null"):format(dev.brokers,
    topic, file))
  os.remove(file)
  assert(ok == true or ok == 0, "producing to " .. topic .. " failed")
end

-- Runs a config (text) for `duration`; returns the run result.
function M.run(dev, config, duration)
  local path = helpers.write_tmp(config, ".lua")
  local r = helpers.sinkgate("run --duration " .. (duration or "2s") .. " " .. path, dev.env)
  os.remove(path)
  return r
end

-- The messages of a one-partition topic, in offset order.
function M.events(dev, topic)
  local out = helpers.tail(dev, topic)
  table.sort(out, function(a, b) return a.offset < b.offset end)
  return out
end

-- The "after" images of a DEBEZIUM-envelope JSON sink's messages, in order
-- of (partition, offset) as tail reads them.
function M.afters(dev, topic)
  local out = {}
  for _, m in ipairs(helpers.tail(dev, topic)) do
    if m.value ~= cjson.null and m.value.after ~= cjson.null then out[#out + 1] = m.value.after end
  end
  return out
end

-- Avro: registers schema (a JSON-able table) for subject; returns its id.
function M.register(dev, subject, schema)
  local status, body = helpers.http("POST", dev.registry .. "/subjects/" .. subject .. "/versions",
    cjson.encode({ schema = cjson.encode(schema) }))
  assert(status == 200, "register " .. subject .. ": " .. tostring(status) .. " " .. cjson.encode(body))
  return body.id
end

-- Avro binary of each datum (python3-avro), Confluent-framed with id.
function M.avro(schema, id, datums)
  local items = {}
  for i, d in ipairs(datums) do items[i] = { schema = schema, datum = d } end
  local input = helpers.write_tmp(cjson.encode(items), ".json")
  local p = io.popen("/usr/bin/python3 spec/helpers/avro_write.py <" .. input)
  local out = {}
  for line in p:lines() do
    assert(not line:match("^ERR"), line)
    local bin = line:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)
    out[#out + 1] = string.char(0, math.floor(id / 16777216) % 256, math.floor(id / 65536) % 256,
      math.floor(id / 256) % 256, id % 256) .. bin
  end
  p:close()
  os.remove(input)
  return out
end

return M
