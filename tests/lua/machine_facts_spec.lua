-- What a host sends to collect becomes a record word by word (a hostile host cannot write into
-- the database), the status view draws only what fits and no control character, and wake-ups
-- are noted.
local collect = require "ctys.tools.machines.collect"
local term = require "ctys.term"

describe("ctys.tools.machines.collect.record", function()
  it("names the record as given and takes the interface SSH reached", function()
    local r, unknown = collect.record("lab01", {
      hostname = "vm", reached = "10.0.0.1", os = "debian-12", arch = "x86_64",
      nics = {
        { name = "eth1", mac = "02:00:00:00:00:09", state = "down", addrs = {} },
        { name = "eth0", mac = "02:00:00:00:00:01", state = "up", addrs = { "10.0.0.1/24", "fe80::1/64" }, wol = { supported = "pumbg", enabled = "g" } },
      },
      bmc = "10.0.1.1",
    })
    assert.same({ name = "lab01", mac = "02:00:00:00:00:01", ip = "10.0.0.1", nic = "eth0", link = "up", wol = "g", wol_modes = "pumbg",
      mac_eth1 = "02:00:00:00:00:09", os = "debian-12", arch = "x86_64", hostname = "vm", bmc = "10.0.1.1" }, r)
    assert.same({}, unknown)
  end)

  it("keeps nothing a hostile host sends that would break a database line", function()
    local r, unknown = collect.record("lab02", {
      hostname = "evil host\n# x=y\27[2J", reached = "10.0.0.2; rm -rf /", os = string.rep("A", 5000), arch = 42,
      nics = { { name = "eth0 x", mac = "02:00:00:00:00:02", addrs = { "10.0.0.2/24" } },
        { name = "eth0", mac = "not a mac", addrs = { "10.0.0.2/24" } }, "junk", { name = "e1", mac = "02:00:00:00:00:03", addrs = "x" } },
      bmc = "10.0.1.2 extra",
      bmc_unknown = "\0\1",
    })
    assert.equal("lab02", r.name)
    assert.equal(nil, r.ip)
    assert.equal(nil, r.bmc)
    assert.equal(nil, r.arch)
    assert.equal("evil_host___x_y__2J", r.hostname)
    assert.equal(64, #r.os)
    assert.equal("02:00:00:00:00:03", r.mac_e1)
    assert.equal(nil, r.mac)
    assert.truthy(#unknown >= 2)
    -- What it made reads back through ctys.machines as one machine.
    local db = require("ctys.machines").parse(require("ctys.machinefile").line(r) .. "\n", "m")
    assert.equal(1, #db)
    assert.equal("evil_host___x_y__2J", db.lab02.hostname)
  end)
end)

describe("ctys.term.frame", function()
  it("draws from the top left, cuts to the width, keeps to the height and never scrolls", function()
    local f = term.frame({ "abcdef", "äöüß-long", "third", "fourth" }, 3, 4)
    assert.equal("\27[Habcd\27[K\r\näöüß\27[K\r\nthir\27[K\27[J", f)
  end)

  it("shows control characters as '?' and cuts text that is not UTF-8 by bytes", function()
    assert.equal("\27[Ha?[2Jb\27[K\27[J", term.frame({ "a\27[2Jb" }, 1, 80))
    assert.equal("\27[H\255\254\27[K\27[J", term.frame({ "\255\254\253" }, 1, 2))
  end)

  it("refuses a size that is not a positive integer", function()
    local ok, e = pcall(term.frame, {}, 0, 80)
    assert.truthy(not ok and tostring(e):find("ctys.term.frame: bad argument 'rows'", 1, true), tostring(e))
    assert.equal(nil, (term.screen())) -- not a terminal under the test runner
  end)
end)

describe("ctys.wolmemory.sent", function()
  it("notes the time of the last wake-up of each machine", function()
    local path = os.tmpname()
    os.remove(path)
    local before = os.time()
    assert(require("ctys.wolmemory").sent("lab01", path))
    assert(require("ctys.wolmemory").sent("lab02", path))
    assert(require("ctys.wolmemory").sent("lab01", path))
    local last = require("ctys.wolmemory").last_sent(path)
    assert.truthy(last.lab01 >= before and last.lab02 >= before)
    local _, n = require("ctys.fs").read(path):gsub("\n", "")
    assert.equal(2, n)
    assert.equal(nil, (require("ctys.wolmemory").sent("two words", path)))
    os.remove(path)
  end)
end)
