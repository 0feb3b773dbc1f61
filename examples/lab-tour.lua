-- The main job on the sandbox lab: wake a machine, drive another through its BMC and build
-- its VDE network with a QEMU guest on it, power a third through Redfish, run a command on the
-- group and one on the first machine's serial console, collect the machine database from the
-- machines and show the lab's status, cancel the first machine, then the second one's guest. Each step is the ctys command line a user would type, printed before it
-- runs, then checked.
--   sudo cargo run --release -- lab tour          (lab up, this script, lab down)
--   ctys lab up; ctys lab exec ctys examples/lab-tour.lua; ctys lab down
local n = 0

local function step(title)
  n = n + 1
  print(string.format("\n== %d. %s", n, title))
end

-- Runs a command line as a shell would, echoing it; raises when it fails.
local function run(line)
  print("$ " .. line)
  io.stdout:flush()
  local ok, how, code = os.execute(line)
  if not ok then error(string.format("step %d failed (%s %d): %s", n, how, code, line), 0) end
end

-- Polls `probe` every 0.2 s for up to `secs`; true once it says yes.
local function within(secs, probe)
  for _ = 1, math.ceil(secs / 0.2) do
    if probe() then return true end
    ctys.sleep(0.2)
  end
  return false
end

local function ssh_up(ip) return ctys.probe.tcp { host = ip, port = 22, timeout = 0.5 } ~= nil end

local function bmc_power(bmc)
  local b = assert(ctys.ipmi.open { host = bmc, user = "admin" })
  local p = assert(b:power("status"))
  b:close()
  return p
end

if not os.getenv("CTYS_LAB_DIR") then
  error("run me in the lab: ctys lab tour, or ctys lab exec ctys examples/lab-tour.lua", 0)
end

step("Wake lab01 with a magic packet and wait for ping, then SSH")
run("ctys -t pm -a create=wol,t:lab01,ping:50%0.2,sshping:50%0.2")

step("lab02 through its BMC: read the power, power on and wait (PM CREATE), cycle it")
run("ctys-ipmi 10.77.0.102 power status")
run("ctys -t pm -a create=ipmi,t:lab02,ping:50%0.2,sshping:50%0.2")
run("ctys-ipmi 10.77.0.102 power cycle")
assert(within(10, function() return ssh_up("10.77.0.2") end), "lab02 did not come back after the cycle")
print("lab02 answers SSH again; its BMC reads " .. bmc_power("10.77.0.102"))

step("lab02's VDE network (bridge, TAP, vde_switch), built remotely")
run("ctys-vnetctl -r lab02 -f create")
run("ctys-vnetctl -r lab02 check")

step("A QEMU guest on lab02's switch (QEMUSOCK from ctys-vnetctl info); it pings lab01")
local lab = os.getenv("CTYS_LAB_DIR")
-- `ctys lab up` put the test guest (Debian's cloud kernel, busybox) in the lab's guest/.
assert(ctys.fs.stat(lab .. "/guest/vmlinuz"), "the lab has no QEMU test guest (see what ctys lab up said)")
print("$ ctys-vnetctl -r lab02 info")
local info = assert(ctys.proc.run { argv = { "ctys-vnetctl", "-r", "lab02", "info" } })
local qemusock = assert(info.stdout:match("QEMUSOCK=(%S+)"), "ctys-vnetctl info printed no QEMUSOCK: " .. info.stdout .. info.stderr)
print("QEMUSOCK=" .. qemusock)
local start = string.format("ctys.err.must(ctys.qemu.start{ name = 'vm1', switch = '%s', kernel = '%s', initrd = '%s', accel = 'tcg', memory = 128, "
  .. "append = 'console=ttyS0 quiet panic=-1 ctys.name=vm1 ctys.ip=10.77.0.50/24 ctys.ping=10.77.0.1' })", qemusock, lab .. "/guest/vmlinuz", lab .. "/guest/initrd.gz")
print("$ ssh lab02 ctys -e \"" .. start .. "\"")
local r = assert(ctys.remote.exec { hosts = { "lab02" }, cmd = os.getenv("CTYS_REMOTE_CMD") .. " -e " .. require("ctys.relay").quote(start) })[1]
assert(r.status == 0, "the guest did not start on lab02: " .. tostring(r.err or r.stderr))
local vmlog = lab .. "/m2/vde/qemu.root/vm1.log"
local function guest_says(what) return (ctys.fs.read(vmlog) or ""):find(what, 1, true) ~= nil end
assert(within(60, function() return guest_says("CTYS-GUEST vm1 ping 10.77.0.1 ") end), "the guest did not try to ping lab01")
assert(guest_says("CTYS-GUEST vm1 ping 10.77.0.1 ok"), "the guest could not ping lab01: " .. (ctys.fs.read(vmlog) or ""))
print("vm1 (10.77.0.50, on lab02's switch) wrote on its serial console: CTYS-GUEST vm1 ping 10.77.0.1 ok")

step("lab03 on through its Redfish BMC (HTTPS, its CA from the machine database), then one command on the group @lab")
local ca = lab .. "/m3/bmc/cert.pem"
run("ctys-bmc --ca " .. ca .. " redfish://10.77.0.103 power status")
run("ctys -t pm -a create=redfish,t:lab03,ping:50%0.2,sshping:50%0.2")
run("ctys-bmc --ca " .. ca .. " redfish://10.77.0.103 power status")
local results = assert(ctys.remote.exec { hosts = ctys.groups.hosts { "@lab" }, cmd = "echo $(ip -4 -o addr show scope global | awk '{print $2, $4}')" })
for _, r in ipairs(results) do
  print(string.format("%s: %s", r.host, r.status == 0 and r.stdout:gsub("%s+$", "") or (r.err or ("exit " .. tostring(r.status)))))
end

step("lab01's serial console through its BMC (IPMI Serial-over-LAN): a script runs a command there")
-- What `ctys-ipmi 10.77.0.101 sol` gives a person; the serial line works while sshd does not.
print("$ ctys -e 'b = ctys.ipmi.open{ host = \"10.77.0.101\", user = \"admin\" }; c = b:sol(); ...'")
do
  local b = assert(ctys.ipmi.open { host = "10.77.0.101", user = "admin" })
  local c = assert(b:sol())
  -- What the line said before the console was attached is gone: press Enter for a prompt.
  local prompt
  for _ = 1, 10 do
    assert(c:send("\n"))
    prompt = c:expect("lab01# ", 1)
    if prompt then break end
  end
  assert(prompt, "no shell prompt on lab01's serial console")
  assert(c:send("echo serial: $(hostname) $(ip -4 -o addr show dev eth0 | awk '{print $4}')\n"))
  local said = assert(c:expect("serial: [^\r\n]*10%.77%.0%.1/24", 10))
  print("lab01's serial line answered: " .. said)
  c:close()
  b:close()
end

step("The machine database from the machines themselves, and the lab at a glance")
-- What collect would merge into the lab's database (--diff: shown, not written), then whether
-- every machine answers, and each one's power as its BMC (IPMI or Redfish) reports it.
run("ctys-machines collect -w @lab --diff")
run("ctys-vping @lab")
run("ctys status @lab")

step("Cancel lab01 with POWEROFF: announce, stack, then the machine itself")
run("ctys -t pm -a cancel=l:lab01,POWEROFF:0,SELF lab01")
assert(within(10, function() return not ssh_up("10.77.0.1") end), "lab01's sshd is still there")
print("lab01 no longer answers SSH; its BMC reads " .. bmc_power("10.77.0.101"))

step("Cancel on lab02 without SELF: the machines on top (its QEMU guest) go down, lab02 stays up")
run("ctys -t pm -a cancel=1:tst100,POWEROFF:0 lab02")
assert(guest_says("CTYS-GUEST vm1 powerdown"), "vm1 never saw its power button")
print("vm1 wrote on its serial console: CTYS-GUEST vm1 powerdown")

step("The lab now")
run("ctys lab status")
print("\ntour done.")
