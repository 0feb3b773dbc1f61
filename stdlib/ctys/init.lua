--- The `ctys` global. Submodules load on first use (`ctys.wol` is `require "ctys.wol"`), so
--- one-liners need no `require`; nothing is loaded that nobody asked for.
---@class ctys
---@field core ctys.core the native primitives (Rust)
---@field version string the ctys-rs version
local M = {}

local core = require "ctys.core"
M.core = core
require "ctys.coroutine"
require "ctys.chunks"
M.version = core.version

-- The metatable of a lazily loading namespace: `t.k` requires `prefix.k` once.
local function lazy(prefix)
  return {
    __index = function(t, k)
      if type(k) ~= "string" then return nil end
      local name = prefix .. "." .. k
      local mod = require("ctys.run").try_require(name)
      if mod == nil then
        -- A directory of modules (ctys.actions) is a namespace of its own.
        if #core.modules(name .. ".") == 0 then return nil end
        mod = setmetatable({}, lazy(name))
      end
      rawset(t, k, mod)
      return mod
    end,
  }
end

setmetatable(M, lazy("ctys"))

local function check_seconds(fname, s)
  if type(s) ~= "number" or not require("ctys.check").seconds(s) then
    require("ctys.err").usage("%s: bad argument 'seconds': expected seconds from 0 to %d, got %s",
      fname, core.max_seconds, type(s) == "string" and string.format("%q", s) or tostring(s))
  end
end

---Seconds on a monotonic clock (from an arbitrary start, never going back): subtract two
---readings to time something in wall time (os.clock counts CPU time).
---@return number
function M.now()
  return core.now()
end

---The wall clock: seconds since 1970-01-01 UTC, with fractions (os.time has whole seconds).
---@return number
function M.time()
  return core.time()
end

---Suspend the calling script (or task) for `seconds`; other tasks run meanwhile.
---@param seconds number
function M.sleep(seconds)
  check_seconds("ctys.sleep", seconds)
  core.sleep(seconds)
end

---@class ctys.Task
---@field private task userdata
local Task = {}
Task.__index = Task

---Wait for the task and return its results, or raise its error.
---@return any ...
function Task:join()
  local r = table.pack(self.task:join())
  if r[1] then return table.unpack(r, 2, r.n) end
  error(r[2], 0)
end

---Whether the task has finished.
---@return boolean
function Task:done() return self.task:done() end

---Cancel the task at its next wait.
function Task:abort() self.task:abort() end

---Start `f(...)` as a concurrent task on the host's one thread; it runs whenever the caller waits.
---@param f function
---@param ... any arguments for f
---@return ctys.Task
function M.spawn(f, ...)
  if type(f) ~= "function" then
    require("ctys.err").usage("ctys.spawn: bad argument 'f': expected a function, got %s", type(f))
  end
  local args = table.pack(...)
  return setmetatable({ task = core.spawn(function() return pcall(f, table.unpack(args, 1, args.n)) end) }, Task)
end

---Run the functions concurrently and return the first result of each, in order.
---Every function runs to its end; then the first error, if any, is raised.
---@param fns function[]
---@return any[] results
function M.all(fns)
  if type(fns) ~= "table" then
    require("ctys.err").usage("ctys.all: bad argument 'fns': expected a list of functions, got %s", type(fns))
  end
  local tasks = {}
  for i, f in ipairs(fns) do
    if type(f) ~= "function" then
      require("ctys.err").usage("ctys.all: bad argument 'fns[%d]': expected a function, got %s", i, type(f))
    end
    tasks[i] = M.spawn(f)
  end
  local results, first = {}, nil
  for i, t in ipairs(tasks) do
    local ok, v = pcall(t.join, t)
    if ok then results[i] = v elseif first == nil then first = v end
  end
  if first ~= nil then error(first, 0) end
  return results
end

return M
