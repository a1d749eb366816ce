-- The status file writer (core/sys/files.c through sinkgate.run.status_file):
-- private directory, never replacing what is not a regular file, no shell,
-- one warning per reason, no temporary file left behind.
local status_file = require "sinkgate.run.status_file"
local log = require "sinkgate.util.log"
local core = require "sinkgate.core"
local helpers = require "helpers"

local C = core.C
local q = helpers.q

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- `stat -c` fields of path without following a link.
local function stat(path, fmt)
  local p = io.popen("stat -c " .. q(fmt) .. " " .. q(path) .. " 2>/dev/null")
  local s = p:read("*l")
  p:close()
  return s
end

local function entries(dir)
  local p = io.popen("ls -A " .. q(dir))
  local list = {}
  for name in p:lines() do list[#list + 1] = name end
  p:close()
  table.sort(list)
  return list
end

local is_root = stat("/proc/self", "%u") == "0"

describe("status file", function()
  local base, warnings, saved_err, saved_env
  before_each(function()
    base = helpers.tmpname(".sgstatus")
    assert.is_true(sh("mkdir -p " .. q(base)))
    warnings = {}
    saved_err = log.err
    log.err = function(msg) warnings[#warnings + 1] = msg end
    saved_env = os.getenv
  end)
  after_each(function()
    log.err = saved_err
    os.getenv = saved_env -- luacheck: ignore 122
    sh("rm -rf " .. q(base))
  end)

  local function with_dir(dir)
    os.getenv = function(k) -- luacheck: ignore 122
      if k == "SINKGATE_STATUS_DIR" then return dir end
      return saved_env(k)
    end
  end

  it("writes atomically and leaves no temporary file", function()
    local path = base .. "/s.json"
    local w = status_file.open(path)
    for i = 1, 5 do assert.is_true(w:write('{"n":' .. i .. '}\n')) end
    assert.equal('{"n":5}\n', read(path))
    assert.same({ "s.json" }, entries(base))
    assert.equal("644", stat(path, "%a"))
    assert.same({}, warnings)
  end)

  it("refuses to replace a symlink, and its target stays untouched", function()
    local target, link = base .. "/target", base .. "/link.json"
    assert.is_true(sh("printf precious > " .. q(target) .. " && ln -s target " .. q(link)))
    local w = status_file.open(link)
    assert.is_nil(w:write("{}\n"))
    assert.equal("precious", read(target))
    assert.equal("symbolic link", stat(link, "%F"))
    assert.equal(1, #warnings)
    assert.matches("link.json is a symbolic link: not replacing it", warnings[1], 1, true)
    assert.same({ "link.json", "target" }, entries(base))
  end)

  it("refuses a FIFO without opening it (would block) and a directory", function()
    local fifo, dir = base .. "/fifo.json", base .. "/dir.json"
    assert.is_true(sh("mkfifo " .. q(fifo) .. " && mkdir " .. q(dir)))
    assert.is_nil(status_file.open(fifo):write("{}\n"))
    assert.is_nil(status_file.open(dir):write("{}\n"))
    assert.equal("fifo", stat(fifo, "%F"))
    assert.equal("directory", stat(dir, "%F"))
    assert.matches("is a FIFO: not replacing it", warnings[1], 1, true)
    assert.matches("is a directory: not replacing it", warnings[2], 1, true)
    assert.same({ "dir.json", "fifo.json" }, entries(base))
  end)

  it("refuses a device node (a private copy of /dev/null, made as root only)", function()
    if not is_root then return pending("mknod needs root") end
    local dev = base .. "/null.json"
    assert.is_true(sh("mknod " .. q(dev) .. " c 1 3"))
    assert.is_nil(status_file.open(dev):write("{}\n"))
    assert.equal("character special file", stat(dev, "%F"))
    assert.matches("is a character device: not replacing it", warnings[1], 1, true)
    assert.same({ "null.json" }, entries(base))
  end)

  it("warns once per reason, not on every write, and says when it recovers", function()
    local dir = base .. "/later"
    local w = status_file.open(dir .. "/s.json")
    for _ = 1, 10 do assert.is_nil(w:write("{}\n")) end
    assert.equal(1, #warnings)
    assert.matches("No such file or directory", warnings[1], 1, true)
    assert.is_true(sh("mkdir " .. q(dir)))
    local infos = {}
    local saved_info = log.info
    log.info = function(fmt, ...) infos[#infos + 1] = fmt:format(...) end
    local ok = w:write("{}\n")
    log.info = saved_info
    assert.is_true(ok)
    assert.equal(1, #warnings)
    assert.matches("written again", infos[1], 1, true)
  end)

  it("takes SINKGATE_STATUS_DIR literally: spaces and `;` make a path, never a command", function()
    local marker = base .. "/injected"
    local dir = base .. "/a b;touch " .. marker .. ";c"
    with_dir(dir)
    local w = status_file.open()
    assert.is_true(w:write("{}\n"))
    assert.is_nil(read(marker))
    assert.equal("700", stat(dir, "%a"))
    assert.equal(dir .. "/" .. status_file.pid() .. ".json", w.path)
    assert.same({ status_file.pid() .. ".json" }, entries(dir))
    assert.same({ w.path }, status_file.list())
    w:close()
    assert.same({}, entries(dir))
    assert.same({}, warnings)
  end)

  it("defaults to a per-user directory", function()
    with_dir(nil)
    assert.equal("/tmp/sinkgate-status-" .. stat("/proc/self", "%u"), status_file.dir())
  end)

  it("makes an existing directory of ours private", function()
    local dir = base .. "/open"
    assert.is_true(sh("mkdir -m 0777 " .. q(dir)))
    with_dir(dir)
    assert.is_true(status_file.open():write("{}\n"))
    assert.equal("700", stat(dir, "%a"))
  end)

  it("refuses a status directory that is a symlink, or a file", function()
    local real, link, file = base .. "/real", base .. "/link", base .. "/file"
    assert.is_true(sh(("mkdir %s && ln -s real %s && touch %s"):format(q(real), q(link), q(file))))
    with_dir(link)
    local w = status_file.open()
    assert.is_nil(w:write("{}\n"))
    assert.same({}, entries(real))
    assert.matches("status directory .*link is a symbolic link, not a directory", warnings[1])
    with_dir(file)
    assert.is_nil(status_file.open():write("{}\n"))
    assert.matches("file is a regular file, not a directory", warnings[2], 1, true)
    assert.equal(2, #warnings)
  end)

  it("refuses a status directory owned by another user (root only: chown)", function()
    if not is_root then return pending("chown to another user needs root") end
    local dir = base .. "/theirs"
    assert.is_true(sh(("mkdir -m 0700 %s && chown 65534 %s"):format(q(dir), q(dir))))
    with_dir(dir)
    assert.is_nil(status_file.open():write("{}\n"))
    assert.matches("belongs to uid 65534, not to this user", warnings[1], 1, true)
    assert.same({}, entries(dir))
  end)

  it("reads only small regular files", function()
    local fifo = base .. "/f.json"
    assert.is_true(sh("mkfifo " .. q(fifo)))
    local doc, err = status_file.read(fifo)
    assert.is_nil(doc)
    assert.matches("is a FIFO", err, 1, true)
    doc, err = status_file.read("/dev/zero")
    assert.is_nil(doc)
    assert.matches("is a character device", err, 1, true)
    local path = base .. "/g.json"
    assert.is_true(status_file.open(path):write('{"pid":1,"updated":2,"sinks":[]}\n'))
    doc = assert(status_file.read(path))
    assert.equal(1, doc.pid)
    assert.is_true(status_file.open(path):write('{"sinks":"x"}'))
    doc, err = status_file.read(path)
    assert.is_nil(doc)
    assert.matches("not a sinkgate status document", err, 1, true)
  end)

  it("scrubs revealed secret values from the sinks' status, keeping the JSON valid", function()
    local secret = require "sinkgate.secret"
    local path = base .. "/secrets.env"
    assert.is_true(sh("printf 'SFPW=p\"w1\\n' > " .. q(path)))
    assert(secret.load_file(path))
    local value = assert(secret.reveal(secret.new("SFPW")))
    assert.equal('p"w1', value)
    local sink = { status = function()
      return { name = "s", state = "stalled", why = "auth failed for " .. value, nested = { value } }
    end }
    local out = base .. "/st.json"
    assert.is_true(status_file.open(out):write_sinks({ sink }, 1))
    local text = read(out)
    assert.not_matches(value, text, 1, true)
    local doc = assert(status_file.read(out))
    -- the placeholder's spelling belongs to sinkgate.secret; only its absence of the value matters here
    assert.matches("^auth failed for ", doc.sinks[1].why)
    assert.not_matches(value, doc.sinks[1].why, 1, true)
    assert.not_matches(value, doc.sinks[1].nested[1], 1, true)
  end)

  it("C: an empty name and a trailing slash fail cleanly", function()
    assert.equal(-1, C.sg_sys_write_atomic(base .. "/", "x", 1, core.errbuf, core.ERRLEN))
    assert.equal(-1, C.sg_sys_private_dir("", core.errbuf, core.ERRLEN))
    assert.same({}, entries(base))
  end)
end)
