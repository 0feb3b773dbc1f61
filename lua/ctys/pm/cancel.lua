--- PM CANCEL: announce, take the stack down, then the machine itself; with IPMI (REDFISH, BMC) its BMC
--- switches it off once the OS went down (or at once with FORCE).
---@class ctys.pm.cancel
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"
local subopts = require "ctys.subopts"
local bmclib = require "ctys.pm.bmc"
local plans = require "ctys.pm.plan"
local wolmemory = require "ctys.wolmemory"
local plan_of = plans.cancel

-- CANCEL's lines: `CANCEL <name>: ...`.
local function shout(name, fmt, ...) print(string.format("CANCEL %s: " .. fmt, name, ...)) end

-- Powers a machine off through its BMC now; the exit value (0, or 3 with the reason on stderr).
local function bmc_off(name, bmc, why)
  local r, e, kind = bmclib.power(bmc, "off")
  if r == nil then
    io.stderr:write(string.format("ctys: CANCEL %s: BMC %s: %s\n", name, bmc.name, e))
    return kind == "secret" and err.ENV or err.FAILED
  end
  shout(name, "%s: powered off through the BMC %s (%s)", bmc.tag, bmc.name, why)
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
    if bmclib.power(bmc, "status") == "off" then
      shout(name, "%s: the BMC %s reports power off after %d s", bmc.tag, bmc.name, waited)
      return 0
    end
    if not gone then
      -- A new connection each time: a kept session outlives the sshd that went away.
      local r = require("ctys.remote").exec { hosts = { t }, cmd = "true", connect_timeout = 1, timeout = 2, progress = false, fresh = true }
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

---CANCEL with IPMI (REDFISH, BMC) on targets, run by the caller around the relay: the BMCs are checked first
---(nothing is relayed when one cannot be reached or the password is missing); with FORCE each
---target is powered off through its BMC at once and its OS is not asked; without FORCE the
---target's ctys takes the machine down (`SELF` implied), then each BMC switches its machine off
---once the OS went down, or after TIMEOUT (default 60 s) as the fallback; a target whose
---relayed CANCEL failed (unreachable, host key refused, no remote ctys, non-zero exit) is left
---on, and the relay's failure is the result.
---@param req ctys.Request
---@param relay fun(req: ctys.Request): integer, ctys.core.RemoteResult[] runs a request on its targets
---@return integer
function M.on_targets(req, relay)
  check.arg("ctys.pm.cancel.on_targets", "req", req, "table")
  check.arg("ctys.pm.cancel.on_targets", "relay", relay, "function")
  local plan = plan_of(req.action)
  if not plan.bmc then
    local status = relay(req)
    if status == 0 and plan.wol and plan.broadcast and not req.dry_run then
      local names = {}
      for i, t in ipairs(req.targets) do names[i] = t.host end
      local ok, e = wolmemory.remember(names, plan.broadcast)
      if not ok then err.env("CANCEL: cannot remember the wake-up broadcast: %s", e) end
      shout(table.concat(names, ","), "a CREATE with WOL wakes it through %s from now on (%s)", plan.broadcast, wolmemory.file())
    end
    return status
  end
  if plan.bmc ~= true and #req.targets > 1 then
    err.usage("CANCEL: %s:%s names one BMC for %d targets; give each its bmc= in the machine database", plan.via, plan.bmc, #req.targets)
  end
  local machines = require "ctys.machines"
  local db = machines.load()
  local bmcs = {}
  for i, t in ipairs(req.targets) do
    bmcs[i] = bmclib.of("CANCEL " .. t.host, plan.via, plan.bmc, machines.lookup(t.host, db) or {})
  end
  local stripped = not plan.force and require("ctys.relay").with_action(req, subopts.without(req.action, { "IPMI", "REDFISH", "BMC" }) .. (plan.self and "" or ",SELF"))
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
  for i, b in ipairs(bmcs) do checks[i] = function() return { bmclib.power(b, "status") } end end
  for i, r in ipairs(ctys.all(checks)) do
    if r[1] == nil then bmclib.failed(string.format("CANCEL %s: BMC %s", req.targets[i].host, bmcs[i].name), r[2], r[3]) end
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
        io.stderr:write(string.format("ctys: CANCEL %s: its OS shutdown did not start (%s); the BMC %s leaves it on (FORCE,%s powers it off)\n",
          t.host, r and (r.err or require("ctys.output").ended(r)) or "not relayed", bmcs[i].name, plan.via))
        return 0
      end
      return settle(t, bmcs[i], plan.grace)
    end
  end
  for _, s in ipairs(ctys.all(jobs)) do status = math.max(status, s) end
  return status
end

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
function M.here(req, stack_opts)
  check.arg("ctys.pm.cancel.here", "req", req, "table")
  check.arg("ctys.pm.cancel.here", "stack_opts", stack_opts, "table")
  local plan = plan_of(req.action)
  if plan.bmc then
    if not plan.force then
      err.usage("CANCEL: %s without FORCE powers a machine off from another one once its OS went down: give the machine as a target (ctys -t pm -a %s <host>)", plan.via, req.action.raw)
    end
    if not plan.address then err.usage("CANCEL: FORCE,%s needs the machine: t:<host>, l:<label>, or a target", plan.via) end
    local bmc = bmclib.of("CANCEL " .. plan.name, plan.via, plan.bmc, require("ctys.machines").lookup(plan.address) or {})
    if req.dry_run then
      shout(plan.name, "would power off through the BMC %s", bmc.name)
      return 0
    end
    return bmc_off(plan.name, bmc, "FORCE")
  end
  local commands = require "ctys.commands"
  local final
  if plan.self then
    final = plan.method == "INIT" and { "init", plan.runlevel } or { plans.METHODS[plan.method] }
  end
  local msg = string.format("ctys: CANCEL %s (%s%s) in %g s", plan.name, plan.method,
    plan.method == "INIT" and (":" .. plan.runlevel) or "", plan.delay)
  local steps = {
    { "logger", msg }, { "wall", msg },
  }
  local function show(fmt, ...) shout(plan.name, fmt, ...) end
  if plans.METHODS[plan.method] == "poweroff" and plan.method ~= "POWEROFF" and plan.method ~= "S5" then
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

return M
