--- This machine and this process: the host name, the running executable, terminals, users and
--- groups, other processes, and the Lua modules on the search path. Facts only: what to do with
--- them is the caller's decision.
---@class ctys.system
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---The machine's host name (gethostname), or nil.
---@return string|nil
function M.hostname()
  return core.hostname()
end

---The path of the running executable (what `ctys` was started as, links resolved).
---@return string
function M.exe()
  return core.exe
end

local STREAMS = { stdin = true, stdout = true, stderr = true }

---Whether a standard stream is a terminal.
---@param stream "stdin"|"stdout"|"stderr"
---@return boolean
function M.isatty(stream)
  check.arg("ctys.system.isatty", "stream", stream, "string")
  if not STREAMS[stream] then check.bad("ctys.system.isatty", "stream", "stdin, stdout or stderr, got '%s'", stream) end
  return core.isatty(stream)
end

---A user's uid and primary gid, by name or number; the effective user's when `user` is nil.
---Nothing when there is no such user.
---@param user? string
---@return integer|nil uid
---@return integer|nil gid
function M.user(user)
  check.arg("ctys.system.user", "user", user, "string?")
  return core.uid(user)
end

---A group's gid, by name or number; the effective gid when `group` is nil. Nil when there is no
---such group.
---@param group? string
---@return integer|nil
function M.group(group)
  check.arg("ctys.system.group", "group", group, "string?")
  return core.gid(group)
end

---The name of a uid (default: the effective uid), or nil.
---@param uid? integer
---@return string|nil
function M.user_name(uid)
  check.arg("ctys.system.user_name", "uid", uid, "integer?")
  return core.user_name(uid)
end

---Whether a process exists and is no zombie.
---@param pid integer
---@return boolean
function M.alive(pid)
  check.arg("ctys.system.alive", "pid", pid, "integer")
  return core.pid_alive(pid)
end

local SIGNALS = { SIGTERM = true, SIGKILL = true, SIGINT = true, SIGHUP = true, SIGCONT = true, SIGSTOP = true, SIGUSR1 = true, SIGUSR2 = true }

---Send a signal (SIGTERM by default) to a process; whether it was sent.
---@param pid integer
---@param signal? "SIGTERM"|"SIGKILL"|"SIGINT"|"SIGHUP"|"SIGCONT"|"SIGSTOP"|"SIGUSR1"|"SIGUSR2"
---@return boolean sent
function M.kill(pid, signal)
  check.arg("ctys.system.kill", "pid", pid, "integer")
  check.arg("ctys.system.kill", "signal", signal, "string?")
  if signal and not SIGNALS[signal] then check.bad("ctys.system.kill", "signal", "unknown signal '%s'", signal) end
  return core.kill(pid, signal)
end

---The names of the Lua modules on the search path and built in, starting with `prefix`.
---@param prefix? string e.g. "ctys.stack."
---@return string[]
function M.modules(prefix)
  check.arg("ctys.system.modules", "prefix", prefix, "string?")
  return core.modules(prefix)
end

---The text of a file built into the binary (`lua/ctys/tools/lab/machine.sh`), or nil.
---@param path string its path in the source tree
---@return string|nil
function M.builtin(path)
  check.arg("ctys.system.builtin", "path", path, "string")
  return core.embedded(path)
end

return M
