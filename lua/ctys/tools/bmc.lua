--- ctys-bmc: power, boot device and identify on one or many BMCs, IPMI or Redfish alike.
---
---     ctys-bmc [-I lanplus|lan|redfish] [-U user] [-E|-f FILE] [--ca FILE|--insecure]
---              HOST... power status|on|off|soft|cycle|reset | bootdev DEV [--once] | identify [S]
---
--- A HOST is an address (`host[:port]`) or a BMC URL: `redfish://host[:port][/SystemId]`,
--- `ipmi://host[:port]`. Without -I or a URL each BMC is probed (Redfish service root, then
--- RMCP presence ping). All BMCs at once; one line a BMC in the order given (ipmipower's
--- `host: result`), `-X` records, `--json` lines. ctys-ipmi stays the IPMI-only tool.
---@class ctys.tools.bmc
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-bmc [options] HOST... COMMAND
  HOST is host[:port], redfish://host[:port][/SystemId] or ipmi://host[:port]
commands:
  power status|on|off|soft|cycle|reset     identify [SECONDS]  (0: off; Redfish: on until 0)
  bootdev none|pxe|disk|cdrom|bios|usb|http [--once]
options:
  -I PROTO     lanplus (IPMI 2.0), lan (IPMI 1.5) or redfish (default: the URL's, else probed)
  -U USER      user (admin)
  -E           password from $IPMI_PASSWORD (the default)
  -f FILE      password from FILE (yours or root's, readable by its owner only)
  -S SYSTEM    Redfish system Id, Name or UUID (default: the URL's, else the only one)
  --ca FILE    Redfish: trust the CA (or certificate) in FILE instead of the system store
  --insecure   Redfish: do not verify the certificate (warns every time)
  -N SECONDS   IPMI: timeout per try (1); Redfish: per request (10)
  -W SECONDS   Redfish: how long power waits for PowerState to read on/off (60; 0: not at all)
  -X           terse records host;result;error       --json  JSON lines
  -h           this help
exit values: 0 all BMCs did it, 1 erroneous parameters, 2 no password or an untrusted
certificate, 3 a BMC failed; 128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  IPMI_PASSWORD  the password (-E, the default), whatever the protocol
  HOME           ~/.ctys/ipmi/credentials: host[:port] user password lines (Redfish's port: 443)
]]

local LONG = { ["--json"] = "j", ["--ca"] = "c", ["--insecure"] = "k", ["--once"] = "o" }
local POWER = { status = 1, on = 1, off = 1, soft = 1, cycle = 1, reset = 1 }
local DEVICES = { none = 1, pxe = 1, disk = 1, cdrom = 1, bios = 1, usb = 1, http = 1 }

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "I:U:Ef:S:c:kN:W:oXjh", hidden = { c = true, k = true, o = true, j = true },
  values = { f = "file", c = "file", I = { "lanplus", "lan", "redfish" } },
  words = { "power", "status", "on", "off", "soft", "cycle", "reset", "bootdev", "identify", "none", "pxe", "disk", "cdrom", "bios", "usb", "http" } }

-- The command's words checked; returns a function doing it on one open BMC.
local function command(rest, i, once)
  local cmd, a = rest[i], rest[i + 1]
  local extra = rest[i + 2]
  -- `bootdev DEV --once`, as the usage writes it (getopt stops at the first word).
  if cmd == "bootdev" and extra == "--once" and not rest[i + 3] then once, extra = true, nil end
  if cmd == "power" then
    if not (a and POWER[a]) or extra then err.usage("power takes one of status, on, off, soft, cycle, reset") end
    return function(b, wait) return b:power(a, b.protocol == "redfish" and { wait = wait } or nil) end, a
  elseif cmd == "bootdev" then
    if not (a and DEVICES[a]) or extra then err.usage("bootdev takes a device: none, pxe, disk, cdrom, bios, usb, http (and --once)") end
    return function(b) return b:bootdev(a, { once = once }) end
  elseif cmd == "identify" then
    local s = a and check.integer_arg(a, "bad identify seconds", 0, 255) or 15
    if extra then err.usage("identify takes at most a number of seconds") end
    return function(b) return b:identify(s) end
  end
  err.usage("no command after the hosts (power, bootdev, identify)")
end

---Entry point of the ctys-bmc binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.bmc.main", "argv", argv, "string")
  local opts, rest = require("ctys.getopt").parse(argv, M.COMPLETE.spec, LONG)
  if opts.h then io.write(M.USAGE) return 0 end
  local i = 1
  while rest[i] and not ({ power = 1, bootdev = 1, identify = 1 })[rest[i]] do i = i + 1 end
  if i == 1 then err.usage("no BMC given (HOST...)") end
  if opts.o and rest[i] ~= "bootdev" then err.usage("--once is for bootdev") end
  local run, verb = command(rest, i, opts.o ~= nil)
  if opts.X and opts.j then err.usage("-X and --json exclude each other") end
  if opts.c and opts.k then err.usage("--ca and --insecure exclude each other") end
  local proto = opts.I and (({ lanplus = "ipmi", lan = "ipmi", redfish = "redfish" })[opts.I]
    or err.usage("-I takes lanplus, lan or redfish, not '%s'", opts.I))
  if opts.S and (#opts.S > 255 or opts.S:find("[%c/?#]")) then err.usage("bad system (-S) '%s': an Id, Name or UUID", check.cut(opts.S)) end
  if opts.U and (#opts.U > 255 or not utf8.len(opts.U) or opts.U:find("%c")) then err.usage("bad user (-U): text without control characters") end
  local bmc = require "ctys.bmc"
  -- Every BMC is checked before anything is sent.
  local targets = {}
  for n = 1, i - 1 do
    local h = rest[n]
    if h:sub(1, 1) == "-" then err.usage("'%s': options go before the hosts", h) end
    local a, e = bmc.parse(h)
    if not a then err.usage("%s", e) end
    local p = proto or a.protocol
    if proto and a.protocol and a.protocol ~= proto then err.usage("'%s' is a %s BMC, and -I says %s", h, a.protocol, opts.I) end
    if p == "ipmi" and (opts.c or opts.k or opts.S) then err.usage("%s is an IPMI BMC: --ca, --insecure and -S are for Redfish", h) end
    if p == "redfish" and opts.I == "lan" then err.usage("-I lan is IPMI 1.5") end
    targets[n] = { given = h, protocol = p, host = h }
  end
  local timeout = opts.N and check.seconds_arg(opts.N, "bad timeout (-N)", true) or nil
  local wait = opts.W and check.seconds_arg(opts.W, "bad wait (-W)", true) or nil
  -- Misuse first (exit 1), then what the environment lacks (exit 2).
  if opts.c and not require("ctys.fs").stat(opts.c) then err.env("--ca %s: no such file", check.cut(opts.c)) end
  local jobs = {}
  for n, t in ipairs(targets) do
    local o = { host = t.host, protocol = t.protocol, user = opts.U or nil, password_file = opts.f or nil, timeout = timeout, label = "" }
    if t.protocol == "redfish" or (t.protocol == nil and (opts.c or opts.k or opts.S)) then
      o.ca, o.insecure, o.system = opts.c or nil, opts.k and true or nil, opts.S or nil
    end
    if opts.I == "lan" or opts.I == "lanplus" then o.interface = opts.I end
    jobs[n] = function()
      local b, e, kind = bmc.open(o)
      if not b then return { host = t.given, err = e, kind = kind } end
      local r, re, rkind = run(b, wait)
      b:close()
      if r == nil then return { host = t.given, err = re, kind = rkind } end
      return { host = t.given, result = verb == "status" and r or "ok" }
    end
  end
  local results = ctys.all(jobs)
  local code = require("ctys.bmclines").report(results, opts.j and "json" or opts.X and "terse" or "lines")
  -- An untrusted certificate is the site's setup, not the BMC's failure (as a missing password).
  for _, r in ipairs(results) do
    if r.kind == "untrusted" and code == err.FAILED then
      local all = true
      for _, x in ipairs(results) do all = all and (x.err ~= nil) end
      if all then return err.ENV end
    end
  end
  return code
end

return M
