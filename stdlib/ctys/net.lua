--- Links, bridges, addresses, routes (netlink) and TAP devices (TUN ioctls).
---
--- ```lua
--- ctys.net.bridge_add("ctysbr0")
--- local tap = assert(ctys.net.tap_add{ user = "alice", group = "kvm" })   -- "tap0"
--- ctys.net.link_set(tap, { up = true, master = "ctysbr0" })
--- for _, l in ipairs(ctys.net.links()) do print(l.name, l.kind, l.master, table.concat(l.addrs, " ")) end
--- ```
--- Misuse raises; a kernel refusal returns `nil, message, kind` (kind: "permission" — needs
--- CAP_NET_ADMIN —, "exists", "nodevice", "other"; for Wake-on-LAN also "unsupported" — the
--- driver has none, as a veth — and "mode" — the NIC lacks a requested mode).
---@class ctys.net
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

local function name_arg(fname, v)
  if type(v) ~= "string" then check.bad(fname, "name", "expected an interface name, got %s", type(v)) end
  local ok, why = core.net_check_name(v)
  if not ok then check.bad(fname, "name", "%s", why) end
  return v
end

---An IP address in its usual form ("10.0.0.1", "fe80::1"), or nil when `s` is none (a name,
---300.1.1.1, ...).
---@param s string
---@return string|nil
function M.parse_ip(s)
  if type(s) ~= "string" then check.bad("ctys.net.parse_ip", "s", "expected a string, got %s", type(s)) end
  return core.net_parse_ip(s)
end

---Whether the kernel would accept `name` as an interface name (1 to 15 bytes, not `.` or `..`,
---no `/`, `:`, white space or NUL).
---@param name any
---@return boolean
function M.valid_name(name)
  return type(name) == "string" and core.net_check_name(name) == true
end

---Whether `s` is an IP address or could be a host name: dot-separated labels of letters,
---digits, '-' and '_', none starting with '-', at most 253 bytes. Checked before a name is
---looked up, so text that is no name (options, blanks, bytes) never reaches a resolver.
---@param s any
---@return boolean
function M.valid_host(s)
  return type(s) == "string" and core.net_valid_host(s)
end

---@class ctys.net.Target
---@field host string
---@field user? string
---@field port? integer

-- `host[:port]`; an IPv6 address takes brackets when a port follows (`[::1]:22`), and without
-- brackets more than one colon is a bare IPv6 address, not a port.
local function split_port(s)
  local host, port = s, nil
  if s:sub(1, 1) == "[" then
    local rest
    host, rest = s:match("^%[([^%]]*)%](.*)$")
    if not host then return nil, "missing ']'" end
    if rest ~= "" then
      port = rest:match("^:(.*)$")
      if not port then return nil, "unexpected text after ']'" end
    end
  else
    local h, p = s:match("^([^:]*):([^:]*)$")
    if h then host, port = h, p end
  end
  if port then
    port = port:match("^%d+$") and math.tointeger(tonumber(port))
    if not port or port < 1 or port > 65535 then return nil, "port must be an integer 1..65535" end
  end
  return host, port
end

---Split `[user@]host[:port]` (IPv6 in brackets with a port: `root@[::1]:22`). The host is not
---looked up or checked as a name (see valid_host): a caller may give it a meaning of its own.
---Text that does not have this form returns nil and why.
---@param text string
---@return ctys.net.Target|nil
---@return string? why
function M.parse_target(text)
  check.arg("ctys.net.parse_target", "text", text, "string")
  local user, hostport = text:match("^([^@]*)@(.*)$")
  if user == "" then return nil, "empty user before '@'" end
  -- Linux's LOGIN_NAME_MAX (256, with the NUL).
  if user and #user > 255 then return nil, "user name longer than 255 bytes" end
  local host, port = split_port(hostport or text)
  if not host then return nil, port end
  if host == "" then return nil, "empty host" end
  if host:find("[@%s]") then return nil, "host contains '@' or white space" end
  -- A leading '-' would reach ssh and other tools as an option.
  if host:find("^%-") or (user and user:find("^%-")) then return nil, "user or host starts with '-'" end
  return { user = user, host = host, port = port }
end

local function addr_arg(fname, v)
  if type(v) ~= "string" or not v:match("^[%x.:]+/%d+$") then
    check.bad(fname, "addr", "%s is not an address with a prefix (10.0.0.1/24)", tostring(v))
  end
  return v
end

---@class ctys.net.Link
---@field index integer
---@field name string
---@field kind? string bridge, tun, veth, ... (nil for plain devices)
---@field up boolean administratively up
---@field master? string the bridge it is enslaved to
---@field mac? string
---@field mtu? integer
---@field addrs string[] "10.0.0.1/24", "fe80::1/64", ...

---Every link with its addresses.
---@return ctys.net.Link[]|nil
---@return string? err
function M.links()
  return core.net_links()
end

---One link by name, or nil.
---@param name string
---@return ctys.net.Link|nil
---@return string? err
function M.link(name)
  name_arg("ctys.net.link", name)
  local links, e = core.net_links()
  if not links then return nil, e end
  for _, l in ipairs(links) do if l.name == name then return l end end
  return nil, "no link named " .. name
end

---Add a bridge.
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.bridge_add(name)
  return core.net_bridge_add(name_arg("ctys.net.bridge_add", name))
end

---Delete a link (a bridge, a veth, ...; for a persistent TAP see tap_del).
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.link_del(name)
  return core.net_link_del(name_arg("ctys.net.link_del", name))
end

---Delete many links (TAPs included) in one request: much faster than one by one, since the
---kernel then waits once, not once per link.
---@param names string[]
---@return true|nil ok
---@return string? err
---@return string? kind
function M.links_del(names)
  if type(names) ~= "table" then check.bad("ctys.net.links_del", "names", "expected a list of interface names") end
  for _, n in ipairs(names) do name_arg("ctys.net.links_del", n) end
  return core.net_links_del(names)
end

---Change a link: `up` (boolean), `mtu` (integer), `master` (a bridge name, or false to release).
---@param name string
---@param change {up?: boolean, mtu?: integer, master?: string|false}
---@return true|nil ok
---@return string? err
---@return string? kind
function M.link_set(name, change)
  name_arg("ctys.net.link_set", name)
  check.opts("ctys.net.link_set", change, { up = "boolean", mtu = "integer", master = "any" })
  if change.master ~= nil and change.master ~= false then name_arg("ctys.net.link_set", change.master) end
  return core.net_link_set(name, change)
end

---Add an address (with its prefix) to a link.
---@param name string
---@param addr string e.g. "10.0.0.1/24"
---@return true|nil ok
---@return string? err
---@return string? kind
function M.addr_add(name, addr)
  return core.net_addr_add(name_arg("ctys.net.addr_add", name), addr_arg("ctys.net.addr_add", addr))
end

---Delete an address from a link.
---@param name string
---@param addr string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.addr_del(name, addr)
  return core.net_addr_del(name_arg("ctys.net.addr_del", name), addr_arg("ctys.net.addr_del", addr))
end

---@class ctys.net.Route
---@field dst string "0.0.0.0/0" for a default route
---@field gateway? string
---@field dev? string
---@field metric? integer
---@field protocol string kernel (derived from an address), boot, static, dhcp, ra, ...
---@field scope string

---The routes of the main table.
---@return ctys.net.Route[]|nil
---@return string? err
function M.routes()
  return core.net_routes()
end

---@class ctys.net.Neighbour
---@field ip string
---@field mac? string aa:bb:cc:dd:ee:ff
---@field dev? string the interface
---@field state string reachable, stale, delay, probe, failed, incomplete, noarp, permanent, none

---The kernel's neighbour table (ARP and NDP): which address answered from which MAC, where.
---@return ctys.net.Neighbour[]|nil
---@return string? err
---@return string? kind
function M.neighbours()
  return core.net_neighbours()
end

---Add a route through a device (dst, gateway, metric, protocol of `route`).
---@param route ctys.net.Route
---@param dev string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.route_add(route, dev)
  check.opts("ctys.net.route_add", route, { dst = "string", gateway = "string", dev = "string", metric = "any", protocol = "string", scope = "string" }, { "dst" })
  return core.net_route_add(route, name_arg("ctys.net.route_add", dev))
end

---Delete a route through a device.
---@param route ctys.net.Route
---@param dev string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.route_del(route, dev)
  check.opts("ctys.net.route_del", route, { dst = "string", gateway = "string", dev = "string", metric = "any", protocol = "string", scope = "string" }, { "dst" })
  return core.net_route_del(route, name_arg("ctys.net.route_del", dev))
end

---Create a TAP device owned by a user and group; persistent unless `persist = false`.
---@param opts {name?: string, user?: string, group?: string, persist?: boolean} name default: the kernel's next tapN
---@return string|nil name
---@return string? err
---@return string? kind
function M.tap_add(opts)
  check.opts("ctys.net.tap_add", opts, { name = "string", user = "string", group = "string", persist = "boolean" })
  if opts.name then name_arg("ctys.net.tap_add", opts.name) end
  return core.net_tap_add(opts)
end

---Delete a persistent TAP device.
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.tap_del(name)
  return core.net_tap_del(name_arg("ctys.net.tap_del", name))
end

---@class ctys.net.Wol
---@field supported string wake-up modes the NIC can do, as ethtool's letters: "pumbg" ("d": none)
---@field enabled string the modes it is armed for ("d": none)

---A NIC's Wake-on-LAN settings (`ethtool IF`). Modes: p PHY activity, u unicast, m multicast,
---b broadcast, a ARP, g magic packet, s magic packet with SecureOn password, f filters.
---@param iface string
---@return ctys.net.Wol|nil
---@return string? err
---@return string? kind "unsupported", "nodevice", "permission", "other"
function M.wol_get(iface)
  return core.ethtool_wol_get(name_arg("ctys.net.wol_get", iface))
end

---Arm a NIC for Wake-on-LAN (`ethtool -s IF wol g`): exactly these modes, "d" to disarm.
---Modes the NIC does not support are refused before anything changes (kind "mode").
---@param iface string
---@param modes? string letters of "pumbagsf", or "d" (default "g": magic packet)
---@return true|nil ok
---@return string? err
---@return string? kind "unsupported", "mode", "nodevice", "permission", "other"
function M.wol_arm(iface, modes)
  name_arg("ctys.net.wol_arm", iface)
  modes = modes == nil and "g" or modes
  if type(modes) ~= "string" or not (modes == "d" or modes:match("^[pumbagsf]+$")) then
    check.bad("ctys.net.wol_arm", "modes", "%s is not a set of wake-up modes (letters of pumbagsf, or d)", type(modes) == "string" and string.format("%q", modes) or tostring(modes))
  end
  return core.ethtool_wol_set(iface, modes)
end

return M
