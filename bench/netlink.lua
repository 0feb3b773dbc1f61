-- bench/netlink: N TAPs created, enslaved to a bridge and deleted through ctys.net.
-- Usage (inside a namespace, as root): ctys bench/netlink.lua N [batch]
-- With "batch", the TAPs are deleted in one request (ctys.net.links_del), else one by one.
local n = math.tointeger(tonumber((...))) or 200
local batch = select(2, ...) == "batch"
assert(ctys.net.bridge_add("benchbr"))
for i = 1, n do
  local name = assert(ctys.net.tap_add { name = "bt" .. i })
  assert(ctys.net.link_set(name, { master = "benchbr", up = true }))
end
if batch then
  -- TAPs and bridge go in one request: the kernel waits for one grace period, not 201.
  local names = { "benchbr" }
  for i = 1, n do names[i + 1] = "bt" .. i end
  assert(ctys.net.links_del(names))
else
  for i = 1, n do assert(ctys.net.tap_del("bt" .. i)) end
  assert(ctys.net.link_del("benchbr"))
end
