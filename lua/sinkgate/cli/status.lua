-- sinkgate status — the sinks of running gateways, from their status files.
local log = require "sinkgate.util.log"
local status_file = require "sinkgate.run.status_file"

local spec = {
  usage = "sinkgate status [PID] [--file FILE] [--json]",
  summary = "Print the state of every sink of the running gateways on this machine (or of one, by PID\n" ..
    "or status file): running / stalled (with the error) / failed, messages and transactions\n" ..
    "committed, and the last committed frontier. `sinkgate run` rewrites its status file every\n" ..
    "second in $SINKGATE_STATUS_DIR (default /tmp/sinkgate-status-UID, private to the user) or at\n" ..
    "--status-file.",
  options = {
    { "--file", arg = "FILE", doc = "read this status file (as written by run --status-file)" },
    { "--json", doc = "print the status documents as JSON lines" },
  },
}

local function alive(pid)
  local f = io.open("/proc/" .. tostring(pid) .. "/stat", "r")
  if f then f:close() end
  return f ~= nil
end

local function show(doc, raw, as_json)
  if as_json then return log.out((raw:gsub("\n$", ""))) end
  local age = (os.time() * 1000 - doc.updated) / 1000
  log.out(("gateway pid %d (status %.0fs old)%s"):format(doc.pid, math.max(0, age), alive(doc.pid) and "" or ", not running"))
  for _, s in ipairs(doc.sinks) do
    if type(s) == "table" then
      log.out(("  sink %s: %s%s; %d messages in %d transactions; frontier %s -> %s"):format(tostring(s.name),
        tostring(s.state), s.why and (" (" .. tostring(s.why) .. ")") or "", tonumber(s.messages) or 0,
        tonumber(s.transactions) or 0, tostring(s.frontier or "-"), tostring(s.topic)))
      local vs = s.view_state -- views (issue 12): the size of their keyed state
      if type(vs) == "table" then
        log.out(("    view state: %s keys (%s on disk), %s B in memory, %s B on disk"):format(tostring(vs.keys),
          tostring(vs.keys_on_disk), tostring(vs.bytes_in_memory), tostring(vs.bytes_on_disk)))
      end
      local rh = s.rehydration -- a Kafka source rebuilding its (and its views') state after a restart
      if type(rh) == "table" and rh.phase ~= "done" then
        log.out(("    rebuilding state (%s): %s/%s offsets, %s/s, ETA %s"):format(tostring(rh.phase), tostring(rh.read),
          tostring(rh.target), tostring(rh.rate), rh.eta_s and (tostring(rh.eta_s) .. "s") or "?"))
      end
    end
  end
end

local function main(opts, pos)
  local files = {}
  if opts.file then
    files[1] = opts.file
  elseif pos[1] then
    if not pos[1]:match("^%d+$") then
      log.err("sinkgate status: PID must be a process id, not " .. pos[1])
      return 2
    end
    files[1] = status_file.dir() .. "/" .. pos[1] .. ".json"
  else
    files = status_file.list()
  end
  local shown = 0
  for _, f in ipairs(files) do
    local doc, raw = status_file.read(f)
    -- A file named on the command line that cannot be read says why.
    if not doc and (opts.file or pos[1]) then log.err("sinkgate status: " .. raw) end
    if doc and (opts.file or pos[1] or alive(doc.pid)) then
      show(doc, raw, opts.json)
      shown = shown + 1
    end
  end
  if shown == 0 then
    log.err("sinkgate status: no running gateway found" .. (opts.file and (" in " .. opts.file) or ""))
    return 1
  end
  return 0
end

return { spec = spec, main = main }
