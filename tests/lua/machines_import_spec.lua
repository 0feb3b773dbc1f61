local tool = require "ctys.tools.machines.import"
local line = require("ctys.machinefile").line

describe("ctys-machines import", function()
  it("reads ISC dhcpd.conf host blocks wherever they are, in any layout", function()
    local text = [[
# site dhcpd.conf
option domain-name "lab.example";   # a comment with host words { }
subnet 10.0.0.0 netmask 255.255.255.0 {
  group { host lab01 { hardware ethernet 00:1A:2B:3C:4D:5E; fixed-address 10.0.0.11; } host lab02 {
      hardware ethernet 00:1a:2b:3c:4d:5f;
      fixed-address 10.0.0.12, 10.0.0.112;
    }
  }
  host "lab03" { hardware ethernet 00-1A-2B-3C-4D-60 ; fixed-address lab03.example; }
  host printer { hardware ethernet 0:1a:2b:3c:4d:61; }
}
]]
    local got = tool.dhcpd(text, "d.conf")
    assert.same({
      { name = "lab01", mac = "00:1a:2b:3c:4d:5e", ip = "10.0.0.11" },
      { name = "lab02", mac = "00:1a:2b:3c:4d:5f", ip = "10.0.0.12" },
      { name = "lab03", mac = "00:1a:2b:3c:4d:60" },
      { name = "printer", mac = "00:1a:2b:3c:4d:61" },
    }, got)
    assert.equal("lab01 mac=00:1a:2b:3c:4d:5e ip=10.0.0.11", line(got[1]))
  end)

  it("names the file and line of what it cannot read", function()
    for text, want in pairs {
      ["host a {\n hardware ethernet zz:00;\n}\n"] = "d.conf:2: bad MAC",
      ["host a {\n hardware ethernet 00:11:22:33:44:55\n}\n"] = "d.conf:2: a statement without its ';' in host a",
      ["subnet x {\n host b {\n"] = "d.conf:2: host b's block does not end",
      ["}\n"] = "d.conf:1: a '}' without its '{'",
      ["group {\n"] = "d.conf: a '{' that is not closed",
      ["\n\nhost { }\n"] = "d.conf:3: expected 'host NAME {'",
      ['option x "never ends;\n'] = "d.conf:1: a quoted string that does not end",
    } do
      local ok, e = pcall(tool.dhcpd, text, "d.conf")
      assert.falsy(ok)
      assert.truthy(tostring(e):find(want, 1, true), tostring(e))
    end
  end)

  it("reads /etc/ethers with comments and any case, and names bad lines", function()
    local got = tool.ethers("# ethers\n00:1A:2B:3C:4D:5E lab01\n\n  08:00:20:00:61:ca   10.0.0.9  # by address\n", "ethers")
    assert.same({ { name = "lab01", mac = "00:1a:2b:3c:4d:5e" }, { name = "10.0.0.9", mac = "08:00:20:00:61:ca", ip = "10.0.0.9" } }, got)
    local ok, e = pcall(tool.ethers, "00:11:22:33:44:55 a\nnot-a-mac b\n", "ethers")
    assert.falsy(ok)
    assert.truthy(tostring(e):find("ethers:2: bad MAC", 1, true), tostring(e))
    ok, e = pcall(tool.ethers, "00:11:22:33:44:55 a b\n", "ethers")
    assert.truthy(not ok and tostring(e):find("ethers:1: expected 'MAC NAME'", 1, true), tostring(e))
  end)
end)
