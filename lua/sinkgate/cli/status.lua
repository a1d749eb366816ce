-- sinkgate status — the sinks of running gateways, from their status files.
local json = require "sinkgate.util.json"
local log = require "sinkgate.util.log"
local runner = require "sinkgate.run.runner"

local spec = {
  usage = "sinkgate status [PID] [--file FILE] [--json]",
  summary = "Print the state of every sink of the running gateways on this machine (or of one, by PID\n" ..
    "or status file): running / stalled (with the error) / failed, messages and transactions\n" ..
    "committed, and the last committed frontier. `sinkgate run` rewrites its status file every\n" ..
    "second in $SINKGATE_STATUS_DIR (default /tmp/sinkgate-status) or at --status-file.",
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

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local ok, doc = pcall(json.decode, text)
  return ok and doc or nil, text
end

local function show(doc, raw, as_json)
  if as_json then return log.out((raw:gsub("\n$", ""))) end
  local age = (os.time() * 1000 - doc.updated) / 1000
  log.out(("gateway pid %d (status %.0fs old)%s"):format(doc.pid, math.max(0, age), alive(doc.pid) and "" or ", not running"))
  for _, s in ipairs(doc.sinks) do
    log.out(("  sink %s: %s%s; %d messages in %d transactions; frontier %s -> %s"):format(s.name, s.state,
      s.why and (" (" .. s.why .. ")") or "", s.messages or 0, s.transactions or 0, tostring(s.frontier or "-"), s.topic))
  end
end

local function main(opts, pos)
  local files = {}
  if opts.file then
    files[1] = opts.file
  elseif pos[1] then
    files[1] = runner.status_dir() .. "/" .. pos[1] .. ".json"
  else
    local p = io.popen("ls " .. runner.status_dir() .. "/*.json 2>/dev/null")
    for f in p:lines() do files[#files + 1] = f end
    p:close()
  end
  local shown = 0
  for _, f in ipairs(files) do
    local doc, raw = read(f)
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
