local machines = require "ctys.machines"

local function file(text, suffix)
  local path = os.tmpname() .. (suffix or "")
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("ctys.machines", function()
  local paths = {}
  after_each(function() for _, p in ipairs(paths) do os.remove(p) end paths = {} end)
  local function db(...)
    for i = 1, select("#", ...) do paths[#paths + 1] = select(i, ...) end
    return machines.load(paths)
  end

  it("reads our lines, the original's node;IP;MAC lines, Lua tables and /etc/ethers", function()
    local d = db(
      file("# lab\nlab01 mac=00:11:22:33:44:55 ip=10.0.0.11 bmc=10.0.1.11   # comment\nlab02;10.0.0.12;00-11-22-33-44-56\nlab03 0011.2233.4457 10.0.0.13\n"),
      file("return { lab04 = { mac = '001122334458', ip = '10.0.0.14' }, lab01 = { iface = 'eth1', ip = '10.9.9.9' } }", ".lua"),
      file("00:11:22:33:44:59 lab05\n00:11:22:33:44:5a 10.0.0.16\n", "ethers"))
    assert.same({ name = "lab01", mac = "00:11:22:33:44:55", ip = "10.0.0.11", bmc = "10.0.1.11", iface = "eth1",
      source = paths[1] .. ":2" }, d.lab01)
    assert.same({ "10.0.0.12", "00:11:22:33:44:56" }, { d.lab02.ip, d.lab02.mac })
    assert.same({ "10.0.0.13", "00:11:22:33:44:57" }, { d.lab03.ip, d.lab03.mac })
    assert.equal("00:11:22:33:44:58", d.lab04.mac)
    assert.equal("00:11:22:33:44:59", d.lab05.mac)
    assert.equal("00:11:22:33:44:5a", machines.lookup("10.0.0.16", d).mac)
    assert.equal("lab02", machines.lookup("00:11:22:33:44:56", d).name, "by MAC")
    assert.equal("lab03", machines.lookup("10.0.0.13", d).name, "by IP")
  end)

  it("gives addresses for names and literals, without a resolver for known names", function()
    local d = db(file("bcast ip=10.0.0.255\nnoip mac=00:11:22:33:44:55\n"))
    assert.equal("10.0.0.255", machines.address("bcast", d))
    assert.equal("192.0.2.7", machines.address("192.0.2.7", d))
    local ip, e = machines.address("noip", d)
    assert.equal(nil, ip)
    assert.truthy(e and e:find("CTYS_NO_DNS", 1, true), e)
  end)

  it("names the file and line of a bad entry (exit 2)", function()
    for _, case in ipairs {
      { "ok mac=00:11:22:33:44:55\nbad mac=zz\n", ":2: bad mac \"zz\"" },
      { "bad ip=999.1.1.1\n", ":1: bad ip \"999.1.1.1\"" },
      { "bad bmc=-x\n", ":1: bad bmc \"-x\"" },
      { "x;y\n", ":1: expected '<node>;<IP>;<MAC>'" },
      { "name what?\n", ":1: cannot read \"what?\"" },
    } do
      local p = file(case[1])
      paths[#paths + 1] = p
      assert.fails(2, p .. case[2], machines.load, { p })
    end
  end)
end)
