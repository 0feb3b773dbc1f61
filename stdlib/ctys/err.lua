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

local KIND_OF = { [1] = "usage", [2] = "env", [3] = "failed" }

-- The exit value of a returned failure's kind: what is missing or refused here is exit 2.
local EXIT_OF_KIND = { permission = 2, notfound = 2, nodevice = 2, untrusted = 2, secret = 2, hostkey = 2, auth = 2 }

local function raise_returned(codes, v, e, kind)
  if v ~= nil then return v end
  local code = codes[kind] or codes.default or EXIT_OF_KIND[kind] or M.FAILED
  throw(code, tostring(e or "failed"))
end

---A returned failure raised: `v` when it is not nil, else the message `e` raised with exit 2
---for what is missing or refused here (kinds permission, notfound, nodevice, untrusted, secret,
---hostkey, auth), else 3. `local links = err.must(ctys.net.links())`.
---@param v any the first value a function returned
---@param e? string its message when v is nil
---@param kind? string its kind when v is nil
---@return any v
function M.must(v, e, kind)
  if v == nil then
    if e ~= nil and type(e) ~= "string" then throw(M.USAGE, "ctys.err.must: bad argument 'e': expected a string, got " .. type(e)) end
    if kind ~= nil and type(kind) ~= "string" then throw(M.USAGE, "ctys.err.must: bad argument 'kind': expected a string, got " .. type(kind)) end
  end
  return raise_returned({}, v, e, kind)
end

---A `must` with its own exit values: `codes` maps kinds (and `default`) to exit values.
---`local must = err.must_with { exists = err.USAGE, default = err.ENV }`.
---@param codes table<string, integer>
---@return fun(v: any, e?: string, kind?: string): any
function M.must_with(codes)
  if type(codes) ~= "table" then throw(M.USAGE, "ctys.err.must_with: bad argument 'codes': expected a table, got " .. type(codes)) end
  for k, c in pairs(codes) do
    if type(k) ~= "string" or math.type(c) ~= "integer" or c < 1 or c > 125 then
      throw(M.USAGE, "ctys.err.must_with: bad argument 'codes': kind = exit value from 1 to 125, got " .. tostring(k) .. " = " .. tostring(c))
    end
  end
  return function(v, e, kind) return raise_returned(codes, v, e, kind) end
end

---A raised error returned: `f(...)`'s results, or nil, the message and a kind ("usage",
---"env", "failed" for ctys.err errors, 128+N's "signal", "error" for any other).
---@param f function
---@param ... any its arguments
---@return any ...
function M.try(f, ...)
  if type(f) ~= "function" then throw(M.USAGE, "ctys.err.try: bad argument 'f': expected a function, got " .. type(f)) end
  local r = table.pack(pcall(f, ...))
  if r[1] then return table.unpack(r, 2, r.n) end
  local code, msg = M.describe(r[2])
  return nil, msg, M.is(r[2]) and (KIND_OF[code] or (code > 128 and "signal") or "failed") or "error"
end

return M
