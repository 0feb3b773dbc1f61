--- Logging through the host's logger (stderr; `RUST_LOG`, `-d LEVEL`).
--- Levels as ctys `-d` counts them: 0 warnings and errors (default), 1 info, 2 debug, 3+ trace.
---@class ctys.log
local M = {}

local core = require "ctys.core"

local function emit(level, fmt, ...)
  if type(fmt) ~= "string" then require("ctys.check").bad("ctys.log." .. level, "fmt", "expected a string, got %s", type(fmt)) end
  if core.log_enabled(level) then
    core.log(level, select("#", ...) > 0 and string.format(fmt, ...) or fmt)
  end
end

---@param fmt string format string (string.format)
---@param ... any
function M.error(fmt, ...) emit("error", fmt, ...) end
---@param fmt string format string (string.format)
---@param ... any
function M.warn(fmt, ...) emit("warn", fmt, ...) end
---@param fmt string format string (string.format)
---@param ... any
function M.info(fmt, ...) emit("info", fmt, ...) end
---@param fmt string format string (string.format)
---@param ... any
function M.debug(fmt, ...) emit("debug", fmt, ...) end
---@param fmt string format string (string.format)
---@param ... any
function M.trace(fmt, ...) emit("trace", fmt, ...) end

---Set the verbosity as ctys `-d LEVEL` does.
---@param level integer 0 (warnings) .. 3 (trace)
function M.set_level(level)
  if math.type(level) ~= "integer" or level < 0 then
    require("ctys.err").usage("ctys.log.set_level: bad argument 'level': expected an integer >= 0, got %s", tostring(level))
  end
  core.set_log_level(({ "warn", "info", "debug" })[level + 1] or "trace")
end

return M
