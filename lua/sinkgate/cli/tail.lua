-- sinkgate tail TOPIC — print a topic's messages as JSON lines.
local core = require "sinkgate.core"
local tail = require "sinkgate.tail"
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"
local tail_decode = require "sinkgate.tail_decode"

local FORMATS = { auto = true, json = true, text = true, bytes = true, avro = true, protobuf = true, csv = true }
local FORMAT_LIST = "auto, json, text, bytes, avro, protobuf or csv"

local spec = {
  usage = "sinkgate tail TOPIC [--brokers B] [--registry URL] [--max N] [--follow] [--read-uncommitted]\n" ..
    "       [--key-format F] [--value-format F] [--as-source] [--descriptor-set PATH --message NAME]\n" ..
    "       [--csv-columns N | --csv-header A,B,…] [--csv-delimiter C]",
  summary = "Print every message of TOPIC from the beginning as one JSON object per line:\n" ..
    "partition, offset, timestamp, key, value, headers. Keys and values are decoded from their\n" ..
    "bytes: Confluent-framed Avro through the registry, JSON, UTF-8 text, else {\"base64\": …}.\n" ..
    "Reads with isolation.level=read_committed unless told otherwise, and stops once it has\n" ..
    "caught up with the end of the topic (or after --max messages) unless --follow is given.\n" ..
    "A missing topic is an error (exit 1). A key or value that cannot be decoded as asked\n" ..
    "(--value-format json on non-JSON data, Avro that does not match its schema) prints as\n" ..
    "{\"error\": …}, is reported on stderr, and makes the exit status 1; an unreachable\n" ..
    "registry stops the tail (exit 1).\n\n" ..
    "protobuf and csv, and every format with --as-source, decode with the decoders Kafka\n" ..
    "sources use and print the row a source would ingest, as a JSON object of its columns\n" ..
    "(Avro and Protobuf read against the latest <topic>-value/-key schema of the registry).",
  options = {
    { "--brokers", arg = "B", doc = "bootstrap servers (default $SINKGATE_BROKERS, then 127.0.0.1:9092)" },
    { "--registry", arg = "URL", doc = "schema registry for Avro (default $SINKGATE_REGISTRY)" },
    { "--max", arg = "N", doc = "stop after N messages (a positive integer)" },
    { "--follow", "-f", doc = "keep waiting for new messages (until interrupted, or --timeout)" },
    { "--timeout", arg = "SECONDS", doc = "stop after this long without a new message (default 10; with " ..
      "--follow: no limit unless given, and reaching it is a normal end, exit 0)" },
    { "--read-uncommitted", doc = "also show messages of open and aborted transactions" },
    { "--key-format", arg = "F", doc = "auto (default), json, text, bytes, avro, protobuf or csv" },
    { "--value-format", arg = "F", doc = "auto (default), json, text, bytes, avro, protobuf or csv" },
    { "--as-source", doc = "decode avro, text, bytes and json with the sources' decoders too: show the " ..
      "columns a Kafka source would ingest (text → {\"text\": …}, json and bytes → {\"data\": …})" },
    { "--descriptor-set", arg = "PATH", doc = "protobuf without the registry: a FileDescriptorSet " ..
      "(protoc --include_imports --descriptor_set_out) …" },
    { "--message", arg = "NAME", doc = "… and the full name of the message in it (e.g. shop.Order)" },
    { "--csv-columns", arg = "N", doc = "csv: N columns named column1…columnN" },
    { "--csv-header", arg = "A,B,…", doc = "csv: the column names" },
    { "--csv-delimiter", arg = "C", doc = "csv: the field delimiter (default ,)" },
  },
}

-- The CSV decoder's options from --csv-*, or nil, message (usage).
local function csv_opts(opts)
  local o = { delimiter = opts.csv_delimiter }
  if opts.csv_columns then
    o.columns = tostring(opts.csv_columns):match("^%d+$") and tonumber(opts.csv_columns)
    if not o.columns or o.columns < 1 or o.columns > 10000 then
      return nil, "--csv-columns must be an integer 1..10000, not '" .. tostring(opts.csv_columns) .. "'"
    end
  end
  if opts.csv_header then
    if o.columns then return nil, "give --csv-columns or --csv-header, not both" end
    o.header = {}
    for name in (opts.csv_header .. ","):gmatch("([^,]*),") do o.header[#o.header + 1] = name end
  end
  local uses = opts.key_format == "csv" or opts.value_format == "csv"
  if uses and not (o.columns or o.header) then return nil, "csv needs --csv-columns N or --csv-header A,B,…" end
  if not uses and (o.columns or o.header or o.delimiter) then return nil, "--csv-* options need --key-format/--value-format csv" end
  return o
end

-- The source decoder of --key-format/--value-format when it is one (see
-- sinkgate.tail_decode), else the format name; nil, message on failure.
local function format_of(opts, which, topic, registry, csv)
  local f = opts[which .. "_format"]
  if not f or f == "auto" then return f end
  if not (f == "protobuf" or f == "csv" or opts.as_source) then return f end
  return tail_decode.new({ format = f, which = which, topic = topic, registry = registry, csv = csv,
    descriptor_set = opts.descriptor_set, message = opts.message })
end

local function main(opts, pos)
  if #pos ~= 1 then
    log.err("sinkgate tail: expected one TOPIC argument\n\n" .. require("sinkgate.util.args").help(spec))
    return 2
  end
  for _, k in ipairs({ "key_format", "value_format" }) do
    if opts[k] and not FORMATS[opts[k]] then
      log.err("sinkgate tail: --" .. k:gsub("_", "-") .. " must be " .. FORMAT_LIST)
      return 2
    end
  end
  local csv, cerr = csv_opts(opts)
  if not csv then log.err("sinkgate tail: " .. cerr) return 2 end
  local bad = require("sinkgate.config.loader").check_overrides(opts)
  if bad then log.err("sinkgate tail: " .. bad) return 2 end
  local secret = require "sinkgate.secret"
  secret.protect(secret.url_password(opts.registry or os.getenv("SINKGATE_REGISTRY")), "***")
  local max = opts.max and tostring(opts.max):match("^%d+$") and tonumber(opts.max)
  if opts.max and not (max and max >= 1) then
    log.err("sinkgate tail: --max must be a positive integer, not '" .. tostring(opts.max) .. "'")
    return 2
  end
  local timeout = opts.timeout and tonumber(opts.timeout)
  if opts.timeout and not (timeout and timeout > 0 and timeout < math.huge) then
    log.err("sinkgate tail: --timeout must be a positive number of seconds, not '" .. tostring(opts.timeout) .. "'")
    return 2
  end
  if (opts.descriptor_set or opts.message) and not (opts.descriptor_set and opts.message
      and (opts.key_format == "protobuf" or opts.value_format == "protobuf")) then
    log.err("sinkgate tail: --descriptor-set and --message go together, with --key-format/--value-format protobuf")
    return 2
  end
  core.C.sg_sys_signals_install()
  local registry = opts.registry or os.getenv("SINKGATE_REGISTRY")
  local formats = {}
  for _, which in ipairs({ "key", "value" }) do
    local f, ferr = format_of(opts, which, pos[1], registry, csv)
    if not f and ferr then log.err("sinkgate tail: " .. ferr) return 1 end
    formats[which] = f
  end
  local t, err = tail.open({
    brokers = opts.brokers or os.getenv("SINKGATE_BROKERS") or "127.0.0.1:9092", topic = pos[1],
    read_committed = not opts.read_uncommitted, registry = registry,
    key_format = formats.key, value_format = formats.value,
    warn = function(msg) log.err("sinkgate tail: warning: " .. msg) end,
  })
  if not t then log.err("sinkgate tail: " .. err) return 1 end
  -- Idle time is measured on the clock, not by counting polls: a poll may
  -- return early or late.
  local n = 0
  local idle_limit = timeout and timeout * 1000 or (not opts.follow and 10000) or nil
  local last = tonumber(core.C.sg_sys_mono_ns()) / 1e6
  local errors = 0
  while (not max or n < max) and core.C.sg_sys_signal_pending() == 0 do
    local m, why = t:next(200)
    local now = tonumber(core.C.sg_sys_mono_ns()) / 1e6
    if m then
      log.out_json(m, json.encode) -- scrubbed value by value: the line stays JSON
      n, last = n + 1, now
      if t.errors > errors then
        errors = t.errors
        log.err("sinkgate tail: " .. t.last_error)
      end
    elseif why == "caught-up" and not opts.follow then
      break
    elseif why == "idle" or why == "caught-up" then
      if why == "caught-up" then core.C.sg_sys_sleep_ms(200) end
      if idle_limit and now - last >= idle_limit then
        if not opts.follow then
          log.err(("sinkgate tail: no message for %gs, stopping"):format(idle_limit / 1000))
        end
        break
      end
    else
      log.err("sinkgate tail: " .. why)
      return 1
    end
  end
  if errors > 0 then
    log.err(("sinkgate tail: %d key(s)/value(s) could not be decoded"):format(errors))
    return 1
  end
  return 0
end

return { spec = spec, main = main }
