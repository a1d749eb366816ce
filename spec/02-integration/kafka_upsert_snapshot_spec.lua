-- A new sink's snapshot of an UPSERT Kafka source read from its keyed
-- state (source/upsert_snapshot.lua: state built in C, one insertion per
-- live key) must give exactly what the per-message path gives (forced by
-- on_decode_error = "skip"): same keys, values and metadata (partition,
-- offset, headers), over updates, deletes, a null-key record and the
-- null/null record that clears it, and with most keys on disk (state larger
-- than state_memory under state_dir).
local helpers = require "helpers"
local cjson = require "cjson"
local ks = require "helpers.kafka_source"

-- include: the source's include option (default: key and every metadata
-- column, so the stored values carry metadata and the snapshot decodes in
-- Lua; key only: raw values, decoded in C by sg_upsert_snapshot_rows).
local function config(topic, out, policy, dir, include)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "text", value_format = "text",
  envelope = "upsert", include = %s,
  on_decode_error = %q }
sg.sink %q { from = src, into = { connection = kafka, topic = %q }, format = "json", envelope = "debezium"%s }
]]):format(topic, include or "{ key = true, partition = true, offset = true, headers = true }", policy, out, out,
    dir and (", state_dir = %q, state_memory = 16384"):format(dir) or "")
end


-- Updates of every 3rd key, deletes of every 5th (some deleted keys come
-- back), a null key with a value, then the null/null record that clears it.
local function messages(n, parts)
  local msgs = {}
  -- a key keeps to one partition (Kafka's order is per partition)
  local function add(i, v, h)
    msgs[#msgs + 1] = { key = i and ("k%04d"):format(i) or cjson.null, value = v, partition = i and i % parts or 0,
      headers = h }
  end
  for i = 1, n do add(i, ("v1-%d-"):format(i) .. ("x"):rep(60), { { "h", "first-" .. i } }) end
  add(nil, "no key")
  for i = 1, n do
    if i % 5 == 0 then add(i, cjson.null) end
    if i % 3 == 0 then add(i, ("v2-%d"):format(i), { { "h", "second-" .. i }, { "n", cjson.null } }) end
  end
  add(nil, cjson.null)
  return msgs
end

-- The snapshot's rows by key (insertions only: a consolidated snapshot).
local function snapshot(dev, topic)
  local out, n = {}, 0
  for _, m in ipairs(helpers.tail(dev, topic)) do
    assert.equal(cjson.null, m.value.before)
    local a = m.value.after
    assert.is_nil(out[a.key], "key " .. tostring(a.key) .. " twice")
    out[a.key], n = a, n + 1
  end
  return out, n
end

local function both(dev, topic, dir_fast, dir_lua, include, tag)
  local fast_out, lua_out = topic .. (tag or "") .. "_fast", topic .. (tag or "") .. "_lua"
  local r = ks.run(dev, config(topic, fast_out, "stall", dir_fast, include), "3s")
  assert.equal(0, r.rc, r.err)
  assert.matches("snapshot from its UPSERT state: %d+ rows", r.err)
  local fast, nf = snapshot(dev, fast_out)
  local on_disk = tonumber(r.err:match("snapshot from its UPSERT state: %d+ rows %((%d+) keys on disk%)"))
  r = ks.run(dev, config(topic, lua_out, "skip", dir_lua, include), "3s")
  assert.equal(0, r.rc, r.err)
  assert.not_matches("snapshot from its UPSERT state", r.err)
  local lua, nl = snapshot(dev, lua_out)
  assert.equal(nl, nf)
  assert.same(lua, fast)
  return fast, nf, on_disk
end

describe("UPSERT snapshot from keyed state", function()
  local dev
  setup(function() dev = helpers.dev_start("--topics usnap:3,usnap_disk:2,usnap_bad:1,usnap_raw:2") end)
  teardown(function() helpers.dev_stop(dev) end)

  it("gives the rows of the per-message path (updates, deletes, null keys)", function()
    local n = 60
    ks.produce(dev, "usnap", messages(n, 3))
    local rows, count, on_disk = both(dev, "usnap")
    assert.equal(0, on_disk)
    -- independent of both paths: the live keys and their last values
    local live = 0
    for i = 1, n do
      local k, row = ("k%04d"):format(i), rows[("k%04d"):format(i)]
      if i % 3 == 0 then
        live = live + 1
        assert.equal(("v2-%d"):format(i), row.text)
        assert.equal(2, #row.headers) -- the update's headers, not the first message's
        assert.equal("h", row.headers[1].key)
        assert.equal("n", row.headers[2].key)
      elseif i % 5 == 0 then
        assert.is_nil(row, k .. " was deleted")
      else
        live = live + 1
        assert.equal(("v1-%d-"):format(i) .. ("x"):rep(60), row.text)
      end
    end
    assert.equal(live, count)
    local partitions = {}
    for _, row in pairs(rows) do partitions[row.partition] = true end
    assert.same({ [0] = true, [1] = true, [2] = true }, partitions)
  end)

  it("iterates keys on disk too (state beyond state_memory under state_dir)", function()
    local n = 600
    ks.produce(dev, "usnap_disk", messages(n, 2))
    local d1, d2 = os.tmpname(), os.tmpname()
    os.remove(d1)
    os.remove(d2)
    local _, count, on_disk = both(dev, "usnap_disk", d1, d2)
    assert.is_true(on_disk > 100, "keys on disk: " .. tostring(on_disk))
    assert.equal(n - math.floor(n / 5) + math.floor(n / 15), count)
    os.execute("rm -rf '" .. d1 .. "' '" .. d2 .. "'")
  end)

  it("without metadata columns, decoded in C: the same rows, in memory and on disk", function()
    local n = 600
    ks.produce(dev, "usnap_raw", messages(n, 2))
    local rows, count = both(dev, "usnap_raw", nil, nil, "{ key = true }", "_mem")
    assert.equal(n - math.floor(n / 5) + math.floor(n / 15), count)
    assert.equal(("v2-%d"):format(3), rows.k0003.text)
    assert.is_nil(rows.k0005)
    local d1, d2 = os.tmpname(), os.tmpname()
    os.remove(d1)
    os.remove(d2)
    local disk_rows = both(dev, "usnap_raw", d1, d2, "{ key = true }", "_disk")
    assert.same(rows, disk_rows)
    os.execute("rm -rf '" .. d1 .. "' '" .. d2 .. "'")
  end)

  it("a stored value that does not decode: the per-message path's stall, same message", function()
    ks.produce(dev, "usnap_bad", { { key = "a", value = '{"x":1}', partition = 0 }, { key = "b", value = "not json", partition = 0 },
      { key = "c", value = '{"x":3}', partition = 0 } })
    local cfg = [[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = "usnap_bad", key_format = "text", value_format = "json",
  envelope = "upsert", include = { key = true } }
sg.sink "usnap_bad_out" { from = src, into = { connection = kafka, topic = "usnap_bad_out" }, format = "json",
  envelope = "debezium" }
]]
    local r = ks.run(dev, cfg, "3s")
    assert.matches("a stored row does not decode", r.err)
    assert.matches("topic usnap_bad partition 0 offset 1: ", r.err)
    assert.matches("the source stalls here", r.err)
    -- as the per-message path: the snapshot up to the message that stalls
    local rows, n = snapshot(dev, "usnap_bad_out")
    assert.equal(1, n)
    assert.same({ x = 1 }, rows.a.data)
  end)
end)
