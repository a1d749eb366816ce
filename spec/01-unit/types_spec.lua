-- SQL type parsing: character types, table forms, named types.
local types = require "sinkgate.types"

local function render(s, scope)
  local t, err = types.parse(s, scope)
  return t and types.render(t) or nil, err
end

describe("types", function()
  it("parse the character types with PostgreSQL's names and defaults", function()
    assert.equal("character(3)", render("char(3)"))
    assert.equal("character(1)", render("char"))        -- char alone is char(1)
    assert.equal("character(4)", render("CHARACTER(4)"))
    assert.equal("character varying(10)", render("character varying(10)"))
    assert.equal("character varying(2)", render("varchar(2)"))
    assert.equal("character varying", render("varchar")) -- no limit
    assert.equal("bpchar", render("bpchar"))                -- no limit, no padding
    assert.equal("abc", types.fit_text(types.parse("bpchar"), "abc"))
    local t = types.parse("char(3)")
    assert.same({ "text", types.ID.text, 3 }, { t.name, t.id, t.length }) -- text underneath
    assert.is_nil(render("char(0)"))
    assert.is_nil(render("varchar(2,1)"))
  end)

  it("fit text values as PostgreSQL: pad char(n), cut blanks, refuse longer values", function()
    local c3, v3 = types.parse("char(3)"), types.parse("varchar(3)")
    assert.equal("a  ", types.fit_text(c3, "a"))
    assert.equal("   ", types.fit_text(c3, ""))
    assert.equal("abc", types.fit_text(c3, "abc  "))
    assert.equal("äöü", types.fit_text(c3, "äöü"))  -- three characters, six bytes
    assert.equal("a", types.fit_text(v3, "a"))
    assert.equal("ab ", types.fit_text(v3, "ab    "))
    local s, err = types.fit_text(c3, "abcd")
    assert.is_nil(s)
    assert.equal("value too long for type character(3)", err)
    assert.equal("anything", types.fit_text(types.parse("text"), "anything"))
  end)

  it("parse lists, arrays and maps of records given as tables", function()
    local pt = { record = { { "x", "integer" } }, name = "pt" }
    assert.equal("pt list", render({ list = pt }))
    assert.equal("pt[]", render({ array = pt }))
    assert.equal("map[text=>pt list]", render({ map = { list = pt } }))
    assert.equal("record(x integer) list", render({ list = { record = { { "x", "integer" } } } }))
    assert.is_nil(render({ lst = "text" }))
    -- fields as YAML writes them: { name =, type = }
    local t = types.parse({ list = { record = { { name = "x", type = "integer", not_null = true, comment = "c" } } } })
    assert.same({ name = "x", nullable = false, comment = "c" },
      { name = t.elem.fields[1].name, nullable = t.elem.fields[1].nullable, comment = t.elem.fields[1].comment })
    assert.equal("integer", t.elem.fields[1].type.name)
  end)

  it("resolve named types inside type strings, at any depth", function()
    local scope = { pt = { record = { { "x", "integer" } }, name = "pt" }, ["My.Pts"] = { list = "pt", name = "My.Pts" } }
    assert.equal("pt", render("pt", scope))
    assert.equal("pt list list", render("pt list list", scope))
    assert.equal("map[text=>pt[]]", render("map[text=>pt[]]", scope))
    assert.equal("My.Pts[]", render("My.Pts[]", scope))         -- names keep their case
    local t = types.parse("map[text=>My.Pts]", scope)
    assert.equal("record", t.value.elem.name)
    assert.equal("pt", t.value.elem.sql_name)
    assert.is_nil(render("pt list")) -- without the scope the name is unknown
    local _, err = types.parse("a", { a = { list = "b" }, b = { record = { { "x", "a" } } } })
    assert.equal('type "b": record field "x": type "a" refers to itself (recursive types are not supported)', err)
    _, err = types.parse("a list", { a = { map = "zz" } })
    assert.equal('type "a": unknown type "zz"', err)
  end)
end)
