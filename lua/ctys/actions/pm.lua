--- The PM plugin: actions on physical machines (`ctys -t pm -a ACTION=...`).
---
--- Each action is `M.<action>(req)`, taking the parsed command line (ctys.cli) and returning an
--- exit value. A site may replace this module (`~/.ctys/lua/ctys/actions/pm.lua`) and reach
--- this one as `builtin.ctys.actions.pm`.
---@class ctys.actions.pm
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"
local subopts = require "ctys.subopts"

-- CREATE's suboptions and what each takes: "flag", "value", or "optional" (flag or value).
local CREATE_KEYS = {
  WOL = "optional", IPMI = "optional", RESUME = "flag", REUSE = "flag", CONNECT = "flag", RECONNECT = "flag",
  TCP = "value", MAC = "value", LABEL = "value", ID = "value", BASEPATH = "value", FILENAME = "value",
  UUID = "value", DBRECORD = "value", BROADCAST = "value", PORT = "value", BMAC = "value", IF = "value",
  CONSOLE = "value", USER = "value", PING = "value", SSHPING = "value", WAITC = "value", WAITS = "value",
}
-- Listed by the original, which never said what they do: refused rather than guessed at.
local UNDEFINED = { USER = true, WAITC = true, WAITS = true }
-- CONSOLE kinds: CLI is an SSH session with a terminal (a login shell here when the machine is
-- this one); the others start the command table's program.
local CONSOLES = { CLI = true, XTERM = "xterm", GTERM = "gterm", EMACS = "emacs", VNC = "vncviewer" }
local ADDRESS_KEYS = { "TCP", "MAC", "LABEL", "ID", "BASEPATH", "FILENAME", "UUID", "DBRECORD" }
local DEFAULT_PING, DEFAULT_SSHPING = { 40, 3 }, { 20, 3 }
-- The most tries PING and SSHPING take: their wait has a bound.
local MAX_TRIES = 10000

-- CANCEL ...,WOL,BROADCAST:<addr> leaves the address a machine is to be woken through in a
-- file of `<machine> <addr>` lines (CTYS_WOL_REMEMBER, else ~/.ctys/wol-broadcast); a later
-- CREATE without BROADCAST or IF sends its magic packet there.
local function remember_file()
  return require("ctys.paths").env("CTYS_WOL_REMEMBER") or ((os.getenv("HOME") or ".") .. "/.ctys/wol-broadcast")
end

local function remembered_lines(path)
  local lines = {}
  local text, e, kind = require("ctys.fs").read(path)
  if not text and kind ~= "notfound" then err.env("%s (the remembered broadcasts)", e) end
  for l in (text or ""):gmatch("[^\n]+") do
    local name, addr = l:match("^(%S+)%s+(%S+)")
    if name then lines[#lines + 1] = { name, addr } end
  end
  return lines
end

---The directed broadcast a CANCEL with WOL,BROADCAST remembered for a machine, or nil.
---@param name string the machine as CREATE names it (t: or l:)
---@param path? string the file (default: CTYS_WOL_REMEMBER, else ~/.ctys/wol-broadcast)
---@return string|nil
function M.remembered_broadcast(name, path)
  check.arg("ctys.actions.pm.remembered_broadcast", "name", name, "string")
  check.arg("ctys.actions.pm.remembered_broadcast", "path", path, "string?")
  for _, l in ipairs(remembered_lines(path or remember_file())) do
    if l[1] == name then return l[2] end
  end
end

---Remember the directed broadcast to wake machines through (replacing what was remembered for
---them); true, or nil and why the file could not be written.
---@param names string[]
---@param addr string
---@param path? string the file (default: CTYS_WOL_REMEMBER, else ~/.ctys/wol-broadcast)
---@return true|nil ok
---@return string? err
function M.remember_broadcast(names, addr, path)
  check.arg("ctys.actions.pm.remember_broadcast", "names", names, "table")
  check.arg("ctys.actions.pm.remember_broadcast", "addr", addr, "string")
  check.arg("ctys.actions.pm.remember_broadcast", "path", path, "string?")
  -- One `<name> <addr>` a line: text that would make another line, or another field, is refused.
  for i, n in ipairs(names) do
    if type(n) ~= "string" or n == "" or n:find("[%s%c]") then check.bad("ctys.actions.pm.remember_broadcast", "names[" .. i .. "]", "%q is not a machine name", tostring(n)) end
  end
  if not require("ctys.net").valid_host(addr) then check.bad("ctys.actions.pm.remember_broadcast", "addr", "%q is not an address or host name", addr) end
  path = path or remember_file()
  local drop = {}
  for _, n in ipairs(names) do drop[n] = true end
  local out = {}
  for _, l in ipairs(remembered_lines(path)) do
    if not drop[l[1]] then out[#out + 1] = l[1] .. " " .. l[2] .. "\n" end
  end
  for _, n in ipairs(names) do out[#out + 1] = n .. " " .. addr .. "\n" end
  local fs = require "ctys.fs"
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" and not fs.stat(dir) then
    local ok, e = fs.private_dir(dir)
    if not ok then return nil, string.format("cannot write %s: %s", path, e) end
  end
  return fs.write(path, table.concat(out))
end

-- Seconds from a suboption (`WOL:5`, `TIMEOUT:30`), read by the one rule (ctys.check).
local function seconds(action, v, what)
  return check.seconds_arg(v, action .. ": bad " .. what)
end

-- PING:off|<n>%<sleep>, SSHPING:off|on|<n>%<sleep>: nil for off, else { tries, sleep }.
local function waits(entry, default, on_allowed)
  if not entry then return default end
  local v = entry.value:lower()
  if v == "off" then return nil end
  if v == "on" and on_allowed then return default end
  local n, s = entry.values[1], entry.values[2]
  local tries = #entry.values == 2 and n:match("^%d+$") and math.tointeger(tonumber(n))
  if not tries or tries < 1 or tries > MAX_TRIES then
    err.usage("CREATE: bad %s '%s': expected %s<tries>%%<sleep>, tries from 1 to %d", entry.given, entry.value, on_allowed and "off, on or " or "off or ", MAX_TRIES)
  end
  return { tries, seconds("CREATE", s, entry.given .. " sleep") }
end

-- BROADCAST, IF and IPMI's BMC, checked when the plan is made: before anything is sent or
-- looked up. A BROADCAST is an IPv4 address (magic packets are IPv4 broadcasts) or a host name.
local function check_addresses(what, plan)
  local net = require "ctys.net"
  local b = plan.broadcast
  if b and b:find(":", 1, true) then
    err.usage("%s: BROADCAST '%s' is not an IPv4 address (magic packets are IPv4 broadcasts; '::' in a suboption is one ':')", what, b)
  elseif b and b:match("^[%d.]+$") and not net.parse_ip(b) then
    err.usage("%s: BROADCAST '%s' is not an IPv4 address", what, b)
  elseif b and not net.valid_host(b) then
    err.usage("%s: BROADCAST '%s' is not an IPv4 address or host name", what, b)
  end
  if plan.tcp then
    local ok, t = pcall(require("ctys.targets").parse, plan.tcp)
    if not ok or t.ctx_raw or not net.valid_host(t.host) then
      err.usage("%s: bad t:%s: the machine's [user@]address or host name[:port]", what, plan.tcp)
    end
  end
  if plan.iface and not net.valid_name(plan.iface) then
    err.usage("%s: bad IF '%s': an interface name has 1 to 15 bytes, no '/', ':' or blanks", what, plan.iface)
  end
  if type(plan.ipmi) == "string" then
    local a, e = require("ctys.ipmi").parse_address(plan.ipmi)
    if not a then err.usage("%s: IPMI:%s: %s", what, plan.ipmi, e) end
  end
  return plan
end

---Check CREATE's suboptions the way the original does, plus what it never checked; returns
---the plan. Misuse raises (exit 1) naming the key.
---@param action ctys.Action parsed `-a create=...`
---@return table plan
function M.create_plan(action)
  check.fields("ctys.actions.pm.create_plan", "action", action, { by_key = "table", list = "table" })
  local by = action.by_key
  for _, e in ipairs(action.list) do
    local kind = CREATE_KEYS[e.key]
    if not kind then err.usage("CREATE: unknown suboption '%s'", e.given) end
    if UNDEFINED[e.key] then err.usage("CREATE: suboption '%s' is listed by the original ctys without a meaning; ctys-rs does not take it", e.given) end
    if kind == "flag" and e.value then err.usage("CREATE: suboption '%s' takes no value", e.given) end
    if kind == "value" and not e.value then err.usage("CREATE: suboption '%s' needs a value", e.given) end
  end
  local modes = {}
  for _, k in ipairs { "REUSE", "CONNECT", "RECONNECT", "RESUME" } do if by[k] then modes[#modes + 1] = k end end
  if #modes > 1 then err.usage("CREATE: %s exclude each other", table.concat(modes, " and ")) end
  if by.BROADCAST and by.IF then err.usage("CREATE: BROADCAST and IF exclude each other") end
  if by.PORT and not by.BROADCAST then err.usage("CREATE: PORT needs BROADCAST") end
  local console = by.CONSOLE and by.CONSOLE.value:upper()
  if console and not CONSOLES[console] then
    err.usage("CREATE: unknown CONSOLE '%s' (CLI, XTERM, GTERM, EMACS or VNC)", by.CONSOLE.value)
  end
  local address
  for _, k in ipairs(ADDRESS_KEYS) do address = address or by[k] end
  if console and not (by.WOL or by.RESUME or by.IPMI) then
    -- A console to a running machine: the one named by t:, else the target, else this one.
    if by.MAC then err.usage("CREATE: CONSOLE reaches a machine by t:<host>, not by MAC") end
    return check_addresses("CREATE", { console = console, console_only = true, tcp = by.TCP and by.TCP.value, name = address and address.value or "this machine" })
  end
  if not address then err.usage("CREATE: no machine address (t:<host>, m:<mac> or l:<label>)") end
  for _, k in ipairs { "ID", "BASEPATH", "FILENAME", "UUID", "DBRECORD" } do
    if by[k] then err.usage("CREATE: the PM plugin addresses machines by t:, m: or l:, not '%s'", by[k].given) end
  end
  if not (by.WOL or by.RESUME or by.IPMI) then err.usage("CREATE: nothing to do: give WOL (or RESUME) or IPMI") end
  if by.IPMI and (by.WOL or by.RESUME) then err.usage("CREATE: IPMI and WOL exclude each other") end
  if by.IPMI and (by.BROADCAST or by.IF or by.PORT or by.BMAC) then
    err.usage("CREATE: IPMI powers on through the BMC; BROADCAST, IF, PORT and BMAC are for WOL")
  end
  local plan = {
    name = (by.LABEL or by.TCP or by.MAC).value, console = console,
    ipmi = by.IPMI and (by.IPMI.value or true) or nil,
    tcp = by.TCP and by.TCP.value, mac = by.MAC and by.MAC.value, label = by.LABEL and by.LABEL.value,
    delay = by.WOL and by.WOL.value and seconds("CREATE", by.WOL.value, "WOL delay") or 0,
    broadcast = by.BROADCAST and by.BROADCAST.value, iface = by.IF and by.IF.value,
    reuse = (by.REUSE or by.CONNECT or by.RECONNECT) ~= nil,
    ping = waits(by.PING, DEFAULT_PING, false), sshping = waits(by.SSHPING, DEFAULT_SSHPING, true),
  }
  -- An address is checked here, before anything is sent; a name is resolved when it is used.
  check_addresses("CREATE", plan)
  if by.PORT then
    plan.port = check.integer_arg(by.PORT.value, "CREATE: bad PORT", 1, 65535)
  end
  for _, k in ipairs { "MAC", "BMAC" } do
    if by[k] then
      local m = require("ctys.wol").parse_mac(by[k].value)
      if not m then err.usage("CREATE: %s '%s' is not a MAC address", by[k].given, by[k].value) end
      plan[k:lower()] = m
    end
  end
  return plan
end

local function say(plan, fmt, ...)
  print(string.format("CREATE %s: " .. fmt, plan.name, ...))
end

-- Waits for a probe, saying how it went; false when the machine never answered.
local function wait_for(plan, what, probe, opts, spec)
  local try, e = require("ctys.probe").wait(probe, opts, spec[1], spec[2])
  if try then
    say(plan, "%s: answered at try %d of %d", what, try, spec[1])
    return true
  end
  err.failed("CREATE %s: %s: no answer after %d tries, %g s apart (%s)", plan.name, what, spec[1], spec[2], e)
end

-- A machine's BMC: `ipmi:<bmc[:port]>` as given (plan.ipmi, true without a value, checked by
-- the plan), else the database's `bmc` (and `bmc_user`, and `bmc_kg_file`: a file holding its K_g).
local function bmc_of(what, ipmi, known)
  local bmc = (ipmi ~= true and ipmi) or known.bmc
  if not bmc then err.env("%s: no BMC: give ipmi:<bmc> or add bmc= to the machine database", what) end
  local a, e = require("ctys.ipmi").parse_address(bmc)
  if not a then err.env("%s: the machine database's bmc: %s", what, e) end
  return { name = bmc, host = a.host, port = a.port, user = known.bmc_user, kg_file = known.bmc_kg_file }
end

-- One power action through a BMC (password from IPMI_PASSWORD, ~/.ctys/ipmi/credentials or the
-- terminal; K_g from the database's bmc_kg_file): its result ("on"/"off", or true), or nil,
-- err, kind. The session is always closed.
local function bmc_power(bmc, action)
  local b, e, kind = require("ctys.ipmi").open { host = bmc.host, port = bmc.port, user = bmc.user, kg_file = bmc.kg_file }
  if not b then return nil, e, kind end
  local r, pe, pkind = b:power(action)
  b:close()
  return r, pe, pkind
end

-- The exit value for a BMC failure: 2 when the secret is missing, else 3.
local function bmc_failed(what, e, kind)
  if kind == "secret" then err.env("%s: %s", what, e) end
  err.failed("%s: %s", what, e)
end

-- The request with another `-a` argument (what a caller relays when it does part of the work).
local function with_action(req, raw)
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  r.action = subopts.parse(raw)
  return r
end

-- The machine a console goes to: t:<[user@]host[:port]> (read as a target, so nothing reaches
-- ssh as an option), else the address a wake-up waited for.
local function console_target(plan, ip)
  if plan.tcp then return require("ctys.targets").parse(plan.tcp) end
  return ip and { host = ip } or nil
end

-- An elisp string literal holding `s`: `\` and `"` escaped, so a host cannot end the string.
local function elisp_string(s)
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

-- Opens a console to a target (nil or a target naming this machine: here) and returns its exit
-- value: CLI waits for the session to end and returns its exit status; the window consoles
-- start their program in the background.
local function open_console(kind, t, name, dry_run)
  local commands = require "ctys.commands"
  local function say_console(fmt, ...) print(string.format("CREATE %s: " .. fmt, name, ...)) end
  if t and require("ctys.relay").is_local(t) then t = nil end
  local dest = t and ((t.user and (t.user .. "@") or "") .. t.host)
  if kind == "CLI" and t then
    if dry_run then
      say_console("would open an SSH session with a terminal to %s%s", dest, t.port and (":" .. t.port) or "")
      return 0
    end
    local status, e, ekind = require("ctys.remote").console { host = t }
    if not status then
      if ekind == "hostkey" or ekind == "auth" then err.env("CREATE %s: CONSOLE:CLI: %s", name, e) end
      err.failed("CREATE %s: CONSOLE:CLI: %s", name, e)
    end
    return status
  end
  local argv
  if kind == "CLI" then
    argv = { "shell" }
  elseif kind == "VNC" then
    argv = { "vncviewer", t and t.host or "localhost" }
  elseif kind == "EMACS" then
    -- A shell buffer on the machine through TRAMP's ssh method.
    argv = { "emacs", "--eval", t and string.format('(let ((default-directory %s)) (shell))',
      elisp_string("/ssh:" .. dest .. (t.port and ("#" .. t.port) or "") .. ":")) or "(shell)" }
  else
    local inner = commands.argv("shell")
    if t then inner = t.port and commands.argv("ssh", "-t", "-p", t.port, dest) or commands.argv("ssh", "-t", dest) end
    argv = { CONSOLES[kind], table.unpack(inner) }
  end
  local line = commands.describe(table.unpack(argv))
  if dry_run then
    say_console("would run %s", line)
    return 0
  end
  if kind == "CLI" then
    local r, e = require("ctys.proc").run { argv = commands.argv(table.unpack(argv)), inherit = true }
    if not r then err.env("CREATE %s: %s", name, e) end
    return r.status or 128 + r.signal
  end
  if not (os.getenv("DISPLAY") or os.getenv("WAYLAND_DISPLAY")) then
    err.env("CREATE %s: CONSOLE:%s opens a window and needs a display (DISPLAY is not set)", name, kind)
  end
  local ok, e = commands.spawn(table.unpack(argv))
  if not ok then err.failed("CREATE %s: %s", name, e) end
  say_console("CONSOLE:%s started: %s", kind, line)
  return 0
end

---CREATE on a PM: wake a machine with Wake-on-LAN (or power it on through its BMC with
---`ipmi[:<bmc>]`) and wait until it answers ping, then SSH; and/or open a console to it.
---`create=wol[:<delay>],t:<host>|m:<mac>|l:<label>,broadcast:<addr>,port:<n>,bmac:<mac>,if:<iface>,
---reuse|resume,ping:off|<n>%<sleep>,sshping:off|on|<n>%<sleep>,console:cli|xterm|gterm|emacs|vnc`.
---Exit 0 when the machine is up (CONSOLE:CLI: the session's exit status), 1 for bad
---suboptions, 2 when the machine has no MAC (or no IP to wait for, or no display for a window
---console), 3 when it was already up (without REUSE) or did not come up.
---@param req ctys.Request
---@return integer
function M.create(req)
  check.arg("ctys.actions.pm.create", "req", req, "table")
  local plan = M.create_plan(req.action)
  if plan.console_only then return open_console(plan.console, console_target(plan), plan.name, req.dry_run) end
  local machines = require "ctys.machines"
  local db = machines.load()
  local known = machines.lookup(plan.label or plan.tcp or plan.mac, db) or {}
  local mac = plan.mac or known.mac
  if not mac and not plan.ipmi then
    err.env("CREATE %s: no MAC address: give m:<mac> or add it to the machine database (%s)", plan.name,
      table.concat(machines.files(), ", "))
  end
  local ip
  if plan.ping or plan.sshping or not plan.reuse then
    ip = (plan.tcp and machines.address(plan.tcp, db)) or known.ip
    if not ip and (plan.ping or plan.sshping) then
      err.env("CREATE %s: no IP address to wait for: give t:<host>, add ip= to the machine database, or PING:off,SSHPING:off", plan.name)
    end
  end
  local send = { mac = mac, port = plan.port, bmac = plan.bmac, iface = plan.iface or known.iface }
  local what, bmc
  if plan.ipmi then
    -- The BMC is known (and its address checked) before anything is probed or sent.
    bmc = bmc_of("CREATE " .. plan.name, plan.ipmi, known)
    what = "power on through the BMC " .. bmc.name
  else
    local broadcast = plan.broadcast
    if not broadcast and not plan.iface then
      broadcast = M.remembered_broadcast(plan.name)
      if broadcast then say(plan, "broadcast %s, as its CANCEL with WOL asked (%s)", broadcast, remember_file()) end
    end
    if broadcast then
      local b, e = machines.address(broadcast, db)
      if not b then err.env("CREATE %s: BROADCAST %s: %s", plan.name, broadcast, e) end
      send.broadcast = b
    else
      send.raw = true
    end
    local hex
    what, hex = require("ctys.wol").describe(send)
    if not what then err.env("CREATE %s: %s", plan.name, hex) end
  end
  if req.dry_run then
    say(plan, plan.ipmi and "would %s" or "would send %s", what)
    if plan.ping then say(plan, "would wait %g s, then ping %s up to %d times, %g s apart", plan.delay, ip, plan.ping[1], plan.ping[2]) end
    if plan.sshping then say(plan, "would wait for SSH on %s:22 up to %d times, %g s apart", ip, plan.sshping[1], plan.sshping[2]) end
    if plan.console then return open_console(plan.console, console_target(plan, ip), plan.name, true) end
    return 0
  end
  local probe = require "ctys.probe"
  if ip and probe.ping { host = ip, timeout = 1 } then
    if not plan.reuse then err.failed("CREATE %s: %s already answers ping (use REUSE to accept a running machine)", plan.name, ip) end
    say(plan, "%s already answers ping: reused", ip)
  elseif bmc then
    local ok, e, kind = bmc_power(bmc, "on")
    if not ok then bmc_failed("CREATE " .. plan.name, e, kind) end
    say(plan, "ipmi: powered on through the BMC %s", bmc.name)
  else
    local ok, e = require("ctys.wol").send(send)
    if not ok then err.env("CREATE %s: wol: %s", plan.name, e) end
    say(plan, "wol: sent %s", what)
    if plan.delay > 0 then
      say(plan, "waiting %g s", plan.delay)
      ctys.sleep(plan.delay)
    end
  end
  if plan.ping then wait_for(plan, "ping " .. ip, probe.ping, { host = ip, timeout = math.min(1, math.max(plan.ping[2], 0.1)) }, plan.ping) end
  if plan.sshping then wait_for(plan, "ssh " .. ip .. ":22", probe.tcp, { host = ip, port = 22, ssh = true, timeout = 2 }, plan.sshping) end
  say(plan, "up")
  if plan.console then return open_console(plan.console, console_target(plan, ip), plan.name, false) end
  return 0
end

---CREATE with CONSOLE on targets, run by the caller: a console opens here, not on the target.
---A wake-up (WOL, IPMI) is relayed first without the CONSOLE; then each target (or the
---machine t: names) gets its console, one after another.
---@param req ctys.Request
---@param relay fun(req: ctys.Request): integer
---@return integer
local function create_on_targets(req, relay)
  local plan = M.create_plan(req.action)
  if not plan.console then return relay(req) end
  local status = 0
  if not plan.console_only then
    status = relay(with_action(req, subopts.without(req.action, { "CONSOLE" })))
    if status ~= 0 then return status end
  end
  for _, t in ipairs(req.targets) do
    local c = open_console(plan.console, console_target(plan) or t, plan.tcp or t.host, req.dry_run)
    status = math.max(status, c)
  end
  return status
end

-- CANCEL's suboptions: the methods, and the rest with what each takes.
local METHODS = { RESET = "reboot", REBOOT = "reboot", INIT = "init", PAUSE = "poweroff", S3 = "poweroff",
  SUSPEND = "poweroff", S4 = "poweroff", POWEROFF = "poweroff", S5 = "poweroff" }
local CANCEL_KEYS = { ALL = "flag", FORCE = "flag", STACK = "flag", SELF = "flag", TIMEOUT = "value",
  WOL = "flag", IF = "value", BROADCAST = "value", IPMI = "optional" }
for _, k in ipairs(ADDRESS_KEYS) do CANCEL_KEYS[k] = "value" end

---Check CANCEL's suboptions the way the original does; returns the plan. Misuse raises (exit 1)
---naming the clash.
---@param action ctys.Action parsed `-a cancel=...`
---@return table plan
function M.cancel_plan(action)
  check.fields("ctys.actions.pm.cancel_plan", "action", action, { by_key = "table", list = "table" })
  local by = action.by_key
  local method, delay
  for _, e in ipairs(action.list) do
    if METHODS[e.key] then
      if method then err.usage("CANCEL: %s and %s exclude each other", method, e.key) end
      method = e.key
      if e.key == "INIT" and not (e.value and e.value:match("^[0-6]$")) then
        err.usage("CANCEL: INIT needs a runlevel 0-6 (INIT:<n>), got '%s'", e.given .. (e.value and (":" .. e.value) or ""))
      end
      if e.key ~= "INIT" and e.value then delay = seconds("CANCEL", e.value, e.given .. " delay") end
    elseif not CANCEL_KEYS[e.key] then
      err.usage("CANCEL: unknown suboption '%s'", e.given)
    elseif CANCEL_KEYS[e.key] == "flag" and e.value then
      err.usage("CANCEL: suboption '%s' takes no value", e.given)
    elseif CANCEL_KEYS[e.key] == "value" and not e.value then
      err.usage("CANCEL: suboption '%s' needs a value", e.given)
    end
  end
  method = method or "POWEROFF"
  if by.FORCE and by.STACK then err.usage("CANCEL: FORCE and STACK exclude each other") end
  local runlevel = by.INIT and by.INIT.value
  if by.WOL and (method == "REBOOT" or method == "RESET" or (method == "INIT" and runlevel ~= "0")) then
    err.usage("CANCEL: WOL does not combine with %s", method == "INIT" and ("INIT:" .. runlevel) or method)
  end
  if by.IF and not by.WOL then err.usage("CANCEL: IF needs WOL") end
  if by.BROADCAST and not by.WOL then err.usage("CANCEL: BROADCAST needs WOL") end
  -- A BMC can only cut the power: it must not do so under a machine that reboots.
  if by.IPMI and not (METHODS[method] == "poweroff" or (method == "INIT" and runlevel == "0")) then
    err.usage("CANCEL: IPMI powers a machine off; it does not combine with %s", method == "INIT" and ("INIT:" .. runlevel) or method)
  end
  local timeout = by.TIMEOUT and seconds("CANCEL", by.TIMEOUT.value, "TIMEOUT")
  local address
  for _, k in ipairs(ADDRESS_KEYS) do address = address or by[k] end
  return check_addresses("CANCEL", {
    name = address and address.value or (by.ALL and "ALL") or require("ctys.system").hostname() or "this machine",
    address = address and address.value,
    method = method, runlevel = runlevel, self = by.SELF ~= nil, force = by.FORCE ~= nil,
    delay = delay or timeout or (require("ctys.paths").env("CTYS_CANCEL_TIMEOUT") and seconds("CANCEL", os.getenv("CTYS_CANCEL_TIMEOUT"), "CTYS_CANCEL_TIMEOUT")) or 20,
    ipmi = by.IPMI and (by.IPMI.value or true) or nil,
    wol = by.WOL ~= nil, iface = by.IF and by.IF.value, broadcast = by.BROADCAST and by.BROADCAST.value,
    -- How long the OS gets to go down before its BMC powers it off anyway.
    grace = timeout or 60,
  })
end

-- CANCEL's lines: `CANCEL <name>: ...`.
local function shout(name, fmt, ...) print(string.format("CANCEL %s: " .. fmt, name, ...)) end

-- Powers a machine off through its BMC now; the exit value (0, or 3 with the reason on stderr).
local function bmc_off(name, bmc, why)
  local r, e, kind = bmc_power(bmc, "off")
  if r == nil then
    io.stderr:write(string.format("ctys: CANCEL %s: BMC %s: %s\n", name, bmc.name, e))
    return kind == "secret" and err.ENV or err.FAILED
  end
  shout(name, "ipmi: powered off through the BMC %s (%s)", bmc.name, why)
  return 0
end

-- Seconds between SSH going away and the BMC switching off: sshd stops early in a shutdown,
-- before the disks are synced and unmounted.
local QUIET = 5

-- Waits up to `grace` seconds for a target to go down after its OS was told to. The BMC
-- reporting power off means the OS powered itself off: done. SSH no longer connecting means the
-- OS is on its way down: QUIET seconds later the BMC switches it off (a halt that leaves the
-- power on). Nothing of the two within `grace`: the BMC switches it off anyway. The exit value.
local function settle(t, bmc, grace)
  local name, gone = t.host, nil
  for waited = 0, math.ceil(grace) do
    if bmc_power(bmc, "status") == "off" then
      shout(name, "ipmi: the BMC %s reports power off after %d s", bmc.name, waited)
      return 0
    end
    if not gone then
      local r = require("ctys.remote").exec { hosts = { t }, cmd = "true", connect_timeout = 1, timeout = 2, progress = false }
      local kind = r and r[1].kind
      if kind == "connect" or kind == "timeout" or kind == "ssh" then
        gone = waited
        shout(name, "its OS stopped answering SSH after %d s", waited)
      end
    end
    if gone and waited - gone >= math.min(QUIET, grace - gone) then
      return bmc_off(name, bmc, string.format("its OS went down %d s before", waited - gone))
    end
    if waited < grace then ctys.sleep(math.min(1, grace - waited)) end
  end
  io.stderr:write(string.format("ctys: CANCEL %s: the OS did not go down within %g s\n", name, grace))
  return bmc_off(name, bmc, string.format("fallback after %g s", grace))
end

---CANCEL with IPMI on targets, run by the caller around the relay: the BMCs are checked first
---(nothing is relayed when one cannot be reached or the password is missing); with FORCE each
---target is powered off through its BMC at once and its OS is not asked; without FORCE the
---target's ctys takes the machine down (`SELF` implied), then each BMC switches its machine off
---once the OS went down, or after TIMEOUT (default 60 s) as the fallback; a target whose
---relayed CANCEL failed (unreachable, host key refused, no remote ctys, non-zero exit) is left
---on, and the relay's failure is the result.
---@param req ctys.Request
---@param relay fun(req: ctys.Request): integer, ctys.core.RemoteResult[] runs a request on its targets
---@return integer
local function cancel_on_targets(req, relay)
  local plan = M.cancel_plan(req.action)
  if not plan.ipmi then
    local status = relay(req)
    if status == 0 and plan.wol and plan.broadcast and not req.dry_run then
      local names = {}
      for i, t in ipairs(req.targets) do names[i] = t.host end
      local ok, e = M.remember_broadcast(names, plan.broadcast)
      if not ok then err.env("CANCEL: cannot remember the wake-up broadcast: %s", e) end
      shout(table.concat(names, ","), "a CREATE with WOL wakes it through %s from now on (%s)", plan.broadcast, remember_file())
    end
    return status
  end
  if plan.ipmi ~= true and #req.targets > 1 then
    err.usage("CANCEL: IPMI:%s names one BMC for %d targets; give each its bmc= in the machine database", plan.ipmi, #req.targets)
  end
  local machines = require "ctys.machines"
  local db = machines.load()
  local bmcs = {}
  for i, t in ipairs(req.targets) do
    bmcs[i] = bmc_of("CANCEL " .. t.host, plan.ipmi, machines.lookup(t.host, db) or {})
  end
  local stripped = not plan.force and with_action(req, subopts.without(req.action, { "IPMI" }) .. (plan.self and "" or ",SELF"))
  if req.dry_run then
    if stripped then relay(stripped) end
    for i, t in ipairs(req.targets) do
      if plan.force then
        shout(t.host, "would power off through the BMC %s", bmcs[i].name)
      else
        shout(t.host, "would wait up to %g s for its OS to go down, then power off through the BMC %s", plan.grace, bmcs[i].name)
      end
    end
    return 0
  end
  local checks = {}
  for i, b in ipairs(bmcs) do checks[i] = function() return { bmc_power(b, "status") } end end
  for i, r in ipairs(ctys.all(checks)) do
    if r[1] == nil then bmc_failed(string.format("CANCEL %s: BMC %s", req.targets[i].host, bmcs[i].name), r[2], r[3]) end
  end
  local status, relayed = 0, nil
  if stripped then status, relayed = relay(stripped) end
  local jobs = {}
  for i, t in ipairs(req.targets) do
    jobs[i] = function()
      if plan.force then return bmc_off(t.host, bmcs[i], "FORCE") end
      -- The BMC may cut the power only once the OS shutdown is known to have started: the
      -- relayed CANCEL ran its final command and exited 0. Anything else is the result.
      local r = relayed and relayed[i]
      if not (r and r.err == nil and r.status == 0) then
        io.stderr:write(string.format("ctys: CANCEL %s: its OS shutdown did not start (%s); the BMC %s leaves it on (FORCE,IPMI powers it off)\n",
          t.host, r and require("ctys.output").why(r) or "not relayed", bmcs[i].name))
        return 0
      end
      return settle(t, bmcs[i], plan.grace)
    end
  end
  for _, s in ipairs(ctys.all(jobs)) do status = math.max(status, s) end
  return status
end

---What the caller does around the relay, per action (ctys.cli runs it instead of the plain
---relay when the command line has targets).
---@type table<string, fun(req: ctys.Request, relay: fun(req: ctys.Request): integer): integer>
M.caller = { cancel = cancel_on_targets, create = create_on_targets }

---The actions that take machines down: on several targets ctys asks first (see `-y`).
---@type table<string, boolean>
M.destructive = { cancel = true }

-- The interface WOL arms without IF: the first one that is up and could carry the packet
-- (not the loopback, a bridge or a TUN/TAP; a bond is fine), as the original took the first.
local function first_interface()
  local links, e = require("ctys.net").links()
  if not links then err.env("CANCEL: WOL: cannot list interfaces: %s", e) end
  table.sort(links, function(a, b) return a.index < b.index end)
  for _, l in ipairs(links) do
    if l.name ~= "lo" and l.up and l.kind ~= "bridge" and l.kind ~= "tun" and not l.master then return l.name end
  end
  err.env("CANCEL: WOL: no interface is up; give IF:<if>")
end

-- WOL: arm the NIC for magic packets before anything else, so that a NIC that cannot wake
-- stops the CANCEL with nothing done (exit 2). Says how to wake the machine later.
local function arm_wol(plan, dry_run)
  local iface = plan.iface or first_interface()
  local wake = "ctys -t pm -a create=wol,t:" .. plan.name .. (plan.broadcast and (",broadcast:" .. plan.broadcast) or "")
  if dry_run then
    shout(plan.name, "would arm %s for Wake-on-LAN (wol g); wake it later with: %s", iface, wake)
    return
  end
  local ok, e, kind = require("ctys.net").wol_arm(iface, "g")
  if not ok then
    if kind == "other" then err.failed("CANCEL %s: WOL: %s", plan.name, e) end
    err.env("CANCEL %s: WOL: %s", plan.name, e)
  end
  shout(plan.name, "wol: %s armed (g); wake it later with: %s", iface, wake)
end

-- The stack step of CANCEL: the machines on top go down first, all at once. `stack.only` limits
-- it to one handler; with FORCE the stack is skipped, unless `stack.force_destroys` (a
-- hypervisor's own CANCEL pulls its machines' plugs). False when some machine stayed up.
local function cancel_stack(plan, stack_opts, dry_run)
  local function show(fmt, ...) shout(plan.name, fmt, ...) end
  if plan.force and not stack_opts.force_destroys then
    show("FORCE: the machines on top are not asked")
    return true
  end
  local stack = require "ctys.stack"
  local machines, errs = stack.running(stack_opts.only)
  for _, e in ipairs(errs) do io.stderr:write("ctys: CANCEL ", plan.name, ": stack: ", e, "\n") end
  -- Whatever the PM's method, the machines on top get INIT:0, as in the original.
  local how = plan.force and "destroy" or "shutdown"
  local function labels(list)
    local out = {}
    for i, m in ipairs(list) do out[i] = m.handler .. ":" .. m.vm end
    return table.concat(out, ", ")
  end
  if #machines == 0 then
    show("stack: nothing runs on top%s", stack_opts.only and (" (" .. stack_opts.only .. ")") or "")
    return #errs == 0
  end
  if dry_run then
    show("would %s %s, then wait up to %g s for them", how, labels(machines), plan.grace)
    return true
  end
  show("stack: %s %s", how, labels(machines))
  local left, cerrs = stack.cancel(machines, how, plan.grace)
  for _, e in ipairs(cerrs) do io.stderr:write("ctys: CANCEL ", plan.name, ": stack: ", e, "\n") end
  if #left > 0 then
    io.stderr:write(string.format("ctys: CANCEL %s: stack: still running after %g s: %s\n", plan.name, plan.grace, labels(left)))
  else
    show("stack: all down")
  end
  return #left == 0 and #cerrs == 0 and #errs == 0
end

---CANCEL here, for a PM or (with `stack.only`) one hypervisor's machines: announce (logger,
---wall), wait TIMEOUT, take the stack down, and with SELF take the machine itself down.
---@param req ctys.Request
---@param stack_opts {only?: string, force_destroys?: boolean}
---@return integer
function M.cancel_here(req, stack_opts)
  check.arg("ctys.actions.pm.cancel_here", "req", req, "table")
  check.arg("ctys.actions.pm.cancel_here", "stack_opts", stack_opts, "table")
  local plan = M.cancel_plan(req.action)
  if plan.ipmi then
    if not plan.force then
      err.usage("CANCEL: IPMI without FORCE powers a machine off from another one once its OS went down: give the machine as a target (ctys -t pm -a %s <host>)", req.action.raw)
    end
    if not plan.address then err.usage("CANCEL: FORCE,IPMI needs the machine: t:<host>, l:<label>, or a target") end
    local bmc = bmc_of("CANCEL " .. plan.name, plan.ipmi, require("ctys.machines").lookup(plan.address) or {})
    if req.dry_run then
      shout(plan.name, "would power off through the BMC %s", bmc.name)
      return 0
    end
    return bmc_off(plan.name, bmc, "FORCE")
  end
  local commands = require "ctys.commands"
  local final
  if plan.self then
    final = plan.method == "INIT" and { "init", plan.runlevel } or { METHODS[plan.method] }
  end
  local msg = string.format("ctys: CANCEL %s (%s%s) in %g s", plan.name, plan.method,
    plan.method == "INIT" and (":" .. plan.runlevel) or "", plan.delay)
  local steps = {
    { "logger", msg }, { "wall", msg },
  }
  local function show(fmt, ...) shout(plan.name, fmt, ...) end
  if METHODS[plan.method] == "poweroff" and plan.method ~= "POWEROFF" and plan.method ~= "S5" then
    io.stderr:write(string.format("ctys: CANCEL %s: %s is mapped to POWEROFF\n", plan.name, plan.method))
  end
  if plan.wol then arm_wol(plan, req.dry_run) end
  if req.dry_run then
    for _, st in ipairs(steps) do show("would run %s", commands.describe(table.unpack(st))) end
    show("would wait %g s", plan.delay)
    cancel_stack(plan, stack_opts, true)
    if final then show("would run %s", commands.describe(table.unpack(final))) end
    return 0
  end
  for _, st in ipairs(steps) do
    local ok, e = commands.run(table.unpack(st))
    if not ok then io.stderr:write("ctys: CANCEL ", plan.name, ": ", e, "\n") end
  end
  if plan.delay > 0 then ctys.sleep(plan.delay) end
  local stack_down = cancel_stack(plan, stack_opts, false)
  if not final then
    if not stack_down then err.failed("CANCEL %s: the stack did not go down", plan.name) end
    show("done (without SELF the machine itself stays up)")
    return 0
  end
  show("running %s", commands.describe(table.unpack(final)))
  local ok, e = commands.run(table.unpack(final))
  if not ok then err.failed("CANCEL %s: %s", plan.name, e) end
  return 0
end

---CANCEL on a PM: announce (logger, wall), wait TIMEOUT (default 20 s), shut down the machines
---on top (every stack handler that is here, in parallel; FORCE skips them), and with SELF take
---the machine itself down: `poweroff`, `reboot`, or `init <n>` from the command table (PAUSE,
---S3, SUSPEND, S4 are mapped to POWEROFF with a warning, as the manual says).
---@param req ctys.Request
---@return integer
function M.cancel(req)
  check.arg("ctys.actions.pm.cancel", "req", req, "table")
  return M.cancel_here(req, {})
end

return M
