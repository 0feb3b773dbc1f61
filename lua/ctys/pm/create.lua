--- PM CREATE: wake a machine (Wake-on-LAN, or its BMC) and wait until it answers; consoles.
---@class ctys.pm.create
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"
local subopts = require "ctys.subopts"
local bmc = require "ctys.pm.bmc"
local console = require "ctys.console"
local plans = require "ctys.pm.plan"
local wolmemory = require "ctys.wolmemory"
local plan_of = plans.create

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

-- The machine a console goes to: t:<[user@]host[:port]> (read as a target, so nothing reaches
-- ssh as an option), else the address a wake-up waited for.
local function console_target(plan, ip)
  if plan.tcp then return require("ctys.targets").parse(plan.tcp) end
  return ip and { host = ip } or nil
end

---CREATE on a PM: wake a machine with Wake-on-LAN (or power it on through its BMC with
---`ipmi[:<bmc>]`, `redfish[:<bmc>]` or `bmc[:<bmc>]`) and wait until it answers ping, then SSH; and/or open a console to it.
---`create=wol[:<delay>],t:<host>|m:<mac>|l:<label>,broadcast:<addr>,port:<n>,bmac:<mac>,if:<iface>,
---reuse|resume,ping:off|<n>%<sleep>,sshping:off|on|<n>%<sleep>,console:cli|sol|xterm|gterm|emacs|vnc`.
---Exit 0 when the machine is up (CONSOLE:CLI: the session's exit status), 1 for bad
---suboptions, 2 when the machine has no MAC (or no IP to wait for, or no display for a window
---console), 3 when it was already up (without REUSE) or did not come up.
---@param req ctys.Request
---@return integer
function M.run(req)
  check.arg("ctys.pm.create.run", "req", req, "table")
  local plan = plan_of(req.action)
  if plan.console_only then return console.open(plan.console, console_target(plan), plan.name, req.dry_run) end
  local machines = require "ctys.machines"
  local db = machines.load()
  local known = machines.lookup(plan.label or plan.tcp or plan.mac, db) or {}
  local mac = plan.mac or known.mac
  if not mac and not plan.bmc then
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
  local what, b
  if plan.bmc then
    -- The BMC is known (and its address checked) before anything is probed or sent.
    b = bmc.of("CREATE " .. plan.name, plan.via, plan.bmc, known)
    what = "power on through the BMC " .. b.name
  else
    local broadcast = plan.broadcast
    if not broadcast and not plan.iface then
      broadcast = wolmemory.lookup(plan.name)
      if broadcast then say(plan, "broadcast %s, as its CANCEL with WOL asked (%s)", broadcast, wolmemory.file()) end
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
    say(plan, plan.bmc and "would %s" or "would send %s", what)
    if plan.ping then say(plan, "would wait %g s, then ping %s up to %d times, %g s apart", plan.delay, ip, plan.ping[1], plan.ping[2]) end
    if plan.sshping then say(plan, "would wait for SSH on %s:22 up to %d times, %g s apart", ip, plan.sshping[1], plan.sshping[2]) end
    if plan.console then return console.open(plan.console, console_target(plan, ip), plan.name, true) end
    return 0
  end
  local probe = require "ctys.probe"
  if ip and probe.ping { host = ip, timeout = 1 } then
    if not plan.reuse then err.failed("CREATE %s: %s already answers ping (use REUSE to accept a running machine)", plan.name, ip) end
    say(plan, "%s already answers ping: reused", ip)
  elseif b then
    local ok, e, kind = bmc.power(b, "on")
    if not ok then bmc.failed("CREATE " .. plan.name, e, kind) end
    say(plan, "%s: powered on through the BMC %s", b.tag, b.name)
  else
    local ok, e = require("ctys.wol").send(send)
    if not ok then err.env("CREATE %s: wol: %s", plan.name, e) end
    say(plan, "wol: sent %s", what)
    -- A wake-up goes on when its note cannot be kept: the note is for `ctys status` only.
    local noted, ne = wolmemory.sent(plan.name)
    if not noted then require("ctys.log").warn("CREATE %s: the time of this wake-up is not noted: %s", plan.name, ne) end
    if plan.delay > 0 then
      say(plan, "waiting %g s", plan.delay)
      ctys.sleep(plan.delay)
    end
  end
  if plan.ping then wait_for(plan, "ping " .. ip, probe.ping, { host = ip, timeout = math.min(1, math.max(plan.ping[2], 0.1)) }, plan.ping) end
  if plan.sshping then wait_for(plan, "ssh " .. ip .. ":22", probe.tcp, { host = ip, port = 22, ssh = true, timeout = 2 }, plan.sshping) end
  say(plan, "up")
  if plan.console then return console.open(plan.console, console_target(plan, ip), plan.name, false) end
  return 0
end

---CREATE with CONSOLE on targets, run by the caller: a console opens here, not on the target.
---A wake-up (WOL, IPMI, REDFISH, BMC) is relayed first without the CONSOLE; then each target (or the
---machine t: names) gets its console, one after another.
---@param req ctys.Request
---@param relay fun(req: ctys.Request): integer
---@return integer
function M.on_targets(req, relay)
  check.arg("ctys.pm.create.on_targets", "req", req, "table")
  check.arg("ctys.pm.create.on_targets", "relay", relay, "function")
  local plan = plan_of(req.action)
  if not plan.console then return relay(req) end
  local status = 0
  if not plan.console_only then
    status = relay(require("ctys.relay").with_action(req, subopts.without(req.action, { "CONSOLE" })))
    if status ~= 0 then return status end
  end
  for _, t in ipairs(req.targets) do
    local c = console.open(plan.console, console_target(plan) or t, plan.tcp or t.host, req.dry_run)
    status = math.max(status, c)
  end
  return status
end

return M
