--- ctys's async calls (ctys.sleep, remote, ipmi, ...) wait by yielding a marker to the host's
--- scheduler. Inside a coroutine of the script's own (`coroutine.wrap`, `coroutine.resume`) that
--- marker would reach the script instead; these replacements pass it on to the scheduler and
--- resume the inner coroutine when the wait is over, so async calls work there as anywhere.
--- Loaded by `ctys` itself; every other yield behaves as in plain Lua.
---@class ctys.coroutine
local M = {}

local core = require "ctys.core"

local PENDING = core.async_pending
local raw_resume, raw_yield, status = coroutine.resume, coroutine.yield, coroutine.status

-- Forward the inner coroutine's waits until it yields for itself, returns or fails.
local function forward(co, ok, ...)
  if ok and select("#", ...) == 1 and (...) == PENDING and status(co) == "suspended" then
    if not coroutine.isyieldable() then
      return false, "a ctys call waits inside a coroutine that is not run by the host (call it from a script, a task or ctys.all)"
    end
    return forward(co, raw_resume(co, raw_yield(PENDING)))
  end
  return ok, ...
end

---`coroutine.resume` that lets ctys's async calls wait inside `co`.
---@param co thread
---@param ... any
---@return boolean ok
---@return any ...
function M.resume(co, ...)
  if type(co) ~= "thread" then require("ctys.check").bad("ctys.coroutine.resume", "co", "expected a coroutine, got %s", type(co)) end
  return forward(co, raw_resume(co, ...))
end

---`coroutine.wrap` that lets ctys's async calls wait inside `f`.
---@param f function
---@return fun(...): ...
function M.wrap(f)
  if type(f) ~= "function" then require("ctys.check").arg("ctys.coroutine.wrap", "f", f, "function") end
  local co = coroutine.create(f)
  return function(...)
    local r = table.pack(forward(co, raw_resume(co, ...)))
    if not r[1] then
      if status(co) == "dead" then coroutine.close(co) end
      error(r[2], 0)
    end
    return table.unpack(r, 2, r.n)
  end
end

coroutine.resume, coroutine.wrap = M.resume, M.wrap

return M
