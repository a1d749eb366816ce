-- sinkgate.util.args — command-line parsing for the CLI's subcommands.
-- A spec lists options as { "--name", "-n", arg = "VALUE", doc = "…" }
-- (repeatable = true: the value is the list of every occurrence);
-- parse returns options keyed by long name (without dashes, '-' → '_')
-- and the positional arguments, or nil and a message.
local M = {}

local function key_of(long)
  return (long:gsub("^%-+", ""):gsub("%-", "_"))
end

function M.parse(argv, spec)
  local opts, pos, by_name = {}, {}, {}
  for _, o in ipairs(spec.options or {}) do
    by_name[o[1]] = o
    if o[2] then by_name[o[2]] = o end
  end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local name, inline = a:match("^(%-%-[%w%-]+)=(.*)$")
    name = name or a
    local o = by_name[name]
    if a == "--" then
      for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
      break
    elseif o then
      if o.arg then
        local v = inline or argv[i + 1]
        if v == nil then return nil, name .. " needs a value (" .. o.arg .. ")" end
        if not inline then i = i + 1 end
        if o.repeatable then -- every occurrence, in order
          local list = opts[key_of(o[1])] or {}
          list[#list + 1] = v
          opts[key_of(o[1])] = list
        else
          opts[key_of(o[1])] = v
        end
      else
        opts[key_of(o[1])] = true
      end
    elseif a:match("^%-") and a ~= "-" then
      return nil, "unknown option " .. a
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return opts, pos
end

-- The help text of a command from its spec.
function M.help(spec)
  local lines = { "usage: " .. spec.usage, "", spec.summary }
  if spec.options and #spec.options > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "options:"
    for _, o in ipairs(spec.options) do
      local left = o[1] .. (o[2] and (", " .. o[2]) or "") .. (o.arg and (" " .. o.arg) or "")
      lines[#lines + 1] = ("  %-28s %s"):format(left, o.doc or "")
    end
  end
  if spec.epilog then
    lines[#lines + 1] = ""
    lines[#lines + 1] = spec.epilog
  end
  return table.concat(lines, "\n")
end

return M
