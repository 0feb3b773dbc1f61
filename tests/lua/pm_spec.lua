-- Specs for ctys.actions.pm's plain functions: CANCEL's and CREATE's suboption plans and the
-- wake-up broadcast a CANCEL with WOL,BROADCAST leaves for a later CREATE.
local pm = require "ctys.actions.pm"
local subopts = require "ctys.subopts"
local tempdir = require("ctys.test").tempdir

describe("ctys.actions.pm remembered wake-up broadcasts", function()
  it("remembers per machine, replaces what was there, keeps the others", function()
    local path = tempdir().path .. "/sub/wol-broadcast"
    assert.equal(nil, pm.remembered_broadcast("lab01", path))
    assert.truthy(pm.remember_broadcast({ "lab01", "lab02" }, "192.168.3.255", path))
    assert.truthy(pm.remember_broadcast({ "lab02" }, "10.0.0.255", path))
    assert.equal("192.168.3.255", pm.remembered_broadcast("lab01", path))
    assert.equal("10.0.0.255", pm.remembered_broadcast("lab02", path))
    local f = assert(io.open(path))
    assert.equal("lab01 192.168.3.255\nlab02 10.0.0.255\n", f:read("a"))
    f:close()
  end)

  it("says why it cannot write", function()
    local ok, e = pm.remember_broadcast({ "lab01" }, "10.0.0.255", "/proc/no/such/file")
    assert.equal(nil, ok)
    assert.truthy(e:find("/proc/no/such/file", 1, true))
  end)
end)

describe("ctys.actions.pm.cancel_plan", function()
  it("reads the manual's WOL,BROADCAST line", function()
    local plan = pm.cancel_plan(subopts.parse("cancel=1:tst100,POWEROFF,wol,broadcast:192.168.3.255"))
    assert.same({ true, "192.168.3.255", "POWEROFF", "tst100" }, { plan.wol, plan.broadcast, plan.method, plan.name })
  end)
end)
