--- The switch's life: create makes a TAP on a bridge with a vde_switch on it, cancel takes it
--- all down again (only what create made, as its trusted state file says).
---@class ctys.vnet.switch
local M = {}

local check = require "ctys.check"
local system = require "ctys.system"
local err = require "ctys.err"
local fs = require "ctys.fs"
local net = require "ctys.net"
local vde = require "ctys.vde"
local context = require "ctys.vnet.context"
local bridge_ = require "ctys.vnet.bridge"
local must = context.must

---create: reuse a running switch, or make the bridge (if needed), a TAP owned by the -u user
---on it, and a vde_switch on the TAP whose sockets that user owns; each step is undone when a
---later one fails. Leaves a state file for cancel. Exit value 0.
---@param ctx table
---@return integer
function M.create(ctx)
  check.arg("ctys.vnet.switch.create", "ctx", ctx, "table")
  local sw = context.open_switch(ctx)
  if sw then
    local info = sw:info() or {}
    sw:close()
    print(string.format("VDE switch for USER=%q is running (pid %s, %s): reused", ctx.user, tostring(info.pid), ctx.mgmt))
    return 0
  end
  local exe = vde.find()
  if not exe then err.env("vde_switch is not on PATH (Debian: apt-get install vde2)") end
  local links = must(net.links())
  local ok, pe, pkind = vde.check_paths(context.files(ctx))
  if not ok then
    if pkind == "toolarge" then err.usage("%s (-s, -S, CTYS_SOCKBASE)", pe) end
    err.env("%s", pe)
  end
  -- Leftovers of a switch that died: cleared first, so the new one can start; files that are
  -- not ours, or not a switch's, stop the create before anything is made.
  local leftovers = context.stale(ctx)
  leftovers.dry = ctx.dry
  for _, p in ipairs(must(vde.remove_files(leftovers))) do
    if ctx.dry then print("would remove the stale " .. p) else context.step(ctx, "remove stale %s", p) end
  end
  return bridge_.transaction(ctx, function(undo)
    local bridge, made, iface = bridge_.ensure(ctx, links, undo)
    if ctx.dry then
      print(string.format("would create a TAP owned by %s%s on %s, and start %s -d -t TAP -s %s -M %s -p %s",
        ctx.user, ctx.group and ("." .. ctx.group) or "", bridge, exe, ctx.sock, ctx.mgmt, ctx.pidfile))
      return 0
    end
    local tap = must(net.tap_add { user = ctx.user, group = ctx.group })
    context.step(ctx, "create TAP %s owned by %s%s", tap, ctx.user, ctx.group and ("." .. ctx.group) or "")
    undo[#undo + 1] = function() net.tap_del(tap) end
    must(net.link_set(tap, { up = true, master = bridge }))
    context.step(ctx, "enslave %s to %s", tap, bridge)
    local started, e = vde.start { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile, tap = tap, group = ctx.setgid_group }
    if not started then err.env("%s", e) end
    context.step(ctx, "start vde_switch pid %d on %s (management %s)", started.pid, ctx.sock, ctx.mgmt)
    undo[#undo + 1] = function() started:shutdown() end
    local ok, oe = vde.own { sock = ctx.sock, mgmt = ctx.mgmt, pidfile = ctx.pidfile, uid = ctx.uid,
      gid = ctx.setgid_group and system.group(ctx.setgid_group) or ctx.gid, setgid = ctx.setgid_group ~= nil }
    if not ok then err.env("%s", oe) end
    context.step(ctx, "sockets owned by %s, switch directory mode %s", ctx.user, ctx.setgid_group and "2700" or "0700")
    context.write_state(ctx, { tap = tap, bridge = bridge, created_bridge = made, iface = iface })
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

-- The switch's clients: every endpoint but its TAP (QEMU guests, vde_plug), as "port N: what".
local function clients(sw)
  local out = {}
  for _, p in ipairs(sw:ports() or {}) do
    for _, e in ipairs(p.endpoints) do
      if e.module ~= "tuntap" then out[#out + 1] = string.format("port %d: %s %s", p.port, e.module, e.description) end
    end
  end
  return out
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

---cancel: stop the switch (through its management socket, else the trusted pid file), remove
---its files, delete the TAP and give back a bridge create made. Exit value 0.
---@param ctx table
---@return integer
function M.cancel(ctx)
  check.arg("ctys.vnet.switch.cancel", "ctx", ctx, "table")
  local state = context.read_state(ctx)
  local done = {}
  local sw = context.open_switch(ctx)
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
    local attached = clients(sw)
    if #attached > 0 then
      io.stderr:write(string.format("ctys-vnetctl: the switch still has %d client(s), which lose their link: %s\n", #attached, table.concat(attached, "; ")))
    end
    local pid = (sw:info() or {}).pid
    local ok, e = sw:shutdown()
    if not ok then err.env("the switch on %s did not shut down: %s", ctx.mgmt, e) end
    for _ = 1, 40 do
      if not (pid and system.alive(pid)) then break end
      ctys.sleep(0.05)
    end
    context.step(ctx, "switch pid %s shut down", tostring(pid))
    done[#done + 1] = "vde_switch pid " .. tostring(pid)
  else
    local pid = stop_by_pidfile(ctx)
    if pid then
      context.step(ctx, "switch pid %d did not answer; killed", pid)
      done[#done + 1] = "vde_switch pid " .. pid .. " (killed)"
    end
  end
  local gone = must(vde.remove_files(context.stale(ctx)))
  for _, p in ipairs(gone) do context.step(ctx, "remove %s", p) end
  if #gone > 0 then done[#done + 1] = #gone .. " leftover file(s)" end
  local links = bridge_.by_name(must(net.links()))
  local bridge = state.bridge or (tap and links[tap] and links[tap].master)
  if tap and links[tap] then
    net.link_set(tap, { master = false })
    must(net.tap_del(tap))
    context.step(ctx, "delete TAP %s", tap)
    done[#done + 1] = "TAP " .. tap
  end
  if bridge and links[bridge] then bridge_.release(ctx, bridge, state, done) end
  must(fs.remove(ctx.statefile))
  print(#done == 0 and string.format("nothing to cancel for USER=%q", ctx.user) or ("cancelled: " .. table.concat(done, ", ")))
  return 0
end

return M
