local topology = require "ctys.topology"

local TEXT = [[
# a comment
[routes]
admin: gw[1-2]        ; first level
gw[1-2] : rack[1-2]gw # any of them reaches any of these
rack1gw: r1-[01-03]
rack2gw = r2-[01-02],
   r2-03
gw1: special
]]

describe("ctys.topology.parse and route", function()
  it("reads ClusterShell's format: comments, = or :, continuation lines, node sets", function()
    local t = assert(topology.parse(TEXT, "t.conf"))
    assert.same({ { "gw1", "gw2" }, { "rack1gw" } }, topology.route(t, "r1-02", "admin"))
    assert.same({ { "gw1", "gw2" }, { "rack2gw" } }, topology.route(t, "r2-03", "admin"))
    assert.same({ { "gw1" } }, topology.route(t, "special", "admin"))
  end)

  it("reaches first-level gateways and unnamed hosts directly", function()
    local t = assert(topology.parse(TEXT))
    assert.same({}, topology.route(t, "gw2", "admin"))
    assert.same({}, topology.route(t, "elsewhere", "admin"))
  end)

  it("names a machine that is not the root of the file", function()
    local t = assert(topology.parse(TEXT, "t.conf"))
    local via, e, kind = topology.route(t, "r1-01", "laptop")
    assert.equal(nil, via)
    assert.equal("invalid", kind)
    assert.truthy(e:match("t.conf: no route from laptop to r1%-01: no line leads to admin %(is laptop this machine's name%?%)"), e)
  end)

  it("refuses loops and more than MAX_DEPTH levels", function()
    local t = assert(topology.parse("[routes]\nadmin: a\nb: c\nc: b\n"))
    local via, e = topology.route(t, "c", "admin")
    assert.equal(nil, via)
    assert.truthy(e:match("loop"), e)
    local lines = { "[routes]", "admin: g1" }
    for i = 1, 10 do lines[#lines + 1] = string.format("g%d: g%d", i, i + 1) end
    via, e = topology.route(assert(topology.parse(table.concat(lines, "\n"))), "g11", "admin")
    assert.equal(nil, via)
    assert.truthy(e:match("more than 8 gateways"), e)
  end)

  it("gives line-numbered errors for bad files", function()
    for text, want in pairs {
      ["admin: gw1\n"] = "f:1: a route before %[routes%]",
      ["[routes]\nadmin gw1\n"] = "f:2: expected 'NODES: NODES', got admin gw1",
      ["[routes]\n\n# c\nadmin: gw[1-\n"] = "f:4: unbalanced '%[' in 'gw%[1%-'",
      ["[main]\n"] = "f:1: only a %[routes%] section",
      ["[routes]\nadmin:\n"] = "f:2: expected 'NODES: NODES'",
      ["[routes]\nadmin: x\xff[1-9999999]\n"] = "f:2: .*too large",
    } do
      local t, e, kind = topology.parse(text, "f")
      assert.equal(nil, t)
      assert.equal("invalid", kind)
      assert.truthy(e:match(want), e)
    end
  end)

  it("misuse raises", function()
    assert.fails(1, "bad argument 'text'", topology.parse, 5)
    assert.fails(1, "bad argument 'root'", topology.route, {}, "h", nil)
  end)
end)
