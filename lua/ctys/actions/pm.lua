--- The PM plugin: actions on physical machines (`ctys -t pm -a ACTION=...`).
---
--- Each action is `M.<action>(req)`, taking the parsed command line (ctys.cli) and returning an
--- exit value; the work is in ctys.pm.create and ctys.pm.cancel, the plans in ctys.pm.plan. A
--- site may replace this module (`~/.ctys/lua/ctys/actions/pm.lua`) and reach this one as
--- `builtin.ctys.actions.pm`.
---@class ctys.actions.pm
local M = {}

local check = require "ctys.check"
local create = require "ctys.pm.create"
local cancel = require "ctys.pm.cancel"
local plans = require "ctys.pm.plan"
local wolmemory = require "ctys.wolmemory"

---CREATE on a PM: wake a machine with Wake-on-LAN (or power it on through its BMC with
---`ipmi[:<bmc>]`) and wait until it answers ping, then SSH; and/or open a console to it.
---`create=wol[:<delay>],t:<host>|m:<mac>|l:<label>,broadcast:<addr>,port:<n>,bmac:<mac>,if:<iface>,
---reuse|resume,ping:off|<n>%<sleep>,sshping:off|on|<n>%<sleep>,console:cli|sol|xterm|gterm|emacs|vnc`.
---Exit 0 when the machine is up (CONSOLE:CLI: the session's exit status), 1 for bad
---suboptions, 2 when the machine has no MAC (or no IP to wait for, or no display for a window
---console), 3 when it was already up (without REUSE) or did not come up.
---@param req ctys.Request
---@return integer
function M.create(req)
  check.arg("ctys.actions.pm.create", "req", req, "table")
  return create.run(req)
end

---CANCEL on a PM: announce (logger, wall), wait TIMEOUT (default 20 s), shut down the machines
---on top (every stack handler that is here, in parallel; FORCE skips them), and with SELF take
---the machine itself down: `poweroff`, `reboot`, or `init <n>` from the command table (PAUSE,
---S3, SUSPEND, S4 are mapped to POWEROFF with a warning, as the manual says).
---@param req ctys.Request
---@return integer
function M.cancel(req)
  check.arg("ctys.actions.pm.cancel", "req", req, "table")
  return cancel.here(req, {})
end

---CANCEL here, for a PM or (with `stack.only`) one hypervisor's machines: announce (logger,
---wall), wait TIMEOUT, take the stack down, and with SELF take the machine itself down.
---@param req ctys.Request
---@param stack_opts {only?: string, force_destroys?: boolean}
---@return integer
function M.cancel_here(req, stack_opts)
  check.arg("ctys.actions.pm.cancel_here", "req", req, "table")
  check.arg("ctys.actions.pm.cancel_here", "stack_opts", stack_opts, "table")
  return cancel.here(req, stack_opts)
end

---What the caller does around the relay, per action (ctys.cli runs it instead of the plain
---relay when the command line has targets).
---@type table<string, fun(req: ctys.Request, relay: fun(req: ctys.Request): integer): integer>
M.caller = { cancel = cancel.on_targets, create = create.on_targets }

---The actions that take machines down: on several targets ctys asks first (see `-y`).
---@type table<string, boolean>
M.destructive = { cancel = true }

---The plugin of a hypervisor host (`ctys -t xen|qemu -a cancel=...`): PM's CANCEL with the
---stack limited to that hypervisor's handler, where FORCE takes its machines down at once
---instead of skipping them (the manual: "just calls the lowest VM hypervisors for immediate -
---non-stack - poweroff"). The host itself goes down only with SELF, as for the PM.
---@param handler string the stack handler, e.g. "xen"
---@return {cancel: fun(req: ctys.Request): integer, caller: table, destructive: table}
function M.hypervisor(handler)
  check.arg("ctys.actions.pm.hypervisor", "handler", handler, "string")
  return {
    cancel = function(req)
      check.arg("ctys.actions." .. handler .. ".cancel", "req", req, "table")
      return cancel.here(req, { only = handler, force_destroys = true })
    end,
    caller = M.caller,
    destructive = M.destructive,
  }
end

-- The plans and the remembered broadcasts, under the plugin's name (see ctys.pm.plan and
-- ctys.wolmemory).
M.create_plan, M.cancel_plan = plans.create, plans.cancel
M.remembered_broadcast, M.remember_broadcast = wolmemory.lookup, wolmemory.remember

return M
