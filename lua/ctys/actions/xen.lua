--- The XEN plugin: CANCEL of a Xen host's domains (`ctys -t xen -a cancel=...`), the PM's
--- CANCEL with the stack limited to the xen handler, where FORCE destroys the domains at once
--- instead of skipping them (the manual: "just calls the lowest VM hypervisors for immediate -
--- non-stack - poweroff"). The Xen host itself goes down only with SELF, as for the PM.
---@class ctys.actions.xen
local M = {}

local check = require "ctys.check"

local pm = require "ctys.actions.pm"

---CANCEL on a Xen host: see ctys.actions.pm.cancel; the domains of `xl list` are the stack.
---@param req ctys.Request
---@return integer
function M.cancel(req)
  check.arg("ctys.actions.xen.cancel", "req", req, "table")
  return pm.cancel_here(req, { only = "xen", force_destroys = true })
end

M.caller, M.destructive = pm.caller, pm.destructive

return M
