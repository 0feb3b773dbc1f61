--- vde_switch: start one as a daemon and talk to its management socket.
---
--- ```lua
--- local sw = assert(ctys.vde.start{ sock = "/var/tmp/vde_switch0.alice", mgmt = "/var/tmp/vde_mgmt0.alice", tap = "tap3" })
--- for _, p in ipairs(sw:ports()) do print(p.port, p.endpoints[1].module, p.endpoints[1].description) end
--- sw:shutdown()
--- ```
---@class ctys.vde
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---@class ctys.vde.Switch
---@field mgmt string the management socket
---@field private session userdata
local Switch = {}
Switch.__index = Switch

---Send one command; its data lines on success (status 1000), else nil, "10xx text" and the
---kind "refused" (the switch said no), or why the session failed (kinds timeout, toolarge, io).
---@param line string e.g. "port/print"
---@return string[]|nil data
---@return string? err
---@return string? kind
function Switch:cmd(line)
  if type(line) ~= "string" then check.bad("ctys.vde.Switch:cmd", "line", "expected a string") end
  local r, e, kind = self.session:cmd(line)
  if not r then return nil, e, kind end
  if r.code ~= 1000 then return nil, string.format("%s: %04d %s", line, r.code, r.text), "refused" end
  return r.data
end

---@class ctys.vde.Port
---@field port integer
---@field active boolean
---@field vlan integer
---@field user? string
---@field endpoints {id: integer, module: string, description: string}[]

---The ports, parsed from `port/print`.
---@return ctys.vde.Port[]|nil
---@return string? err
---@return string? kind
function Switch:ports()
  local data, e, kind = self:cmd("port/print")
  if not data then return nil, e, kind end
  return core.vde_parse_ports(data)
end

---Ports from the data lines of a `port/print` reply (as Switch:cmd returns them).
---@param data string[]
---@return ctys.vde.Port[]
function M.parse_ports(data)
  check.list("ctys.vde.parse_ports", "data", data, "string")
  return core.vde_parse_ports(data)
end

---pid, MAC, uptime, version (from `showinfo`) and numports (from `port/showinfo`).
---@return {pid: integer?, mac: string?, uptime: integer?, version: string?, numports: integer?}|nil
---@return string? err
function Switch:info()
  local a, e = self:cmd("showinfo")
  if not a then return nil, e end
  local b, e2 = self:cmd("port/showinfo")
  if not b then return nil, e2 end
  table.move(b, 1, #b, #a + 1, a)
  return core.vde_parse_info(a)
end

---Ask the switch to exit (it removes its sockets and pid file); true when it said goodbye.
---@return true|nil ok
---@return string? err
function Switch:shutdown()
  local r, e = self.session:cmd("shutdown")
  if not r then return nil, e end
  if r.code ~= 9999 then return nil, string.format("shutdown: %04d %s", r.code, r.text) end
  return true
end

---Close the management session (the switch keeps running).
function Switch:close()
  self.session:close()
end

---Connect to a running switch's management socket. The socket must be trusted: owned by the
---caller, root or one of `owners`, and not writable by others (kind untrusted otherwise);
---each command then gets `timeout` seconds (2) for its whole reply, of at most 1 MiB.
---@param opts {mgmt: string, timeout?: number, owners?: integer[]}
---@return ctys.vde.Switch|nil
---@return string? err
---@return string? kind "notfound"|"untrusted"|"permission"|"timeout"|"toolarge"|"io"
function M.connect(opts)
  check.opts("ctys.vde.connect", opts, { mgmt = "string", timeout = "seconds", owners = "table" }, { "mgmt" })
  local s, e, kind = core.vde_connect(opts.mgmt, opts.timeout, opts.owners)
  if not s then return nil, e, kind end
  return setmetatable({ mgmt = opts.mgmt, session = s }, Switch)
end

---Whether a switch serves the data socket `sock` (what QEMU's `-nic vde,sock=` connects to):
---true, or nil, err and the kind notfound (no socket there, or nobody answers).
---@param sock string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.answers(sock)
  check.arg("ctys.vde.answers", "sock", sock, "string")
  return core.vde_answers(sock)
end

local FILES = { sock = "string", mgmt = "string", pidfile = "string" }

---Check a switch's paths before anything starts: their directories exist (kind notfound) and
---the sockets fit a unix socket address (kind toolarge).
---@param opts {sock: string, mgmt: string, pidfile: string}
---@return true|nil ok
---@return string? err
---@return string? kind
function M.check_paths(opts)
  check.opts("ctys.vde.check_paths", opts, FILES, { "sock", "mgmt", "pidfile" })
  return core.vde_check_paths(opts)
end

---Remove what a dead switch left: its directory (of sockets only), management socket and pid
---file. Each must be trusted (the caller's, root's or one of `owners`') and be what a switch
---leaves; when one is not, nothing is removed. With `dry`, nothing is: the list says what would be.
---@param opts {sock: string, mgmt: string, pidfile: string, owners?: integer[], dry?: boolean}
---@return string[]|nil removed the paths removed
---@return string? err
---@return string? kind
function M.remove_files(opts)
  check.opts("ctys.vde.remove_files", opts, { sock = "string", mgmt = "string", pidfile = "string", owners = "table", dry = "boolean" },
    { "sock", "mgmt", "pidfile" })
  return core.vde_remove(opts)
end

---The pid of the running vde_switch a pid file names, or false when none runs; the file must
---be the caller's or root's (kind untrusted otherwise): only then may it decide what is killed.
---@param pidfile string
---@return integer|false|nil pid
---@return string? err
---@return string? kind
function M.switch_pid(pidfile)
  if type(pidfile) ~= "string" then check.bad("ctys.vde.switch_pid", "pidfile", "expected a path, got %s", type(pidfile)) end
  return core.vde_switch_pid(pidfile)
end

---Give a running switch's sockets to a user and group (directory mode 0700, or 02700 with
---`setgid`); the pid file stays the caller's.
---@param opts {sock: string, mgmt: string, pidfile: string, uid: integer, gid: integer, setgid?: boolean}
---@return true|nil ok
---@return string? err
function M.own(opts)
  check.opts("ctys.vde.own", opts, { sock = "string", mgmt = "string", pidfile = "string", uid = "integer>=0",
    gid = "integer>=0", setgid = "boolean" }, { "sock", "mgmt", "pidfile", "uid", "gid" })
  return core.vde_own(opts)
end

---Start `vde_switch -d` and connect to it (the switch's pid is `sw.pid`). `pidfile` defaults
---to `sock .. ".pid"`.
---@param opts {sock: string, mgmt: string, pidfile?: string, tap?: string, group?: string, mode?: integer, mgmt_mode?: integer, timeout?: number}
---@return ctys.vde.Switch|nil
---@return string? err
---@return string? kind
function M.start(opts)
  check.opts("ctys.vde.start", opts, { sock = "string", mgmt = "string", pidfile = "string", tap = "string",
    group = "string", mode = "integer", mgmt_mode = "integer", timeout = "seconds" }, { "sock", "mgmt" })
  local spec = check.without(opts)
  spec.pidfile = spec.pidfile or (opts.sock .. ".pid")
  local pid, e, kind = core.vde_start(spec)
  if not pid then return nil, e, kind end
  local sw, ce, ckind = M.connect { mgmt = opts.mgmt, timeout = opts.timeout }
  if not sw then
    -- A switch nobody can talk to is not left running.
    core.kill(pid, "SIGTERM")
    return nil, ce, ckind
  end
  sw.pid = pid
  return sw
end

---The path of vde_switch, or nil and how to install it.
---@return string|nil
---@return string? err
function M.find()
  return core.vde_find()
end

---Switch sockets in a directory: switch control directories (with `all`, also every port and
---management socket).
---@param dir string
---@param all? boolean
---@return {path: string, uid: integer, gid: integer, mode: integer, base: boolean}[]
function M.sockets(dir, all)
  if type(dir) ~= "string" then check.bad("ctys.vde.sockets", "dir", "expected a directory path") end
  return core.vde_sockets(dir, all)
end

return M
