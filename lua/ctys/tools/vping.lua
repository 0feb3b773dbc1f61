--- ctys-vping: is each machine there? ICMP echo and the SSH banner, by ctys address (names of
--- the machine database, hosts, ranges, groups), all at once (what the original's ctys-vping
--- did one by one). Exit 0 only when every machine answered both.
---
---     ctys-vping @lab
---     ctys-vping --json lab[01-03] root@10.0.0.9:2222
---@class ctys.tools.vping
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-vping [-X | --json] [-t SECONDS] NAMES|@GROUP...
  NAMES, @GROUP  machines by ctys address: database names (their ip=), hosts, [user@]host[:port]
                 (the SSH port), ranges lab[01-03], groups; ~/.ssh/config's HostName and Port
                 apply as ssh would use them
  -t SECONDS     how long each probe waits (default 1)
  -X             terse: name;address;ping_ms;ssh_ms;error      --json  one object a machine
  -h             this help
A table by default: MACHINE ADDRESS PING SSH, a probe that failed shows its reason.
exit values: 0 every machine answered ping and SSH, 1 bad arguments, 2 a machine database that
cannot be read, 3 a machine did not answer
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "Xjt:h", hidden = { j = true }, options = { "--json" }, operands = "host" }

---Entry point of the ctys-vping binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.vping.main", "argv", argv, "string")
  local opts, words = require("ctys.getopt").parse(argv, "Xjt:h", { ["--json"] = "j" })
  if opts.h then io.write(M.USAGE) return 0 end
  if opts.X and opts.j then err.usage("-X and --json exclude each other") end
  if #words == 0 then err.usage("give the machines: NAMES or @GROUP (see -h)") end
  local timeout = opts.t and check.seconds_arg(opts.t, "bad -t", true) or 1
  local reach = require "ctys.reach"
  local list = reach.machines(words)
  local states = reach.probe(list, { timeout = timeout })
  local json, rows, failed = require "ctys.json", {}, 0
  for i, m in ipairs(list) do
    local s = states[i]
    local ping, ssh = s.ping and math.floor(s.ping * 10000 + 0.5) / 10, s.ssh and math.floor(s.ssh * 10000 + 0.5) / 10
    local why = (not s.ping and ("ping: " .. tostring(s.ping_err))) or (not s.ssh and ("ssh: " .. tostring(s.ssh_err))) or nil
    if why then failed = failed + 1 end
    local shown = m.port ~= 22 and (m.host .. ":" .. m.port) or m.host
    if opts.j then
      print(json.encode { name = m.name, address = shown, ping_ms = ping or json.null, ssh_ms = ssh or json.null,
        ping_err = s.ping_err or json.null, ssh_err = s.ssh_err or json.null, ok = why == nil })
    elseif opts.X then
      print(table.concat({ m.name, shown, tostring(ping or ""), tostring(ssh or ""), why or "" }, ";"))
    else
      rows[#rows + 1] = { m.name, shown, ping and (ping .. "ms") or ("- " .. tostring(s.ping_err)),
        ssh and (ssh .. "ms") or ("- " .. tostring(s.ssh_err)) }
    end
  end
  if not (opts.j or opts.X) then require("ctys.output").columns({ "MACHINE", "ADDRESS", "PING", "SSH" }, rows, "  ") end
  return failed > 0 and err.FAILED or 0
end

return M
