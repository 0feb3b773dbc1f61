-- Specs for ctys.cli: the command-line grammar (parse, parse_options, usage).
local cli = require("ctys.cli")

-- The argv of a manual's command line without quotes: its words after `ctys`.
local function argv(line)
  local words = {}
  for w in line:gmatch("%S+") do words[#words + 1] = w end
  assert.equal("ctys", table.remove(words, 1))
  return words
end

-- One expected suboption entry.
local function entry(key, given, value)
  return { key = key, given = given, value = value, values = { value } }
end

-- An expected parsed `-a` argument; the entries' keys are distinct.
local function action(name, raw, list)
  local by_key = {}
  for _, e in ipairs(list) do by_key[e.key] = e end
  return { action = name, raw = raw, list = list, by_key = by_key }
end

-- An expected request: the given fields plus the flags a plain command line leaves off.
local function request(t)
  t.terse, t.version, t.help, t.dry_run, t.gather, t.json, t.yes = false, false, false, false, false, false, false
  t.targets = t.targets or {}
  return t
end

local LAB01 = { { host = "lab01", raw = "lab01" } }

-- Every command line of seeds/ctys-uc-PM.txt, verbatim.
local SEEDS = {
  {
    "ctys -t pm -a create=wol,t:hostX,broadcast:hostXDirectedCast lab01",
    request({ type = "PM", targets = LAB01,
      action = action("CREATE", "create=wol,t:hostX,broadcast:hostXDirectedCast", {
        entry("WOL", "wol"), entry("TCP", "t", "hostX"),
        entry("BROADCAST", "broadcast", "hostXDirectedCast") }) }),
  },
  {
    "ctys -t pm -a create=CONSOLE:cli",
    request({ type = "PM",
      action = action("CREATE", "create=CONSOLE:cli", { entry("CONSOLE", "CONSOLE", "cli") }) }),
  },
  {
    "ctys -t pm -a cancel=1:tst100,POWEROFF:0 lab01",
    request({ type = "PM", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,POWEROFF:0", {
        entry("LABEL", "1", "tst100"), entry("POWEROFF", "POWEROFF", "0") }) }),
  },
  {
    "ctys -t xen -a cancel=1:tst100,force,POWEROFF:0 lab01",
    request({ type = "XEN", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,force,POWEROFF:0", {
        entry("LABEL", "1", "tst100"), entry("FORCE", "force"), entry("POWEROFF", "POWEROFF", "0") }) }),
  },
  {
    "ctys -t xen -a cancel=1:tst100,POWEROFF,wol lab01",
    request({ type = "XEN", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,POWEROFF,wol", {
        entry("LABEL", "1", "tst100"), entry("POWEROFF", "POWEROFF"), entry("WOL", "wol") }) }),
  },
  {
    "ctys -t xen -a cancel=1:tst100,POWEROFF,wol,broadcast:192.168.3.255 lab01",
    request({ type = "XEN", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,POWEROFF,wol,broadcast:192.168.3.255", {
        entry("LABEL", "1", "tst100"), entry("POWEROFF", "POWEROFF"), entry("WOL", "wol"),
        entry("BROADCAST", "broadcast", "192.168.3.255") }) }),
  },
  {
    "ctys -t pm -a cancel=1:tst001,REBOOT lab01",
    request({ type = "PM", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst001,REBOOT", {
        entry("LABEL", "1", "tst001"), entry("REBOOT", "REBOOT") }) }),
  },
  {
    "ctys -t pm -a cancel=1:tst001,REBOOT,SELF lab01",
    request({ type = "PM", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst001,REBOOT,SELF", {
        entry("LABEL", "1", "tst001"), entry("REBOOT", "REBOOT"), entry("SELF", "SELF") }) }),
  },
  {
    "ctys -t xen -a cancel=1:tst100,REBOOT,FORCE lab01",
    request({ type = "XEN", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,REBOOT,FORCE", {
        entry("LABEL", "1", "tst100"), entry("REBOOT", "REBOOT"), entry("FORCE", "FORCE") }) }),
  },
  {
    "ctys -t PM -a cancel=1:tst100,INIT:0 lab01",
    request({ type = "PM", targets = LAB01,
      action = action("CANCEL", "cancel=1:tst100,INIT:0", {
        entry("LABEL", "1", "tst100"), entry("INIT", "INIT", "0") }) }),
  },
}

describe("ctys.cli.parse, the manual's command lines", function()
  for _, case in ipairs(SEEDS) do
    it(case[1], function()
      assert.same(case[2], cli.parse(argv(case[1])))
    end)
  end
end)

describe("ctys.cli.parse", function()
  it("defaults the type to PM and the flags to off", function()
    assert.same(request({ type = "PM", action = action("LIST", "list", {}) }), cli.parse({ "-a", "list" }))
  end)

  it("reads every option, separate or joined to its value", function()
    local want = {
      type = "XEN", types = { "PM", "XEN" }, action = action("CREATE", "create=wol", { entry("WOL", "wol") }),
      debug = 3, terse = true, version = true, help = true, dry_run = true, gather = false, json = false, yes = true,
      user = "root", b = "async,par", c = "local", Z = "SUDO", targets = {},
    }
    assert.same(want, cli.parse({ "-t", "xen", "-T", "pm,Xen", "-a", "create=wol", "-d", "3", "-X", "-V",
      "-h", "--dry-run", "-y", "-l", "root", "-b", "async,par", "-c", "local", "-Z", "SUDO" }))
    assert.same(want, cli.parse({ "-txen", "-Tpm,Xen", "-acreate=wol", "-d3", "-X", "-V", "-h",
      "--dry-run", "--yes", "-lroot", "-basync,par", "-clocal", "-Zsudo" }))
    assert.equal(true, cli.parse({ "--gather", "-a", "x" }).gather)
    assert.equal(true, cli.parse({ "--json", "-a", "x" }).json)
  end)

  it("takes one output form at a time, and -Z only as SUDO or KSU", function()
    assert.raises(function() cli.parse { "-X", "--json", "-a", "x" } end, "%-X and %-%-json: one output form at a time")
    assert.raises(function() cli.parse { "--json", "--gather", "-a", "x" } end, "%-%-json and %-%-gather: one output form at a time")
    assert.raises(function() cli.parse { "-Z", "FOO", "-a", "x" } end, "bad value 'FOO' for %-Z: SUDO or KSU")
  end)

  it("reads -T all", function()
    assert.same({ "ALL" }, cli.parse({ "-T", "all", "-a", "x" }).types)
  end)

  it("lets the last of a repeated option win", function()
    assert.equal(2, cli.parse({ "-d", "1", "-a", "x", "-d", "2" }).debug)
  end)

  it("reads targets with user, port and context, and -l", function()
    assert.same(request({ type = "PM", user = "admin", action = action("X", "x", {}), targets = {
      { user = "root", host = "lab01", port = 2222, raw = "root@lab01:2222" },
      { host = "lab02", ctx_raw = "-d 1 -l u", ctx = { debug = 1, user = "u" }, raw = "lab02(-d 1 -l u)" },
    } }), cli.parse({ "-a", "x", "-l", "admin", "root@lab01:2222", "lab02(-d 1 -l u)" }))
  end)

  it("reads the original's group entry with its context", function()
    local word = "root@lab02(-a create=l:LAB02,reuse -c local -b 1,2 )"
    assert.same(request({ type = "PM", action = action("LIST", "list", {}), targets = { {
      user = "root", host = "lab02", raw = word,
      ctx_raw = "-a create=l:LAB02,reuse -c local -b 1,2 ",
      ctx = { c = "local", b = "1,2",
        action = action("CREATE", "create=l:LAB02,reuse", { entry("LABEL", "l", "LAB02"), entry("REUSE", "reuse") }) },
    } } }), cli.parse({ "-a", "list", word }))
  end)

  it("joins a context the user did not quote", function()
    assert.same({ {
      host = "lab01", raw = "lab01(-a create=l:X -d 1)", ctx_raw = "-a create=l:X -d 1",
      ctx = { debug = 1, action = action("CREATE", "create=l:X", { entry("LABEL", "l", "X") }) },
    }, { host = "lab02", raw = "lab02" } }, cli.parse({ "-a", "x", "lab01(-a", "create=l:X", "-d", "1)", "lab02" }).targets)
  end)

  it("attaches a context in its own word to the target before it", function()
    assert.same({ { host = "lab01", raw = "lab01 (-X)", ctx_raw = "-X", ctx = { terse = true } } },
      cli.parse({ "-a", "x", "lab01", "(-X)" }).targets)
    assert.same({ { host = "lab01", raw = "lab01 (-d 4)", ctx_raw = "-d 4", ctx = { debug = 4 } } },
      cli.parse({ "-a", "x", "lab01", "(-d", "4)" }).targets)
  end)

  it("reads the global context right after --", function()
    assert.same(request({ type = "PM", action = action("X", "x", {}),
      global_ctx_raw = "-d 1 -Z KSU", global_ctx = { debug = 1, Z = "KSU" },
      targets = { { host = "lab01", raw = "lab01" }, { host = "lab02", raw = "lab02 (-X)", ctx_raw = "-X", ctx = { terse = true } } },
    }), cli.parse({ "-a", "x", "--", "(-d 1 -Z KSU)", "lab01", "lab02", "(-X)" }))
  end)

  it("takes options after targets", function()
    local req = cli.parse({ "lab01", "-a", "x", "lab02", "-d", "2" })
    assert.same({ { host = "lab01", raw = "lab01" }, { host = "lab02", raw = "lab02" } }, req.targets)
    assert.equal(2, req.debug)
    assert.equal("X", req.action.action)
  end)

  it("rejects malformed suboptions", function()
    assert.fails(1, "'create='", cli.parse, { "-a", "create=" })
    assert.fails(1, "'l:'", cli.parse, { "-a", "cancel=l:" })
  end)

  it("rejects an unbalanced '(' and a stray ')'", function()
    assert.fails(1, "'lab01(-d 1'", cli.parse, { "-a", "x", "lab01(-d 1" })
    assert.fails(1, "'lab01(-d 1'", cli.parse, { "-a", "x", "lab01(-d", "1" })
    assert.fails(1, "'lab01)'", cli.parse, { "-a", "x", "lab01)" })
    assert.fails(1, "'lab01(-d 1)x'", cli.parse, { "-a", "x", "lab01(-d 1)x" })
  end)

  it("reads words after -- as targets, never options", function()
    assert.fails(1, "'-q'", cli.parse, { "-a", "x", "--", "-q" })
  end)

  it("rejects a context without its target", function()
    assert.fails(1, "'(-d 1)'", cli.parse, { "-a", "x", "(-d 1)", "lab01" })
    assert.fails(1, "'(-X)'", cli.parse, { "-a", "x", "lab01", "-d", "1", "(-X)" })
    assert.fails(1, "'(-X)'", cli.parse, { "-a", "x", "lab01(-d 1)", "(-X)" })
  end)

  it("rejects a target inside a context", function()
    assert.fails(1, "'lab02'", cli.parse, { "-a", "x", "lab01(-d 1 lab02)" })
  end)

  it("rejects unknown options", function()
    for _, opt in ipairs({ "-q", "--foo", "-Xd", "-" }) do
      assert.fails(1, "'" .. opt .. "'", cli.parse, { "-a", "x", opt })
    end
    assert.fails(1, "'-q'", cli.parse, { "-a", "x", "lab01(-q)" })
  end)

  it("rejects a missing or empty value", function()
    assert.fails(1, "-a", cli.parse, { "-t", "pm", "-a" })
    assert.fails(1, "-l", cli.parse, { "-a", "x", "-l", "" })
  end)

  it("rejects a bad debug level, plugin type or port", function()
    assert.fails(1, "'x'", cli.parse, { "-a", "x", "-d", "x" })
    assert.fails(1, "'-1'", cli.parse, { "-a", "x", "-d", "-1" })
    assert.fails(1, "'../pm'", cli.parse, { "-a", "x", "-t", "../pm" })
    assert.fails(1, "'pm,,xen'", cli.parse, { "-a", "x", "-T", "pm,,xen" })
    assert.fails(1, "'lab01:70000'", cli.parse, { "-a", "x", "lab01:70000" })
  end)
end)

describe("ctys.cli.parse_options", function()
  it("returns only the options given", function()
    assert.same({ debug = 1, b = "1,2" }, cli.parse_options({ "-d", "1", "-b", "1,2" }))
    assert.same({}, cli.parse_options({}))
  end)

  it("rejects -- and words that are not options", function()
    assert.fails(1, "'--'", cli.parse_options, { "--" })
    assert.fails(1, "'lab01'", cli.parse_options, { "-d", "1", "lab01" })
  end)
end)

describe("ctys.cli.usage", function()
  it("names every option, the exit values and the host options", function()
    local text = cli.usage()
    for _, s in ipairs({ "-t TYPE", "-T TYPE", "-a ACTION", "-d LEVEL", "-X", "-V", "-h", "--dry-run",
                         "-l USER", "-b VALUE", "-c VALUE", "-Z VALUE", "--", "0 ok", "1 erroneous",
                         "2 missing", "FILE.lua", "-e CHUNK", "--repl", "--test DIR", "--dump-lua DIR",
                         "--lua-path DIR" }) do
      assert.truthy(text:find(s, 1, true), s)
    end
  end)
end)
