--- One BMC interface whatever the protocol: IPMI over LAN (ctys.ipmi) or Redfish (ctys.redfish).
---
--- ```lua
--- local b = assert(ctys.bmc.open{ host = "redfish://10.0.0.5/1", ca = "bmc-ca.pem" })
--- print(b.protocol, b:power("status"))     --> redfish  on
--- b:power("soft"); b:bootdev("pxe", { once = true }); b:identify(15); b:close()
--- ```
--- `host` may be a BMC URL — `redfish://host[:port][/SystemId]`, `ipmi://host[:port]` — or an
--- address; with neither a URL nor `protocol`, the BMC is probed (a Redfish service root, then
--- an RMCP presence ping) and the answer is remembered for the process. Passwords come from the
--- same places for both (ctys.ipmi.OpenOpts).
---@class ctys.bmc
local M = {}

local check = require "ctys.check"

---@class ctys.bmc.Address
---@field protocol? "ipmi"|"redfish" nil for a bare address (IPMI unless probed otherwise)
---@field host string
---@field port? integer
---@field system? string Redfish system Id (from the URL's path)

---A BMC as the machine database and the command line write it: `redfish://host[:port][/SystemId]`,
---`ipmi://host[:port]`, or a bare `host[:port]` (protocol nil). Nil and why for anything else.
---@param s string
---@return ctys.bmc.Address|nil
---@return string? err
function M.parse(s)
  check.arg("ctys.bmc.parse", "s", s, "string")
  local scheme, rest = s:match("^(%a+)://(.*)$")
  if not scheme then
    local a, e = require("ctys.ipmi").parse_address(s)
    if not a then return nil, e end
    return { host = a.host, port = a.port }
  end
  scheme = scheme:lower()
  if scheme ~= "redfish" and scheme ~= "ipmi" then
    return nil, string.format("unknown BMC protocol '%s://' (redfish://, ipmi://)", check.cut(scheme))
  end
  local hostport, system = rest:match("^([^/]*)/?(.*)$")
  if scheme == "ipmi" and system ~= "" then return nil, string.format("'%s': an ipmi:// BMC has no path", check.cut(s)) end
  if system ~= "" and (#system > 255 or not system:match("^[%w%-_.]+$")) then
    return nil, string.format("bad Redfish system id in '%s' (letters, digits, '-', '_', '.')", check.cut(s))
  end
  local a, e = require("ctys.ipmi").parse_address(hostport)
  if not a then return nil, e end
  return { protocol = scheme, host = a.host, port = a.port, system = system ~= "" and system or nil }
end

-- What each probe found, by host:port, for this process.
local probed = {}

---Which protocol a BMC speaks: its Redfish service root (HTTPS), else an RMCP presence pong.
---An untrusted certificate is reported (something answers TLS there), not taken for IPMI.
---@param opts {host: string, port?: integer, ca?: string, insecure?: boolean, timeout?: number}
---@return "redfish"|"ipmi"|nil
---@return string? err
---@return string? kind
function M.probe(opts)
  check.opts("ctys.bmc.probe", opts, { host = "string", port = "port", ca = "string", insecure = "boolean", timeout = "seconds" }, { "host" })
  local key = opts.host .. ":" .. tostring(opts.port)
  if probed[key] then return probed[key] end
  local ok, e, kind = require("ctys.redfish").probe(opts)
  if ok then
    probed[key] = "redfish"
  elseif kind == "untrusted" then
    return nil, e, kind
  else
    local pong = require("ctys.ipmi").ping { host = opts.host, port = opts.port ~= 443 and opts.port or nil, timeout = opts.timeout and math.min(opts.timeout, 1) }
    if not pong then
      return nil, string.format("%s: neither a Redfish service (%s) nor an IPMI presence pong", opts.host, e), "connect"
    end
    probed[key] = "ipmi"
  end
  return probed[key]
end

---@class ctys.bmc.OpenOpts
---@field host string address, or a BMC URL (redfish://host[:port][/SystemId], ipmi://host[:port])
---@field protocol? "ipmi"|"redfish" (default: the URL's, else probed)
---@field port? integer (IPMI 623, Redfish 443)
---@field user? string (admin)
---@field password_env? string (IPMI_PASSWORD)
---@field password_file? string
---@field credentials? string|false
---@field prompt? boolean
---@field system? string Redfish: the system's Id, Name or UUID
---@field ca? string Redfish: PEM file of the CA to trust
---@field insecure? boolean Redfish: no certificate check (warns)
---@field interface? "lanplus"|"lan" IPMI only
---@field cipher? integer IPMI only
---@field kg_env? string IPMI only
---@field kg_file? string IPMI only
---@field timeout? number seconds (IPMI: per try, 1; Redfish: per request, 10)
---@field retries? integer IPMI: tries (4; see ctys.ipmi.open); a Redfish BMC does not use it
---@field label? string

local OPTS = {
  host = "string", protocol = { "ipmi", "redfish" }, port = "port", user = "string", password_env = "string", password_file = "string",
  credentials = "any", prompt = "boolean", system = "string", ca = "string", insecure = "boolean", interface = { "lanplus", "lan" },
  cipher = "integer", kg_env = "string", kg_file = "string", timeout = "seconds", label = "string", retries = "integer",
}
local ONLY = { system = "redfish", ca = "redfish", insecure = "redfish", interface = "ipmi", cipher = "ipmi", kg_env = "ipmi", kg_file = "ipmi" }

---A BMC, either protocol: `b.protocol`, and methods that say the same for both.
---@class ctys.bmc.Bmc
---@field protocol "ipmi"|"redfish"
---@field host string
local Bmc = {}
Bmc.__index = Bmc

---status → "on"|"off"; on, off, soft, cycle, reset, diag → true once done (Redfish: once
---PowerState reads the verb's state, within `wait` seconds, 60).
---@param verb "status"|"on"|"off"|"soft"|"cycle"|"reset"|"diag"
---@param opts? {wait?: number}
---@return string|true|nil
---@return string? err
---@return string? kind
function Bmc:power(verb, opts)
  check.arg("ctys.bmc.Bmc:power", "verb", verb, "string")
  local r, e, kind
  if self.protocol == "redfish" then
    r, e, kind = self.h:power(verb, opts)
  else
    check.opts("ctys.bmc.Bmc:power", opts or {}, { wait = "seconds" })
    r, e, kind = self.h:power(verb)
  end
  if r == nil then return nil, e, kind end
  return verb == "status" and r or true
end

---Boot from `dev` (none, pxe, disk, cdrom, bios, diag, floppy; Redfish also usb, http) from the
---next boot on; `once` for the next boot only.
---@param dev string
---@param opts? {once?: boolean}
---@return true|nil
---@return string? err
---@return string? kind
function Bmc:bootdev(dev, opts)
  check.arg("ctys.bmc.Bmc:bootdev", "dev", dev, "string")
  check.opts("ctys.bmc.Bmc:bootdev", opts or {}, { once = "boolean" })
  local once = opts and opts.once == true
  if self.protocol == "redfish" then return self.h:bootdev(dev, { once = once }) end
  return self.h:bootdev(dev, { persistent = not once })
end

---Identify the machine (its light) for `seconds` (15), 0 for off. Redfish has no duration:
---any non-zero value turns it on until it is turned off.
---@param seconds? integer
---@return true|nil
---@return string? err
---@return string? kind
function Bmc:identify(seconds)
  if seconds ~= nil and not (math.type(seconds) == "integer" and seconds >= 0 and seconds <= 255) then
    check.bad("ctys.bmc.Bmc:identify", "seconds", "expected an integer 0-255, got %s", tostring(seconds))
  end
  if self.protocol == "redfish" then return self.h:identify((seconds or 15) ~= 0) end
  return self.h:identify(seconds or 15)
end

---The serial console through the BMC (IPMI Serial-over-LAN; see ctys.ipmi.open's `sol`).
---@param opts? {force?: boolean}
---@return userdata|nil console
---@return string? err
---@return string? kind
function Bmc:sol(opts)
  check.opts("ctys.bmc.Bmc:sol", opts or {}, { force = "boolean" })
  if self.protocol == "redfish" then return nil, self.host .. ": a Redfish BMC: no serial console through ctys yet", "unsupported" end
  return self.h:sol(opts)
end

---Log out (Redfish: the session is deleted; IPMI: Close Session).
function Bmc:close()
  self.h:close()
end

---Open a BMC whatever its protocol. Misuse raises (an option of the other protocol too); a BMC
---that fails returns nil, err, kind.
---@param opts ctys.bmc.OpenOpts
---@return ctys.bmc.Bmc|nil
---@return string? err
---@return string? kind
function M.open(opts)
  check.opts("ctys.bmc.open", opts, OPTS, { "host" })
  local a, e = M.parse(opts.host)
  if not a then check.bad("ctys.bmc.open", "host", "%s", e) end
  if a.protocol and opts.protocol and a.protocol ~= opts.protocol then
    check.bad("ctys.bmc.open", "protocol", "%s, but the host is a %s:// URL", opts.protocol, a.protocol)
  end
  local o = check.without(opts, "protocol")
  o.host, o.port, o.system = a.host, opts.port or a.port, opts.system or a.system
  local protocol = opts.protocol or a.protocol
  if not protocol then
    for k, p in pairs(ONLY) do
      if opts[k] ~= nil then protocol = p end
    end
  end
  if not protocol then
    local found, pe, pkind = M.probe { host = o.host, port = o.port, ca = o.ca, insecure = o.insecure }
    if not found then return nil, pe, pkind end
    protocol = found
  end
  for k, p in pairs(ONLY) do
    if o[k] ~= nil and p ~= protocol then check.bad("ctys.bmc.open", k, "only for %s BMCs, and %s is %s", p, opts.host, protocol) end
  end
  if protocol == "redfish" then o.retries = nil end
  local h, oe, kind = require(protocol == "redfish" and "ctys.redfish" or "ctys.ipmi").open(o)
  if not h then return nil, oe, kind end
  return setmetatable({ h = h, protocol = protocol, host = o.host }, Bmc)
end

return M
