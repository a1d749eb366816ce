-- sinkgate.source.kafka_plan — the relation of a Kafka source (semantics
-- §10): its columns, in the reference's order — the key's columns (when
-- included, always under UPSERT), the value's, then metadata in the order
-- partition, offset, timestamp, headers, single headers — and its keys
-- (UPSERT: the key columns; DEBEZIUM: the declared keys). The decoders made
-- here (registry schemas read once, at planning) are kept in the layout the
-- runtime (source/kafka.lua) fills rows with.
local decode = require "sinkgate.decode"
local fmt = require "sinkgate.source.kafka_format"
local relation = require "sinkgate.relation"
local types = require "sinkgate.types"

local M = {}

local SINGLE = { text = true, bytes = true, json = true }

-- The name of an include option: true/"true" → default, a string → itself.
local function include_name(v, default)
  if v == nil or v == "false" or v == false then return nil end
  if v == true or v == "true" then return default end
  return v
end

M.HEADERS_TYPE = { list = { record = { { "key", "text", not_null = true }, { "value", "bytea" } } } }

-- src: a validated kafka source. Returns the relation, or nil after
-- appending "path: message" problems. src.kafka_layout describes the row.
function M.relation(src, problems, opts)
  local o, p = src.opts, src.path
  opts = opts or {}
  local n0 = #problems
  local function bad(msg) problems[#problems + 1] = p .. msg end
  if o.format and (o.key_format or o.value_format) then bad(": give either format or key_format + value_format, not both") end
  local kf = o.key_format or o.format
  local vf = o.value_format or o.format
  if not vf then bad(": needs format, or key_format + value_format") return nil end
  local env = o.envelope
  local inc = o.include or {}
  local key_name = include_name(inc.key, "key")
  if (env == "upsert" or env == "debezium") and not kf then bad(".key_format: ENVELOPE " .. env:upper() .. " needs a key format") end
  if env == "debezium" and (inc.key or inc.headers or inc.header) then
    bad(".include: DEBEZIUM includes the key itself; no key, headers or header metadata with it")
  end
  if env ~= "upsert" and o.value_decoding_errors then bad(".value_decoding_errors: only with ENVELOPE UPSERT") end
  if o.on_decode_error == "dead_letter" and not o.dead_letter then bad(".dead_letter: needed with on_decode_error = \"dead_letter\"") end
  if env == "debezium" and fmt.name(vf) ~= "json" and fmt.name(vf) ~= "avro" then
    bad(".value_format: DEBEZIUM reads JSON or Avro values")
  end
  if fmt.name(vf) == "csv" and env ~= "none" then bad(".envelope: CSV values take ENVELOPE NONE only") end
  if o.start_offset and o.start_timestamp then bad(": give start_offset or start_timestamp, not both") end
  if kf and (env == "upsert" or key_name) and fmt.name(kf) == "csv" and kf.opts.header == true then
    bad(".key_format: csv header = true reads the header from the value: give the key's names, header = { … }")
  end
  if #problems > n0 then return nil end
  -- CSV WITH HEADER: the topic's first record names the columns.
  local csv_names, header_at
  if fmt.name(vf) == "csv" and vf.opts.header == true then
    local value, at = require("sinkgate.source.kafka").first_record(o.connection.opts, o.topic)
    if not value then
      if opts.check then
        local rel = relation.new(o.name or o.topic, {}, {})
        rel.deferred = "columns from the topic's first record (the CSV header) when it runs: " .. at
        return rel
      end
      bad((o.value_format and ".value_format" or ".format") .. ": " .. at)
      return nil
    end
    csv_names, header_at = decode.csv_header(value, vf.opts.delimiter)
    if not csv_names then bad(".format: the CSV header record: " .. header_at) return nil end
    header_at = at
  end

  -- `check` without a reachable registry: the columns are known at run time.
  if opts.check then
    for _, f in ipairs({ kf, vf }) do
      if type(f) == "table" and f.opts.registry then
        -- one try, no retries: check answers at once when nothing listens
        local c, err = require("sinkgate.registry").client(setmetatable({ retries = 0 }, { __index = f.opts.registry.opts }))
        local ok, why
        if c then ok, why = c:latest(o.topic .. "-" .. (f == kf and "key" or "value")) end
        if not ok and (not why or why.http_status == 0) then
          local rel = relation.new(o.name or o.topic, {}, {})
          rel.deferred = "columns from the registry when it runs; unreachable now: " .. (err or why.message)
          return rel
        end
      end
    end
  end
  local cols, layout = {}, { envelope = env, topic = o.topic, kf = kf, vf = vf, meta = {}, csv_header_at = header_at }
  local function add(c)
    cols[#cols + 1] = c
    return #cols - 1 -- 0-based column index
  end
  local key_cols = {}
  if kf and (env == "upsert" or key_name) then
    local kd, err = fmt.new(kf, o.topic, "key")
    if not kd then bad(".key_format: " .. err) return nil end
    layout.key_dec, layout.key_first = kd, #cols
    local kc = kd.columns
    if SINGLE[fmt.name(kf)] or (type(inc.key) == "string" and #kc == 1) then
      -- a single-column key (or a record key of one field) is renamed
      key_cols[1] = key_name or "key"
      add({ key_cols[1], kc[1][2], not_null = env == "upsert" and (SINGLE[fmt.name(kf)] or kc[1].not_null) })
    elseif type(inc.key) == "string" then
      -- INCLUDE KEY AS name with a record key (as the reference): one
      -- record column holding the key's fields, not the fields as columns.
      local rec_rel, errs = M.key_record(kc)
      if not rec_rel then bad(".include.key: " .. errs) return nil end
      key_cols[1] = key_name
      layout.key_record = { rel = rec_rel }
      add({ key_name, { record = kc }, not_null = env == "upsert" })
    else
      for _, c in ipairs(kc) do
        key_cols[#key_cols + 1] = c[1]
        add({ c[1], c[2], not_null = env == "upsert" and c.not_null })
      end
    end
    layout.nkey = #key_cols
  elseif kf and env == "debezium" then
    local kd, err = fmt.new(kf, o.topic, "key")
    if not kd then bad(".key_format: " .. err) return nil end
    layout.dbz_key_dec = kd -- decoded only to check it; the key bytes identify the row
  end
  local vd, err
  if env == "debezium" and fmt.name(vf) == "avro" then
    vd, err = M.debezium_avro(vf, o.topic, layout)
  elseif env == "debezium" and not o.columns then
    -- Wrapped Debezium JSON (schemas.enable=true): the columns come from the
    -- embedded schema of the topic's first message.
    local sample, at = require("sinkgate.source.kafka").first_record(o.connection.opts, o.topic)
    if not sample then
      if opts.check then
        local rel = relation.new(o.name or o.topic, {}, {})
        rel.deferred = "columns from the embedded schema of the topic's first message when it runs: " .. at
        return rel
      end
      bad(".columns: declare the columns, or produce a wrapped Debezium message first (" .. at .. ")")
      return nil
    end
    vd, err = decode.new("debezium", { sample = sample, keys = o.keys })
  elseif env == "debezium" then
    vd, err = decode.new("debezium", { columns = o.columns, keys = o.keys })
  else
    vd, err = fmt.new(vf, o.topic, "value", csv_names)
  end
  if not vd then bad((o.value_format and ".value_format: " or ".format: ") .. err) return nil end
  layout.value_dec, layout.value_first = vd, #cols
  -- Registry schema ids the relation was built from (progress record).
  layout.schema_ids = { key = layout.key_dec and layout.key_dec.reader_id or nil,
    value = vd.reader_id or (layout.dbz_avro and layout.dbz_avro.dec.reader_id) or nil }
  for _, c in ipairs(vd.columns) do
    -- Under NONE a null value (a tombstone) still makes a row: its value
    -- columns are NULL; inline errors null them too.
    add({ c[1], c[2], not_null = c.not_null and env ~= "none" and not o.value_decoding_errors })
  end
  layout.nvalue = #vd.columns
  if o.value_decoding_errors then
    layout.error_col = add({ "error", { record = { { "description", "text" } } } })
  end
  for _, m in ipairs({ { "partition", "integer" }, { "offset", "uint8" }, { "timestamp", "timestamp(3)" },
    { "headers", M.HEADERS_TYPE } }) do
    local name = include_name(inc[m[1]], m[1])
    if name then layout.meta[#layout.meta + 1] = { kind = m[1], col = add({ name, m[2], not_null = m[1] ~= "timestamp" }) } end
  end
  for _, h in ipairs(inc.header or {}) do
    layout.meta[#layout.meta + 1] = { kind = "header", header = h[1], bytes = h.bytes,
      col = add({ h.as, h.bytes and "bytea" or "text", not_null = true }) }
  end
  local keys = {}
  if env == "upsert" then keys[1] = key_cols end
  if env == "debezium" then
    -- declared, else the fields of a record key schema (Avro, Protobuf)
    local record_key = layout.dbz_key_dec and not SINGLE[fmt.name(kf)]
    keys = o.keys or (record_key and M.field_names(layout.dbz_key_dec)) or {}
  end
  local rel, errs = relation.new(o.name or o.topic, cols, keys)
  for _, e in ipairs(errs or {}) do bad(": " .. e:gsub("^columns%[%d+%]: ", "")) end
  if not rel then return nil end
  -- Column types resolved once for metadata cells.
  for _, m in ipairs(layout.meta) do m.type = rel.columns[m.col + 1].type end
  if layout.error_col then layout.error_type = rel.columns[layout.error_col + 1].type end
  if layout.key_record then layout.key_record.type = rel.columns[layout.key_first + 1].type end
  src.kafka_layout = layout
  return rel
end

-- Debezium with Avro values: the envelope record (before, after, source,
-- op, …) is decoded whole into a scratch row; the source's columns are the
-- fields of `after` (source/kafka_envelope.lua copies them out). Returns an
-- object with the value columns, or nil, err.
function M.debezium_avro(vf, topic, layout)
  local ed, err = fmt.new(vf, topic, "value")
  if not ed then return nil, err end
  local idx, t = {}, {}
  for i, c in ipairs(ed.columns) do idx[c[1]], t[c[1]] = i - 1, c[2] end
  local after = t.after
  if not after or after.name ~= "record" or not idx.before then
    return nil, "a Debezium Avro value is a record with `before` and `after` records"
  end
  local env_rel, errs = relation.new("debezium_envelope", ed.columns, {})
  if not env_rel then return nil, table.concat(errs, "; ") end
  local cols = {}
  for i, f in ipairs(after.fields) do cols[i] = { f.name, f.type, not_null = not f.nullable } end
  layout.dbz_avro = { dec = ed, rel = env_rel, idx = idx, types = t, fields = after.fields }
  return { columns = cols }
end

-- The relation of a record key's own columns: its decoder fills a scratch
-- row of it, which becomes the one record cell (source/kafka_envelope.lua).
function M.key_record(kc)
  local rel, errs = relation.new("key", kc, {})
  if not rel then return nil, table.concat(errs, "; ") end
  return rel
end

-- The column names a decoder yields (a Debezium key's fields).
function M.field_names(d)
  local out = {}
  for i, c in ipairs(d.columns) do out[i] = c[1] end
  return { out }
end

-- "name type" lines of a relation, for `check`.
function M.describe(rel)
  local out = {}
  for i, c in ipairs(rel.columns) do out[i] = c.name .. " " .. types.render(c.type) .. (c.nullable and "" or " not null") end
  return out
end

return M
