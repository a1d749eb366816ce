-- sinkgate.config.rules — checks that involve several options at once and
-- that `sinkgate check` must catch before anything runs: security settings
-- that would silently fall back to plaintext, librdkafka properties that
-- break exactly-once, key and DOC ON names, and a DEBEZIUM partition_by
-- that reads columns it will not be given at run time.
-- Each function appends "key.path: message" strings to `problems` (the
-- caller prefixes file:line).
local M = {}

-- Properties sinkgate owns: setting them by hand breaks its exactly-once
-- protocol whatever the sink's mode (transactional.id is derived from the
-- sink's name and version; the progress reader must read committed data).
local OWNED = {
  ["transactional.id"] = "sinkgate sets it per sink (use into.transactional_id_prefix)",
  ["isolation.level"] = "sinkgate reads its progress topic read_committed; a different level would resume wrongly",
  ["enable.auto.commit"] = "sinkgate keeps its progress in the progress topic, not in consumer offsets",
  ["bootstrap.servers"] = "give it as brokers (or --brokers)",
  ["security.protocol"] = "give it as security_protocol",
  ["sasl.password"] = "give it as sasl_password = sg.secret \"NAME\"",
}

local function key_path(path, k)
  return ("%s.options[%q]"):format(path, k)
end

function M.kafka_connection(o, path, problems)
  local sasl = o.sasl_mechanisms or o.sasl_username or o.sasl_password
  local proto = o.security_protocol
  if sasl and proto ~= "sasl_plaintext" and proto ~= "sasl_ssl" then
    problems[#problems + 1] = ("%s.security_protocol: SASL options are set but security_protocol is %s: set it to " ..
      "sasl_ssl (or sasl_plaintext), or nothing would authenticate"):format(path, proto or "not set (plaintext)")
  end
  if (o.ssl_key or o.ssl_certificate) and proto ~= "ssl" and proto ~= "sasl_ssl" then
    problems[#problems + 1] = ("%s.security_protocol: SSL client options are set but security_protocol is %s: " ..
      "set it to ssl (or sasl_ssl)"):format(path, proto or "not set (plaintext)")
  end
  local names = {}
  for k in pairs(o.options or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    if OWNED[k] then
      problems[#problems + 1] = ("%s: cannot be set in options: %s"):format(key_path(path, k), OWNED[k])
    end
  end
end

-- Under exactly_once the producer must be idempotent and wait for all
-- replicas; librdkafka would otherwise refuse the transactional producer
-- at run time, or (acks=1) lose the guarantee.
function M.mode(sink_opts, conn, sink_path, problems)
  if sink_opts.mode ~= "exactly_once" or type(conn) ~= "table" or not conn.opts then return end
  local opts = conn.opts.options or {}
  local idem = opts["enable.idempotence"]
  if idem ~= nil and idem ~= "true" then
    problems[#problems + 1] = ("%s.mode: exactly_once needs enable.idempotence=true, but %s sets %q (use " ..
      "mode = \"at_least_once\" or drop the option)"):format(sink_path, key_path(conn.path, "enable.idempotence"), idem)
  end
  local acks = opts.acks or opts["request.required.acks"]
  if acks ~= nil and acks ~= "all" and acks ~= "-1" then
    problems[#problems + 1] = ("%s.mode: exactly_once needs acks=all, but %s sets %q"):format(sink_path,
      key_path(conn.path, opts.acks and "acks" or "request.required.acks"), acks)
  end
  local mif = tonumber(opts["max.in.flight.requests.per.connection"] or opts["max.in.flight"] or "")
  if mif and mif > 5 then
    problems[#problems + 1] = ("%s.mode: exactly_once (idempotence) allows at most 5 requests in flight, but %s is %d")
      :format(sink_path, key_path(conn.path, "max.in.flight.requests.per.connection"), mif)
  end
end

function M.key(key, path, problems)
  local seen = {}
  for i, c in ipairs(key or {}) do
    if seen[c] then
      problems[#problems + 1] = ("%s.key[%d]: column \"%s\" is already key[%d]"):format(path, i, c, seen[c])
    end
    seen[c] = seen[c] or i
  end
end

-- Names DOC ON can refer to: the relation, its record types, and their
-- columns/fields ("relation.column", "type.field").
local function doc_names(rel)
  local ty, col = { [rel.name] = true }, {}
  local function walk(t)
    if t.name == "record" then
      if t.sql_name then
        ty[t.sql_name] = true
        for _, f in ipairs(t.fields) do col[t.sql_name .. "." .. f.name] = true end
      end
      for _, f in ipairs(t.fields) do walk(f.type) end
    elseif t.elem then
      walk(t.elem)
    elseif t.value then
      walk(t.value)
    end
  end
  for _, c in ipairs(rel.columns) do
    col[rel.name .. "." .. c.name] = true
    walk(c.type)
  end
  return ty, col
end

function M.doc_on(format, rel, path, problems)
  if type(format) ~= "table" or not format.opts then return end
  path = format.path or path
  local list = format.opts.doc_on or {}
  if #list == 0 then return end
  local ty, col = doc_names(rel)
  for i, d in ipairs(list) do
    local p = ("%s.doc_on[%d]"):format(path, i)
    if (d.type == nil) == (d.column == nil) then
      problems[#problems + 1] = p .. ": give exactly one of type or column"
    elseif d.type and not ty[d.type] then
      problems[#problems + 1] = ("%s.type: no relation or record type named \"%s\" (the relation is %s)"):format(
        p, d.type, rel.name)
    elseif d.column and not col[d.column] then
      problems[#problems + 1] = ("%s.column: no column \"%s\" (write relation.column, e.g. %s.%s)"):format(
        p, d.column, rel.name, rel.columns[1] and rel.columns[1].name or "id")
    end
  end
end

-- A value of a column's type, for the probe row.
local function probe_value(t)
  local n = t.name
  if n == "boolean" then return true end
  if n == "smallint" or n == "integer" or n == "bigint" or n:match("^u?int") then return 1 end
  if n == "real" or n == "double" or n == "float" then return 1.5 end
  return "1"
end

-- DEBEZIUM + partition_by: at run time partition_by sees only the key
-- columns (a message's partition must follow its key, or an update and a
-- later delete of one row could land in different partitions). Rather
-- than analyse the function's source (which can compute column names),
-- check calls it once on a probe row whose key columns hold sample values
-- and whose other columns raise. Only that raise is reported: other errors
-- depend on real data and are the run-time counters' business. The probe
-- runs with the JIT off and an instruction budget, so a function that
-- loops forever cannot hang `check`.
function M.debezium_partition_by(plan, path, problems)
  local fn = plan.opts.into.partition_by
  if plan.envelope ~= "debezium" or type(fn) ~= "function" then return end
  local allowed = {}
  for _, k in ipairs(plan.key or {}) do allowed[k] = true end
  local marker = {}
  local read
  local row = setmetatable({}, {
    __index = function(_, name)
      local i = plan.relation.index[name]
      if i and allowed[name] then return probe_value(plan.relation.columns[i].type) end
      read = read or (i and name or tostring(name) .. "\", not a column of \"" .. plan.relation.name)
      error(marker, 2)
    end,
    __newindex = function() error("rows are read-only", 2) end,
  })
  jit.off()
  debug.sethook(function() error("partition_by probe: instruction budget exhausted", 2) end, "", 1e7)
  pcall(fn, row)
  debug.sethook()
  jit.on()
  if read then
    -- the run-time wording (sink/route.lua), so both read alike
    problems[#problems + 1] = ("%s.into.partition_by: partition_by may only read key columns with the DEBEZIUM " ..
      "envelope: it read column \"%s\" (key: %s)"):format(path, read, #(plan.key or {}) > 0 and
      table.concat(plan.key, ", ") or "none, the sink has no key")
  end
end

return M
