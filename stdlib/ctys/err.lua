--- Errors that carry a ctys exit value.
---
--- Misuse raises (exit 1 "erroneous parameters", 2 "missing environment element");
--- expected operational failures are returned as `nil, message` by the primitives and
--- never pass through here. The top level turns a raised error into its exit value.
---@class ctys.err
local M = {}

---@class ctys.Error
---@field code integer exit value: 1 erroneous parameters, 2 missing environment element, 3 operation failed
---@field msg string the message, naming the bad token
local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.msg end

M.USAGE = 1
M.ENV = 2
M.FAILED = 3

local function throw(code, msg)
  error(setmetatable({ code = code, msg = msg }, Error), 0)
end

-- Raises for `fname` (the public function called): its format must be a string.
local function raise_as(fname, code, fmt, ...)
  if type(fmt) ~= "string" then throw(M.USAGE, string.format("%s: bad argument 'fmt': expected a string, got %s", fname, type(fmt))) end
  throw(code, select("#", ...) > 0 and string.format(fmt, ...) or fmt)
end

---Raise an error with an exit value.
---@param code integer exit value
---@param fmt string format string (string.format)
---@param ... any format arguments
function M.raise(code, fmt, ...)
  -- A bad exit value would become another one (or 0) at the top: refused here.
  if math.type(code) ~= "integer" or code < 1 or code > 125 then
    throw(M.USAGE, string.format("ctys.err.raise: bad argument 'code': an exit value from 1 to 125, got %s", tostring(code)))
  end
  raise_as("ctys.err.raise", code, fmt, ...)
end

---Raise an "erroneous parameters" error (exit 1).
---@param fmt string format string
---@param ... any format arguments
function M.usage(fmt, ...) raise_as("ctys.err.usage", M.USAGE, fmt, ...) end

---Raise a "missing environment element" error (exit 2).
---@param fmt string format string
---@param ... any format arguments
function M.env(fmt, ...) raise_as("ctys.err.env", M.ENV, fmt, ...) end

---Raise an "operation failed" error (exit 3): the parameters and the environment were fine,
---but the operation did not reach its goal (a machine did not come up, or was already up).
---@param fmt string format string
---@param ... any format arguments
function M.failed(fmt, ...) raise_as("ctys.err.failed", M.FAILED, fmt, ...) end

---Whether a value is an error raised through this module.
---@param e any
---@return boolean
function M.is(e) return getmetatable(e) == Error end

---The exit value and message of any error value (a plain Lua error is exit 1).
---@param e any
---@return integer code
---@return string message
function M.describe(e)
  if M.is(e) then return e.code, e.msg end
  return M.USAGE, tostring(e)
end

return M
