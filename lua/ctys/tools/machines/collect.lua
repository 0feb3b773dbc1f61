--- Machines from the hosts themselves (what the original's ctys-genmconf and ctys-vdbgen did):
--- each host's ctys runs the facts chunk (lua/ctys/tools/machines/facts.lua) over SSH, and its
--- answer becomes a database record named as the host was given. What a host sends is checked
--- word by word before it reaches a record: a hostile or broken host cannot put blanks, `#`,
--- control characters or a malformed MAC or address into the database.
---@class ctys.tools.machines.collect
local M = {}

local check = require "ctys.check"

-- A value as one database word: what is not a plain word character becomes '_', 64 at most.
local function word(v)
  if type(v) ~= "string" or v == "" then return nil end
  return (v:sub(1, 64):gsub("[^%w._:/@+-]", "_"))
end

-- A field name from an interface name (mac_eth1): the database's keys are [%w_]+.
local function key_of(nic) return (nic:gsub("[^%w_]", "_")) end

---A host's facts as a database record: name (as given), mac/ip/nic of the interface the SSH
---connection reached (else the first with an address), its link state and Wake-on-LAN modes
---(`wol`: enabled, `wol_modes`: supported), os, arch, hostname, bmc when the host knows it;
---`mac_<nic>` for each other interface. Also the facts kept for JSON, and what is unknown.
---@param name string the host as given to collect
---@param facts table what the facts chunk returned
---@return table record
---@return string[] unknown what could not be found, one reason each
function M.record(name, facts)
  check.arg("ctys.tools.machines.collect.record", "name", name, "string")
  check.arg("ctys.tools.machines.collect.record", "facts", facts, "table")
  local wol, net = require "ctys.wol", require "ctys.net"
  local r, unknown = { name = name }, {}
  local nics = type(facts.nics) == "table" and facts.nics or {}
  local reached = type(facts.reached) == "string" and net.parse_ip(facts.reached) or nil
  local function holds(nic, ip)
    for _, a in ipairs(type(nic.addrs) == "table" and nic.addrs or {}) do
      if type(a) == "string" and a:match("^[^/]+") == ip then return true end
    end
  end
  local main
  for _, nic in ipairs(nics) do
    if type(nic) == "table" and wol.parse_mac(tostring(nic.mac)) and net.valid_name(nic.name) then
      if reached and holds(nic, reached) then main = nic break end
      main = main or (type(nic.addrs) == "table" and #nic.addrs > 0 and nic) or nil
    end
  end
  if main then
    r.mac, r.nic, r.link = wol.parse_mac(main.mac), main.name, word(main.state)
    if type(main.wol) == "table" then
      r.wol, r.wol_modes = word(main.wol.enabled), word(main.wol.supported)
    elseif main.wol_err == "unsupported" then
      -- Known: this NIC cannot wake the machine (a veth, many virtual NICs).
      r.wol = "unsupported"
    else
      unknown[#unknown + 1] = "Wake-on-LAN of " .. main.name .. ": " .. (word(main.wol_err) or "not reported")
    end
  else
    unknown[#unknown + 1] = "no interface with a MAC"
  end
  r.ip = reached
  for _, nic in ipairs(nics) do
    if type(nic) == "table" and nic ~= main and net.valid_name(nic.name) and wol.parse_mac(tostring(nic.mac)) then
      r["mac_" .. key_of(nic.name)] = wol.parse_mac(nic.mac)
    end
  end
  r.os, r.arch, r.hostname = word(facts.os), word(facts.arch), word(facts.hostname)
  local bmc = type(facts.bmc) == "string" and net.parse_ip(facts.bmc)
  if bmc then
    r.bmc = bmc
  else
    unknown[#unknown + 1] = "BMC: " .. (type(facts.bmc_unknown) == "string" and check.cut(facts.bmc_unknown) or "unknown")
  end
  return r, unknown
end

---Collect from hosts over SSH (kept sessions, topology gateways as ctys.remote.exec): one
---result a host, {host, record, unknown, facts} or {host, err, kind}.
---@param hosts ctys.net.Target[]
---@param opts {remote_cmd: string, connect_timeout?: number, timeout?: number, fanout?: integer, topology?: string|false}
---@return table[]
function M.run(hosts, opts)
  check.arg("ctys.tools.machines.collect.run", "hosts", hosts, "table")
  check.arg("ctys.tools.machines.collect.run", "opts", opts, "table")
  local chunk = assert(require("ctys.system").builtin("lua/ctys/tools/machines/facts.lua"), "facts.lua is built in")
  local res, e = require("ctys.remote").run_lua { hosts = hosts, chunk = chunk, remote_cmd = opts.remote_cmd,
    connect_timeout = opts.connect_timeout, timeout = opts.timeout or 30, fanout = opts.fanout, max_output = 1 << 20 }
  if not res then require("ctys.err").failed("collect: %s", e) end
  local out = {}
  for i, r in ipairs(res) do
    local name = hosts[i].host
    if r.err or not r.ok or type(r.values[1]) ~= "table" then
      local why = r.err or (r.ok == false and tostring(r.values[1])) or "the host sent no facts"
      out[i] = { host = name, err = why, kind = r.kind or "failed" }
    else
      local rec, unknown = M.record(name, r.values[1])
      out[i] = { host = name, record = rec, unknown = unknown, facts = r.values[1] }
    end
  end
  return out
end

return M
