--- Wake-on-LAN: magic packets as UDP (unicast, directed or limited broadcast) or as raw
--- Ethernet frames (EtherType 0x0842, as etherwake sends them).
---
--- ```lua
--- ctys.wol.send{ mac = "aa:bb:cc:dd:ee:ff", broadcast = "10.0.0.255" }          -- UDP to port 9
--- ctys.wol.send{ mac = "aa-bb-cc-dd-ee-ff", iface = "eth0", raw = true }        -- raw broadcast frame
--- ctys.wol.send{ mac = "aabb.ccdd.eeff", iface = "eth0", broadcast = "255.255.255.255" } -- no default route needed
--- ```
---@class ctys.wol
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---@class ctys.wol.SendOpts
---@field mac string target MAC: aa:bb:cc:dd:ee:ff, aa-bb-.., aabb.ccdd.eeff or 12 hex digits
---@field broadcast? string UDP destination address: a directed broadcast, 255.255.255.255 or a unicast address (default 255.255.255.255 unless raw)
---@field port? integer UDP port (default 9; 7 and any other work)
---@field iface? string interface: raw frames go out on it; UDP is bound to it (SO_BINDTODEVICE)
---@field raw? boolean a raw Ethernet frame instead of UDP (default: raw when no broadcast is given and an iface is)
---@field unicast? boolean raw frames go to the target's own MAC (etherwake's default) instead of ff:ff:ff:ff:ff:ff
---@field bmac? string raw frames go to this MAC
---@field password? string SecureOn password: a.b.c.d (4 bytes) or a MAC-style 6 bytes
---@field count? integer how many packets (default 1)
---@field interval? number seconds between them (default 0)

local OPTS = {
  mac = "string", broadcast = "string", port = "port", iface = "string", raw = "boolean", unicast = "boolean",
  bmac = "string", password = "string", count = "integer", interval = "seconds>=0", macs = "table", gso = "boolean",
}

---The MAC in canonical form (`aa:bb:cc:dd:ee:ff`), or nil and why not.
---@param s string
---@return string|nil mac
---@return string? err
function M.parse_mac(s)
  check.arg("ctys.wol.parse_mac", "s", s, "string")
  return core.wol_parse_mac(s)
end

---Whether `s` is a SecureOn password (a.b.c.d, each 0-255, or a MAC-style 6 bytes); the reason
---never repeats it.
---@param s string
---@return true|nil ok
---@return string? err
function M.check_password(s)
  check.arg("ctys.wol.check_password", "s", s, "string")
  return core.wol_check_password(s)
end

local function mac_arg(fname, name, s)
  local m, e = core.wol_parse_mac(s)
  if not m then check.bad(fname, name, "%s", e) end
  return m
end

-- Checks shared by send and send_many; returns the spec for ctys.core.
local function spec_of(fname, opts, required)
  check.opts(fname, opts, OPTS, required)
  local spec = check.without(opts)
  if spec.bmac then spec.bmac = mac_arg(fname, "bmac", spec.bmac) end
  if spec.raw == nil then spec.raw = spec.broadcast == nil and spec.iface ~= nil end
  if spec.raw and spec.broadcast then check.bad(fname, "raw", "a raw frame has no IP address: drop 'broadcast'") end
  if spec.raw and spec.port then check.bad(fname, "port", "a raw frame has no port") end
  if not spec.raw and (spec.unicast or spec.bmac) then
    check.bad(fname, spec.unicast and "unicast" or "bmac", "only raw frames have a destination MAC (set raw = true)")
  end
  if spec.broadcast and not core.net_parse_ip(spec.broadcast) then
    check.bad(fname, "broadcast", "%q is not an IP address (resolve names first: ctys.machines)", spec.broadcast)
  end
  if spec.password and not core.wol_check_password(spec.password) then
    -- Never echo the password itself.
    check.bad(fname, "password", "neither a.b.c.d (4 bytes) nor a MAC-style 6 bytes")
  end
  return spec
end

---Send magic packets for one machine. Misuse raises; a failure to send (no route, no
---permission for raw frames, no such interface) returns nil and the reason.
---@param opts ctys.wol.SendOpts
---@return true|nil ok
---@return string? err
function M.send(opts)
  local spec = spec_of("ctys.wol.send", opts, { "mac" })
  if spec.macs or spec.gso then check.bad("ctys.wol.send", spec.macs and "macs" or "gso", "only for ctys.wol.send_many") end
  spec.mac = mac_arg("ctys.wol.send", "mac", spec.mac)
  return core.wol_send(spec)
end

---Send one magic packet to each of many MACs, fast: one socket, no allocation per packet,
---sendmmsg batches for UDP. Same options as send, with `macs` instead of `mac` (no count).
---For UDP, segmentation offload is used where the kernel has it (about ten times cheaper
---again; the datagrams are cut where they leave for a real NIC, but a veth may pass them on
---uncut), else sendmmsg; `gso = false` insists on sendmmsg.
---@param opts ctys.wol.SendOpts|{macs: string[], gso?: boolean}
---@return integer|nil sent how many packets went out
---@return string? err
function M.send_many(opts)
  local spec = spec_of("ctys.wol.send_many", opts, { "macs" })
  if spec.mac or spec.count or spec.interval then check.bad("ctys.wol.send_many", spec.mac and "mac" or "count", "not for send_many") end
  if spec.gso and spec.raw then check.bad("ctys.wol.send_many", "gso", "only for UDP") end
  if spec.raw then spec.gso = false end
  -- The MACs are checked natively (many of them, fast): a bad one comes back as "badarg".
  local n, e, kind, index = core.wol_send_many(spec)
  if kind == "badarg" then check.bad("ctys.wol.send_many", "macs[" .. tostring(index) .. "]", "%s", e) end
  if n == nil then return nil, e, kind end
  return n
end

---What send would put on the wire, without sending: a description and the bytes as hex
---(the whole Ethernet frame for raw, the UDP payload otherwise; password bytes show as xx).
---@param opts ctys.wol.SendOpts
---@return string|nil description
---@return string? hex_or_err
function M.describe(opts)
  local spec = spec_of("ctys.wol.describe", opts, { "mac" })
  local mac = mac_arg("ctys.wol.describe", "mac", spec.mac)
  spec.mac = mac
  -- The bytes are the primitive's own (ctys.core.wol_wire builds them as send does).
  local w, e = core.wol_wire(spec)
  if not w then return nil, e end
  -- The SecureOn password is a secret: its bytes show as xx.
  local hex = w.bytes:sub(1, w.secret_at):gsub(".", function(c) return string.format("%02x", c:byte()) end) .. string.rep("xx", #w.bytes - w.secret_at)
  local pw = spec.password and " with a SecureOn password" or ""
  if w.iface then
    return string.format("raw frame %d bytes on %s, %s > %s, ethertype 0x0842, for %s%s", #w.bytes, w.iface, w.src, w.dst, mac, pw), hex
  end
  return string.format("UDP %d bytes to %s%s for %s%s", #w.bytes, w.dest, spec.iface and (" via " .. spec.iface) or "", mac, pw), hex
end

return M
