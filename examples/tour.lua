-- A tour of the scripting host, runnable on any machine (no lab needed):
--   cargo run --release -- examples/tour.lua
-- It parses the manuals' ctys command lines, runs waits concurrently, and shows how errors
-- carry ctys exit values. The main job, with WoL, IPMI, VDE and SSH on real parts, is
-- examples/lab-tour.lua in the sandbox lab: cargo run --release -- lab tour
local cli = require "ctys.cli"
local err = require "ctys.err"

print("ctys " .. ctys.version .. " — modules searched in: " .. table.concat(ctys.core.lua_path, ", ") .. ", then built-in")

print("\n1. The manuals' command lines, as the grammar reads them")
for _, line in ipairs {
  "-t pm -a create=wol,t:hostX,broadcast:hostXDirectedCast lab01",
  "-t pm -a cancel=1:tst100,POWEROFF:0 lab01",
  "-t xen -a cancel=1:tst100,POWEROFF,wol,broadcast:192.168.3.255 lab01",
} do
  local argv = {}
  for w in line:gmatch("%S+") do argv[#argv + 1] = w end
  local req = cli.parse(argv)
  local keys = {}
  for _, o in ipairs(req.action.list) do keys[#keys + 1] = o.key .. (o.value and ("=" .. o.value) or "") end
  print(string.format("   ctys %s\n     -> type %s, action %s {%s}, target %s", line, req.type,
    req.action.action, table.concat(keys, " "), req.targets[1].host))
end

print("\n2. Bad input is named, with its exit value")
for _, line in ipairs { { "-t", "pm", "-a", "create=" }, { "-a", "cancel=l:" }, { "-a", "create=wol", "lab01(-d 1" } } do
  local ok, e = pcall(cli.parse, line)
  local code, msg = err.describe(e)
  print(string.format("   ctys %-28s -> exit %d: %s", table.concat(line, " "), code, msg))
end

print("\n3. Five waits of 0.3 s run together on one thread")
local t0 = ctys.now()
local done = ctys.all {
  function() ctys.sleep(0.3) return "a" end, function() ctys.sleep(0.3) return "b" end,
  function() ctys.sleep(0.3) return "c" end, function() ctys.sleep(0.3) return "d" end,
  function() ctys.sleep(0.3) return "e" end,
}
print(string.format("   results %s after %.2f s of wall time (not 1.5 s)", table.concat(done, ","), ctys.now() - t0))
print("\ndone.")
