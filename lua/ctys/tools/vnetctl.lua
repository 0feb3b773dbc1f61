--- ctys-vnetctl: the network plumbing for QEMU/KVM guests — a TAP device on a bridge, with a
--- vde_switch attached to the TAP — made, inspected and removed in one call.
---
---     ctys-vnetctl [-b bridge] [-d level] [-f] [-g group] [-h] [-H opt] [-i iface] [-l user]
---                  [-r hosts] [-s sock] [-S mgmt] [-u user[.group]] [-n] [-V] [-X] [-Z SUDO|KSU]
---                  (cancel|check|create|info|ports|list|listall)
---
--- Defaults as the manual says: switch socket /var/tmp/vde_switch0.$USER, management socket
--- /var/tmp/vde_mgmt0.$USER (the directory is CTYS_SOCKBASE when set), pid file beside them;
--- the first bridge (alphabetically), else a new `ctysbr0` holding the interface (-i, else the
--- first with an IPv4 address) with its addresses and routes moved onto the bridge.
--- What create made goes into a state file that cancel acts on: beside the sockets
--- (`SOCK.ctys`), or for root (and wherever CTYS_STATE_DIR names) in /run/ctys/vnetctl, where
--- nobody else can write. State, pid files and management sockets are obeyed only when the
--- caller (or root; for sockets also the -u user) owns them and nobody else may write them.
--- Exit values: 0 ok, 1 erroneous parameters (or check found a fault), 2 a missing environment
--- element (vde_switch, a permission, a switch that does not answer).
---@class ctys.tools.vnetctl
local M = {}

local check = require "ctys.check"

local system = require "ctys.system"
local err = require "ctys.err"
local fs = require "ctys.fs"
local net = require "ctys.net"
local vde = require "ctys.vde"

-- Where root keeps its state files (unless CTYS_STATE_DIR says otherwise).
local ROOT_STATE = "/run/ctys/vnetctl"

M.USAGE = [[
usage: ctys-vnetctl [options] [cancel|check|create|info|ports|list|listall]   (default: info)
  create   a TAP owned by the user, on the bridge, with a vde_switch on it (reused if running)
  cancel   remove the switch, its TAP, sockets and pid file; the bridge only if ctys made it
           and nothing else is on it (its addresses and routes go back to the interface)
  check    the switch answers, its TAP exists, is up and on a bridge, its clients' sockets exist
  info     the switch's showinfo                ports   its port/print
  list     this user's switches                 listall every switch socket on this machine
options:
  -b BRIDGE     bridge to use (default: the first one; none: create ctysbr0)
  -i IFACE      interface for a new bridge (default: the first with an IPv4 address)
  -f            force: create a bridge even over the interface of the caller's SSH session
  -u USER[.GROUP] owner of the TAP and the sockets (default: the current user)
  -g GROUP      group of the sockets, with the setgid bit on the switch directory
  -s SOCK       switch socket (default /var/tmp/vde_switch0.USER)
  -S MGMT       management socket (default /var/tmp/vde_mgmt0.USER)
  -r HOSTS      run on [user@]host[,...] over SSH instead (-l USER: the login)
  -Z SUDO|KSU   run as root through sudo -n / ksu (here and with -r)
  -n            say what would be done; change nothing
  -d LEVEL      say each step (1) and more (2)        -X  terse output (';' records)
  -V            version      -h  this help      -H OPT  the same help
exit values: 0 ok, 1 erroneous parameters or check failed, 2 missing environment element
(also a state file, pid file or socket that is not yours or root's, or that others may write);
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_SOCKBASE        directory of the default sockets (/var/tmp)
  CTYS_STATE_DIR       where create's state is kept (root: /run/ctys/vnetctl; others: beside
                       the sockets)
  CTYS_REMOTE_VNETCTL  the command -r runs on each host (ctys-vnetctl)
]]

local COMMANDS = { cancel = true, check = true, create = true, info = true, ports = true, list = true, listall = true }

-- Talk: steps go to stderr with -d, results to stdout.
local function step(ctx, fmt, ...)
  if ctx.debug >= 1 then io.stderr:write("ctys-vnetctl: ", string.format(fmt, ...), "\n") end
end

-- A kernel refusal: exit 2 (permission: needs CAP_NET_ADMIN, missing device, ...), a name
-- that exists already exit 1.
local must = err.must_with { exists = err.USAGE, default = err.ENV }

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

local function context(opts, command)
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

local function files(ctx)
  return { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile }
end

-- The files a dead switch leaves, for removal: the -u user's count as ours (create gave
-- them away).
local function stale(ctx)
  local f = files(ctx)
  f.owners = { ctx.uid }
  return f
end

-- The switch's sockets belong to the -u user (create gives them away): that user's are
-- trusted too, besides the caller's and root's.
local function open_switch(ctx)
  return vde.connect { mgmt = ctx.mgmt, timeout = 1, owners = { ctx.uid } }
end

-- What create made (tap, bridge, created_bridge, iface): cancel acts on it, so it is read only
-- from a file the caller (or root) owns and nobody else may write, and each field is checked.
local STATE_FIELDS = { tap = "string", bridge = "string", iface = "string", created_bridge = "boolean" }

local function read_state(ctx)
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

local function write_state(ctx, state)
  if ctx.statedir then
    local ok, e = fs.private_dir(ctx.statedir)
    if not ok then err.env("%s", e) end
  end
  local ok, e = fs.write(ctx.statefile, require("ctys.serial").encode(state))
  if not ok then err.env("cannot write %s", e) end
end

local function by_name(links)
  local t = {}
  for _, l in ipairs(links) do t[l.name] = l end
  return t
end

local function ipv4_addrs(l)
  local out = {}
  for _, a in ipairs(l.addrs) do if a:match("^%d+%.") then out[#out + 1] = a end end
  return out
end

-- Addresses worth moving between an interface and its bridge (IPv6 link-local ones are the
-- kernel's own).
local function movable(l)
  local out = {}
  for _, a in ipairs(l.addrs) do if not a:lower():match("^fe80:") then out[#out + 1] = a end end
  return out
end

local function choose_iface(ctx, links)
  if ctx.iface then
    local l = by_name(links)[ctx.iface]
    if not l then err.usage("no interface named '%s' (-i)", ctx.iface) end
    return l
  end
  local fallback
  for _, l in ipairs(links) do
    if l.name ~= "lo" and l.kind ~= "bridge" and l.kind ~= "tun" and not l.master then
      if #ipv4_addrs(l) > 0 then return l end
      fallback = fallback or (l.up and l)
    end
  end
  return fallback or err.env("no interface to put on a new bridge (give -i)")
end

-- Whether the caller's SSH session arrives on this interface (SSH_CONNECTION's local address).
local function session_on(l)
  local local_ip = (os.getenv("SSH_CONNECTION") or ""):match("^%S+ %S+ (%S+) %S+$")
  if not local_ip then return false end
  for _, a in ipairs(l.addrs) do if a:match("^[^/]+") == local_ip then return true end end
  return false
end

-- Moves addresses and non-kernel routes from one device to another.
local function move_addresses(ctx, from, to, addrs, routes)
  for _, a in ipairs(addrs) do
    step(ctx, "move address %s from %s to %s", a, from, to)
    must(net.addr_del(from, a))
    must(net.addr_add(to, a))
  end
  for _, r in ipairs(routes) do
    step(ctx, "move route %s%s from %s to %s", r.dst, r.gateway and (" via " .. r.gateway) or "", from, to)
    local ok, e, kind = net.route_add({ dst = r.dst, gateway = r.gateway, metric = r.metric, protocol = r.protocol }, to)
    if not ok and kind ~= "exists" then err.env("%s", e) end
  end
end

local function routes_on(dev)
  local out = {}
  for _, r in ipairs(must(net.routes())) do
    if r.dev == dev and r.protocol ~= "kernel" and not r.dst:lower():match("^f[ef]") then out[#out + 1] = r end
  end
  return out
end

-- Runs `f(undo)`; on an error, the recorded undo steps run in reverse before it is re-raised.
local function transaction(ctx, f)
  local undo = {}
  local ok, e = pcall(f, undo)
  if not ok then
    for i = #undo, 1, -1 do
      local uok, ue = pcall(undo[i])
      if not uok then io.stderr:write("ctys-vnetctl: undo failed: ", tostring(ue), "\n") end
    end
    step(ctx, "undone: %d step(s)", #undo)
    error(e, 0)
  end
  return e
end

local function ensure_bridge(ctx, links, undo)
  local names = by_name(links)
  if ctx.bridge then
    local b = names[ctx.bridge]
    if b and b.kind ~= "bridge" then err.usage("'%s' is not a bridge (-b)", ctx.bridge) end
    if b then return ctx.bridge, false end
    if ctx.bridge ~= "ctysbr0" then err.env("no bridge named '%s' (-b); without -b ctys makes ctysbr0", ctx.bridge) end
  else
    local bridges = {}
    for _, l in ipairs(links) do if l.kind == "bridge" then bridges[#bridges + 1] = l.name end end
    table.sort(bridges)
    if bridges[1] then
      step(ctx, "use bridge %s (the first one)", bridges[1])
      return bridges[1], false
    end
  end
  local iface = choose_iface(ctx, links)
  if session_on(iface) and not ctx.force then
    err.usage("creating ctysbr0 over %s would cut the SSH session this command runs in (SSH_CONNECTION); use -f to do it anyway", iface.name)
  end
  if ctx.dry then
    print(string.format("would create bridge ctysbr0 with %s, moving %s onto it", iface.name, table.concat(movable(iface), " ")))
    return "ctysbr0", true, iface.name
  end
  local addrs, routes = movable(iface), routes_on(iface.name)
  step(ctx, "create bridge ctysbr0")
  must(net.bridge_add("ctysbr0"))
  undo[#undo + 1] = function() net.link_del("ctysbr0") end
  must(net.link_set("ctysbr0", { up = true }))
  step(ctx, "enslave %s to ctysbr0", iface.name)
  must(net.link_set(iface.name, { master = "ctysbr0", up = true }))
  undo[#undo + 1] = function()
    net.link_set(iface.name, { master = false })
    for _, a in ipairs(addrs) do net.addr_del("ctysbr0", a); net.addr_add(iface.name, a) end
    for _, r in ipairs(routes) do net.route_add({ dst = r.dst, gateway = r.gateway, metric = r.metric, protocol = r.protocol }, iface.name) end
  end
  move_addresses(ctx, iface.name, "ctysbr0", addrs, routes)
  return "ctysbr0", true, iface.name
end

local function create(ctx)
  local sw = open_switch(ctx)
  if sw then
    local info = sw:info() or {}
    sw:close()
    print(string.format("VDE switch for USER=%q is running (pid %s, %s): reused", ctx.user, tostring(info.pid), ctx.mgmt))
    return 0
  end
  local exe = vde.find()
  if not exe then err.env("vde_switch is not on PATH (Debian: apt-get install vde2)") end
  local links = must(net.links())
  local ok, pe, pkind = vde.check_paths(files(ctx))
  if not ok then
    if pkind == "toolarge" then err.usage("%s (-s, -S, CTYS_SOCKBASE)", pe) end
    err.env("%s", pe)
  end
  -- Leftovers of a switch that died: cleared first, so the new one can start; files that are
  -- not ours, or not a switch's, stop the create before anything is made.
  local leftovers = stale(ctx)
  leftovers.dry = ctx.dry
  for _, p in ipairs(must(vde.remove_files(leftovers))) do
    if ctx.dry then print("would remove the stale " .. p) else step(ctx, "remove stale %s", p) end
  end
  return transaction(ctx, function(undo)
    local bridge, made, iface = ensure_bridge(ctx, links, undo)
    if ctx.dry then
      print(string.format("would create a TAP owned by %s%s on %s, and start %s -d -t TAP -s %s -M %s -p %s",
        ctx.user, ctx.group and ("." .. ctx.group) or "", bridge, exe, ctx.sock, ctx.mgmt, ctx.pidfile))
      return 0
    end
    local tap = must(net.tap_add { user = ctx.user, group = ctx.group })
    step(ctx, "create TAP %s owned by %s%s", tap, ctx.user, ctx.group and ("." .. ctx.group) or "")
    undo[#undo + 1] = function() net.tap_del(tap) end
    must(net.link_set(tap, { up = true, master = bridge }))
    step(ctx, "enslave %s to %s", tap, bridge)
    local started, e = vde.start { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile, tap = tap, group = ctx.setgid_group }
    if not started then err.env("%s", e) end
    step(ctx, "start vde_switch pid %d on %s (management %s)", started.pid, ctx.sock, ctx.mgmt)
    undo[#undo + 1] = function() started:shutdown() end
    local ok, oe = vde.own { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile, uid = ctx.uid,
      gid = ctx.setgid_group and system.group(ctx.setgid_group) or ctx.gid, setgid = ctx.setgid_group ~= nil }
    if not ok then err.env("%s", oe) end
    step(ctx, "sockets owned by %s, switch directory mode %s", ctx.user, ctx.setgid_group and "2700" or "0700")
    write_state(ctx, { tap = tap, bridge = bridge, created_bridge = made, iface = iface })
    started:close()
    print(string.format("created: TAP %s on bridge %s%s, vde_switch pid %d, socket %s, management %s", tap, bridge,
      made and (" (new, with " .. iface .. ")") or "", started.pid, ctx.sock, ctx.mgmt))
    return 0
  end)
end

local function switch_tap(sw)
  for _, p in ipairs(sw:ports() or {}) do
    for _, e in ipairs(p.endpoints) do
      if e.module == "tuntap" then return e.description end
    end
  end
end

-- The pid file names what gets killed: only the caller's (or root's) own is read.
local function stop_by_pidfile(ctx)
  local pid, e = vde.switch_pid(ctx.pidfile)
  if pid == nil then err.env("%s; nothing killed", e) end
  if not pid then return nil end
  system.kill(pid, "SIGTERM")
  for _ = 1, 30 do
    if not system.alive(pid) then return pid end
    ctys.sleep(0.05)
  end
  system.kill(pid, "SIGKILL")
  return pid
end

local function cancel(ctx)
  local state = read_state(ctx)
  local done = {}
  local sw = open_switch(ctx)
  local tap = state.tap
  -- Which TAP to delete is taken from the switch only when its socket is the caller's (or
  -- root's): another user's switch could name any interface.
  local mst = fs.stat(ctx.mgmt)
  local own_switch = sw and mst and (mst.uid == fs.euid() or mst.uid == 0)
  if ctx.dry then
    print(string.format("would stop the switch on %s, delete %s, remove %s %s %s", ctx.mgmt,
      (tap or (own_switch and switch_tap(sw))) and ("TAP " .. (tap or switch_tap(sw))) or "no TAP (none known)", ctx.sock, ctx.mgmt, ctx.pidfile))
    return 0
  end
  if sw then
    if own_switch then tap = switch_tap(sw) or tap end
    local pid = (sw:info() or {}).pid
    local ok, e = sw:shutdown()
    if not ok then err.env("the switch on %s did not shut down: %s", ctx.mgmt, e) end
    for _ = 1, 40 do
      if not (pid and system.alive(pid)) then break end
      ctys.sleep(0.05)
    end
    step(ctx, "switch pid %s shut down", tostring(pid))
    done[#done + 1] = "vde_switch pid " .. tostring(pid)
  else
    local pid = stop_by_pidfile(ctx)
    if pid then
      step(ctx, "switch pid %d did not answer; killed", pid)
      done[#done + 1] = "vde_switch pid " .. pid .. " (killed)"
    end
  end
  local gone = must(vde.remove_files(stale(ctx)))
  for _, p in ipairs(gone) do step(ctx, "remove %s", p) end
  if #gone > 0 then done[#done + 1] = #gone .. " leftover file(s)" end
  local links = by_name(must(net.links()))
  local bridge = state.bridge or (tap and links[tap] and links[tap].master)
  if tap and links[tap] then
    net.link_set(tap, { master = false })
    must(net.tap_del(tap))
    step(ctx, "delete TAP %s", tap)
    done[#done + 1] = "TAP " .. tap
  end
  if bridge and links[bridge] and (state.created_bridge or bridge == "ctysbr0") then
    links = must(net.links())
    local ports = {}
    for _, l in ipairs(links) do if l.master == bridge then ports[#ports + 1] = l.name end end
    local iface = state.iface or (#ports == 1 and ports[1]) or nil
    local others = {}
    for _, p in ipairs(ports) do if p ~= iface then others[#others + 1] = p end end
    if #others > 0 then
      step(ctx, "keep bridge %s: %s still on it", bridge, table.concat(others, " "))
      done[#done + 1] = "bridge " .. bridge .. " kept (" .. table.concat(others, " ") .. " on it)"
    else
      local b = by_name(links)[bridge]
      local addrs, routes = movable(b), routes_on(bridge)
      if iface then
        must(net.link_set(iface, { master = false }))
        move_addresses(ctx, bridge, iface, addrs, routes)
      end
      must(net.link_del(bridge))
      step(ctx, "delete bridge %s", bridge)
      done[#done + 1] = "bridge " .. bridge .. (iface and (" (addresses back on " .. iface .. ")") or "")
    end
  end
  must(fs.remove(ctx.statefile))
  print(#done == 0 and string.format("nothing to cancel for USER=%q", ctx.user) or ("cancelled: " .. table.concat(done, ", ")))
  return 0
end

local function need_switch(ctx)
  local sw, e = open_switch(ctx)
  if not sw then err.env("no VDE switch answers on %s (USER=%q): %s", ctx.mgmt, ctx.user, e) end
  return sw
end

local function info(ctx)
  local sw = need_switch(ctx)
  local data = must(sw:cmd("showinfo"))
  sw:close()
  print("SWITCH-INFO:")
  for _, l in ipairs(data) do print(l) end
  return 0
end

local function ports(ctx)
  local sw = need_switch(ctx)
  local data = must(sw:cmd("port/print"))
  sw:close()
  if ctx.terse then
    for _, p in ipairs(vde.parse_ports(data)) do
      for _, e in ipairs(p.endpoints) do
        print(table.concat({ p.port, p.active and "active" or "inactive", p.vlan, p.user or "", e.module, e.description }, ";"))
      end
    end
  else
    print("SWITCH-PORTS:")
    for _, l in ipairs(data) do print(l) end
  end
  return 0
end

local function check_env(ctx)
  local faults = {}
  local function fault(fmt, ...) faults[#faults + 1] = string.format(fmt, ...) end
  local sw, e = open_switch(ctx)
  if not sw then
    fault("no switch answers on %s: %s", ctx.mgmt, e)
  else
    local info = sw:info() or {}
    if not (info.pid and system.alive(info.pid)) then fault("switch process %s is gone", tostring(info.pid)) end
    local links = by_name(must(net.links()))
    local taps = 0
    for _, p in ipairs(sw:ports() or {}) do
      for _, ep in ipairs(p.endpoints) do
        if ep.module == "tuntap" then
          taps = taps + 1
          local l = links[ep.description]
          if not l then
            fault("port %d: TAP %s does not exist", p.port, ep.description)
          else
            if not l.up then fault("port %d: TAP %s is down", p.port, l.name) end
            if not (l.master and links[l.master] and links[l.master].kind == "bridge") then
              fault("port %d: TAP %s is on no bridge", p.port, l.name)
            end
          end
        else
          local found = false
          for _, s in ipairs(vde.sockets(ctx.sockbase, true)) do
            if s.path:find(ctx.sock .. "/" .. string.format("%03d.", p.port), 1, true) == 1 then found = true end
          end
          if not found then fault("port %d: no socket for client %s", p.port, ep.description) end
        end
      end
    end
    if taps == 0 then fault("the switch has no TAP port") end
    sw:close()
  end
  print(string.format('VDE environment for USER="%s" => [%s]', ctx.user, #faults == 0 and "OK" or "NOK"))
  for _, f in ipairs(faults) do print("  " .. f) end
  return #faults == 0 and 0 or 1
end

local function access_text(mode)
  local s = ""
  for i, who in ipairs { 6, 3, 0 } do
    local bits = (mode >> who) & 7
    local x = bits & 1 == 1
    local special = (i == 1 and mode & 0x800 ~= 0) or (i == 2 and mode & 0x400 ~= 0)
    s = s .. ((bits & 4 ~= 0) and "r" or "-") .. ((bits & 2 ~= 0) and "w" or "-")
      .. (special and (x and "s" or "S") or (x and "x" or "-"))
  end
  return s
end

local function list(ctx, all)
  local host = system.hostname() or "localhost"
  local rows = {}
  for _, s in ipairs(vde.sockets(ctx.sockbase, all)) do
    if all or s.uid == ctx.uid then
      rows[#rows + 1] = { s.path, tostring(s.uid), tostring(s.gid), access_text(s.mode), host }
    end
  end
  if ctx.terse then
    for _, r in ipairs(rows) do print(table.concat(r, ";")) end
    return 0
  end
  require("ctys.output").columns({ "switch", "UID", "GID", "access", "machine-address" }, rows, " | ", true)
  return 0
end

local RUN = { create = create, cancel = cancel, info = info, ports = ports, check = check_env,
  list = function(ctx) return list(ctx, false) end, listall = function(ctx) return list(ctx, true) end }

local ESCALATE = require("ctys.cli").ESCALATE

local quote = require("ctys.relay").quote

-- The options as given (already read by getopt), minus those in `skip`, as words again: what
-- another ctys-vnetctl is to get. Bundled letters (-nr) come apart here.
local SPEC = "b:d:fg:hH:i:l:r:s:S:u:nVXZ:"

---How the shells complete it (docs/gen.lua writes the completions from this): the getopt spec,
---what follows an option (a list of values, "file", "dir", "host" or "user"), the words it
---takes, and what its operands are ("host", "group").
M.COMPLETE = { spec = SPEC, values = { d = { "0", "1", "2", "3" }, Z = { "SUDO", "KSU" }, s = "file", S = "file", r = "host", l = "user", u = "user" },
  words = { "create", "cancel", "check", "info", "ports", "list", "listall" } }

local function option_words(opts, skip)
  local words = {}
  for letter, takes in SPEC:gmatch("(%a)(:?)") do
    local v = opts[letter]
    if v ~= nil and not skip[letter] then
      words[#words + 1] = "-" .. letter
      if takes == ":" then words[#words + 1] = v end
    end
  end
  return words
end

-- -r: the same command line, minus -r, -l and -Z, on each host.
local function remote(opts, command)
  local words = option_words(opts, { r = true, l = true, Z = true })
  words[#words + 1] = command
  for i, w in ipairs(words) do words[i] = quote(w) end
  local cmd = (require("ctys.paths").env("CTYS_REMOTE_VNETCTL") or "ctys-vnetctl") .. " " .. table.concat(words, " ")
  if opts.Z then cmd = table.concat(ESCALATE[opts.Z:upper()], " ") .. " " .. cmd end
  -- `-r a,root@b` is a list, and @groups and ranges work too (a list is a union).
  local hosts = require("ctys.groups").hosts { opts.r }
  local output = require "ctys.output"
  local res, e = require("ctys.remote").exec { hosts = hosts, cmd = cmd, user = opts.l or nil,
    on_line = output.line_printer(#hosts > 1), progress = not opts.X }
  if not res then err.env("%s", e) end
  output.report_failures(res, "ctys-vnetctl")
  return output.exit_value(res)
end

---Entry point of the ctys-vnetctl binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.vnetctl.main", "argv", argv, "string")
  local macros = require "ctys.macros"
  if macros.used(argv) then argv = macros.expand_argv(argv) end
  local opts, rest = require("ctys.getopt").parse(argv, SPEC)
  if opts.h or opts.H then io.write(M.USAGE) return 0 end
  if opts.V then print("ctys-vnetctl " .. require("ctys").version) return 0 end
  if #rest > 1 then err.usage("one command only, got '%s'", table.concat(rest, " ")) end
  local command = (rest[1] or "info"):lower()
  if not COMMANDS[command] then err.usage("unknown command '%s' (cancel, check, create, info, ports, list, listall)", rest[1]) end
  if opts.Z and not ESCALATE[opts.Z:upper()] then err.usage("-Z takes SUDO or KSU, not '%s'", opts.Z) end
  if opts.l and not opts.r then err.usage("-l names the login for -r hosts; give -r") end
  if opts.d and not (opts.d:match("^%d+$") and tonumber(opts.d) <= 3) then err.usage("bad debug level '%s' (-d): 0 to 3", opts.d) end
  if opts.r then return remote(opts, command) end
  if opts.Z and require("ctys.fs").euid() ~= 0 then
    -- This very binary again, as root, told which tool to be (installed as a ctys-vnetctl
    -- link, it is `ctys` on disk).
    local argv2 = { table.unpack(ESCALATE[opts.Z:upper()]) }
    for _, w in ipairs { system.exe(), "--tool", "vnetctl", table.unpack(option_words(opts, { Z = true })) } do argv2[#argv2 + 1] = w end
    argv2[#argv2 + 1] = command
    local r, e = require("ctys.proc").run { argv = argv2, inherit = true }
    if not r then err.env("%s", e) end
    return r.status or (128 + (r.signal or 0))
  end
  local ctx = context(opts, command)
  if ctx.debug >= 2 then require("ctys.log").set_level(ctx.debug) end
  return RUN[command](ctx)
end

return M
