--- Lua chunks as ctys loads them. `load`, `loadfile` and `dofile` take source text unless a
--- binary chunk is asked for by mode ("b", "bt"): a corrupt binary chunk can crash Lua itself.
--- Data files written in Lua (machines.lua, ...) run in an empty environment with a budget of
--- instructions, so one with `while true do end` is an error, not a hang. Loaded by `ctys`.
---@class ctys.chunks
local M = {}

-- ctys.check on first use: every script starts through this module, most never misuse it.
local check = setmetatable({}, { __index = function(_, k) return require("ctys.check")[k] end })
local core = require "ctys.core"
local raw_load, raw_loadfile = load, loadfile

---`load`, with mode "t" unless another is given. An `env` given (nil too) is passed on, as
---plain `load` does: `load(s, n, "t", nil)` gives the chunk no globals.
---@param chunk string|function
---@param name? string
---@param mode? "t"|"b"|"bt"
---@param ... table env
---@return function|nil
---@return string? err
function M.load(chunk, name, mode, ...)
  check.arg("ctys.chunks.load", "chunk", chunk, "string|function")
  check.arg("ctys.chunks.load", "name", name, "string?")
  check.arg("ctys.chunks.load", "mode", mode, "string?")
  return raw_load(chunk, name, mode or "t", ...)
end

---`loadfile`, with mode "t" unless another is given (an `env` given is passed on).
---@param filename? string
---@param mode? "t"|"b"|"bt"
---@param ... table env
---@return function|nil
---@return string? err
function M.loadfile(filename, mode, ...)
  check.arg("ctys.chunks.loadfile", "filename", filename, "string?")
  check.arg("ctys.chunks.loadfile", "mode", mode, "string?")
  return raw_loadfile(filename, mode or "t", ...)
end

---`dofile` for source text only.
---@param filename? string
---@return any ...
function M.dofile(filename)
  check.arg("ctys.chunks.dofile", "filename", filename, "string?")
  local f, e = raw_loadfile(filename, "t")
  if not f then error(e, 2) end
  return f()
end

---How many VM instructions a data chunk may take (far more than any real machines file).
M.DATA_BUDGET = 10000000

---How much more memory a data chunk may take (64 MiB).
M.DATA_MEMORY = 64 * 1024 * 1024

-- What a data file's strings may do: no repetition and no pattern matching, which run in C,
-- where no instruction budget can stop them.
local SAFE_STRING = {}
for _, k in ipairs { "byte", "char", "len", "lower", "upper", "sub", "reverse" } do SAFE_STRING[k] = string[k] end

---Run a data chunk (source text) in the environment `env` (an empty table when nil) with a
---budget of instructions and of memory, its strings without repetition or pattern matching
---(C code no budget can stop); its first result, or nil and why it failed (a syntax error, an
---error it raised, a budget spent).
---@param src string
---@param name string chunk name, e.g. "@/etc/ctys/machines.lua"
---@param env? table
---@param budget? integer instructions (M.DATA_BUDGET)
---@return any|nil value
---@return string? err
function M.data(src, name, env, budget)
  if type(src) ~= "string" then check.bad("ctys.chunks.data", "src", "expected a string, got %s", type(src)) end
  if type(name) ~= "string" then check.bad("ctys.chunks.data", "name", "expected a string, got %s", type(name)) end
  if env ~= nil and type(env) ~= "table" then check.bad("ctys.chunks.data", "env", "expected a table, got %s", type(env)) end
  if budget ~= nil and (math.type(budget) ~= "integer" or budget < 1) then
    check.bad("ctys.chunks.data", "budget", "expected a positive integer, got %s", tostring(budget))
  end
  local f, e = raw_load(src, name, "t", env or {})
  if not f then return nil, e end
  budget = budget or M.DATA_BUDGET
  local co = coroutine.create(f)
  local spent = string.format("%s: stopped after %d instructions (a data file must not loop)", name:gsub("^[@=]", ""), budget)
  debug.sethook(co, function() error(spent, 0) end, "", budget)
  local strings = getmetatable("")
  local index = strings.__index
  local limit, used = core.memory_limit()
  strings.__index = SAFE_STRING
  core.memory_limit(math.min(limit > 0 and limit or math.maxinteger, used + M.DATA_MEMORY))
  local ok, v = coroutine.resume(co)
  core.memory_limit(limit)
  strings.__index = index
  debug.sethook(co)
  if not ok then return nil, tostring(v) end
  if coroutine.status(co) ~= "dead" then return nil, name:gsub("^[@=]", "") .. ": a data file must not yield" end
  return v
end

load, loadfile, dofile = M.load, M.loadfile, M.dofile

return M
