-- Per-message Lua functions and the format × envelope × key matrix.
local helpers = require "helpers"
local sg = require "sinkgate"
local cjson = require "cjson"
local mime = require "mime"

local function run(dev, body, args)
  local path = helpers.write_tmp([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local csr = sg.registry_connection { url = sg.env("SINKGATE_REGISTRY") }
local gen = sg.source.load_generator { kind = "counter", tick = "50ms", max_cardinality = 4 }
]] .. body, ".lua")
  local r = helpers.sinkgate("run " .. (args or "--duration 500ms --status-interval 100ms") .. " " .. path, dev.env)
  os.remove(path)
  return r
end

describe("routing", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics pby:8,pby_dbz:8,hdr:4,zip_none:2,zip_gzip:2,zip_snappy:2,zip_lz4:2,zip_zstd:2") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("partition_by: uint64 hashes route by hash % count; nil and errors go to 0 and are counted", function()
    local r = run(dev, [[
sg.sink "pby" { from = gen, into = { connection = kafka, topic = "pby", partition_by = function(row)
  if row.counter % 3 == 0 then return nil end
  if row.counter % 3 == 1 then error("no hash for this row") end
  return sg.hash.seahash(tostring(row.counter))
end }, key = { "counter" }, format = "json", envelope = "upsert" }]])
    assert.equal(0, r.rc, r.err)
    local nils, errs = 0, 0
    for _, m in ipairs(helpers.tail(dev, "pby")) do
      local c = m.key.counter
      if c % 3 == 2 then
        assert.equal(tonumber(sg.hash.seahash(tostring(c)) % 8), m.partition)
      else
        assert.equal(0, m.partition)
        if c % 3 == 0 then nils = nils + 1 else errs = errs + 1 end
      end
    end
    assert.is_true(nils > 0 and errs > 0)
    -- tombstones were routed too (they see the old row), so the counts cover every message
    assert.matches("partition_by_nil=" .. nils, r.err)
    assert.matches("partition_by_errors=" .. errs, r.err)
  end)

  it("partition_by with DEBEZIUM may read key columns only", function()
    local body = [[
local t = sg.source.table { columns = { { "id", "bigint", not_null = true }, { "g", "bigint" } }, keys = { { "id" } },
  tick = "50ms", feed = function(t, tick) t:insert({ id = tick, g = tick %% 3 }) end }
sg.sink "pby_dbz" { from = t, into = { connection = kafka, topic = "pby_dbz",
  partition_by = function(row) return %s end }, key = { "id" }, format = "json", envelope = "debezium" }]]
    local r = run(dev, body:format("sg.hash.crc32(tostring(row.g))"))
    assert.equal(1, r.rc)
    assert.matches('partition_by may only read key columns with the DEBEZIUM envelope: it read column "g" %(key: id%)', r.err)
    r = run(dev, body:format("row.id"))
    assert.equal(0, r.rc, r.err)
    for _, m in ipairs(helpers.tail(dev, "pby_dbz")) do assert.equal(m.key.id % 8, m.partition) end
  end)

  it("headers: after the timestamp, text and bytes values, reserved names dropped, tombstones included", function()
    local r = run(dev, [[
sg.sink "hdr" { from = gen, into = { connection = kafka, topic = "hdr" }, key = { "counter" }, format = "json",
  envelope = "upsert", headers = function(row)
    return { source = "demo", raw = "\0\255" .. string.char(row.counter % 256), ["sinkgate-forged"] = "x",
             gone = row.counter == 2 and sg.null or "here" }
  end }]])
    assert.equal(0, r.rc, r.err)
    local tombstones = 0
    for _, m in ipairs(helpers.tail(dev, "hdr")) do
      local h = m.headers
      assert.equal("sinkgate-timestamp", h[1][1])
      assert.same({ "gone", "raw", "source" }, { h[2][1], h[3][1], h[4][1] }) -- sorted, forged one dropped
      assert.equal(4, #h)
      assert.equal("\0\255" .. string.char(m.key.counter % 256), mime.unb64(h[3][2].base64))
      assert.equal("demo", h[4][2])
      assert.equal(m.key.counter == 2 and cjson.null or "here", h[2][2])
      if m.value == cjson.null then tombstones = tombstones + 1 end
    end
    assert.is_true(tombstones > 0)
    assert.matches("headers_dropped=%d+", r.err)
  end)

  for _, codec in ipairs({ "none", "gzip", "snappy", "lz4", "zstd" }) do
    it("compresses with " .. codec, function()
      local r = run(dev, ([[
sg.sink "zip_%s" { from = gen, into = { connection = kafka, topic = "zip_%s", compression = %q }, key = { "counter" },
  format = "json", envelope = "upsert" }]]):format(codec, codec, codec), "--duration 300ms")
      assert.equal(0, r.rc, r.err)
      local msgs = helpers.tail(dev, "zip_" .. codec)
      assert.equal(helpers.final_status(r.err).messages, #msgs)
      assert.is_true(#msgs > 0)
    end)
  end

  -- Every format × envelope × key case: the run succeeds and what lands decodes as expected.
  local formats = {
    json = 'format = "json"', avro = "format = sg.avro { registry = csr }",
    text_json = 'key_format = "text", value_format = "json"', json_bytes = 'key_format = "json", value_format = "bytes"',
  }
  for fname, fmt in pairs(formats) do
    for _, env in ipairs({ "upsert", "debezium" }) do
      for _, keyed in ipairs({ true, false }) do
        local valid = (keyed or (env == "debezium" and not fname:match("^text") and fname ~= "json_bytes"))
          and not (env == "debezium" and fname == "json_bytes")
        local name = ("m_%s_%s_%s"):format(fname, env, keyed and "key" or "nokey")
        it(("%s, %s, %s"):format(fname, env, keyed and "with a key" or "without a key"), function()
          local r = run(dev, ([[
sg.sink %q { from = gen, into = { connection = kafka, topic = %q }, %s envelope = %q, %s }]]):format(name, name,
            keyed and 'key = { "counter" },' or "", env, fmt), "--duration 300ms")
          if not valid then
            assert.equal(1, r.rc)
            return
          end
          assert.equal(0, r.rc, r.err)
          local msgs = helpers.tail(dev, name)
          assert.is_true(#msgs > 0)
          for _, m in ipairs(msgs) do
            if keyed then assert.is_not.equal(cjson.null, m.key) else assert.equal(cjson.null, m.key) end
            if env == "debezium" then
              assert.is_table(m.value)
              local side = m.value.after ~= cjson.null and m.value.after or m.value.before
              if fname == "avro" then side = side.row end
              assert.is_number(side.counter)
            elseif m.value ~= cjson.null then
              local v = fname == "json_bytes" and m.value or m.value.counter
              assert.is_not_nil(v)
            end
          end
        end)
      end
    end
  end
end)
