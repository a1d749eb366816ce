-- sinkgate.decode — the format layer Kafka sources and `sinkgate tail` use:
-- a decoder turns one message key or value into cells of a row already
-- pushed into a batch (the C decoders in core/decode/), and says which
-- relation columns it yields.
--
--   local d = assert(decode.new(fmt, opts))
--   d:relation_columns()            -- { {name, type, not_null=}, … } (sg.source.table's shape)
--   d:into(batch, row, first_col, bytes) -- true, or nil, message, code ("error" | "skip")
--
-- fmt: "text", "bytes", "json", "csv", "avro", "debezium", or a format
-- declaration ({ kind = "csv", … } / sg.avro{…} / sg.csv{…}) whose options
-- are merged under opts. Options per format:
--   csv:      columns = N | header = { names } (header = true: pass the first
--             message as header_line, or call decode.csv_header), delimiter = ","
--   avro:     schema = reader schema JSON (the latest <subject> version),
--             fetch = function(id) → writer schema JSON or nil, err (the
--             registry client's schema_by_id), confluent = false for bare
--             Avro, default_name = column name of a non-record schema
--   debezium: columns = { … } (+ keys) without the wrapper, or sample = one
--             wrapped message to read the columns from its embedded schema;
--             d:parse(bytes) → info (op, has_before, has_after, source
--             position) and d:fill(which, batch, row, first_col) per image.
-- Status codes: "skip" = the runtime counts and skips the message (CSV
-- column count); "error" = undecodable, the runtime's error policy applies.
local core = require "sinkgate.core"
local avro_cols = require "sinkgate.decode.avro"
local avro_defaults = require "sinkgate.decode.avro_defaults"
local debezium = require "sinkgate.decode.debezium"
local types = require "sinkgate.types"

local C, ffi = core.C, core.ffi
local M = {}
local D = {}
D.__index = D

local SKIP, NEED_SCHEMA = C.SG_DEC_SKIP, C.SG_DEC_NEED_SCHEMA

local function made(ptr, columns, extra)
  if ptr == nil then return nil, core.err() end
  local self = setmetatable({ h = ffi.gc(ptr, C.sg_decoder_free), columns = columns }, D)
  for k, v in pairs(extra or {}) do self[k] = v end
  return self
end

-- Column names of a CSV header record (bytes), or nil, message.
function M.csv_header(bytes, delimiter)
  local buf = ffi.new("sg_buf")
  local n = C.sg_csv_header(bytes, #bytes, (delimiter or ","):byte(), buf, core.errbuf, core.ERRLEN)
  if n < 0 then
    C.sg_buf_free(buf)
    return nil, core.err()
  end
  local s = ffi.string(buf.data, buf.len)
  C.sg_buf_free(buf)
  local names = {}
  for name in s:gmatch("([^%z]*)%z") do names[#names + 1] = name end
  return names
end

local function text_columns(names)
  local cols = {}
  for i, n in ipairs(names) do cols[i] = { n, types.parse("text"), not_null = true } end
  return cols
end

local function csv(o)
  local delim = o.delimiter or ","
  if type(delim) ~= "string" or #delim ~= 1 then return nil, "csv delimiter must be one character" end
  local names
  if type(o.header) == "table" then
    names = o.header
  elseif o.header == true then
    if not o.header_line then return nil, "csv header = true needs the header record (header_line)" end
    local err
    names, err = M.csv_header(o.header_line, delim)
    if not names then return nil, err end
  elseif type(o.columns) == "number" and o.columns >= 1 and o.columns % 1 == 0 then
    names = {}
    for i = 1, o.columns do names[i] = "column" .. i end
  else
    return nil, "csv needs columns = N (a positive integer) or header = true | { names }"
  end
  local seen = {}
  for _, n in ipairs(names) do
    if seen[n] then return nil, ("csv column \"%s\" appears twice"):format(n) end
    seen[n] = true
  end
  return made(C.sg_decoder_csv_new(#names, delim:byte(), core.errbuf, core.ERRLEN), text_columns(names))
end

local function avro(o)
  if type(o.schema) ~= "string" then return nil, "avro needs the reader schema (schema = JSON text)" end
  local cols, err = avro_cols.columns(o.schema, o.default_name)
  if not cols then return nil, err end
  local confluent = o.confluent ~= false
  local d, e2 = made(C.sg_decoder_avro_new(o.schema, #o.schema, confluent and 1 or 0, core.errbuf, core.ERRLEN), cols,
    { fetch = o.fetch, reader = o.schema })
  if d and C.sg_decoder_ncols(d.h) ~= #cols then
    return nil, ("internal: Avro columns differ between C (%d) and Lua (%d)"):format(C.sg_decoder_ncols(d.h), #cols)
  end
  return d, e2
end

-- Registers the writer schema of an id (the runtime or fetch callback).
function D:add_writer(id, schema)
  local resolved, suffix = avro_defaults.bridge(self.reader, schema)
  if C.sg_decoder_avro_add_writer(self.h, id, resolved, #resolved, suffix, #suffix, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return true
end

local function dbz(o)
  local cols, hints = o.columns, nil
  if o.sample then
    cols, hints = debezium.columns_from_message(o.sample)
    if not cols then return nil, hints end
  end
  if type(cols) ~= "table" or #cols == 0 then
    return nil, "debezium needs columns = { … } (messages without the schema wrapper) or a sample wrapped message"
  end
  local norm, names = {}, {}
  for i, c in ipairs(cols) do
    local t, err = types.parse(c[2])
    if not t then return nil, ("columns[%d]: %s"):format(i, err) end
    norm[i] = { c[1], t, not_null = c.not_null }
    names[i] = c[1]
  end
  local carr, keep = core.strings(names) -- keep anchors the strings until the C side has copied them
  local harr = ffi.new("int[?]", #norm)
  for i = 1, #norm do harr[i - 1] = hints and hints[i] or 0 end
  local h = C.sg_decoder_debezium_new(#norm, carr, harr, core.errbuf, core.ERRLEN)
  assert(keep)
  return made(h, norm, { info = ffi.new("sg_dbz_info"), keys = o.keys })
end

local SIMPLE = {
  text = function() return made(C.sg_decoder_text_new(core.errbuf, core.ERRLEN), { { "text", types.parse("text"), not_null = true } }) end,
  bytes = function() return made(C.sg_decoder_bytes_new(core.errbuf, core.ERRLEN), { { "data", types.parse("bytea"), not_null = true } }) end,
  json = function() return made(C.sg_decoder_json_new(core.errbuf, core.ERRLEN), { { "data", types.parse("jsonb"), not_null = true } }) end,
}

-- fmt: a name or a format declaration; opts: the options above.
function M.new(fmt, opts)
  local name, o = fmt, {}
  if type(fmt) == "table" then
    name = fmt.kind or fmt.format
    for k, v in pairs(fmt.opts or fmt.def or fmt) do o[k] = v end
  end
  for k, v in pairs(opts or {}) do o[k] = v end
  if SIMPLE[name] then return SIMPLE[name]() end
  if name == "csv" then return csv(o) end
  if name == "avro" then return avro(o) end
  if name == "debezium" then return dbz(o) end
  return nil, ("unknown format %s (expected text, bytes, json, csv, avro or debezium)"):format(tostring(name))
end

function D:relation_columns() return self.columns end

-- Avro Debezium envelopes: an Avro decoder on the envelope schema yields
-- columns before/after (records of the row type), op, source, …; this
-- says where they are and what the row's own columns are:
-- { columns = { … } (the row type's fields), before = i, after = i, op = i }
-- (1-based envelope column indexes) or nil, message.
function M.avro_debezium(envelope_columns)
  local at = {}
  for i, c in ipairs(envelope_columns) do at[c[1]] = i end
  local b, a = at.before, at.after
  if not b or not a or not at.op then return nil, "not a Debezium envelope: needs before, after and op fields" end
  local bt, atype = envelope_columns[b][2], envelope_columns[a][2]
  if bt.name ~= "record" or atype.name ~= "record" then return nil, "Debezium before/after must be records" end
  local cols = {}
  for i, f in ipairs(atype.fields) do cols[i] = { f.name, f.type, not_null = not f.nullable } end
  return { columns = cols, before = b, after = a, op = at.op }
end

-- Copies the record in cell (row, col) of src (0-based col) into the cells
-- of dst's row dst_row from first_col: one Debezium image into a row.
function M.unpack_record(src, row, col, dst, dst_row, first_col)
  if C.sg_batch_unpack_record(src, row, col, dst, dst_row, first_col, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return true
end

-- Decodes bytes into cells [first_col, …) of pushed row `row`; Avro writer
-- schemas missing from the cache are fetched once through opts.fetch.
function D:into(batch, row, first_col, bytes)
  local rc = C.sg_decode(self.h, bytes, #bytes, batch, row, first_col, core.errbuf, core.ERRLEN)
  if rc == NEED_SCHEMA then
    local id = C.sg_decoder_avro_missing_id(self.h)
    if not self.fetch then return nil, ("writer schema %d is unknown and no registry was given"):format(id), "error" end
    local schema, err = self.fetch(id)
    if not schema then return nil, ("fetching writer schema %d: %s"):format(id, tostring(err)), "error" end
    local ok, e2 = self:add_writer(id, schema)
    if not ok then return nil, e2, "error" end
    rc = C.sg_decode(self.h, bytes, #bytes, batch, row, first_col, core.errbuf, core.ERRLEN)
  end
  if rc == 0 then return true end
  return nil, core.err(), rc == SKIP and "skip" or "error"
end

-- Debezium: parse one message; returns an info table or nil, message.
function D:parse(bytes)
  local info = self.info
  if C.sg_dbz_parse(self.h, bytes, bytes and #bytes or 0, info, core.errbuf, core.ERRLEN) ~= 0 then return nil, core.err() end
  local function opt(v) return v >= 0 and tonumber(v) or nil end
  return {
    op = info.op ~= 0 and string.char(info.op) or nil,
    has_before = info.has_before ~= 0, has_after = info.has_after ~= 0, snapshot = info.snapshot ~= 0,
    ts_ms = opt(info.ts_ms), source_ts_ms = opt(info.source_ts_ms), lsn = info.lsn >= 0 and info.lsn or nil,
    pos = opt(info.pos), row = opt(info.row), txid = opt(info.txid),
    file = info.file[0] ~= 0 and ffi.string(info.file) or nil,
  }
end

-- Debezium: the "before" or "after" image of the parsed message into a row.
function D:fill(which, batch, row, first_col)
  if C.sg_dbz_fill(self.h, which == "after" and 1 or 0, batch, row, first_col, core.errbuf, core.ERRLEN) ~= 0 then
    return nil, core.err()
  end
  return true
end

return M
