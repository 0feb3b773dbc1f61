--- PM's plans: CREATE's and CANCEL's suboptions checked the way the original does (plus what it
--- never checked) into a plan, before anything is sent, looked up or run. Misuse raises (exit 1)
--- naming the key.
---@class ctys.pm.plan
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

-- CREATE's suboptions and what each takes: "flag", "value", or "optional" (flag or value).
local CREATE_KEYS = {
  WOL = "optional", IPMI = "optional", REDFISH = "optional", BMC = "optional", RESUME = "flag", REUSE = "flag", CONNECT = "flag", RECONNECT = "flag",
  TCP = "value", MAC = "value", LABEL = "value", ID = "value", BASEPATH = "value", FILENAME = "value",
  UUID = "value", DBRECORD = "value", BROADCAST = "value", PORT = "value", BMAC = "value", IF = "value",
  CONSOLE = "value", USER = "value", PING = "value", SSHPING = "value", WAITC = "value", WAITS = "value",
}
-- Listed by the original, which never said what they do: refused rather than guessed at.
local UNDEFINED = { USER = true, WAITC = true, WAITS = true }
local ADDRESS_KEYS = { "TCP", "MAC", "LABEL", "ID", "BASEPATH", "FILENAME", "UUID", "DBRECORD" }
local DEFAULT_PING, DEFAULT_SSHPING = { 40, 3 }, { 20, 3 }
-- The most tries PING and SSHPING take: their wait has a bound.
local MAX_TRIES = 10000

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
  if type(plan.bmc) == "string" then
    local a, e = require("ctys.bmc").parse(plan.bmc)
    if not a then err.usage("%s: %s:%s: %s", what, plan.via, plan.bmc, e) end
    if a.protocol and plan.via ~= "BMC" and a.protocol ~= plan.via:lower() then
      err.usage("%s: %s:%s is a %s BMC (use %s or BMC)", what, plan.via, plan.bmc, a.protocol, a.protocol:upper())
    end
  end
  return plan
end

-- The BMC suboption given (IPMI, REDFISH or BMC: one at most): its entry and key.
local function bmc_of(what, by)
  local found
  for _, k in ipairs { "IPMI", "REDFISH", "BMC" } do
    if by[k] then
      if found then err.usage("%s: %s and %s exclude each other", what, found, k) end
      found = k
    end
  end
  return found and by[found], found
end

---Check CREATE's suboptions the way the original does, plus what it never checked; returns
---the plan. Misuse raises (exit 1) naming the key.
---@param action ctys.Action parsed `-a create=...`
---@return table plan
function M.create(action)
  check.fields("ctys.pm.plan.create", "action", action, { by_key = "table", list = "table" })
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
  local bmc, via = bmc_of("CREATE", by)
  local console = by.CONSOLE and by.CONSOLE.value:upper()
  if console and not require("ctys.console").KINDS[console] then
    err.usage("CREATE: unknown CONSOLE '%s' (CLI, SOL, XTERM, GTERM, EMACS or VNC)", by.CONSOLE.value)
  end
  local address
  for _, k in ipairs(ADDRESS_KEYS) do address = address or by[k] end
  if console and not (by.WOL or by.RESUME or bmc) then
    -- A console to a running machine: the one named by t:, else the target, else this one.
    if by.MAC then err.usage("CREATE: CONSOLE reaches a machine by t:<host>, not by MAC") end
    return check_addresses("CREATE", { console = console, console_only = true, tcp = by.TCP and by.TCP.value, name = address and address.value or "this machine" })
  end
  if not address then err.usage("CREATE: no machine address (t:<host>, m:<mac> or l:<label>)") end
  for _, k in ipairs { "ID", "BASEPATH", "FILENAME", "UUID", "DBRECORD" } do
    if by[k] then err.usage("CREATE: the PM plugin addresses machines by t:, m: or l:, not '%s'", by[k].given) end
  end
  if not (by.WOL or by.RESUME or bmc) then err.usage("CREATE: nothing to do: give WOL (or RESUME), IPMI, REDFISH or BMC") end
  if bmc and (by.WOL or by.RESUME) then err.usage("CREATE: %s and WOL exclude each other", via) end
  if bmc and (by.BROADCAST or by.IF or by.PORT or by.BMAC) then
    err.usage("CREATE: %s powers on through the BMC; BROADCAST, IF, PORT and BMAC are for WOL", via)
  end
  local plan = {
    name = (by.LABEL or by.TCP or by.MAC).value, console = console,
    bmc = bmc and (bmc.value or true) or nil, via = via,
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

-- CANCEL's suboptions: the methods, and the rest with what each takes.
---CANCEL's methods and the command-table entry that takes the machine down with each.
---@type table<string, string>
M.METHODS = { RESET = "reboot", REBOOT = "reboot", INIT = "init", PAUSE = "poweroff", S3 = "poweroff",
  SUSPEND = "poweroff", S4 = "poweroff", POWEROFF = "poweroff", S5 = "poweroff" }
local CANCEL_KEYS = { ALL = "flag", FORCE = "flag", STACK = "flag", SELF = "flag", TIMEOUT = "value",
  WOL = "flag", IF = "value", BROADCAST = "value", IPMI = "optional", REDFISH = "optional", BMC = "optional" }
for _, k in ipairs(ADDRESS_KEYS) do CANCEL_KEYS[k] = "value" end

---Check CANCEL's suboptions the way the original does; returns the plan. Misuse raises (exit 1)
---naming the clash.
---@param action ctys.Action parsed `-a cancel=...`
---@return table plan
function M.cancel(action)
  check.fields("ctys.pm.plan.cancel", "action", action, { by_key = "table", list = "table" })
  local by = action.by_key
  local method, delay
  for _, e in ipairs(action.list) do
    if M.METHODS[e.key] then
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
  local bmc, via = bmc_of("CANCEL", by)
  if bmc and not (M.METHODS[method] == "poweroff" or (method == "INIT" and runlevel == "0")) then
    err.usage("CANCEL: %s powers a machine off; it does not combine with %s", via, method == "INIT" and ("INIT:" .. runlevel) or method)
  end
  local timeout = by.TIMEOUT and seconds("CANCEL", by.TIMEOUT.value, "TIMEOUT")
  local address
  for _, k in ipairs(ADDRESS_KEYS) do address = address or by[k] end
  return check_addresses("CANCEL", {
    name = address and address.value or (by.ALL and "ALL") or require("ctys.system").hostname() or "this machine",
    address = address and address.value,
    method = method, runlevel = runlevel, self = by.SELF ~= nil, force = by.FORCE ~= nil,
    delay = delay or timeout or (require("ctys.paths").env("CTYS_CANCEL_TIMEOUT") and seconds("CANCEL", os.getenv("CTYS_CANCEL_TIMEOUT"), "CTYS_CANCEL_TIMEOUT")) or 20,
    bmc = bmc and (bmc.value or true) or nil, via = via,
    wol = by.WOL ~= nil, iface = by.IF and by.IF.value, broadcast = by.BROADCAST and by.BROADCAST.value,
    -- How long the OS gets to go down before its BMC powers it off anyway.
    grace = timeout or 60,
  })
end

return M
