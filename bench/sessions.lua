-- bench/sessions: `true` on a host list twice in one process (median of 5 rounds): the first
-- exec pays each host's SSH handshake, the second reuses the sessions the first kept.
-- Usage: ctys bench/sessions.lua 'HOSTLIST'
local hosts = ctys.hostlist.expand((...))
local function timed()
  local t0 = ctys.now()
  for _, r in ipairs(assert(ctys.remote.exec { hosts = hosts, cmd = "true", progress = false })) do
    assert(r.status == 0, r.err)
  end
  return ctys.now() - t0
end
local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end
local first, second = {}, {}
for i = 1, 5 do
  ctys.remote.close_sessions()
  first[i] = timed()
  second[i] = timed()
end
local f, s = median(first), median(second)
print(string.format("%-44s %9s %9s", "exec of true on " .. #hosts .. " hosts", "seconds", "x first"))
print(string.format("%-44s %9.4f %9.2f", "first (one handshake a host)", f, 1))
print(string.format("%-44s %9.4f %9.2f", "second (the kept sessions)", s, s / f))
