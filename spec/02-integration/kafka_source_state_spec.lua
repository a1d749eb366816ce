-- UPSERT source state in the state store (source/upsert_state.lua): larger
-- than the sink's state_memory, so most keys live on disk (LMDB under
-- state_dir), and a restart rebuilds it from the topic — through the C fast
-- path (core/state/upsert.c, taken under on_decode_error = "stall") or the
-- per-message Lua path (taken under "skip"). Updates and deletes of keys
-- that live on disk must retract exactly the rows the first run emitted for
-- them, metadata (offset, headers) included; both paths must agree.
local helpers = require "helpers"
local ks = require "helpers.kafka_source"
local cjson = require "cjson"

local KEYS = 600

local function config(topic, dir, policy)
  return ([[
local sg = require "sinkgate"
local kafka = sg.kafka_connection { brokers = sg.env("SINKGATE_BROKERS"), admin_timeout = "200ms" }
local src = sg.source.kafka { connection = kafka, topic = %q, key_format = "text", value_format = "text",
  envelope = "upsert", include = { key = true, offset = true, headers = true }, on_decode_error = %q }
sg.sink %q { from = src, into = { connection = kafka, topic = %q }, format = "json", envelope = "debezium",
  state_dir = %q, state_memory = 16384 }
]]):format(topic, policy, topic .. "_out", topic .. "_out", dir)
end

local function key(i) return ("k%04d"):format(i) end

local events = ks.events -- the output topics have one partition

local function scenario(dev, topic, policy)
  local dir = os.tmpname()
  os.remove(dir)
  local first = {}
  for i = 1, KEYS do
    first[i] = { key = key(i), value = ("v1-%d-"):format(i) .. ("x"):rep(80),
      headers = { { "h", "first-" .. i } } }
  end
  ks.produce(dev, topic, first)
  local cfg = config(topic, dir, policy)
  local r = ks.run(dev, cfg, "3s")
  assert.equal(0, r.rc, r.err)
  local snap = events(dev, topic .. "_out")
  assert.equal(KEYS, #snap)
  local emitted = {}
  for _, m in ipairs(snap) do emitted[m.value.after.key] = m.value.after end
  -- the state went to disk: this run's store holds an LMDB file with data
  local f = io.popen("find " .. dir .. " -name data.mdb -size +16k")
  local found = f:read("*a")
  f:close()
  assert.matches("source%-.*%.kept/data%.mdb", found)
  -- The files lost: the restart rebuilds the state from the topic (keeping
  -- them is kafka_upsert_cache_spec's subject).
  os.execute("rm -rf " .. dir .. "/*/source-*.kept")

  -- Updates of every 7th key, deletes of every 11th: rehydrated, then retracted.
  local second, expect = {}, {}
  for i = 1, KEYS do
    if i % 7 == 0 or i % 11 == 0 then
      local upd = i % 11 ~= 0
      second[#second + 1] = { key = key(i), value = upd and ("v2-%d"):format(i) or cjson.null }
      expect[key(i)] = upd
    end
  end
  ks.produce(dev, topic, second)
  r = ks.run(dev, cfg, "3s")
  assert.equal(0, r.rc, r.err)
  assert.matches("resuming at frontier", r.err)
  -- which rehydration path ran: the C one logs what it rebuilt
  if policy == "stall" then
    assert.matches("UPSERT state rebuilt up to offsets " .. KEYS .. ",0,0,0: " .. KEYS .. " keys %(%d+ on disk%)", r.err)
  else
    assert.not_matches("UPSERT state rebuilt", r.err)
  end
  local all = events(dev, topic .. "_out")
  assert.equal(KEYS + #second, #all)
  local seen = 0
  for i = KEYS + 1, #all do
    local v = all[i].value
    local k = v.before.key
    assert.same(emitted[k], v.before) -- the row the first run emitted, offset and headers included
    if expect[k] then
      assert.equal(("v2-%s"):format(tonumber(k:sub(2))), v.after.text)
    else
      assert.equal(cjson.null, v.after)
    end
    seen = seen + 1
  end
  assert.equal(#second, seen)
  os.execute("rm -rf '" .. dir .. "'")
  return all
end

describe("UPSERT source state beyond state_memory", function()
  local dev
  setup(function() dev = helpers.dev_start() end)
  teardown(function() helpers.dev_stop(dev) end)

  it("rehydrates through the C fast path and retracts rows of keys on disk", function()
    scenario(dev, "upstate_c", "stall")
  end)

  it("the per-message Lua path (on_decode_error = skip) gives the same output", function()
    local a = scenario(dev, "upstate_lua", "skip")
    local b = events(dev, "upstate_c_out")
    assert.equal(#b, #a)
    -- Each key's changes, in order. Across keys the order depends on how the
    -- messages fell into poll batches (timestamps), which timing decides.
    local function by_key(msgs)
      local out = {}
      for _, m in ipairs(msgs) do
        local v = m.value
        local before, after = v.before ~= cjson.null and v.before or nil, v.after ~= cjson.null and v.after or nil
        local k = (before or after).key
        out[k] = out[k] or {}
        table.insert(out[k], { before = before, after = after })
      end
      return out
    end
    assert.same(by_key(b), by_key(a))
  end)
end)
