-- redact — a transform: mask, hash or drop named columns before rows
-- leave (PII). mask: the value becomes `mask` ("***"); hash: the hex
-- SHA-256 of salt .. value (a stable pseudonym to join on, not the value);
-- drop: the column is gone from the published relation (and its schemas).
-- Masked and hashed columns become nullable text; NULL stays NULL. Key
-- columns are refused: redacting a key would merge or split rows.
local sha256 = require "sha256"

local function text_of(v)
  if type(v) == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
  return tostring(v)
end

local function new(opts)
  local targets = {}
  for _, c in ipairs(opts.columns) do targets[c] = true end
  local names -- the output columns, in order (set by columns())
  local self = {}
  function self.columns(cols, info)
    local seen, out = {}, {}
    for _, k in ipairs(info and info.key or {}) do
      if targets[k] then error(("redact: column \"%s\" is part of the key"):format(k), 0) end
    end
    names = {}
    for _, c in ipairs(cols) do
      seen[c.name] = true
      if not targets[c.name] then
        out[#out + 1] = c
      elseif opts.mode ~= "drop" then
        out[#out + 1] = { name = c.name, type = "text", nullable = true, comment = c.comment }
      end
    end
    for _, c in ipairs(opts.columns) do
      if not seen[c] then error(("redact: no column \"%s\" in %s"):format(c, info and info.relation or "the relation"), 0) end
    end
    for i, c in ipairs(out) do names[i] = c.name end
    return out
  end
  local mode, mask, salt = opts.mode, opts.mask, opts.salt
  function self.row(row)
    local out = {}
    for _, name in ipairs(names) do
      local v = row[name]
      if v ~= nil and targets[name] then
        v = mode == "hash" and sha256.hex(salt .. text_of(v)) or mask
      end
      out[name] = v
    end
    return out
  end
  return self
end

return {
  kind = "transform",
  name = "redact",
  version = "1.0.0",
  doc = "Mask, hash (SHA-256) or drop named columns, e.g. PII before it leaves.",
  options = {
    doc = "transform = sg.plugin \"redact\" { columns = { \"email\" }, mode = \"hash\" }",
    fields = {
      { "columns", "list<string>", required = true, check = "nonempty_list", doc = "Columns to redact." },
      { "mode", "string", default = "mask", enum = { "mask", "hash", "drop" },
        doc = "mask: replace with `mask`; hash: hex SHA-256 of salt .. value; drop: remove the column." },
      { "mask", "string", default = "***", doc = "The text a masked value becomes." },
      { "salt", "string", default = "", doc = "Prefix hashed before the value (hash mode)." },
    },
  },
  new = new,
}
