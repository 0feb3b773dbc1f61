-- ctys.pm.plan: every usage branch of CREATE's and CANCEL's plans is misuse (exit 1) naming the
-- key, decided before anything is sent, looked up or run; and what a good line plans.
local plans = require "ctys.pm.plan"
local subopts = require "ctys.subopts"

local function refused(fn, line, text)
  assert.fails(1, text, fn, subopts.parse(line))
end

describe("ctys.pm.plan.create", function()
  it("refuses each bad line, naming what is wrong", function()
    for _, c in ipairs {
      { "create=wol,t:h,frob", "CREATE: unknown suboption 'frob'" },
      { "create=wol,t:h,user:x", "CREATE: suboption 'user' is listed by the original ctys without a meaning" },
      { "create=wol,t:h,reuse:1", "CREATE: suboption 'reuse' takes no value" },
      { "create=wol,t", "CREATE: suboption 't' needs a value" },
      { "create=wol,t:h,reuse,resume", "CREATE: REUSE and RESUME exclude each other" },
      { "create=wol,m:02:00:00:00:00:01,broadcast:10.0.0.255,if:eth0", "CREATE: BROADCAST and IF exclude each other" },
      { "create=wol,m:02:00:00:00:00:01,port:9", "CREATE: PORT needs BROADCAST" },
      { "create=console:telnet", "CREATE: unknown CONSOLE 'telnet' (CLI, SOL, XTERM, GTERM, EMACS or VNC)" },
      { "create=console:cli,m:02:00:00:00:00:01", "CREATE: CONSOLE reaches a machine by t:<host>, not by MAC" },
      { "create=wol", "CREATE: no machine address (t:<host>, m:<mac> or l:<label>)" },
      { "create=wol,t:h,uuid:x", "CREATE: the PM plugin addresses machines by t:, m: or l:, not 'uuid'" },
      { "create=t:h", "CREATE: nothing to do: give WOL (or RESUME), IPMI, REDFISH or BMC" },
      { "create=ipmi,redfish,t:h", "CREATE: IPMI and REDFISH exclude each other" },
      { "create=redfish,wol,t:h", "CREATE: REDFISH and WOL exclude each other" },
      { "create=ipmi:redfish://h/1,t:h", "CREATE: IPMI:redfish://h/1 is a redfish BMC (use REDFISH or BMC)" },
      { "create=redfish:ftp://h,t:h", "CREATE: REDFISH:ftp://h: unknown BMC protocol 'ftp://'" },
      { "create=bmc:redfish://h/a b,t:h", "CREATE: BMC:redfish://h/a b: bad Redfish system id" },
      { "create=ipmi,wol,t:h", "CREATE: IPMI and WOL exclude each other" },
      { "create=ipmi,t:h,if:eth0", "CREATE: IPMI powers on through the BMC; BROADCAST, IF, PORT and BMAC are for WOL" },
      { "create=wol,m:02:00:00:00:00:01,broadcast:10.0.0.255,port:0", "CREATE: bad PORT '0': a whole number from 1 to 65535" },
      { "create=wol,m:02:00:00:00:00:0g", "CREATE: m '02:00:00:00:00:0g' is not a MAC address" },
      { "create=wol,t:h,ping:3", "CREATE: bad ping '3': expected off or <tries>%<sleep>" },
      { "create=wol,t:h,sshping:0%1", "CREATE: bad sshping '0%1': expected off, on or <tries>%<sleep>" },
      { "create=wol,t:h,ping:3%x", "CREATE: bad ping sleep 'x'" },
      { "create=wol:1e308,t:h", "CREATE: bad WOL delay '1e308'" },
      { "create=wol,m:02:00:00:00:00:01,broadcast:fe80::1", "CREATE: BROADCAST 'fe80:1' is not an IPv4 address (magic packets are IPv4 broadcasts" },
      { "create=wol,m:02:00:00:00:00:01,broadcast:300.1.1.1", "CREATE: BROADCAST '300.1.1.1' is not an IPv4 address" },
      { "create=wol,m:02:00:00:00:00:01,broadcast:-x", "CREATE: BROADCAST '-x' is not an IPv4 address or host name" },
      { "create=wol,t:-oProxy", "CREATE: bad t:-oProxy: the machine's [user@]address or host name[:port]" },
      { "create=wol,m:02:00:00:00:00:01,if:a/b", "CREATE: bad IF 'a/b'" },
      { "create=ipmi:h:99999,t:x", "CREATE: IPMI:h:99999: bad BMC port" },
    } do
      refused(plans.create, c[1], c[2])
    end
  end)

  it("plans a good line", function()
    local p = plans.create(subopts.parse("create=wol:2,t:lab01,broadcast:10.0.0.255,port:7,ping:5%1,sshping:off,reuse"))
    assert.same({ "lab01", 2, "10.0.0.255", 7, { 5, 1 }, nil, true }, { p.name, p.delay, p.broadcast, p.port, p.ping, p.sshping, p.reuse })
    local c = plans.create(subopts.parse("create=console:xterm,t:alice@lab01:2222"))
    assert.same({ "XTERM", true, "alice@lab01:2222" }, { c.console, c.console_only, c.tcp })
  end)
end)

describe("ctys.pm.plan.cancel", function()
  it("refuses each bad line, naming what is wrong", function()
    for _, c in ipairs {
      { "cancel=POWEROFF,REBOOT", "CANCEL: POWEROFF and REBOOT exclude each other" },
      { "cancel=INIT", "CANCEL: INIT needs a runlevel 0-6 (INIT:<n>), got 'INIT'" },
      { "cancel=INIT:9", "CANCEL: INIT needs a runlevel 0-6 (INIT:<n>), got 'INIT:9'" },
      { "cancel=POWEROFF:abc", "CANCEL: bad POWEROFF delay 'abc'" },
      { "cancel=frob", "CANCEL: unknown suboption 'frob'" },
      { "cancel=FORCE:1", "CANCEL: suboption 'FORCE' takes no value" },
      { "cancel=TIMEOUT", "CANCEL: suboption 'TIMEOUT' needs a value" },
      { "cancel=FORCE,STACK", "CANCEL: FORCE and STACK exclude each other" },
      { "cancel=REBOOT,WOL", "CANCEL: WOL does not combine with REBOOT" },
      { "cancel=INIT:6,WOL", "CANCEL: WOL does not combine with INIT:6" },
      { "cancel=POWEROFF,IF:eth0", "CANCEL: IF needs WOL" },
      { "cancel=POWEROFF,BROADCAST:10.0.0.255", "CANCEL: BROADCAST needs WOL" },
      { "cancel=RESET,IPMI", "CANCEL: IPMI powers a machine off; it does not combine with RESET" },
      { "cancel=REBOOT,REDFISH", "CANCEL: REDFISH powers a machine off; it does not combine with REBOOT" },
      { "cancel=POWEROFF,BMC,IPMI", "CANCEL: IPMI and BMC exclude each other" },
      { "cancel=POWEROFF,TIMEOUT:-1", "CANCEL: bad TIMEOUT '-1'" },
      { "cancel=WOL,BROADCAST:300.1.1.1", "CANCEL: BROADCAST '300.1.1.1' is not an IPv4 address" },
      { "cancel=POWEROFF,IPMI:h:0", "CANCEL: IPMI:h:0: bad BMC port" },
    } do
      refused(plans.cancel, c[1], c[2])
    end
  end)

  it("plans a good line", function()
    local p = plans.cancel(subopts.parse("cancel=l:lab01,INIT:0,WOL,IF:eth0,TIMEOUT:30,SELF,IPMI"))
    assert.same({ "lab01", "INIT", "0", true, "eth0", 30, 30, true, true },
      { p.name, p.method, p.runlevel, p.wol, p.iface, p.delay, p.grace, p.self, p.bmc })
    p = plans.cancel(subopts.parse("cancel=l:lab01,FORCE,REDFISH:redfish://10.0.0.5:8443/1"))
    assert.same({ "redfish://10.0.0.5:8443/1", "REDFISH" }, { p.bmc, p.via })
    assert.equal("poweroff", plans.METHODS.S4)
  end)
end)
