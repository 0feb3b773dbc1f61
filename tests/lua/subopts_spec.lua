-- Specs for ctys.subopts: the `-a ACTION[=suboptions]` syntax.
local subopts = require("ctys.subopts")

-- One expected suboption entry.
local function entry(key, given, value, values)
  return { key = key, given = given, value = value, values = values or {} }
end

describe("ctys.subopts.parse", function()
  it("splits action and suboptions, resolving aliases", function()
    local wol = entry("WOL", "wol")
    local tcp = entry("TCP", "t", "hostX", { "hostX" })
    local bc = entry("BROADCAST", "broadcast", "hostXDirectedCast", { "hostXDirectedCast" })
    assert.same({
      action = "CREATE",
      raw = "create=wol,t:hostX,broadcast:hostXDirectedCast",
      list = { wol, tcp, bc },
      by_key = { WOL = wol, TCP = tcp, BROADCAST = bc },
    }, subopts.parse("create=wol,t:hostX,broadcast:hostXDirectedCast"))
  end)

  it("reads the manuals' 1: as the label key", function()
    local label = entry("LABEL", "1", "tst100", { "tst100" })
    local off = entry("POWEROFF", "POWEROFF", "0", { "0" })
    assert.same({
      action = "CANCEL",
      raw = "cancel=1:tst100,POWEROFF:0",
      list = { label, off },
      by_key = { LABEL = label, POWEROFF = off },
    }, subopts.parse("cancel=1:tst100,POWEROFF:0"))
  end)

  it("takes an action without suboptions", function()
    assert.same({ action = "LIST", raw = "list", list = {}, by_key = {} }, subopts.parse("list"))
  end)

  it("splits only at the first '='", function()
    assert.same({ entry("LABEL", "l", "a=b", { "a=b" }) }, subopts.parse("create=l:a=b").list)
  end)

  it("keeps the colons of a MAC address", function()
    assert.same({ entry("MAC", "m", "00:11:22:33:44:55", { "00:11:22:33:44:55" }) },
      subopts.parse("create=m:00:11:22:33:44:55").list)
  end)

  it("reads ',,' as a literal comma", function()
    assert.same({ entry("LABEL", "l", "a,b", { "a,b" }), entry("WOL", "wol") },
      subopts.parse("create=l:a,,b,wol").list)
  end)

  it("reads '::' and '\\:' as a literal colon", function()
    assert.same({ entry("ID", "p", "c:/x:y", { "c:/x:y" }) },
      subopts.parse("create=p:c::/x\\:y").list)
  end)

  it("splits values at '%' and reads '%%' as a literal percent", function()
    assert.same({
      entry("PING", "PING", "3%5", { "3", "5" }),
      entry("LABEL", "l", "50%", { "50%" }),
      entry("X", "x", "a%%b", { "a%", "b" }),
    }, subopts.parse("create=PING:3%5,l:50%%,x:a%%%b").list)
  end)

  it("upper-cases action and keys, keeping the key as typed", function()
    assert.same({ entry("REUSE", "ReUse"), entry("TCP", "Tcp", "h", { "h" }) },
      subopts.parse("CrEaTe=ReUse,Tcp:h").list)
    assert.equal("CREATE", subopts.parse("CrEaTe").action)
  end)

  it("maps every machine-address alias to its canonical key", function()
    local aliases = {
      ID = { "ID", "I", "PATHNAME", "PNAME", "P", "id", "pname" },
      BASEPATH = { "BASEPATH", "BASE", "B", "base" },
      LABEL = { "LABEL", "L", "1", "label", "l" },
      FILENAME = { "FILENAME", "FNAME", "F", "fname" },
      UUID = { "UUID", "U", "u" },
      MAC = { "MAC", "M", "mac" },
      TCP = { "TCP", "T", "t" },
      DBRECORD = { "DBRECORD", "DBREC", "DR", "dr" },
    }
    for key, list in pairs(aliases) do
      for _, alias in ipairs(list) do
        assert.same(entry(key, alias, "v", { "v" }), subopts.parse("a=" .. alias .. ":v").list[1], alias)
      end
    end
  end)

  it("exports the alias table", function()
    assert.equal("LABEL", subopts.KEY_ALIASES["1"])
    assert.equal("DBRECORD", subopts.KEY_ALIASES.DR)
    assert.equal(nil, subopts.KEY_ALIASES.WOL)
  end)

  it("keeps duplicate keys in the list, the last in by_key", function()
    local p = subopts.parse("cancel=l:a,L:b")
    assert.same({ entry("LABEL", "l", "a", { "a" }), entry("LABEL", "L", "b", { "b" }) }, p.list)
    assert.same(entry("LABEL", "L", "b", { "b" }), p.by_key.LABEL)
  end)

  it("rejects an empty action", function()
    assert.fails(1, "'=x'", subopts.parse, "=x")
    assert.fails(1, "''", subopts.parse, "")
  end)

  it("rejects '=' without suboptions", function()
    assert.fails(1, "'create='", subopts.parse, "create=")
  end)

  it("rejects an empty suboption", function()
    assert.fails(1, "'create=wol,'", subopts.parse, "create=wol,")
    assert.fails(1, "'create=,wol'", subopts.parse, "create=,wol")
    assert.fails(1, "'create=wol,,,,,'", subopts.parse, "create=wol,,,,,")
  end)

  it("rejects a key with ':' and no argument", function()
    assert.fails(1, "'l:'", subopts.parse, "cancel=l:")
  end)

  it("rejects an empty key", function()
    assert.fails(1, "':x'", subopts.parse, "cancel=:x")
  end)
end)

describe("ctys.subopts.get", function()
  it("finds a suboption by any alias and case", function()
    local p = subopts.parse("create=wol,t:hostX")
    assert.equal("hostX", subopts.get(p, "TCP").value)
    assert.equal("hostX", subopts.get(p, "t").value)
    assert.equal("WOL", subopts.get(p, "wol").key)
    assert.equal(nil, subopts.get(p, "MAC"))
  end)
end)

describe("ctys.subopts.without", function()
  it("leaves out the named keys and keeps the rest as written", function()
    local p = subopts.parse("cancel=l:a,,b,IPMI:10.0.0.5:623,p:c::/x,FORCE")
    assert.equal("cancel=l:a,,b,p:c::/x,FORCE", subopts.without(p, { "IPMI" }))
    assert.equal("cancel", subopts.without(subopts.parse("cancel=ipmi"), { "IPMI" }))
    assert.equal("list", subopts.without(subopts.parse("list"), { "IPMI" }))
  end)
end)
