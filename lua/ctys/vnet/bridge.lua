--- The bridge ctys-vnetctl puts a TAP on: found, or made over an interface whose addresses and
--- routes move onto it (undone on a failure), and given back when cancel removes it.
---@class ctys.vnet.bridge
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"
local net = require "ctys.net"
local context = require "ctys.vnet.context"
local must = context.must

---Links by name.
---@param links table[] ctys.net.links()
---@return table<string, table>
function M.by_name(links)
  check.arg("ctys.vnet.bridge.by_name", "links", links, "table")
  local t = {}
  for _, l in ipairs(links) do t[l.name] = l end
  return t
end

local function ipv4_addrs(l)
  local out = {}
  for _, a in ipairs(l.addrs) do if a:match("^%d+%.") then out[#out + 1] = a end end
  return out
end

---Addresses worth moving between an interface and its bridge (IPv6 link-local ones are the
---kernel's own).
---@param l table a link
---@return string[]
function M.movable(l)
  check.arg("ctys.vnet.bridge.movable", "l", l, "table")
  local out = {}
  for _, a in ipairs(l.addrs) do if not a:lower():match("^fe80:") then out[#out + 1] = a end end
  return out
end

local function choose_iface(ctx, links)
  if ctx.iface then
    local l = M.by_name(links)[ctx.iface]
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

---Move addresses and non-kernel routes from one device to another.
---@param ctx table
---@param from string
---@param to string
---@param addrs string[]
---@param routes table[]
function M.move_addresses(ctx, from, to, addrs, routes)
  check.arg("ctys.vnet.bridge.move_addresses", "ctx", ctx, "table")
  check.arg("ctys.vnet.bridge.move_addresses", "from", from, "string")
  check.arg("ctys.vnet.bridge.move_addresses", "to", to, "string")
  check.arg("ctys.vnet.bridge.move_addresses", "addrs", addrs, "table")
  check.arg("ctys.vnet.bridge.move_addresses", "routes", routes, "table")
  for _, a in ipairs(addrs) do
    context.step(ctx, "move address %s from %s to %s", a, from, to)
    must(net.addr_del(from, a))
    must(net.addr_add(to, a))
  end
  for _, r in ipairs(routes) do
    context.step(ctx, "move route %s%s from %s to %s", r.dst, r.gateway and (" via " .. r.gateway) or "", from, to)
    local ok, e, kind = net.route_add({ dst = r.dst, gateway = r.gateway, metric = r.metric, protocol = r.protocol }, to)
    if not ok and kind ~= "exists" then err.env("%s", e) end
  end
end

---The routes worth moving with a device's addresses (not the kernel's, not IPv6 link-local
---or multicast).
---@param dev string
---@return table[]
function M.routes_on(dev)
  check.arg("ctys.vnet.bridge.routes_on", "dev", dev, "string")
  local out = {}
  for _, r in ipairs(must(net.routes())) do
    if r.dev == dev and r.protocol ~= "kernel" and not r.dst:lower():match("^f[ef]") then out[#out + 1] = r end
  end
  return out
end

---Run `f(undo)`; on an error, the steps recorded in `undo` run in reverse before it is
---re-raised. Returns what f returns.
---@param ctx table
---@param f fun(undo: function[]): any
---@return any
function M.transaction(ctx, f)
  check.arg("ctys.vnet.bridge.transaction", "ctx", ctx, "table")
  check.arg("ctys.vnet.bridge.transaction", "f", f, "function")
  local undo = {}
  local ok, e = pcall(f, undo)
  if not ok then
    for i = #undo, 1, -1 do
      local uok, ue = pcall(undo[i])
      if not uok then io.stderr:write("ctys-vnetctl: undo failed: ", tostring(ue), "\n") end
    end
    context.step(ctx, "undone: %d step(s)", #undo)
    error(e, 0)
  end
  return e
end

---The bridge a new TAP goes on: -b, else the first bridge, else a new ctysbr0 holding the
---interface (-i, else the first with an IPv4 address) with its addresses and routes; what it
---made is undone through `undo` if a later step fails. Returns the bridge, whether it was made,
---and the interface it took.
---@param ctx table
---@param links table[]
---@param undo function[]
---@return string bridge
---@return boolean made
---@return string? iface
function M.ensure(ctx, links, undo)
  check.arg("ctys.vnet.bridge.ensure", "ctx", ctx, "table")
  check.arg("ctys.vnet.bridge.ensure", "links", links, "table")
  check.arg("ctys.vnet.bridge.ensure", "undo", undo, "table")
  local names = M.by_name(links)
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
      context.step(ctx, "use bridge %s (the first one)", bridges[1])
      return bridges[1], false
    end
  end
  local iface = choose_iface(ctx, links)
  if session_on(iface) and not ctx.force then
    err.usage("creating ctysbr0 over %s would cut the SSH session this command runs in (SSH_CONNECTION); use -f to do it anyway", iface.name)
  end
  if ctx.dry then
    print(string.format("would create bridge ctysbr0 with %s, moving %s onto it", iface.name, table.concat(M.movable(iface), " ")))
    return "ctysbr0", true, iface.name
  end
  local addrs, routes = M.movable(iface), M.routes_on(iface.name)
  context.step(ctx, "create bridge ctysbr0")
  must(net.bridge_add("ctysbr0"))
  undo[#undo + 1] = function() net.link_del("ctysbr0") end
  must(net.link_set("ctysbr0", { up = true }))
  context.step(ctx, "enslave %s to ctysbr0", iface.name)
  must(net.link_set(iface.name, { master = "ctysbr0", up = true }))
  undo[#undo + 1] = function()
    net.link_set(iface.name, { master = false })
    for _, a in ipairs(addrs) do net.addr_del("ctysbr0", a); net.addr_add(iface.name, a) end
    for _, r in ipairs(routes) do net.route_add({ dst = r.dst, gateway = r.gateway, metric = r.metric, protocol = r.protocol }, iface.name) end
  end
  M.move_addresses(ctx, iface.name, "ctysbr0", addrs, routes)
  return "ctysbr0", true, iface.name
end

---Remove a bridge create made (or ctysbr0) once nothing but its interface is on it, with the
---interface's addresses and routes back; a bridge with other ports stays. Says what it did in
---`done`.
---@param ctx table
---@param bridge string
---@param state table what create made (iface, created_bridge)
---@param done string[]
function M.release(ctx, bridge, state, done)
  check.arg("ctys.vnet.bridge.release", "ctx", ctx, "table")
  check.arg("ctys.vnet.bridge.release", "bridge", bridge, "string")
  check.arg("ctys.vnet.bridge.release", "state", state, "table")
  check.arg("ctys.vnet.bridge.release", "done", done, "table")
  local links = must(net.links())
  if not (M.by_name(links)[bridge] and (state.created_bridge or bridge == "ctysbr0")) then return end
  local ports = {}
  for _, l in ipairs(links) do if l.master == bridge then ports[#ports + 1] = l.name end end
  local iface = state.iface or (#ports == 1 and ports[1]) or nil
  local others = {}
  for _, p in ipairs(ports) do if p ~= iface then others[#others + 1] = p end end
  if #others > 0 then
    context.step(ctx, "keep bridge %s: %s still on it", bridge, table.concat(others, " "))
    done[#done + 1] = "bridge " .. bridge .. " kept (" .. table.concat(others, " ") .. " on it)"
  else
    local b = M.by_name(links)[bridge]
    local addrs, routes = M.movable(b), M.routes_on(bridge)
    if iface then
      must(net.link_set(iface, { master = false }))
      M.move_addresses(ctx, bridge, iface, addrs, routes)
    end
    must(net.link_del(bridge))
    context.step(ctx, "delete bridge %s", bridge)
    done[#done + 1] = "bridge " .. bridge .. (iface and (" (addresses back on " .. iface .. ")") or "")
  end
end

return M
