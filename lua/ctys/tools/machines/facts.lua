-- What `ctys-machines collect` runs on each host (sent as a chunk to its ctys, so the standard
-- library only): the host's own facts, returned as one table.
--   hostname, reached (the address this SSH connection came to), os, os_name, arch, kernel,
--   nics = { {name, mac, kind, state, addrs, wol = {supported, enabled} | wol_err}, ... },
--   bmc (an address) or bmc_unknown (why not)
local net, proc, fs = require "ctys.net", require "ctys.proc", require "ctys.fs"

local f = { hostname = require("ctys.system").hostname() }
f.reached = (os.getenv("SSH_CONNECTION") or ""):match("^%S+ %S+ (%S+)")

local function first_line(argv)
  local r = proc.run { argv = argv, timeout = 5 }
  return r and r.status == 0 and r.stdout:match("^%s*(.-)%s*\n") or nil
end
f.arch, f.kernel = first_line { "uname", "-m" }, first_line { "uname", "-r" }

local release = fs.read("/etc/os-release", { max = 65536 }) or fs.read("/usr/lib/os-release", { max = 65536 }) or ""
local function field(k)
  local v = release:match("\n" .. k .. "=([^\n]*)") or release:match("^" .. k .. "=([^\n]*)")
  return v and (v:match('^"(.*)"$') or v:match("^'(.*)'$") or v)
end
-- One word for the database (`debian-12`), the full name for JSON.
local id, version = field("ID"), field("VERSION_ID")
f.os = id and (id .. (version and ("-" .. version) or "")):gsub("[^%w._-]", "_") or nil
f.os_name = field("PRETTY_NAME")

f.nics = {}
local links, lerr = net.links()
if not links then f.nics_err = lerr end
for _, l in ipairs(links or {}) do
  -- Bridges, TUN/TAP and loopback are this host's plumbing, not ways to reach it.
  local plumbing = l.kind == "bridge" or l.kind == "tun" or l.name == "lo"
  if l.mac and l.mac ~= "00:00:00:00:00:00" and not plumbing then
    local state = (fs.read("/sys/class/net/" .. l.name .. "/operstate", { max = 64 }) or ""):match("%a+")
    local nic = { name = l.name, mac = l.mac, kind = l.kind, state = state or (l.up and "up" or "down"), addrs = l.addrs }
    local wol, _, kind = net.wol_get(l.name)
    if wol then nic.wol = wol else nic.wol_err = kind end
    f.nics[#f.nics + 1] = nic
  end
end

-- The BMC as the host sees it in band: `ipmitool lan print` (through /dev/ipmi0).
if proc.which("ipmitool") then
  local r = proc.run { argv = { "ipmitool", "lan", "print" }, timeout = 10 }
  local addr = r and r.status == 0 and r.stdout:match("\nIP Address%s*:%s*([%d.]+)")
  if addr and addr ~= "0.0.0.0" then
    f.bmc = addr
  else
    f.bmc_unknown = "ipmitool lan print: " .. (r and ((r.stderr:match("[^\n]+") or ("exit " .. tostring(r.status))):sub(1, 200)) or "did not run")
  end
else
  f.bmc_unknown = "no ipmitool on the host"
end
return f
