--- ctys-ipmi: chassis control of one or many BMCs over IPMI 2.0 (RMCP+).
---
---     ctys-ipmi [-U user] [-E] [-f password-file] [-K] [-G kg-file] [-Y] [-C suite] [-I lanplus|lan]
---               [-A MD5|PASSWORD] [-L privilege]
---               [-N timeout] [-R retries] [-X] [-j] <host[:port]>... <command>
---     commands: power status|on|off|cycle|reset|soft | chassis status | identify [seconds]
---               | bootdev <none|pxe|disk|cdrom|bios> [persistent] [efi] | mc info
---               | sol [force]   (one BMC: its serial console on this terminal; ~. ends it)
---               | sel [list|info|clear] | sensors
---
--- One line a BMC, `host: result`, in the order given (like ipmipower); -X: `host;result;error`
--- records; -j: JSON lines. The password comes from $IPMI_PASSWORD (-E, the default), a file
--- (-f, mode 0600), ~/.ctys/ipmi/credentials, or the terminal — never from the command line.
--- Exit values: 0 every BMC did it, 1 erroneous parameters, 2 no password, 3 a BMC failed.
---@class ctys.tools.ipmi
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

M.USAGE = [[
usage: ctys-ipmi [options] HOST[:PORT]... COMMAND
commands:
  power status|on|off|cycle|reset|soft     chassis status     mc info
  identify [SECONDS]                       bootdev none|pxe|disk|cdrom|bios [persistent] [efi]
  sol [force]  one BMC's serial console (Serial-over-LAN) on this terminal: ~. ends it, ~B sends
               a break, ~? helps; force takes it over from another session
  sel [list|info|clear]   the event log: a line an entry (id | date time | sensor | event |
               Asserted/Deasserted, as ipmitool), its size, or cleared
  sensors      every sensor of the SDR repository: name | value unit | status (ok, nc, cr, nr,
               na) and, with -j, its thresholds
options:
  -U USER      user (admin)                -L PRIV   privilege: admin, operator, user (admin)
  -E           password from $IPMI_PASSWORD (the default)
  -f FILE      password from FILE (yours or root's, readable by its owner only)
  -K           BMC key K_g from $IPMI_KGKEY (text, or 0x and hex)
  -G FILE      K_g from FILE (as -f)         -Y  ask for K_g on the terminal
               (never on the command line: ipmitool's -k and -y are refused)
  -C SUITE     cipher suite: 17 or 3 (default: 17, then 3); 0-2 by number only
  -I IF        lanplus (IPMI 2.0, default) or lan (IPMI 1.5)
  -A AUTH      IPMI 1.5 authentication: MD5 (default when offered) or PASSWORD (straight)
  -N SECONDS   timeout per try (1)
  -R N         tries (4): a dead BMC costs N x SECONDS; one that answered gets twice the tries
  -X           terse records host;result;error       -j  JSON lines
  -h           this help
exit values: 0 all BMCs did it, 1 erroneous parameters, 2 no password, 3 a BMC failed;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  IPMI_PASSWORD  the password (-E, the default)
  IPMI_KGKEY     the BMC key K_g (-K)
  HOME           ~/.ctys/ipmi/credentials: host[:port] user password lines
]]

local COMMANDS = { power = true, chassis = true, identify = true, bootdev = true, mc = true, sol = true, sel = true, sensors = true }

-- A number as ipmitool prints a reading: whole numbers without decimals.
local function number(v)
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  return string.format("%.2f", v)
end

-- The event log and the sensors: several lines (and records) a BMC.
local function records(bmc, cmd, args)
  if cmd == "sensors" then
    local list, e, k = bmc:sensors()
    if not list then return nil, e, k end
    local lines = {}
    for i, s in ipairs(list) do
      lines[i] = string.format("%s | %s | %s", s.name, s.value and (number(s.value) .. " " .. s.unit) or "no reading", s.status)
    end
    return { lines = lines, records = list }
  end
  local what = args[1] or "list"
  if what == "clear" then
    local ok, e, k = bmc:sel_clear()
    if not ok then return nil, e, k end
    return { result = "ok" }
  elseif what == "info" then
    local i, e, k = bmc:sel_info()
    if not i then return nil, e, k end
    return { result = string.format("%d entries, %d bytes free, IPMI %s, last added %s", i.entries, i.free_bytes, i.version,
      i.last_add and os.date("!%Y-%m-%d %H:%M:%S", i.last_add) or "never") }
  end
  local list, e, k = bmc:sel_list()
  if not list then return nil, e, k end
  local lines = {}
  for i, x in ipairs(list) do
    local when = x.time and os.date("!%m/%d/%Y | %H:%M:%S", x.time) or string.format("Pre-Init | %010d", x.since_init or 0)
    lines[i] = string.format("%x | %s | %s #0x%02x | %s | %s", x.id, when, x.sensor_type, x.sensor_number, x.event, x.asserted and "Asserted" or "Deasserted")
  end
  return { lines = lines, records = list }
end

-- What one BMC does for the command; returns the result text, or nil, err, kind.
local function run_one(bmc, cmd, args)
  if cmd == "power" then
    local r, e, k = bmc:power(args[1])
    if r == nil then return nil, e, k end
    return args[1] == "status" and r or "ok"
  elseif cmd == "chassis" then
    local s, e, k = bmc:chassis_status()
    if not s then return nil, e, k end
    return string.format("power %s, identify %s, restore %s%s%s", s.power, s.identify, s.restore_policy,
      s.power_fault and ", power fault" or "", s.intrusion and ", intrusion" or "")
  elseif cmd == "identify" then
    local r, e, k = bmc:identify(args[1] and check.integer_arg(args[1], "bad identify seconds", 0, 255) or 15)
    if r == nil then return nil, e, k end
    return "ok"
  elseif cmd == "bootdev" then
    local o = {}
    for i = 2, #args do o[args[i]] = true end
    local r, e, k = bmc:bootdev(args[1], o)
    if r == nil then return nil, e, k end
    return "ok"
  else
    local d, e, k = bmc:device_id()
    if not d then return nil, e, k end
    return string.format("firmware %s, IPMI %s, manufacturer %d, product %d, device %d rev %d",
      d.firmware, d.ipmi_version, d.manufacturer_id, d.product_id, d.device_id, d.device_revision)
  end
end

local function check_command(cmd, args)
  if cmd == "power" then
    local ok = { status = 1, on = 1, off = 1, cycle = 1, reset = 1, soft = 1, diag = 1 }
    if #args ~= 1 or not ok[args[1]] then err.usage("power takes one of status, on, off, cycle, reset, soft, diag") end
  elseif cmd == "chassis" and not (#args == 1 and args[1] == "status") then
    err.usage("chassis takes: status")
  elseif cmd == "mc" and not (#args == 1 and args[1] == "info") then
    err.usage("mc takes: info")
  elseif cmd == "bootdev" then
    local devs = { none = 1, pxe = 1, disk = 1, cdrom = 1, bios = 1, safe = 1, diag = 1, floppy = 1 }
    if not (args[1] and devs[args[1]]) then err.usage("bootdev takes a device: none, pxe, disk, cdrom, bios") end
    for i = 2, #args do
      if args[i] ~= "persistent" and args[i] ~= "efi" then err.usage("bootdev: unknown flag '%s' (persistent, efi)", args[i]) end
    end
  elseif cmd == "sol" and not (#args == 0 or (#args == 1 and args[1] == "force")) then
    err.usage("sol takes at most: force")
  elseif cmd == "sel" and not (#args == 0 or (#args == 1 and ({ list = 1, info = 1, clear = 1 })[args[1]])) then
    err.usage("sel takes one of list, info, clear")
  elseif cmd == "sensors" and #args > 0 then
    err.usage("sensors takes no arguments")
  elseif cmd == "identify" then
    if #args > 1 then err.usage("identify takes at most a number of seconds") end
    if args[1] then check.integer_arg(args[1], "bad identify seconds", 0, 255) end
  end
end

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE); -k and -y are read only to be refused.
M.COMPLETE = { spec = "U:Ef:KG:Yk:y:C:I:A:L:N:R:Xjh", hidden = { k = true, y = true },
  values = { f = "file", G = "file", C = { "17", "3" }, I = { "lanplus", "lan" }, A = { "MD5", "PASSWORD" }, L = { "admin", "operator", "user" } },
  words = { "power", "status", "on", "off", "cycle", "reset", "soft", "chassis", "identify", "bootdev", "mc", "info", "none", "pxe",
    "disk", "cdrom", "bios", "persistent", "efi", "sol", "force", "sel", "list", "clear", "sensors" } }

---Entry point of the ctys-ipmi binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.ipmi.main", "argv", argv, "string")
  local opts, rest = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  -- The value is not repeated: it may be the key itself.
  if opts.k or opts.y then
    err.usage("-%s: a K_g on the command line is visible to every user (ps); give it with -K ($IPMI_KGKEY), -G FILE or -Y", opts.k and "k" or "y")
  end
  local hosts, i = {}, 1
  while rest[i] and not COMMANDS[rest[i]] do hosts[#hosts + 1] = rest[i]; i = i + 1 end
  local cmd = rest[i]
  if #hosts == 0 then err.usage("no BMC given (HOST[:PORT]...)") end
  if not cmd then err.usage("no command after the hosts (power, chassis, identify, bootdev, mc, sol, sel, sensors)") end
  local args = table.move(rest, i + 1, #rest, 1, {})
  check_command(cmd, args)
  local ipmi = require "ctys.ipmi"
  -- Every BMC is checked before the first packet leaves; nothing is looked up that is not one.
  local addrs = {}
  for n, h in ipairs(hosts) do
    if h:sub(1, 1) == "-" then err.usage("'%s': options go before the hosts", h) end
    local a, e = ipmi.parse_address(h)
    if not a then err.usage("%s", e) end
    addrs[n] = a
  end
  if opts.U and (#opts.U > 16 or not utf8.len(opts.U) or opts.U:find("%c")) then err.usage("bad user (-U): at most 16 bytes of text, no control characters") end
  if opts.I and opts.I ~= "lanplus" and opts.I ~= "lan" then err.usage("-I takes lanplus or lan, not '%s'", opts.I) end
  if opts.L and not ({ admin = 1, operator = 1, user = 1 })[opts.L] then err.usage("-L takes admin, operator or user, not '%s'", opts.L) end
  if opts.C and opts.I == "lan" then err.usage("-C: IPMI 1.5 (-I lan) has no cipher suites") end
  if opts.A and opts.I ~= "lan" then err.usage("-A is for IPMI 1.5 (-I lan)") end
  if opts.X and opts.j then err.usage("-X and -j exclude each other") end
  local open = {
    user = opts.U or nil, password_file = opts.f or nil, interface = opts.I or nil, privilege = opts.L or nil,
    kg_env = opts.K and "IPMI_KGKEY" or nil, kg_file = opts.G or nil, kg_prompt = opts.Y or nil,
    auth = opts.A and ({ MD5 = "md5", PASSWORD = "straight", md5 = "md5", straight = "straight" })[opts.A]
      or (opts.A and err.usage("-A takes MD5 or PASSWORD, not '%s'", opts.A)) or nil,
    cipher = opts.C and (({ ["0"] = 0, ["1"] = 1, ["2"] = 2, ["3"] = 3, ["17"] = 17 })[opts.C]
      or err.usage("bad cipher suite (-C) '%s': 17 or 3 (0-2 by number only)", opts.C)) or nil,
    timeout = opts.N and check.seconds_arg(opts.N, "bad timeout (-N)", true) or nil,
    -- Each line names its BMC as given: the messages need not.
    label = "",
    retries = opts.R and check.integer_arg(opts.R, "bad tries (-R)", 1, 100) or nil,
  }
  if cmd == "sol" then
    if #hosts > 1 then err.usage("sol takes one BMC, got %d", #hosts) end
    local o = check.without(open)
    o.host, o.port, o.label = addrs[1].host, addrs[1].port, hosts[1]
    err.must(require("ctys.console").attach_sol(o, args[1] == "force", hosts[1]))
    return 0
  end
  local jobs = {}
  for n, h in ipairs(hosts) do
    local o = check.without(open)
    o.host, o.port = addrs[n].host, addrs[n].port
    jobs[n] = function()
      local bmc, e, kind = ipmi.open(o)
      if not bmc then return { host = h, err = e, kind = kind } end
      local r, re, rkind
      if cmd == "sel" or cmd == "sensors" then
        r, re, rkind = records(bmc, cmd, args)
      else
        local one
        one, re, rkind = run_one(bmc, cmd, args)
        r = one and { result = one }
      end
      bmc:close()
      local out = r or {}
      out.host, out.err, out.kind = h, re, rkind
      return out
    end
  end
  return require("ctys.bmclines").report(ctys.all(jobs), opts.j and "json" or opts.X and "terse" or "lines")
end

return M
