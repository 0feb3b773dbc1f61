-- bench/groups: expand a group, N times; prints members and the median milliseconds (CPU).
-- Usage: CTYS_GROUPS_PATH=DIR ctys bench/groups.lua GROUP [N]
local name, n = ..., math.tointeger(tonumber(select(2, ...) or "")) or 7
local times, count = {}, 0
for i = 1, n do
  local t0 = ctys.now()
  count = #ctys.groups.members(name)
  times[i] = (ctys.now() - t0) * 1000
end
table.sort(times)
print(string.format("groups  %s: %d members from includes and ranges, median %.1f ms of %d runs (goal <= 50 ms)", name, count, times[(n + 1) // 2], n))
