--- Redfish: a computer system behind a current BMC (Dell iDRAC, HPE iLO, Lenovo XCC, OpenBMC),
--- over HTTPS with the certificate verified.
---
--- ```lua
--- local sys = assert(ctys.redfish.open{ host = "10.0.0.5", user = "admin", ca = "bmc-ca.pem", system = "1" })
--- print(sys:power("status"))          --> "on" | "off"
--- sys:power("soft")                   -- GracefulShutdown, then PowerState polled until Off
--- sys:bootdev("pxe", { once = true }); sys:identify(true); sys:close()
--- ```
--- The password never comes from Lua: `password_env` (default IPMI_PASSWORD, as ipmitool -E),
--- `password_file` (mode 0600), the credentials file (`~/.ctys/ipmi/credentials`, lines
--- `host[:port] user password`; Redfish's port is 443), or a prompt on the terminal. Misuse
--- raises; a BMC that fails returns `nil, err, kind` (kind: auth, untrusted, notfound, invalid,
--- unsupported, bmc, protocol, timeout, connect, resolve, toolarge, secret, closed).
---@class ctys.redfish
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---@class ctys.redfish.OpenOpts
---@field host string BMC address or name
---@field port? integer HTTPS port (443)
---@field system? string the system's Id, Name or UUID (default: the service's only system)
---@field user? string (admin)
---@field password_env? string environment variable holding the password (IPMI_PASSWORD)
---@field password_file? string file holding the password; refused unless only its owner can read it
---@field credentials? string|false credentials file (default ~/.ctys/ipmi/credentials), false for none
---@field prompt? boolean ask on the terminal when nothing else had it (default true)
---@field ca? string PEM file of the CA (or the BMC's own certificate) to trust instead of the system store
---@field insecure? boolean do not verify the certificate (warns every time)
---@field timeout? number seconds each request may take (10)
---@field label? string how failures name the BMC (`redfish HOST:PORT`)

local OPTS = {
  host = "string", port = "port", system = "string", user = "string", password_env = "string", password_file = "string",
  credentials = "any", prompt = "boolean", ca = "string", insecure = "boolean", timeout = "seconds", label = "string",
}

-- The spec for ctys.core.redfish_open from checked options (defaults filled in).
local function spec_of(fname, opts)
  check.opts(fname, opts, OPTS, { "host" })
  if not require("ctys.net").valid_host(opts.host) then check.bad(fname, "host", "%s is not an address or host name", check.shown(opts.host)) end
  if opts.user and (#opts.user > 255 or opts.user:find("%c")) then check.bad(fname, "user", "at most 255 bytes, no control characters") end
  if opts.system and (#opts.system > 255 or opts.system:find("[%c/?#]")) then check.bad(fname, "system", "%s is not a system Id, Name or UUID", check.shown(opts.system)) end
  if opts.ca and opts.insecure then check.bad(fname, "insecure", "give ca or insecure, not both") end
  local spec = require("ctys.ipmi").password_spec(fname, opts, check.without(opts))
  spec.user = opts.user or "admin"
  if opts.insecure then
    local label = (opts.label or "") ~= "" and opts.label or string.format("redfish %s:%d", opts.host, opts.port or 443)
    require("ctys.log").warn("%s: TLS certificate not verified (insecure)", label)
  end
  return spec
end

---@class ctys.redfish.System
local System = {}
System.__index = System

---A power verb: status → "on"|"off" (or "powering-on"/"powering-off"); on, off, soft
---(GracefulShutdown), cycle (PowerCycle, else ForceOff then On), reset (ForceRestart), diag
---(Nmi). The ResetType is chosen from those the system allows (a verb it cannot do names what it
---can); then PowerState is polled until it reads the verb's state, for at most `wait` seconds
---(60; 0: do not wait). on/off/soft leave a system already there alone. Returns the state word
---reached ("on", "off"), "done" (reset, diag) or "requested" (wait 0).
---@param verb "status"|"on"|"off"|"soft"|"cycle"|"reset"|"diag"
---@param opts? {wait?: number}
---@return string|nil
---@return string? err
---@return string? kind
function System:power(verb, opts)
  check.arg("ctys.redfish.System:power", "verb", verb, "string")
  check.opts("ctys.redfish.System:power", opts or {}, { wait = "seconds" })
  return self.h:power(verb, opts and opts.wait)
end

---The boot override: set it (`dev`: none, pxe, disk, cdrom, bios, floppy, usb, diag, http; `once`
---for the next boot only, `mode` "UEFI"|"Legacy"), or, with no device, read it
---({target, enabled, mode, allowed}).
---@param dev? string
---@param opts? {once?: boolean, mode?: "UEFI"|"Legacy"}
---@return true|table|nil
---@return string? err
---@return string? kind
function System:bootdev(dev, opts)
  if dev == nil then return self.h:boot() end
  check.arg("ctys.redfish.System:bootdev", "dev", dev, "string")
  check.opts("ctys.redfish.System:bootdev", opts or {}, { once = "boolean", mode = { "UEFI", "Legacy" } })
  opts = opts or {}
  return self.h:set_boot(dev, opts.once == true, opts.mode)
end

---Turn the identify indicator on (true) or off (LocationIndicatorActive, else IndicatorLED).
---Redfish gives it no duration: it stays on until turned off.
---@param on boolean
---@return true|nil
---@return string? err
---@return string? kind
function System:identify(on)
  check.arg("ctys.redfish.System:identify", "on", on, "boolean")
  return self.h:identify(on)
end

---What the service says of the system: {id, name, uuid, power, path, resets (allowed ResetType
---values), session (logged in through SessionService), manufacturer?, model?, serial?}.
---@return table|nil
---@return string? err
---@return string? kind
function System:info()
  return self.h:system()
end

---Log out (the session is deleted; the service keeps no slot for it). Also at exit.
function System:close()
  self.h:close()
end

---Log in to a BMC's Redfish service and find one system.
---@param opts ctys.redfish.OpenOpts
---@return ctys.redfish.System|nil
---@return string? err
---@return string? kind
function M.open(opts)
  local h, e, kind = core.redfish_open(spec_of("ctys.redfish.open", opts))
  if not h then return nil, e, kind end
  return setmetatable({ h = h, host = opts.host }, System)
end

---Whether a Redfish service answers at host[:port] (its service root, read without credentials).
---An untrusted certificate is a failure of kind untrusted: something answers TLS there.
---@param opts {host: string, port?: integer, ca?: string, insecure?: boolean, timeout?: number}
---@return true|nil
---@return string? err
---@return string? kind
function M.probe(opts)
  check.opts("ctys.redfish.probe", opts, { host = "string", port = "port", ca = "string", insecure = "boolean", timeout = "seconds" }, { "host" })
  if not require("ctys.net").valid_host(opts.host) then check.bad("ctys.redfish.probe", "host", "%s is not an address or host name", check.shown(opts.host)) end
  return core.redfish_probe(check.without(opts))
end

return M
