---@meta
-- Type stubs for editors (LuaLS / EmmyLua): the native primitives in `ctys.core`.
-- Every function in ctys.core has a stub here; tests/lua/meta_spec.lua fails when one is missing.
-- Scripts normally use the stdlib wrappers (`ctys.sleep`, `ctys.log`, ...), which check arguments.

---@class ctys.core
ctys.core = {}

---The ctys-rs version.
---@type string
ctys.core.version = ""

---Directories searched for Lua modules before the built-in copies, in order.
---@type string[]
ctys.core.lua_path = {}

---Write a message to the host's logger (stderr).
---@param level "error"|"warn"|"info"|"debug"|"trace"
---@param msg string
function ctys.core.log(level, msg) end

---Whether messages of this level are written now.
---@param level "error"|"warn"|"info"|"debug"|"trace"
---@return boolean
function ctys.core.log_enabled(level) end

---Set the most verbose level written.
---@param level "error"|"warn"|"info"|"debug"|"trace"
function ctys.core.set_log_level(level) end

---Module names visible to `require` (site directories and built-in), sorted.
---@param prefix? string only names starting with this
---@return string[]
function ctys.core.modules(prefix) end

---The source of a built-in file, by its path in the source tree.
---@param path string e.g. "stdlib/ctys/log.lua"
---@return string|nil
function ctys.core.embedded(path) end

---Paths of every built-in file.
---@return string[]
function ctys.core.embedded_files() end

---Suspend the calling coroutine for a while (async: other tasks run meanwhile).
---@param seconds number
function ctys.core.sleep(seconds) end

---Run `f(...)` as a task on the host's thread.
---@param f function
---@param ... any
---@return ctys.core.Task
function ctys.core.spawn(f, ...) end

---@class ctys.core.Task
local Task = {}

---Wait for the task; its results, or its error raised.
---@return any ...
function Task:join() end

---Whether the task has finished.
---@return boolean
function Task:done() end

---Cancel the task at its next wait.
function Task:abort() end
