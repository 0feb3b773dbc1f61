-- bench/status: what a `ctys status --watch` refresh costs, in one process: the first round
-- (every SSH handshake, every BMC session) and the rounds after it (the kept SSH sessions), each
-- checked to have every machine's power and uptime. Usage: ctys bench/status.lua WORDS...
local reach = require "ctys.reach"
local list = reach.machines({ ... })
local times = {}
for round = 1, 5 do
  local t0 = ctys.now()
  local states = reach.probe(list, { power = true, uptime = true })
  times[round] = ctys.now() - t0
  for i, s in ipairs(states) do
    assert(s.power == "on" and s.uptime and s.ping, string.format("%s: power %s (%s), uptime %s (%s), ping %s",
      list[i].name, tostring(s.power), tostring(s.power_err), tostring(s.uptime), tostring(s.uptime_err), tostring(s.ping_err)))
  end
end
local later = { table.unpack(times, 2) }
table.sort(later)
print(string.format("%-48s %9s", "ctys status round, " .. #list .. " machines", "seconds"))
print(string.format("%-48s %9.3f", "first (SSH handshakes, BMC sessions)", times[1]))
print(string.format("%-48s %9.3f", "a refresh (median of 4 later rounds)", later[2]))
