--- ctys-plugins: which tools and permissions the ctys plugins find on a host (ctys-uc-PM §1.1).
---
---     ctys-plugins [-X|-j] [host...]
---
--- Without hosts it reports this machine; with hosts (targets, groups) it runs M.report() on
--- each over SSH with the remote ctys and prints the rows in host order. Missing tools are part
--- of the report, not a failure.
--- Exit values: 0 the report was made, 1 erroneous parameters, 3 a host could not be reached.
---@class ctys.tools.plugins
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

M.USAGE = [[
usage: ctys-plugins [-X|-j] [HOST...]
  HOST   [user@]host[:port] or @group: report these hosts over SSH (default: this machine)
  -X     terse: host;check;status;detail records
  -j     JSON: one {"host","check","status","detail"} object a line
  -h     this help
checks: tools on PATH (vde_switch, vde_plug, virsh, xl, qemu-system-x86_64, ipmitool), the command table
(poweroff, reboot, init, halt, logger, wall), CAP_NET_ADMIN, /dev/net/tun, raw sockets and
ICMP, the SSH agent and keys, ~/.ctys/ipmi/credentials, the machine database, WoL per interface
status: ok, missing, denied, n-a
exit values: 0 report made, 1 erroneous parameters, 3 a host could not be reached;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_REMOTE_CMD  the ctys run on each host (ctys on its PATH, else ~/.ctys/bin/ctys)
  CTYS_COMMANDS    the command table file
  CTYS_MACHINES    machine database files
]]

---@class ctys.tools.plugins.Row
---@field check string
---@field status "ok"|"missing"|"denied"|"n-a"|"failed" failed only for a host that could not report
---@field detail string
---@field host? string set by main for remote rows

-- Tools found on PATH, and what needs them.
local TOOLS = {
  { "vde_switch", "for ctys-vnetctl switches" },
  { "vde_plug", "for ctys-vnetctl switch clients" },
  { "virsh", "for the KVM/QEMU stacks" },
  { "xl", "for the Xen stack" },
  { "qemu-system-x86_64", "for QEMU guests (ctys.qemu) and their stack" },
  { "ipmitool", "optional, a second IPMI client" },
}
-- Entries of the command table that PM CREATE/CANCEL runs.
local COMMANDS = { "poweroff", "reboot", "init", "halt", "logger", "wall" }

local ENOENT = 2
local fs = require "ctys.fs"

-- A file's text, or nil (never blocks: a FIFO or device under the name is no file).
local function read(path)
  return (fs.read(path, { max = 1024 * 1024 }))
end

local exists = require("ctys.paths").exists

local function tool_row(check, word, found, why)
  if found[word] then return { check = check, status = "ok", detail = found[word] } end
  local detail = word .. ": not an executable file"
  if not word:find("/", 1, true) then
    detail = word .. ": not on PATH"
    -- A non-root PATH often lacks the sbin directories: say where the tool is after all.
    for _, d in ipairs { "/usr/sbin", "/sbin" } do
      if exists(d .. "/" .. word) then detail = detail .. " (" .. d .. "/" .. word .. " exists)" break end
    end
  end
  return { check = check, status = "missing", detail = why and (detail .. ", " .. why) or detail }
end

-- The fields of /proc/self/status that decide permissions.
local function proc_status()
  local s = read("/proc/self/status") or ""
  local euid = tonumber(s:match("\nUid:%s+%d+%s+(%d+)"))
  local egid = tonumber(s:match("\nGid:%s+%d+%s+(%d+)"))
  local groups = {}
  for g in (s:match("\nGroups:([^\n]*)") or ""):gmatch("%d+") do groups[#groups + 1] = tonumber(g) end
  return { euid = euid, egid = egid, groups = groups, capeff = tonumber(s:match("\nCapEff:%s+(%x+)") or "", 16) }
end

local function has_cap(ps, bit)
  return ps.capeff ~= nil and (ps.capeff >> bit) & 1 == 1
end

local function tun_row()
  local f, e, code = io.open("/dev/net/tun", "r+")
  if f then
    f:close()
    return { check = "/dev/net/tun", status = "ok", detail = "read-write (a new TAP needs CAP_NET_ADMIN too)" }
  end
  return { check = "/dev/net/tun", status = code == ENOENT and "missing" or "denied", detail = e .. (code == ENOENT and " (modprobe tun)" or "") }
end

local function icmp_rows(ps)
  local rows = {}
  local raw = ps.euid == 0 and "uid 0" or has_cap(ps, 13) and "CAP_NET_RAW" or nil
  rows[1] = raw and { check = "raw socket", status = "ok", detail = raw .. " (raw WoL frames, ICMP)" }
    or { check = "raw socket", status = "denied", detail = "needs uid 0 or CAP_NET_RAW (raw WoL frames on -i IFACE)" }
  local lo, hi = (read("/proc/sys/net/ipv4/ping_group_range") or ""):match("(%d+)%s+(%d+)")
  lo, hi = tonumber(lo), tonumber(hi)
  local gid
  for _, g in ipairs { ps.egid, table.unpack(ps.groups) } do
    if lo and g >= lo and g <= hi then gid = g break end
  end
  local range = lo and (lo .. " " .. hi) or "unreadable"
  if gid then
    rows[2] = { check = "icmp echo", status = "ok", detail = string.format("ping socket (gid %d in ping_group_range %s)", gid, range) }
  elseif raw then
    rows[2] = { check = "icmp echo", status = "ok", detail = "raw socket (" .. raw .. ")" }
  else
    rows[2] = { check = "icmp echo", status = "denied",
      detail = string.format("gid %s not in ping_group_range %s and no CAP_NET_RAW", tostring(ps.egid), range) }
  end
  return rows
end

local function ssh_rows(home)
  local rows = {}
  local sock = os.getenv("SSH_AUTH_SOCK")
  if not sock or sock == "" then
    rows[1] = { check = "ssh agent", status = "missing", detail = "SSH_AUTH_SOCK is not set" }
  else
    local st, e, kind = fs.stat(sock)
    rows[1] = st and st.type == "socket" and { check = "ssh agent", status = "ok", detail = sock }
      or { check = "ssh agent", status = kind == "permission" and "denied" or "missing", detail = st and (sock .. ": not a socket") or e }
  end
  local have, unreadable = {}, {}
  for _, k in ipairs { "id_ed25519", "id_ecdsa", "id_rsa" } do
    local text, _, kind = fs.read(home .. "/.ssh/" .. k, { max = 1024 * 1024 })
    if text then have[#have + 1] = k elseif kind ~= "notfound" then unreadable[#unreadable + 1] = k end
  end
  if #have > 0 then
    rows[2] = { check = "ssh keys", status = "ok", detail = table.concat(have, ", ") }
  elseif #unreadable > 0 then
    rows[2] = { check = "ssh keys", status = "denied", detail = "not readable: " .. table.concat(unreadable, ", ") }
  else
    rows[2] = { check = "ssh keys", status = "missing", detail = "no ~/.ssh/id_ed25519, id_ecdsa or id_rsa" }
  end
  return rows
end

local function credentials_row(home)
  local path = home .. "/.ctys/ipmi/credentials"
  local st, e, kind = fs.stat(path)
  if not st and kind == "notfound" then
    return { check = "ipmi credentials", status = "missing", detail = path .. " (IPMI_PASSWORD or -f FILE instead)" }
  end
  if not st then return { check = "ipmi credentials", status = "denied", detail = e } end
  if st.type ~= "file" then return { check = "ipmi credentials", status = "denied", detail = path .. " is not a regular file" } end
  local mode = st.mode & 4095
  -- The same rule the IPMI secret reader applies: anything for group or others is refused.
  if mode & 0x3f ~= 0 then
    return { check = "ipmi credentials", status = "denied",
      detail = string.format("%s mode %o: readable by group or others (chmod 600 %s)", path, mode, path) }
  end
  local text, re = fs.read(path, { max = 1024 * 1024 })
  if not text then return { check = "ipmi credentials", status = "denied", detail = re } end
  return { check = "ipmi credentials", status = "ok", detail = string.format("%s mode %o", path, mode) }
end

local function machines_row()
  local machines = require "ctys.machines"
  local files, present = machines.files(), {}
  for _, path in ipairs(files) do
    if exists(path) then present[#present + 1] = path end
  end
  if #present == 0 then
    return { check = "machines", status = "missing", detail = "none of " .. table.concat(files, ", ") }
  end
  local db, e = err.try(machines.load, present)
  if not db then return { check = "machines", status = "missing", detail = e } end
  return { check = "machines", status = "ok", detail = string.format("%d machines from %s", #db, table.concat(present, ", ")) }
end

-- WoL modes per interface, when ctys.net has wol_get (ethtool's ioctl); no rows otherwise.
local function wol_rows()
  local net = require "ctys.net"
  if type(net.wol_get) ~= "function" then return {} end
  local links, e = net.links()
  if not links then return { { check = "wol", status = "n-a", detail = tostring(e) } } end
  local KIND = { unsupported = "n-a", permission = "denied", nodevice = "missing" }
  local rows = {}
  for _, l in ipairs(links) do
    if l.name ~= "lo" then
      local check = "wol " .. l.name
      local w, werr, kind = net.wol_get(l.name)
      if not w then
        rows[#rows + 1] = { check = check, status = KIND[kind] or "n-a", detail = kind == "unsupported" and "not supported" or tostring(werr) }
      elseif w.supported == "d" then
        rows[#rows + 1] = { check = check, status = "n-a", detail = "not supported" }
      else
        -- Only "g" (magic packet) is what ctys-wakeup and PM CREATE send.
        rows[#rows + 1] = { check = check, status = w.supported:find("g", 1, true) and "ok" or "n-a",
          detail = "supports " .. w.supported .. (w.enabled == "d" and ", not armed" or (", armed for " .. w.enabled)) }
      end
    end
  end
  return rows
end

---The checks of this machine, one row each, in a fixed order.
---@return ctys.tools.plugins.Row[]
function M.report()
  local home = os.getenv("HOME") or ""
  local ps = proc_status()
  local cmds = require("ctys.commands").table()
  local words = {}
  for _, t in ipairs(TOOLS) do words[#words + 1] = t[1] end
  for _, c in ipairs(COMMANDS) do if cmds[c] then words[#words + 1] = cmds[c][1] end end
  local found = require("ctys.commands").which(words)
  local rows = { { check = "ctys", status = "ok", detail = require("ctys").version .. " " .. require("ctys.system").exe() } }
  for _, t in ipairs(TOOLS) do rows[#rows + 1] = tool_row("tool " .. t[1], t[1], found, t[2]) end
  for _, c in ipairs(COMMANDS) do
    if cmds[c] then
      rows[#rows + 1] = tool_row("command " .. c, cmds[c][1], found)
    else
      rows[#rows + 1] = { check = "command " .. c, status = "n-a", detail = "not in the command table" }
    end
  end
  rows[#rows + 1] = has_cap(ps, 12) and { check = "CAP_NET_ADMIN", status = "ok", detail = "effective (bridges, addresses, TAPs)" }
    or { check = "CAP_NET_ADMIN", status = "denied", detail = "not effective: ctys-vnetctl cannot build bridges or TAPs" }
  rows[#rows + 1] = tun_row()
  for _, r in ipairs(icmp_rows(ps)) do rows[#rows + 1] = r end
  for _, r in ipairs(ssh_rows(home)) do rows[#rows + 1] = r end
  rows[#rows + 1] = credentials_row(home)
  rows[#rows + 1] = machines_row()
  for _, r in ipairs(wol_rows()) do rows[#rows + 1] = r end
  return rows
end

local function terse_field(v)
  return (tostring(v):gsub("[\\;\n]", { ["\\"] = "\\\\", [";"] = "\\;", ["\n"] = "\\n" }))
end

-- Rows of every host: the local report, or M.report() run remotely; failed hosts get one
-- "failed" row. Returns the rows and how many hosts failed.
local function collect(hosts)
  if #hosts == 0 then
    local rows = M.report()
    local name = require("ctys.system").hostname() or "localhost"
    for _, r in ipairs(rows) do r.host = name end
    return rows, 0
  end
  local res, e = require("ctys.remote").run_lua { hosts = require("ctys.groups").hosts(hosts),
    remote_cmd = require("ctys.relay").remote_cmd(), chunk = 'return require("ctys.tools.plugins").report()' }
  if not res then err.env("%s", e) end
  local rows, failed = {}, 0
  for _, r in ipairs(res) do
    -- A host's own failure names the host already; the remote side's does not.
    local why = r.err or (r.ok == false and (r.host .. ": " .. tostring(r.values[1])))
      or (type(r.values[1]) ~= "table" and (r.host .. ": no report"))
    if why then
      failed = failed + 1
      rows[#rows + 1] = { host = r.host, check = "host", status = "failed", detail = why }
      io.stderr:write("ctys-plugins: ", why, "\n")
    else
      for _, row in ipairs(r.values[1]) do
        row.host = r.host
        rows[#rows + 1] = row
      end
    end
  end
  return rows, failed
end

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "Xjh", operands = "host" }

---Entry point of the ctys-plugins binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.plugins.main", "argv", argv, "string")
  local opts, hosts = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  if opts.X and opts.j then err.usage("-X and -j exclude each other") end
  local rows, failed = collect(hosts)
  if opts.X then
    for _, r in ipairs(rows) do
      print(table.concat({ terse_field(r.host), terse_field(r.check), terse_field(r.status), terse_field(r.detail) }, ";"))
    end
  elseif opts.j then
    local json = require "ctys.json"
    for _, r in ipairs(rows) do print(json.encode { host = r.host, check = r.check, status = r.status, detail = r.detail }) end
  else
    local cols = #hosts > 0 and { "host", "check", "status", "detail" } or { "check", "status", "detail" }
    local head, cells = {}, {}
    for i, c in ipairs(cols) do head[i] = c:upper() end
    for k, r in ipairs(rows) do
      cells[k] = {}
      for i, c in ipairs(cols) do cells[k][i] = r[c] end
    end
    require("ctys.output").columns(head, cells, "  ")
  end
  return failed > 0 and err.FAILED or 0
end

return M
