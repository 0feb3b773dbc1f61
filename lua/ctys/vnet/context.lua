--- What a ctys-vnetctl command acts on: the user, the switch's sockets and pid file, the state
--- file create leaves for cancel (trusted only when the caller or root owns it), and how it talks.
---@class ctys.vnet.context
local M = {}

local check = require "ctys.check"
local system = require "ctys.system"
local err = require "ctys.err"
local fs = require "ctys.fs"
local net = require "ctys.net"
local vde = require "ctys.vde"

-- Where root keeps its state files (unless CTYS_STATE_DIR says otherwise).
local ROOT_STATE = "/run/ctys/vnetctl"

---Say a step on stderr with -d (results go to stdout).
---@param ctx table
---@param fmt string
---@param ... any
function M.step(ctx, fmt, ...)
  check.arg("ctys.vnet.context.step", "ctx", ctx, "table")
  check.arg("ctys.vnet.context.step", "fmt", fmt, "string")
  if ctx.debug >= 1 then io.stderr:write("ctys-vnetctl: ", string.format(fmt, ...), "\n") end
end

---A kernel refusal raised: exit 2 (permission: needs CAP_NET_ADMIN, missing device, ...), a
---name that exists already exit 1.
M.must = err.must_with { exists = err.USAGE, default = err.ENV }

-- A path given for a socket (or, with `dir`, the directory of the default ones): absolute,
-- without control characters, and for a socket ending in a name: the pid file and the state
-- file are named after it.
local function socket_path(p, what, dir)
  local base = p:match("([^/]*)$")
  if p:sub(1, 1) ~= "/" or p:find("%c") or (not dir and (base == "" or base == "." or base == "..")) then
    err.usage("bad %s '%s': an absolute path%s, without control characters", what, p, dir and "" or " ending in a name")
  end
  return p
end

-- An interface name from the command line, as the kernel would take it.
local function ifname(v, opt)
  if not net.valid_name(v) then err.usage("bad interface name '%s' (%s): 1 to 15 bytes, no '/', ':' or blanks", v, opt) end
  return v
end

---What a command acts on, from the command line's options: the user (-u) and groups, the
---switch's sockets and pid file, the state file, the bridge (-b) and interface (-i), -f, -n,
----X and the debug level. Bad values are usage errors (exit 1).
---@param opts table the options getopt read
---@param command string
---@return table ctx
function M.of(opts, command)
  check.arg("ctys.vnet.context.of", "opts", opts, "table")
  check.arg("ctys.vnet.context.of", "command", command, "string")
  local sockbase = socket_path(require("ctys.paths").env("CTYS_SOCKBASE") or "/var/tmp", "CTYS_SOCKBASE", true)
  if opts.u and not (opts.u:match("^[^.]+$") or opts.u:match("^[^.]+%.[^.]+$")) then
    err.usage("bad -u '%s': USER or USER.GROUP", opts.u)
  end
  local user, group = (opts.u or ""):match("^([^.]*)%.?(.*)$")
  if user == "" then user = os.getenv("USER") or system.user_name() or "root" end
  if group == "" then group = nil end
  local uid, primary_gid = system.user(user)
  if not uid then err.usage("no user named '%s' (-u)", user) end
  local gid = group and system.group(group)
  if group and not gid then err.usage("no group named '%s' (-u)", group) end
  local sg = opts.g or nil
  if sg and not system.group(sg) then err.usage("no group named '%s' (-g)", sg) end
  local sock = socket_path(opts.s or (sockbase:gsub("/$", "") .. "/vde_switch0." .. user), "switch socket directory (-s)")
  local mgmt = socket_path(opts.S or (sockbase:gsub("/$", "") .. "/vde_mgmt0." .. user), "management socket (-S)")
  -- One path for two things would have the switch (or a removal) take the other's file.
  local norm = function(p)
    local parts = {}
    for c in p:gmatch("[^/]+") do
      if c ~= "." then parts[#parts + 1] = c end
    end
    return "/" .. table.concat(parts, "/")
  end
  if norm(mgmt) == norm(sock) or norm(mgmt) == norm(sock .. ".pid") then
    err.usage("the management socket '%s' (-S) is the switch's %s", mgmt, norm(mgmt) == norm(sock) and "directory (-s)" or "pid file")
  end
  local debug = 0
  if opts.d then
    debug = math.tointeger(tonumber(opts.d)) or err.usage("bad debug level '%s' (-d)", opts.d)
  end
  -- Root keeps what cancel will act on where nobody else can write (sockbase is shared), as
  -- does anyone who names a state directory; the file is named after the switch directory,
  -- so several sockbases never meet.
  local statefile = sock .. ".ctys"
  local statedir = require("ctys.paths").env("CTYS_STATE_DIR") or (fs.euid() == 0 and ROOT_STATE) or nil
  if statedir then
    statefile = statedir .. "/" .. sock:gsub("%%", "%%25"):gsub("/", "%%2F") .. ".state"
  end
  return {
    command = command, user = user, group = group, uid = uid, gid = gid or primary_gid,
    setgid_group = sg, sock = sock, mgmt = mgmt,
    pidfile = sock .. ".pid", statefile = statefile, statedir = statedir, sockbase = sockbase,
    bridge = opts.b and ifname(opts.b, "-b") or nil, iface = opts.i and ifname(opts.i, "-i") or nil, force = opts.f == true, dry = opts.n == true,
    terse = opts.X == true, debug = debug,
  }
end

---The switch's files: sock, mgmt, pidfile.
---@param ctx table
---@return table
function M.files(ctx)
  check.arg("ctys.vnet.context.files", "ctx", ctx, "table")
  return { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile }
end

---The files a dead switch leaves, for removal: the -u user's count as ours (create gave
---them away).
---@param ctx table
---@return table
function M.stale(ctx)
  check.arg("ctys.vnet.context.stale", "ctx", ctx, "table")
  local f = M.files(ctx)
  f.owners = { ctx.uid }
  return f
end

---The switch, when one answers: its sockets belong to the -u user (create gives them away),
---so that user's are trusted too, besides the caller's and root's. Nil and why otherwise.
---@param ctx table
---@return ctys.vde.Switch|nil
---@return string? err
function M.open_switch(ctx)
  check.arg("ctys.vnet.context.open_switch", "ctx", ctx, "table")
  return vde.connect { mgmt = ctx.mgmt, timeout = 1, owners = { ctx.uid } }
end

-- What create made (tap, bridge, created_bridge, iface): cancel acts on it, so it is read only
-- from a file the caller (or root) owns and nobody else may write, and each field is checked.
local STATE_FIELDS = { tap = "string", bridge = "string", iface = "string", created_bridge = "boolean" }

---What create made, for cancel ({} when there is no state file); exit 2 for an untrusted or
---malformed one.
---@param ctx table
---@return table
function M.read_state(ctx)
  check.arg("ctys.vnet.context.read_state", "ctx", ctx, "table")
  local text, e, kind = fs.read(ctx.statefile, { trusted = true, max = 65536 })
  if not text then
    if kind == "notfound" then return {} end
    err.env("%s; nothing done", e)
  end
  local ok, state = pcall(require("ctys.serial").decode, text)
  if not ok or type(state) ~= "table" then err.env("%s: not a state file of ctys-vnetctl; nothing done", ctx.statefile) end
  for k, v in pairs(state) do
    if STATE_FIELDS[k] ~= type(v) or (type(v) == "string" and not net.valid_name(v)) then
      err.env("%s: bad field '%s'; nothing done", ctx.statefile, tostring(k))
    end
  end
  return state
end

---Keep what create made, for cancel.
---@param ctx table
---@param state table
function M.write_state(ctx, state)
  check.arg("ctys.vnet.context.write_state", "ctx", ctx, "table")
  check.arg("ctys.vnet.context.write_state", "state", state, "table")
  if ctx.statedir then
    local ok, e = fs.private_dir(ctx.statedir)
    if not ok then err.env("%s", e) end
  end
  local ok, e = fs.write(ctx.statefile, require("ctys.serial").encode(state))
  if not ok then err.env("cannot write %s", e) end
end

---The switch, or exit 2 when none answers.
---@param ctx table
---@return ctys.vde.Switch
function M.need_switch(ctx)
  check.arg("ctys.vnet.context.need_switch", "ctx", ctx, "table")
  local sw, e = M.open_switch(ctx)
  if not sw then err.env("no VDE switch answers on %s (USER=%q): %s", ctx.mgmt, ctx.user, e) end
  return sw
end

return M
