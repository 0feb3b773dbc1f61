--- QMP, the control socket of a QEMU guest: commands and events.
---
--- ```lua
--- local q = assert(ctys.qmp.open("/var/tmp/qemu.alice/vm1.qmp"))
--- print(q:execute("query-status").status)   --> running
--- q:execute("system_powerdown")
--- print(q:event("SHUTDOWN", 30))
--- q:close()
--- ```
---@class ctys.qmp
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---Connect to a QMP socket, read QEMU's greeting and negotiate capabilities. The socket must be
---the caller's or root's (or one of `owners'`) and writable by nobody else.
---@param path string
---@param opts? {timeout?: number, owners?: integer[]} seconds for the connection and greeting (5)
---@return ctys.core.Qmp|nil session `:execute(command, arguments?, timeout?)`, `:event(name?, timeout?)`, `:version()`, `:close()`
---@return string? err
---@return string? kind "notfound"|"untrusted"|"timeout"|"protocol"|"toolarge"|"closed"|"refused"
function M.open(path, opts)
  check.arg("ctys.qmp.open", "path", path, "string")
  opts = opts or {}
  check.opts("ctys.qmp.open", opts, { timeout = "seconds", owners = "table" })
  return core.qmp_open(path, opts.timeout, opts.owners)
end

return M
