--- How the host runs Lua code: every error becomes an exit value, a message and a traceback
--- that ends at the user's code (the frames of this wrapper are cut off). Errors raised through
--- `ctys.err` (bad parameters, missing tools) are for users, not programmers: their traceback
--- is shown only at log level debug (`-d 2`, RUST_LOG=debug).
---@class ctys.run
local M = {}

local err = require "ctys.err"
local core = require "ctys.core"

local function describe(e)
  local code, msg = err.describe(e)
  local tb
  if not err.is(e) or core.log_enabled("debug") then
    tb = debug.traceback("", 4):gsub("^\n", ""):gsub("\n\t%[C%]: in function 'xpcall'.*$", "")
  end
  return { code = code, msg = msg, tb = tb }
end

-- Made beforehand: after a memory error there may be no memory left to describe it with.
local NO_MEMORY = { code = err.USAGE, msg = "not enough memory: the script went past the Lua state's limit" }
local NO_TEXT = { code = err.USAGE, msg = "an error whose message could not be made (its __tostring failed)" }

local function handler(e)
  local ok, r = pcall(describe, e)
  if ok then return r end
  -- Lua's own memory error is this fixed text; anything else failed to describe itself.
  return r == "not enough memory" and NO_MEMORY or NO_TEXT
end

---Call `f(...)`; on success return `true, results...`, on error `false, code, message, traceback|nil`.
---@param f function
---@param ... any arguments for f
---@return boolean ok
---@return any ...
function M.protect(f, ...)
  -- ctys.check only on misuse: every run starts here, and start-up time counts.
  if type(f) ~= "function" then require("ctys.check").arg("ctys.run.protect", "f", f, "function") end
  local r = table.pack(xpcall(f, handler, ...))
  if r[1] then return table.unpack(r, 1, r.n) end
  local e = r[2]
  -- Lua calls no message handler for a memory error: its message comes here as it is.
  if type(e) ~= "table" then e = { code = err.USAGE, msg = tostring(e) } end
  return false, e.code, e.msg, e.tb
end

---`require(name)`, but a module that does not exist gives nil instead of an error
---(a module that exists and fails to load still raises).
---@param name string module name
---@return any|nil module
function M.try_require(name)
  if type(name) ~= "string" then require("ctys.check").arg("ctys.run.try_require", "name", name, "string") end
  local ok, mod = pcall(require, name)
  if ok then return mod end
  if tostring(mod):find("module '" .. name .. "' not found", 1, true) == 1 then return nil end
  error(mod, 0)
end

return M
