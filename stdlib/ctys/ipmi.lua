--- IPMI over LAN: chassis control of a machine's BMC (RMCP+, cipher suites 17 and 3).
---
--- ```lua
--- local bmc = assert(ctys.ipmi.open{ host = "10.0.0.5", user = "admin", password_env = "IPMI_PASSWORD" })
--- print(bmc:power("status"))          --> "on" | "off"
--- bmc:power("cycle"); bmc:bootdev("pxe"); bmc:identify(15); bmc:close()
--- ```
--- The password never comes from Lua: `password_env` (default IPMI_PASSWORD), `password_file`
--- (mode 0600), the credentials file (`~/.ctys/ipmi/credentials`, lines `host[:port] user
--- password`), or a prompt on the terminal. Misuse raises; a BMC that fails returns `nil, err,
--- kind` (kind: timeout, auth, kg, privilege, refused, bmc, protocol, network, secret).
---@class ctys.ipmi
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

local PRIVILEGES = { user = 2, operator = 3, admin = 4 }

---@class ctys.ipmi.OpenOpts
---@field host string BMC address or name
---@field port? integer UDP port (623)
---@field user? string (admin)
---@field password_env? string environment variable holding the password (IPMI_PASSWORD)
---@field password_file? string file holding the password; refused unless only its owner can read it
---@field credentials? string|false credentials file (default ~/.ctys/ipmi/credentials), false for none
---@field prompt? boolean ask on the terminal when nothing else had it (default true)
---@field kg_env? string environment variable holding the BMC key K_g (text, or `0x` and hex)
---@field kg_file? string file holding K_g (mode 0600, owned by you or root)
---@field kg_prompt? boolean ask for K_g on the terminal
---@field cipher? integer cipher suite: 17 or 3 (default: 17, then 3, remembered per BMC); 0-2 only by number
---@field interface? "lanplus"|"lan" IPMI 2.0 RMCP+ (default) or IPMI 1.5
---@field auth? "md5"|"straight" IPMI 1.5 authentication (default: MD5 if offered, else straight; never none)
---@field privilege? "admin"|"operator"|"user" (admin)
---@field timeout? number seconds per try (1)
---@field label? string how failures name the BMC (`ipmi HOST:PORT`); "" for not at all, when the caller names it
---@field retries? integer tries (4): a dead BMC costs timeout x retries; once it answered, each exchange gets twice as many

local OPTS = {
  host = "string", port = "port", user = "string", password_env = "string", password_file = "string",
  credentials = "any", prompt = "boolean", kg_env = "string", kg_file = "string", kg_prompt = "boolean", cipher = "integer",
  interface = { "lanplus", "lan" }, auth = { "md5", "straight" }, privilege = { "admin", "operator", "user" }, timeout = "seconds", retries = "integer",
  label = "string",
}

local function spec_of(fname, opts)
  check.opts(fname, opts, OPTS, { "host" })
  if opts.cipher and not ({ [0] = 1, 1, 1, 1, [17] = 1 })[opts.cipher] then
    check.bad(fname, "cipher", "suite %d is not supported (17, 3; 0-2 by number only)", opts.cipher)
  end
  if opts.interface == "lan" and opts.cipher then check.bad(fname, "cipher", "IPMI 1.5 (interface = \"lan\") has no cipher suites") end
  if opts.auth and opts.interface ~= "lan" then check.bad(fname, "auth", "only for IPMI 1.5 (interface = \"lan\")") end
  if not require("ctys.net").valid_host(opts.host) then check.bad(fname, "host", "%s is not an address or host name", check.shown(opts.host)) end
  if opts.user and (#opts.user > 16 or opts.user:find("%c")) then
    check.bad(fname, "user", "at most 16 bytes, no control characters (the most IPMI carries)")
  end
  local spec = check.without(opts)
  spec.privilege = PRIVILEGES[opts.privilege or "admin"]
  spec.user = opts.user or "admin"
  return M.password_spec(fname, opts, spec)
end

---A BMC spec's password sources with ctys's defaults, the same for IPMI and Redfish: the
---variable IPMI_PASSWORD unless the caller names a source of its own, and the credentials file
---~/.ctys/ipmi/credentials unless `opts.credentials` is another file or false. Misuse raises.
---@param fname string the public function, for messages
---@param opts table the caller's options
---@param spec table the spec being built (filled in and returned)
---@return table spec
function M.password_spec(fname, opts, spec)
  check.arg("ctys.ipmi.password_spec", "fname", fname, "string")
  check.arg("ctys.ipmi.password_spec", "opts", opts, "table")
  check.arg("ctys.ipmi.password_spec", "spec", spec, "table")
  if not (opts.password_env or opts.password_file) then spec.password_env = "IPMI_PASSWORD" end
  if opts.credentials ~= nil and opts.credentials ~= false and type(opts.credentials) ~= "string" then
    check.bad(fname, "credentials", "expected a file name or false, got %s", type(opts.credentials))
  end
  if opts.credentials == nil then
    local home = os.getenv("HOME")
    spec.credentials = home and home ~= "" and (home .. "/.ctys/ipmi/credentials") or nil
  elseif opts.credentials == false then
    spec.credentials = nil
  end
  return spec
end

---Open a session with a BMC. The object's methods: `power(action)` with status (→ "on"|"off"),
---on, off, cycle, reset, soft, diag; `chassis_status()`; `identify(seconds?, force?)`;
---`bootdev(device?, {persistent?, efi?})` (no device: read it); `device_id()`;
---`raw(netfn, cmd, data?)`; `suite()`; `sol{force?}`: the serial console (Serial-over-LAN; kind
---busy when active on another session, which `force` deactivates first) with `send(s)`,
---`read(timeout?)`, `read_line(timeout?)`, `expect(lua_pattern, timeout?)` (the match; kind
---timeout, or eof when the BMC ends it), `break_()` and `close()`; `close()`. Each returns
---nil, err, kind on failure.
---@param opts ctys.ipmi.OpenOpts
---@return userdata|nil bmc
---@return string? err
---@return string? kind
function M.open(opts)
  return core.ipmi_open(spec_of("ctys.ipmi.open", opts))
end

---RMCP presence ping (ASF): is a BMC at host[:port]? Needs no account.
---@param opts {host: string, port?: integer, timeout?: number, retries?: integer}
---@return boolean|nil answered true when a presence pong came back
---@return boolean|string ipmi whether it says it speaks IPMI, or the error
function M.ping(opts)
  check.opts("ctys.ipmi.ping", opts, { host = "string", port = "port", timeout = "seconds", retries = "integer" }, { "host" })
  return core.ipmi_ping(opts.host, opts.port, opts.timeout, opts.retries)
end

---A BMC address as users write it: `host`, `host:port`, `[v6]:port`, `[v6]` or a bare IPv6
---address; the host an address or a host name (ctys.net.valid_host), the port 1-65535.
---Returns nil and why for anything else.
---@param s string
---@return {host: string, port: integer?}|nil address port nil: the default (623)
---@return string? err
function M.parse_address(s)
  check.arg("ctys.ipmi.parse_address", "s", s, "string")
  local shown = #s > 64 and (s:sub(1, 60) .. "...") or s
  local host, port = s:match("^%[([^%]]*)%]:?(.*)$")
  if not host then
    local colons = select(2, s:gsub(":", ""))
    if colons == 1 then host, port = s:match("^(.*):(.*)$") else host, port = s, "" end
    if colons > 1 and not core.net_parse_ip(s) then return nil, string.format("'%s' is not host[:port] (IPv6: [address]:port)", shown) end
  end
  if not require("ctys.net").valid_host(host) then return nil, string.format("bad BMC host '%s': not an address or host name", shown) end
  if port == "" then return { host = host } end
  local n = port:match("^%d+$") and math.tointeger(tonumber(port))
  if not n or n < 1 or n > 65535 then return nil, string.format("bad BMC port in '%s': 1 to 65535", shown) end
  return { host = host, port = n }
end

return M
