-- ctys.cli.main: from a command line to the action function of a plugin module.
local cli = require "ctys.cli"
describe("ctys.cli.main", function()
  after_each(function() package.loaded["ctys.actions.probe"] = nil end)

  it("hands the parsed request to ctys.actions.<type>.<action> and returns its exit value", function()
    local got
    package.loaded["ctys.actions.probe"] = { create = function(req) got = req; return 3 end }
    local rc = cli.main({ "-t", "probe", "-a", "create=wol,t:hostX,broadcast:hostXDirectedCast" })
    assert.equal(3, rc)
    assert.equal("PROBE", got.type)
    assert.equal("CREATE", got.action.action)
    assert.equal("hostXDirectedCast", got.action.by_key.BROADCAST.value)
    assert.same({}, got.targets)
  end)

  it("returns 0 when the action returns nothing", function()
    package.loaded["ctys.actions.probe"] = { cancel = function() end }
    assert.equal(0, cli.main({ "-t", "probe", "-a", "cancel=1:tst100,POWEROFF:0" }))
  end)

  it("runs a target that is this machine here, with its context options superposed", function()
    local got
    package.loaded["ctys.actions.probe"] = { create = function(req) got = req; return 4 end }
    local rc = cli.main({ "-t", "probe", "-a", "create=x", "-d", "0", "--", "(-d 1 -X)", "localhost(-d 2)" })
    assert.equal(4, rc)
    assert.same({ 2, true, {} }, { got.debug, got.terse, got.targets })
  end)

  it("ends with 'action not available' (exit 2) before contacting any target", function()
    local seeds = {
      { "-t", "pm", "-a", "enumerate=machine", "lab01" },
      { "-t", "pm", "-a", "list", "lab01" },
    }
    for _, argv in ipairs(seeds) do
      assert.fails(2, "action not available", cli.main, argv)
    end
  end)

  it("says which plugin type has no module (exit 2)", function()
    assert.fails(2, "plugin type VMW has no module ctys.actions.vmw", cli.main,
      { "-t", "vmw", "-a", "cancel=1:tst100,POWEROFF", "lab01" })
  end)

  it("refuses a command line without an action (exit 1)", function()
    assert.fails(1, "no action given (-a ACTION)", cli.main, { "-t", "pm", "lab01" })
  end)

  it("answers -h and -V with exit 0", function()
    local out = {}
    local write, print_ = io.write, print
    io.write = function(s) out[#out + 1] = s end
    print = function(s) out[#out + 1] = s end
    local ok, h, v = pcall(function() return cli.main({ "-h" }), cli.main({ "-V" }) end)
    io.write, print = write, print_
    assert.truthy(ok, h)
    assert.same({ 0, 0 }, { h, v })
    assert.truthy(out[1]:find("usage: ctys", 1, true))
    assert.equal("ctys " .. ctys.version, out[2])
  end)
end)
