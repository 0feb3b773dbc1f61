--- How a lab's machines are: the probes `ctys-vping` and `ctys status` run on every machine at
--- once. Each machine is probed by ICMP echo and an SSH banner (ctys.probe), its BMC asked for
--- the power (IPMI or Redfish, as the database's bmc= says), and, when SSH answered, its uptime
--- and load read over SSH (kept sessions: a refresh reuses them). Every probe has a bound, so a
--- round takes at most about two timeouts whatever does not answer.
---@class ctys.reach
local M = {}

local check = require "ctys.check"

---@class ctys.reach.Machine
---@field name string as given (or the database's name)
---@field user? string
---@field host string the address ping and the banner probe reach: the database's ip, else
---~/.ssh/config's HostName, else the name resolved
---@field port integer SSH port: as given (host:port), else ~/.ssh/config's Port, else 22
---@field ssh string what SSH connects to: the name when ~/.ssh/config names its HostName, else the address
---@field record table the machine's database entry ({} when it has none)
---@field err? string why it cannot be probed (no address)

---The machines words name: hosts, `user@host:port`, ranges (lab[01-03]), groups and @GROUPs;
---no words: every machine of the database. Each with its database entry and address.
---@param words string[]
---@param db? table a loaded database (default: ctys.machines.load())
---@return ctys.reach.Machine[]
function M.machines(words, db)
  check.list("ctys.reach.machines", "words", words, "string")
  check.arg("ctys.reach.machines", "db", db, "table?")
  local machines = require "ctys.machines"
  db = db or machines.load()
  local list = {}
  if #words == 0 then
    for _, m in ipairs(db) do list[#list + 1] = { host = m.name } end
  else
    list = require("ctys.groups").hosts(words)
  end
  local out = {}
  for i, t in ipairs(list) do
    -- Refused before anything is probed: a word that is neither a machine of the database nor
    -- a host name or address (control characters, blanks, ...).
    if not db[t.host] and not require("ctys.net").valid_host(t.host) then
      require("ctys.err").usage("%s is not a machine of the database, a host name or an address", check.shown(t.host))
    end
    local rec = db[t.host] or {}
    -- ~/.ssh/config's HostName and Port for the name, as ssh would use them; the database's
    -- ip wins for the address.
    local w = require("ctys.remote").where { host = { host = t.host, user = t.user, port = t.port } }
    local aliased = w and w.host ~= t.host
    local addr, e = machines.address(rec.ip or (aliased and w.host) or t.host, db)
    -- SSH itself goes by the name when ssh_config knows it (its IdentityFile, User, ... apply).
    out[i] = { name = t.host, user = t.user, host = addr or t.host, port = w and w.port or t.port or 22, record = rec,
      ssh = aliased and t.host or addr or t.host, err = not addr and e or nil }
  end
  return out
end

-- "12345.67 ..." of /proc/uptime and "0.10 0.05 0.01 ..." of /proc/loadavg, checked.
local function uptime_load(text)
  local up = tonumber(text:match("^%s*(%d+%.?%d*)"))
  local l1, l5, l15 = text:match("\n%s*(%d+%.%d+) (%d+%.%d+) (%d+%.%d+)")
  if not up or not l1 then return nil end
  return { uptime = math.floor(up), load = { tonumber(l1), tonumber(l5), tonumber(l15) } }
end

---@class ctys.reach.State
---@field ping? number round trip, seconds (nil: no answer)
---@field ping_err? string
---@field ssh? number seconds to the SSH banner (nil: none)
---@field ssh_err? string
---@field power? string "on"|"off" as the BMC says (nil: no BMC, or it failed)
---@field power_err? string
---@field uptime? integer seconds
---@field load? number[] 1, 5, 15 minutes
---@field uptime_err? string

---Probe machines, all at once; one state a machine, in order.
---@param list ctys.reach.Machine[]
---@param what {power?: boolean, uptime?: boolean, timeout?: number} BMC power and uptime/load too (ping and SSH always); `timeout` per probe (1 s)
---@return ctys.reach.State[]
function M.probe(list, what)
  check.arg("ctys.reach.probe", "list", list, "table")
  check.fields("ctys.reach.probe", "what", what, { power = "boolean?", uptime = "boolean?", timeout = "number?" })
  local probe, t = require("ctys.probe"), what.timeout or 1
  local states, jobs = {}, {}
  for i, m in ipairs(list) do
    local s = {}
    states[i] = s
    if m.err then
      s.ping_err, s.ssh_err = m.err, m.err
    else
      jobs[#jobs + 1] = function()
        local rtt, e = probe.ping { host = m.host, timeout = t }
        s.ping, s.ping_err = rtt, e
      end
      jobs[#jobs + 1] = function()
        local rtt, e = probe.tcp { host = m.host, port = m.port, timeout = t, ssh = true }
        s.ssh, s.ssh_err = rtt, e
      end
    end
    if what.power and m.record.bmc then
      jobs[#jobs + 1] = function()
        local ok, bmc = pcall(require("ctys.pm.bmc").of, m.name, "BMC", true, m.record)
        if not ok then
          s.power_err = select(2, require("ctys.err").describe(bmc))
          return
        end
        -- A dead IPMI BMC costs timeout x retries: two tries keep a round near its bound. No
        -- password prompt: nobody is there to answer it (a missing one is power_err).
        bmc.timeout, bmc.retries, bmc.prompt = bmc.protocol == "redfish" and t or t / 2, 2, false
        local r, e = require("ctys.pm.bmc").power(bmc, "status")
        s.power, s.power_err = r, e
      end
    end
  end
  ctys.all(jobs)
  if what.uptime then
    local hosts, of = {}, {}
    for i, m in ipairs(list) do
      if states[i].ssh then
        hosts[#hosts + 1] = { host = m.ssh or m.host, user = m.user, port = m.port }
        of[#hosts] = states[i]
      end
    end
    if #hosts > 0 then
      local res, e = require("ctys.remote").exec { hosts = hosts, cmd = "cat /proc/uptime /proc/loadavg", timeout = t * 2,
        connect_timeout = t * 2, progress = false, max_output = 4096 }
      for k, s in ipairs(of) do
        local r = res and res[k]
        local ul = r and not r.err and r.status == 0 and uptime_load(r.stdout)
        if ul then s.uptime, s.load = ul.uptime, ul.load else s.uptime_err = r and (r.err or r.stderr:match("[^\n]*")) or e end
      end
    end
  end
  return states
end

return M
