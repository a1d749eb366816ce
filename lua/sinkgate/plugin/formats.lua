-- sinkgate.plugin.formats — the plan-time rules of format plugins: which
-- side they encode, and what they cannot do yet.
--   format = plugin        the value through the plugin; the key too when
--                          the descriptor says encodes_keys, else json
--   key_format = plugin    only for a plugin that encodes keys
--   ENVELOPE DEBEZIUM      built-in formats only (a plugin encodes one row)
local M = {}

local function is_plugin(f) return type(f) == "table" and f.plugin ~= nil end

-- Returns the key and value formats to use; appends problems.
function M.check(kf, vf, o, path, problems)
  if is_plugin(o.format) and not o.format.plugin.encodes_keys then kf = "json" end
  if is_plugin(o.key_format) and not o.key_format.plugin.encodes_keys then
    problems[#problems + 1] = ("%s.key_format: format plugin %s encodes values only (give key_format = \"json\")")
      :format(path, o.key_format.plugin.name)
  end
  if is_plugin(vf) and o.envelope == "debezium" then
    problems[#problems + 1] = ("%s.envelope: format plugin %s encodes one row per message: use ENVELOPE UPSERT")
      :format(path, vf.plugin.name)
  end
  return kf, vf
end

M.is_plugin = is_plugin

return M
