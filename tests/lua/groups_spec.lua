-- GROUPS in the original ctys's file format, ranges and set expressions.
local groups = require "ctys.groups"

local fixtures = require("ctys.test").tempdir()
local root = fixtures.path
local function write(rel, text) fixtures:write(rel, text) end

write("g/lab", [[
# the lab, with the original's real line
root@lab02'(-a create=l:LAB02,reuse -c local -b 1,2 )'
CONTEXT'(-d 1)'
lab01 lab03, lab04:2222
#include desktops/tst/ctys-lab
]])
write("g/desktops/tst/ctys-lab", [[
tst000
#include tst-nest-001-a10
tst001'(-d 3)'
lab01
]])
write("g/tst-nest-001-a10", "CONTEXT'(-X)'\nnest[01-03],tst000\n")
write("g/cyc-a", "a1\n#include cyc-b\n")
write("g/cyc-b", "#include cyc-a\n")
write("g/broken", "ok1\n#include nowhere\n")
write("g/bad", "ok1\nhost:99999\n")
write("g/set1", "h[1-5]\n")
write("g/set2", "h[4-8]\n")

local function names(list)
  local out = {}
  for i, m in ipairs(list) do out[i] = m.raw .. (m.ctx_raw and ("(" .. m.ctx_raw .. ")") or "") end
  return out
end

describe("ctys.groups", function()
  before_each(function() groups.dirs = { root .. "/g" } end)
  after_each(function() groups.dirs = nil end)

  it("reads members, includes three deep, CONTEXT for every member, entry contexts winning", function()
    assert.same({
      "root@lab02(-d 1 -a create=l:LAB02,reuse -c local -b 1,2 )",
      "lab01(-d 1)", "lab03(-d 1)", "lab04:2222(-d 1)",
      "tst000(-d 1)",
      "nest01(-d 1 -X)", "nest02(-d 1 -X)", "nest03(-d 1 -X)",
      "tst001(-d 1 -d 3)",
    }, names(groups.members("lab")))
  end)

  it("applies options given with the group last", function()
    assert.same({ "nest01(-X -d 2)", "nest02(-X -d 2)", "nest03(-X -d 2)", "tst000(-X -d 2)" },
      names(groups.members("tst-nest-001-a10", "-d 2")))
  end)

  it("names an include cycle, a missing include (exit 2) and a bad entry (exit 1) by file and line", function()
    assert.fails(1, "group include cycle: cyc-a -> cyc-b -> cyc-a", groups.members, "cyc-a")
    assert.fails(2, root .. "/g/broken:2: #include nowhere: no such group", groups.members, "broken")
    assert.fails(1, root .. "/g/bad:2: bad target 'host:99999'", groups.members, "bad")
    assert.fails(2, "no group nosuch", groups.members, "nosuch")
  end)

  it("evaluates set expressions strictly left to right", function()
    assert.same({ "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8" }, names(groups.expand("@set1,@set2")))
    assert.same({ "h1", "h2", "h3" }, names(groups.expand("@set1!@set2")))
    assert.same({ "h4", "h5" }, names(groups.expand("@set1&@set2")))
    assert.same({ "h1", "h2", "h3", "h6", "h7", "h8" }, names(groups.expand("@set1^@set2")))
    -- (@set1,h9)&@set2 — ClusterShell's order; Ansible's precedence would give h1..h5,... here
    assert.same({ "h4", "h5" }, names(groups.expand("@set1,h9&@set2")))
    assert.same({ "h1", "h3", "x" }, names(groups.expand("h[1-3]!h2,x")))
  end)

  it("tells expressions from hosts", function()
    for _, w in ipairs { "@lab", "a,b", "lab[01-03]", "a!b", "a&b", "a^b", "@lab(-d 1)" } do
      assert.truthy(groups.is_expression(w), w)
    end
    for _, w in ipairs { "lab01", "root@lab02:22", "[::1]:22", "lab01(-d 1,2)" } do
      assert.falsy(groups.is_expression(w), w)
    end
  end)

  it("resolves command-line targets: group names and expressions become members", function()
    local cli = require "ctys.cli"
    local req = cli.parse { "-a", "x", "set1(-d 2)", "@set2!h[5-8]", "other" }
    local got = groups.resolve(req.targets)
    assert.same({ "h1(-d 2)", "h2(-d 2)", "h3(-d 2)", "h4(-d 2)", "h5(-d 2)", "other" }, names(got))
    assert.equal(2, got[1].ctx.debug)
  end)
end)
