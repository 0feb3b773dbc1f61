--- Remote execution over SSH: one command on many hosts, concurrently, with host keys checked.
---
--- ```lua
--- for _, r in ipairs(ctys.remote.exec{ hosts = { "root@lab01", "lab02:2222" }, cmd = "uptime", timeout = 10 }) do
---   print(r.host, r.status, r.err or r.stdout)
--- end
--- ```
---@class ctys.remote
local M = {}

local core = require "ctys.core"

---@class ctys.remote.ExecOpts
---@field hosts string|string[]|ctys.net.Target[] `[user@]host[:port]` strings or target tables (groups: expand them with ctys.groups.hosts)
---@field cmd string command line for the remote POSIX shell
---@field timeout? number seconds; then the remote process group gets SIGTERM and the host fails
---@field connect_timeout? number seconds for TCP connect, SSH handshake and authentication (10)
---@field fanout? integer hosts at once (64)
---@field user? string default user (a host's own `user@` wins)
---@field port? integer default port (a host's own `:port` wins)
---@field identity? string identity file, tried before ~/.ssh/config's and the defaults
---@field known_hosts? string known_hosts file (default from ~/.ssh/config, else ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict, or ssh_config's)
---@field config? string ssh_config file or "none" (default ~/.ssh/config)
---@field stdin? string data for the command's stdin
---@field forward_stdin? boolean stream this process's standard input to every host as it arrives, instead of `stdin` (a host that falls 1 MiB behind holds the reading back; hosts waiting for a fan-out slot keep at most 64 MiB)
---@field env? table<string,string> environment for the command
---@field pty? boolean run under a pseudo-terminal (stdout and stderr arrive merged)
---@field on_line? fun(host: string, stream: "stdout"|"stderr", line: string) each output line as it arrives
---@field progress? boolean show live progress on a terminal (default true; never when stderr is not one)
---@field max_output? integer the most bytes of output kept per host (64 MiB); past it the command is ended and the host fails with kind toolarge
---@field fresh? boolean a new connection, not a kept one (and not kept after): whether SSH answers now
---@field topology? string|false topology.conf (ClusterShell's format, ctys.topology) whose gateways reach the hosts: default $CTYS_TOPOLOGY, else ~/.ctys/topology.conf when there is one; false: none. Hosts behind a gateway run `ctys --gateway` there; `forward_stdin` and `fresh` apply to the hosts reached directly only (the others read an empty stdin), `pty` to none
---@field gateway_cmd? string what runs ctys on a gateway (default $CTYS_REMOTE_CMD, else ctys.remote.installed("ctys"))

local check = require "ctys.check"

local OPTS = {
  cmd = "string", timeout = "seconds", connect_timeout = "seconds", fanout = "integer", user = "string", port = "port",
  identity = "string", known_hosts = "string", strict = { "strict", "accept-new", "off" }, config = "string",
  stdin = "string", env = "table", pty = "boolean", on_line = "function", progress = "boolean", hosts = "any",
  max_output = "integer", fresh = "boolean", forward_stdin = "boolean", topology = "any", gateway_cmd = "string",
}
local LUA_OPTS = check.without(OPTS, "cmd", "stdin", "forward_stdin", "topology", "gateway_cmd")
LUA_OPTS.chunk, LUA_OPTS.remote_cmd = "string", "string"

-- A target table checked before anything connects: the host an address or a host name
-- (ctys.net.valid_host), the user a name (letters, digits, '_', '.', '-', '$', not starting
-- with '-'), the port 1-65535; a copy with those fields only.
local function target_of(fname, name, t)
  if type(t) ~= "table" then check.bad(fname, name, "expected a target table, got %s", type(t)) end
  if not require("ctys.net").valid_host(t.host) then
    check.bad(fname, name .. ".host", "%s is not an address or host name", type(t.host) == "string" and check.shown(t.host) or type(t.host))
  end
  if t.user ~= nil and (type(t.user) ~= "string" or #t.user > 255 or not t.user:match("^[%w_.$][%w_.%-$]*$")) then
    check.bad(fname, name .. ".user", "%s is not a user name", type(t.user) == "string" and check.shown(t.user) or type(t.user))
  end
  if t.port ~= nil and not (math.type(t.port) == "integer" and t.port >= 1 and t.port <= 65535) then
    check.bad(fname, name .. ".port", "expected a port number (1-65535), got %s", tostring(t.port))
  end
  return { host = t.host, user = t.user, port = t.port }
end

-- One host as a target table: a string is `[user@]host[:port]` (ctys.net.parse_target).
-- Groups and expressions are the ctys layer's: they come here expanded (ctys.groups.hosts).
local function host_arg(fname, name, h)
  if type(h) == "string" then
    if h:find("^@") or h:find("[,!&^()]") or h:find(".%[") then
      check.bad(fname, name, "'%s' is a group or an expression: expand it with ctys.groups.hosts first", h)
    end
    local t, why = require("ctys.net").parse_target(h)
    if not t then check.bad(fname, name, "'%s': %s", h, why) end
    h = t
  elseif type(h) ~= "table" then
    check.bad(fname, name, "expected a host string or a target table, got %s", type(h))
  end
  return target_of(fname, name, h)
end

-- One target table per host given, in order (duplicates too).
local function hosts_of(fname, hosts)
  if type(hosts) == "string" then hosts = { hosts } end
  if type(hosts) ~= "table" or #hosts == 0 then check.bad(fname, "hosts", "expected a non-empty list of hosts") end
  local out = {}
  for i, h in ipairs(hosts) do out[i] = host_arg(fname, "hosts[" .. i .. "]", h) end
  return out
end

-- Live progress on stderr for fan-outs that run longer than a second, only on a terminal.
local function progress_printer()
  local shown = false
  return function(done, failed, running, elapsed)
    if elapsed < 1 then return end
    shown = true
    io.stderr:write(string.format("\rctys: %d done, %d failed, %d running (%.0f s)\27[K", done, failed, running, elapsed))
  end, function()
    if shown then io.stderr:write("\r\27[K") end
  end
end

---A ctys program on a host, as a command line for its shell: `name` from the PATH there, else
---the copy ctys-distribute leaves in ~/.ctys/bin.
---@param name string e.g. "ctys", "ctys-vnetctl"
---@return string
function M.installed(name)
  check.arg("ctys.remote.installed", "name", name, "string")
  return string.format([[sh -c 'command -v %s >/dev/null 2>&1 && exec %s "$@"; exec "$HOME/.ctys/bin/%s" "$@"' %s]], name, name, name, name)
end

-- The gateways of each target through the topology `exec` was given (or the default one):
-- routes by target index, nil when none has a gateway; nil, err, kind for a bad file.
local function routes_of(fname, opts, targets)
  local path = opts.topology
  if path == false then return nil end
  if path ~= nil and (type(path) ~= "string" or path == "") then
    check.bad(fname, "topology", "expected a file name or false, got %s", path == "" and "an empty string" or tostring(path))
  end
  if path == nil then
    path = os.getenv("CTYS_TOPOLOGY")
    if not path or path == "" then
      local home = os.getenv("HOME")
      path = home and home .. "/.ctys/topology.conf"
      if not (path and core.fs_stat(path)) then return nil end
    end
  end
  local topology = require "ctys.topology"
  local topo, e, kind = topology.load(path)
  if not topo then return nil, e, kind end
  local root = require("ctys.system").hostname() or ""
  local routes, any = {}, false
  for i, t in ipairs(targets) do
    local via, re, rkind = topology.route(topo, t.host, root)
    if not via then return nil, re, rkind end
    routes[i], any = via, any or #via > 0
  end
  if any then return routes end
end

-- The command that runs ctys on a gateway.
local function gateway_cmd(opts)
  return opts.gateway_cmd or os.getenv("CTYS_REMOTE_CMD") or M.installed("ctys")
end

---Run one command on many hosts at once. Misuse raises; a host that fails (unreachable, host
---key refused, authentication, timeout, non-zero exit) is reported in its result, never raised.
---@param opts ctys.remote.ExecOpts
---@return ctys.core.RemoteResult[]|nil results one per host, in the order given
---@return string? err when ~/.ssh/config (or `config`), or the topology, cannot be read
---@return string? kind
function M.exec(opts)
  check.opts("ctys.remote.exec", opts, OPTS, { "hosts", "cmd" })
  local spec = check.without(opts, "hosts", "progress", "topology", "gateway_cmd")
  spec.targets = hosts_of("ctys.remote.exec", opts.hosts)
  local routes, re, rkind = routes_of("ctys.remote.exec", opts, spec.targets)
  if re then return nil, re, rkind end
  if routes then
    if opts.pty then check.bad("ctys.remote.exec", "pty", "does not go through gateways (the topology routes some hosts)") end
    spec.routes, spec.gateway_cmd = routes, gateway_cmd(opts)
  end
  for k, v in pairs(opts.env or {}) do
    if type(k) ~= "string" or type(v) ~= "string" or not k:match("^[%a_][%w_]*$") then
      check.bad("ctys.remote.exec", "env", "expected NAME = \"value\" strings, got %s = %s", tostring(k), tostring(v))
    end
  end
  local finish
  if opts.progress ~= false and core.isatty("stderr") then spec.on_progress, finish = progress_printer() end
  local res, e = core.remote_exec(spec)
  if finish then finish() end
  return res, e
end

---@class ctys.remote.CopyOpts
---@field hosts string|string[]|ctys.net.Target[] as for exec
---@field src string|string[] local files and directories (directories go recursively)
---@field dest string the path on each host: a directory when it is one there, ends with `/` or several sources are given (then made when missing); else the copy's own name
---@field mode? integer permission bits of the copies (default: the sources')
---@field preserve? boolean keep the sources' modification times
---@field timeout? number seconds each SFTP operation may take (30); a host that stalls fails alone
---@field fanout? integer hosts at once (64)
---@field connect_timeout? number
---@field user? string
---@field port? integer
---@field identity? string
---@field known_hosts? string
---@field strict? "strict"|"accept-new"|"off"
---@field config? string
---@field topology? string|false as for exec: the sources go to each first-level gateway once (a private directory in its /tmp, removed after), which copies them on
---@field gateway_cmd? string as for exec

local SSH = { hosts = "any", timeout = "seconds", fanout = "integer", connect_timeout = "seconds", user = "string", port = "port",
  identity = "string", known_hosts = "string", strict = { "strict", "accept-new", "off" }, config = "string" }
local COPY_OPTS = check.without(SSH)
COPY_OPTS.src, COPY_OPTS.dest, COPY_OPTS.mode, COPY_OPTS.preserve = "any", "string", "integer", "boolean"
COPY_OPTS.topology, COPY_OPTS.gateway_cmd = "any", "string"
local FETCH_OPTS = check.without(SSH)
FETCH_OPTS.src, FETCH_OPTS.dest = "string", "string"

---Copy local files and directories to many hosts over SFTP (the sessions `exec` keeps), as
---pdcp and `clush -c` do: each file is streamed to a temporary name beside its final one and
---moved into place whole, so a reader on the host never sees half a file; a host that fails
---(unreachable, disk full, read-only, gone mid-copy) keeps what it had and is reported in its
---result, the others complete. A missing source is nil, err, "notfound" before anything connects.
---@param opts ctys.remote.CopyOpts
---@return ctys.core.CopyResult[]|nil results one per host, in the order given
---@return string? err
---@return string? kind
function M.copy(opts)
  check.opts("ctys.remote.copy", opts, COPY_OPTS, { "hosts", "src", "dest" })
  local srcs = type(opts.src) == "string" and { opts.src } or opts.src
  check.list("ctys.remote.copy", "src", srcs, "string")
  if #srcs == 0 then check.bad("ctys.remote.copy", "src", "expected at least one file") end
  if opts.dest == "" then check.bad("ctys.remote.copy", "dest", "expected a path") end
  if opts.mode and (opts.mode < 0 or opts.mode > 4095) then check.bad("ctys.remote.copy", "mode", "permission bits 0-4095, got %d", opts.mode) end
  for _, s in ipairs(srcs) do
    local st = core.fs_stat(s)
    if not st then return nil, check.cut(s) .. ": no such file or directory", "notfound" end
  end
  local spec = check.without(opts, "hosts", "topology", "gateway_cmd")
  spec.src, spec.targets = srcs, hosts_of("ctys.remote.copy", opts.hosts)
  local routes, re, rkind = routes_of("ctys.remote.copy", opts, spec.targets)
  if re then return nil, re, rkind end
  if routes then spec.routes, spec.gateway_cmd = routes, gateway_cmd(opts) end
  return core.remote_copy(spec)
end

---Fetch a file or directory from many hosts over SFTP into `dest/<host>/<name>` (rpdcp,
---`clush --rcopy`), streamed to a temporary name and renamed when whole.
---@param opts {hosts: string|string[]|ctys.net.Target[], src: string, dest: string, timeout?: number, fanout?: integer, connect_timeout?: number, user?: string, port?: integer, identity?: string, known_hosts?: string, strict?: "strict"|"accept-new"|"off", config?: string}
---@return ctys.core.CopyResult[]|nil results one per host, in the order given
---@return string? err
---@return string? kind
function M.fetch(opts)
  check.opts("ctys.remote.fetch", opts, FETCH_OPTS, { "hosts", "src", "dest" })
  local spec = check.without(opts, "hosts")
  spec.targets = hosts_of("ctys.remote.fetch", opts.hosts)
  return core.remote_fetch(spec)
end

---@class ctys.remote.ConsoleOpts
---@field host string|ctys.net.Target `[user@]host[:port]` or a target table
---@field cmd? string command for the remote shell (default: the login shell)
---@field pty? boolean request a pty (default: when stdin is a terminal, as ssh does)
---@field user? string default user (the host's own `user@` wins)
---@field port? integer default port (the host's own `:port` wins)
---@field identity? string identity file, tried before ~/.ssh/config's and the defaults
---@field known_hosts? string known_hosts file (default from ~/.ssh/config, else ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict, or ssh_config's)
---@field config? string ssh_config file or "none" (default ~/.ssh/config)
---@field connect_timeout? number seconds for TCP connect, SSH handshake and authentication (10)

local CONSOLE_OPTS = {
  host = "any", cmd = "string", pty = "boolean", user = "string", port = "port", identity = "string",
  known_hosts = "string", strict = { "strict", "accept-new", "off" }, config = "string", connect_timeout = "seconds",
}

---Close the SSH sessions kept for reuse. `exec` (and what uses it: the relay, run_lua) keeps one
---session per user, host, port and identity after each use and hands it to the next call for that
---host, re-opening one that broke meanwhile; they close at exit anyway. How many were closed.
---@return integer
function M.close_sessions()
  return core.remote_close_all()
end

---@class ctys.remote.SessionOpts
---@field host string|ctys.net.Target `[user@]host[:port]` or a target table
---@field user? string default user (the host's own `user@` wins)
---@field port? integer default port (the host's own `:port` wins)
---@field identity? string identity file, tried before ~/.ssh/config's and the defaults
---@field known_hosts? string known_hosts file (default from ~/.ssh/config, else ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict, or ssh_config's)
---@field config? string ssh_config file or "none" (default ~/.ssh/config)
---@field connect_timeout? number seconds for TCP connect, SSH handshake and authentication (10)

local SESSION_OPTS = check.without(CONSOLE_OPTS, "cmd", "pty")

---A lasting session to one host: its connection is kept, and every call made through it
---(exec, copy, fetch, run_lua) runs on that connection with these options.
---@class ctys.remote.Session
---@field host string the host as given
---@field target ctys.net.Target
---@field private opts table
local Session = {}
Session.__index = Session

-- `f` (M.exec and its kin) with the call's options over the session's, `key` set to `value`,
-- on the session's one host: that host's result.
local function on_host(self, name, f, call, key, value)
  local fname = "ctys.remote.Session:" .. name
  if call ~= nil and type(call) ~= "table" then check.bad(fname, "opts", "expected a table, got %s", type(call)) end
  if call and call.hosts ~= nil then check.bad(fname, "opts.hosts", "a session has its one host") end
  local o = check.without(self.opts, "host")
  for k, v in pairs(call or {}) do o[k] = v end
  o.hosts = { self.target }
  if key then o[key] = value end
  local res, e, kind = f(o)
  return res and res[1], e, kind
end

---Run a command on the session's host: its result (as one of ctys.remote.exec's).
---@param cmd string
---@param opts? ctys.remote.ExecOpts without hosts and cmd
---@return ctys.core.RemoteResult|nil
---@return string? err
function Session:exec(cmd, opts)
  check.arg("ctys.remote.Session:exec", "cmd", cmd, "string")
  return on_host(self, "exec", M.exec, opts, "cmd", cmd)
end

---Copy local files to the session's host (ctys.remote.copy).
---@param opts ctys.remote.CopyOpts without hosts
---@return ctys.core.CopyResult|nil
---@return string? err
---@return string? kind
function Session:copy(opts)
  return on_host(self, "copy", M.copy, opts)
end

---Fetch a path from the session's host into `dest/<host>/` (ctys.remote.fetch).
---@param opts {src: string, dest: string, timeout?: number}
---@return ctys.core.CopyResult|nil
---@return string? err
---@return string? kind
function Session:fetch(opts)
  return on_host(self, "fetch", M.fetch, opts)
end

---Run a Lua chunk with `ctys` on the session's host (ctys.remote.run_lua).
---@param chunk string
---@param opts? {remote_cmd?: string, timeout?: number}
---@return ctys.remote.LuaResult|nil
---@return string? err
function Session:run_lua(chunk, opts)
  check.arg("ctys.remote.Session:run_lua", "chunk", chunk, "string")
  return on_host(self, "run_lua", M.run_lua, opts, "chunk", chunk)
end

---Close the session's connection (a later call through it connects again); how many were closed.
---@return integer
function Session:close()
  local spec = check.without(self.opts, "host")
  spec.target = self.target
  return core.remote_disconnect(spec)
end

---Open a lasting session to one host now (so a bad host, key or password shows here, once),
---for scripts that talk to one host many times. Misuse raises; a host that cannot be reached
---returns nil, err, kind.
---
---```lua
---local s = assert(ctys.remote.session{ host = "root@lab01" })
---print(s:exec("uname -r").stdout)
---s:copy{ src = "site.conf", dest = "/etc/site/" }
---s:close()
---```
---@param opts ctys.remote.SessionOpts
---@return ctys.remote.Session|nil
---@return string? err
---@return string? kind "resolve"|"connect"|"hostkey"|"auth"|"timeout"|"cancelled"|"ssh"
function M.session(opts)
  check.opts("ctys.remote.session", opts, SESSION_OPTS, { "host" })
  local target = host_arg("ctys.remote.session", "host", opts.host)
  local spec = check.without(opts, "host")
  spec.target = target
  local ok, e, kind = core.remote_connect(spec)
  if not ok then return nil, e, kind end
  return setmetatable({ host = type(opts.host) == "string" and opts.host or target.host, target = target, opts = check.without(opts) }, Session)
end

---Where SSH goes for one host, with ~/.ssh/config applied (its HostName, Port and User over the
---host's own `user@` and `:port`): what a probe of that host should knock on. Nothing is sent
---and no resolver is asked. A config that cannot be read returns nil, err, kind.
---@param opts {host: string|ctys.net.Target, user?: string, port?: integer, config?: string}
---@return {host: string, port: integer, user: string}|nil
---@return string? err
---@return string? kind
function M.where(opts)
  check.opts("ctys.remote.where", opts, { host = "any", user = "string", port = "port", config = "string" }, { "host" })
  local spec = check.without(opts, "host")
  spec.target = host_arg("ctys.remote.where", "host", opts.host)
  return core.remote_where(spec)
end

---An interactive session on one host (like `ssh host`, or `ssh -t host cmd`): it owns the
---terminal (raw mode, restored afterwards) until the remote side ends, and forwards window
---size changes. Misuse raises; a host that cannot be reached returns nil, err, kind.
---@param opts ctys.remote.ConsoleOpts
---@return integer|nil status the remote exit status; 128 + N when signal N ended it
---@return string? signal_or_err the signal's name (`TERM`) when one ended it; else why it failed
---@return string? kind on failure: "resolve"|"connect"|"hostkey"|"auth"|"timeout"|"cancelled"|"ssh"
function M.console(opts)
  check.opts("ctys.remote.console", opts, CONSOLE_OPTS, { "host" })
  local spec = check.without(opts, "host")
  spec.target = host_arg("ctys.remote.console", "host", opts.host)
  -- What the script wrote so far must appear before the session's output.
  io.stdout:flush()
  return core.remote_console(spec)
end

-- What a run_lua result line starts with; the serialized results follow it.
local MARK = "\n--ctys-run-lua-results--\n"

-- The chunk ctys runs on the remote side: run the user's chunk, then print its results.
local WRAPPER = [[
local f, e = load(%q, "=run_lua", "t")
local r = f and table.pack(pcall(f)) or { false, e, n = 2 }
if not r[1] then r = { false, tostring(r[2]), n = 2 } end
io.stdout:write(%q, require("ctys.serial").encode(r), "\n")
]]

---@class ctys.remote.LuaResult : ctys.core.RemoteResult
---@field ok? boolean whether the chunk ran without error (nil when the host failed first)
---@field values? any[] the chunk's return values (`n` holds their count), or its error message

---Run a Lua chunk with `ctys` on each host (the chunk goes over stdin) and return its results.
---The remote command is `remote_cmd` (default `ctys`), with ` -` appended.
---@param opts ctys.remote.ExecOpts|{chunk: string, remote_cmd?: string}
---@return ctys.remote.LuaResult[]|nil
---@return string? err
function M.run_lua(opts)
  check.opts("ctys.remote.run_lua", opts, LUA_OPTS, { "hosts", "chunk" })
  local spec = check.without(opts, "chunk", "remote_cmd")
  spec.cmd = (opts.remote_cmd or "ctys") .. " -"
  spec.stdin = string.format(WRAPPER, opts.chunk, MARK)
  local res, e = M.exec(spec)
  if not res then return nil, e end
  local serial = require "ctys.serial"
  for _, r in ipairs(res) do
    local at = r.stdout:find(MARK, 1, true)
    if at then
      local values, derr = serial.decode((r.stdout:sub(at + #MARK):gsub("\n$", "")))
      r.stdout = r.stdout:sub(1, at - 1)
      if type(values) == "table" then
        r.ok = values[1]
        r.values = table.pack(table.unpack(values, 2, values.n or #values))
      elseif not r.err then
        r.err = r.host .. ": unreadable results from the remote ctys: " .. tostring(derr)
      end
    elseif not r.err then
      r.err = string.format("%s: the remote ctys printed no results (exit %s): %s", r.host,
        tostring(r.status or r.signal), (r.stderr:gsub("%s+$", "")))
    end
  end
  return res
end

return M
