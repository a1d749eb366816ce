-- sinkgate.source.kafka_format — one side (key or value) of a Kafka source:
-- its format declaration turned into a decoder with one interface,
--   f.columns                         { {name, type, not_null =}, … }
--   f:into(batch, row, first_col, bytes) true | nil, message, "skip"|"error"
-- Registry formats read the latest <topic>-key / <topic>-value schema when
-- the source is planned, or the id pinned for a resumed timeline (the
-- reference: the reader schema is fixed at creation); writer schemas are
-- fetched by id as messages name them.
local decode = require "sinkgate.decode"
local protobuf = require "sinkgate.decode.protobuf"
local registry = require "sinkgate.registry"
local types = require "sinkgate.types"

local M = {}

-- One registry client per registry connection.
local clients = setmetatable({}, { __mode = "k" })

local function client_for(conn)
  if not conn.opts then return nil, "registry connection not validated" end
  if not clients[conn] then
    local c, err = registry.client(conn.opts)
    if not c then return nil, err end
    clients[conn] = c
  end
  return clients[conn]
end

M.client = client_for

-- Reader schemas pinned by id, per registry URL and subject: a sink that
-- resumes a timeline reads with the schema its progress record names, not
-- the latest (semantics §10: the reader schema is fixed at creation). Set
-- by source/kafka.lua before the config is planned again (run/runner.lua).
M.pins = {}

function M.pin_key(conn, subject)
  return tostring(conn.opts and conn.opts.url) .. " " .. subject
end

-- The reader schema of subject: the pinned id's, else the latest version.
-- Returns { id =, schema =, schemaType = } or nil, err.
local function reader_schema(c, conn, subject)
  local pin = M.pins[M.pin_key(conn, subject)]
  if pin then
    local text, kind = c:schema_by_id(pin)
    if not text then return nil, ("registry: %s"):format(kind.message) end
    local latest = c:latest(subject)
    if latest and latest.id ~= pin then
      require("sinkgate.util.log").info("subject %s: reading with schema id %d, recorded in the sink's progress; " ..
        "the latest version is id %d (bump the sink's version to adopt it)", subject, pin, latest.id)
    end
    return { id = pin, schema = text, schemaType = kind }
  end
  local latest, lerr = c:latest(subject)
  if not latest then return nil, ("registry: %s"):format(lerr.message) end
  return latest
end

-- The name of a format (for the progress identity and messages).
function M.name(f)
  if type(f) == "string" then return f end
  return f.kind
end

local function avro(f, topic, side)
  local c, err = client_for(f.opts.registry)
  if not c then return nil, err end
  local subject = topic .. "-" .. side
  local latest, lerr = reader_schema(c, f.opts.registry, subject)
  if not latest then return nil, lerr end
  if latest.schemaType ~= "AVRO" then
    return nil, ("subject %s holds a %s schema, not Avro"):format(subject, latest.schemaType)
  end
  local d, derr = decode.new("avro", { schema = latest.schema, default_name = side == "key" and "key" or "value",
    fetch = function(id)
      local text, ferr = c:schema_by_id(id)
      if not text then return nil, ferr.message end
      return text
    end })
  if d then d.reader_id = latest.id end -- kept in the progress record: a timeline reads with one schema
  return d, derr
end

-- Protobuf decoders have their own Lua object; wrapped to the common shape.
local PB = {}
PB.__index = PB

function PB:into(b, r, first, bytes)
  local ok, err, code = self.d:decode(b, r, first, bytes)
  if ok then return true end
  if code == -2 and self.client then
    local id = self.d:last_id()
    if not id then return nil, err, "error" end
    local text, ferr = self.client:schema_by_id(id)
    if not text then return nil, ("schema id %d: %s"):format(id, ferr.message), "error" end
    local accepted, aerr = self.d:accept_schema(id, text)
    if not accepted then return nil, aerr, "error" end
    ok, err = self.d:decode(b, r, first, bytes)
    if ok then return true end
  end
  return nil, err, "error"
end

local function proto(f, topic, side)
  local o = f.opts
  local d, err, c, reader_id
  if o.registry then
    c, err = client_for(o.registry)
    if not c then return nil, err end
    local subject = topic .. "-" .. side
    local latest, lerr = reader_schema(c, o.registry, subject)
    if not latest then return nil, lerr end
    if latest.schemaType ~= "PROTOBUF" then
      return nil, ("subject %s holds a %s schema, not Protobuf"):format(subject, latest.schemaType)
    end
    d, err = protobuf.from_registry(latest.schema, { schema_id = latest.id })
    reader_id = latest.id
  elseif o.message and o.descriptor_set then
    d, err = protobuf.from_file { descriptor_set = o.descriptor_set, message = o.message }
  else
    return nil, "protobuf needs registry = …, or message = \"pkg.Msg\" with descriptor_set = PATH"
  end
  if not d then return nil, err end
  return setmetatable({ d = d, client = c, columns = d.columns, reader_id = reader_id }, PB)
end

-- The registry connection one side's format reads from, if any.
local function side_registry(o, side)
  local f = side == "key" and (o.key_format or o.format) or (o.value_format or o.format)
  return type(f) == "table" and f.opts and f.opts.registry or nil
end

-- A timeline is read with one registry schema per side, the one its
-- progress record names (the reference fixes the reader schema when the
-- source is created). When the latest has moved on since, the schema ids
-- recorded are pinned (M.pins) and the config is planned
-- again with them (run/runner.lua): the columns stay what they were and
-- newer writer schemas resolve against the pinned reader. saved: the
-- source's entry of the committed progress record; name: the source, for
-- messages. Returns true, or nil, why, "replan" | true (refused: the pin is
-- held by another reader).
function M.pin_recorded(o, layout, saved, name)
  local ids = layout.schema_ids or {}
  local want = {}
  for _, side in ipairs({ "key", "value" }) do
    local was, now = saved[side .. "_schema"], ids[side]
    if was and now and was ~= now then
      local conn, subject = side_registry(o, side), o.topic .. "-" .. side
      local key = conn and M.pin_key(conn, subject)
      if not key or (M.pins[key] and M.pins[key] ~= was) then
        return nil, ("source %s: this process reads %s with schema id %d, but this sink's committed progress was " ..
          "read with id %d (another sink of this config resumed with another id); the columns would change under " ..
          "it. Bump the sink's version to start a new timeline (with a new snapshot) on the latest schema, or run the " ..
          "sinks in separate processes"):format(name, subject, now, was), true
      end
      want[key] = was
    end
  end
  if next(want) == nil then return true end
  local list = {}
  for k, id in pairs(want) do
    M.pins[k] = id
    list[#list + 1] = ("%s id %d"):format(k:match("%S+$"), id)
  end
  table.sort(list)
  return nil, ("source %s: the committed progress was read with %s, not the latest: planning again with the " ..
    "recorded reader schema (bump the sink's version to adopt the latest)"):format(name,
    table.concat(list, ", ")), "replan"
end

-- A decoder for format f of one side ("key" | "value") of topic; csv_header:
-- the names read from the topic's first record (csv header = true).
function M.new(f, topic, side, csv_header)
  local kind = M.name(f)
  if kind == "avro" then return avro(f, topic, side) end
  if kind == "protobuf" then return proto(f, topic, side) end
  if kind == "csv" then
    local o = f.opts
    local header = o.header
    if header == true then
      if not csv_header then return nil, "csv header = true: the topic's first record is needed", "header" end
      header = csv_header
    end
    return decode.new("csv", { columns = o.columns, header = type(header) == "table" and header or nil,
      delimiter = o.delimiter })
  end
  return decode.new(kind)
end

-- The plain type of a column (for messages and `check`).
function M.render(t)
  return types.render(t)
end

return M
