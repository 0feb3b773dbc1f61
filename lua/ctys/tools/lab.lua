--- ctys lab: a sandbox lab of real parts on this machine, for trying ctys and site scripts
--- without touching real machines.
---
---     ctys lab up [N]          N machines (default 3): network namespaces on a lab bridge
---     ctys lab status          what is up
---     ctys lab exec CMD...     run CMD where the lab is reachable, with the lab's HOME
---     ctys lab tour [FILE]     up, run the tour (examples/lab-tour.lua), down
---     ctys lab down            remove every trace
---
--- Machine i is the namespace `<name><i>` with eth0 (MAC 02:77:00:00:00:<i>) on the bridge
--- `labbr0` of the control namespace `<name>0` (10.77.0.254/24), where ctys runs. A machine is
--- "on" when it has its address 10.77.0.<i> and runs its sshd; its BMC, an OpenIPMI ipmi_sim on
--- 10.77.0.<100+i> in the control namespace (or for the machines of `--redfish`, default lab03,
--- sushy-tools' Redfish emulator there: ctys.tools.lab.redfish), switches that on and off; a tcpdump on its bridge
--- port switches it on when a magic packet for its MAC passes; its `poweroff` (the lab's
--- command table) switches it off. The lab's HOME (ssh config and key, machine database, group
--- `lab`, IPMI credentials, command table) makes `ctys` address it by name. Nothing leaves the
--- namespaces. Names: CTYS_LAB_NAME (default ctyslab), files: CTYS_LAB_DIR (/run/<name>).
---@class ctys.tools.lab
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"
local system = require "ctys.system"
local fs = require "ctys.fs"
local proc = require "ctys.proc"

M.USAGE = [[
usage: ctys lab up [--install] [--redfish LIST] [N] | down | status | exec CMD [ARGS...]
       ctys lab tour [--install] [--redfish LIST] [N] [FILE]
  up        build N sandbox machines (default 3, at most 50): namespaces on a lab bridge, each
            with a MAC, an sshd while it is on, a BMC and a Wake-on-LAN listener
  down      remove every namespace, process and file of the lab (also after a failure)
  status    each machine: power, address, sshd, BMC, listener
  exec      run CMD in the lab's control namespace with the lab's HOME and PATH, where
            `ctys -t pm -a create=wol,t:lab01`, `ctys-ipmi 10.77.0.102 power status` and
            `ctys -t pm -a cancel=POWEROFF,SELF @lab` reach the machines
  tour      up, run FILE (default examples/lab-tour.lua) there, then down whatever happened
  --install install missing packages with apt-get (without it: exit 2 naming the apt-get line),
            and sushy-tools (pip, from PyPI) into a venv for the Redfish BMCs
  --redfish LIST  the machines (numbers: 3 or 1,3; none) whose BMC speaks Redfish (HTTPS on
            10.77.0.1NN:443, sushy-tools' emulator) instead of IPMI (ipmi_sim); default 3
needs root; CTYS_LAB_NAME (ctyslab) names the namespaces, CTYS_LAB_DIR (/run/NAME) holds files
exit values: 0 ok, 1 bad arguments, 2 missing package or not root, 3 a step failed (the lab
is taken down again when `up` fails);
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_LAB_NAME  the lab's name, prefix of its namespaces (ctyslab)
  CTYS_LAB_DIR   its files (/run/NAME); only a directory `up` made is removed
  CTYS_LAB_SUSHY the venv holding sushy-tools (/var/cache/ctys/sushy)
]]

-- What the lab runs, and the package each comes from.
local TOOLS = {
  { "ip", "iproute2" }, { "/usr/sbin/sshd", "openssh-server" }, { "ssh-keygen", "openssh-client" },
  { "ipmi_sim", "openipmi" }, { "tcpdump", "tcpdump" }, { "vde_switch", "vde2" }, { "ipmitool", "ipmitool" },
  { "qemu-system-x86_64", "qemu-system-x86" }, { "python3", "python3" },
}

local SUBNET = "10.77.0."

-- Where `up` keeps the QEMU test guest between labs.
local GUEST_CACHE = "/var/cache/ctys/guest"

-- The file `up` writes first into the lab's directory: `down` removes only a directory that
-- holds it, owned by root and naming this lab, so CTYS_LAB_DIR=/home can never be wiped.
local MARKER = "/.ctys-lab"

local function marked(cfg)
  local text = fs.read(cfg.dir .. MARKER, { trusted = true, max = 64 })
  local st = fs.stat(cfg.dir)
  return text == cfg.name .. "\n" and st and st.type == "dir" and st.uid == 0
end

---The lab's names and paths.
---@return {name: string, dir: string, ctl: string, home: string}
function M.config()
  local name = require("ctys.paths").env("CTYS_LAB_NAME") or "ctyslab"
  if not name:match("^[a-z][a-z0-9]*$") or #name > 10 then
    err.usage("CTYS_LAB_NAME '%s': 1-10 lower-case letters and digits, starting with a letter", name)
  end
  local dir = require("ctys.paths").env("CTYS_LAB_DIR") or ("/run/" .. name)
  return { name = name, dir = dir, ctl = name .. "0", home = dir .. "/home" }
end

-- Runs a program (an argv, no shell); its stdout, or exit 3 naming it and what it said.
local function run(argv, env)
  local r, e = proc.run { argv = argv, env = env }
  local line = table.concat(argv, " ")
  if not r then err.failed("lab: %s: %s", line, e) end
  if r.status ~= 0 then
    err.failed("lab: %s: %s %s: %s", line, r.signal and "signal" or "exit", tostring(r.status or r.signal), (r.stderr .. r.stdout):gsub("%s+$", ""))
  end
  return r.stdout
end

local function write(path, text, mode)
  err.must(fs.write(path, text, mode))
end

local function mkdir(path)
  err.must(fs.private_dir(path))
end

local function machine_name(i) return string.format("lab%02d", i) end

-- The namespaces of this lab that exist now.
local function namespaces(cfg)
  local list = {}
  for line in run { "ip", "netns", "list" }:gmatch("[^\n]+") do
    local ns = line:match("^(%S+)")
    if ns and ns:match("^" .. cfg.name .. "%d+$") then list[#list + 1] = ns end
  end
  return list
end

local exists = require("ctys.paths").exists

local function need_root()
  if require("ctys.fs").euid() ~= 0 then err.env("ctys lab needs root: it builds network namespaces") end
end

-- Every tool present, or (with install) apt-get installs the missing packages; else exit 2.
-- Redfish BMCs need openssl (their certificates) and sushy-tools.
local function check_tools(install, redfish)
  local missing = {}
  for _, t in ipairs(next(redfish) and { { "openssl", "openssl" }, table.unpack(TOOLS) } or TOOLS) do
    if not proc.which(t[1]) then missing[#missing + 1] = t[2] end
  end
  if #missing == 0 then return end
  local line = "apt-get install -y " .. table.concat(missing, " ")
  if not install then err.env("lab: missing packages: %s; install them with: %s (or ctys lab up --install)", table.concat(missing, " "), line) end
  print("lab: installing " .. table.concat(missing, " "))
  run { "apt-get", "update", "-qq" }
  run({ "apt-get", "install", "-y", "-qq", "--no-install-recommends", table.unpack(missing) }, { DEBIAN_FRONTEND = "noninteractive" })
end

local function ensure_tools(install, redfish)
  check_tools(install, redfish)
  if next(redfish) then require("ctys.tools.lab.redfish").ensure(install) end
end

-- The programs the lab runs, shipped in the binary (lua/ctys/tools/lab/*.sh): each reads the
-- lab's directory, name and subnet from lab.env next to its bin/.
local SCRIPTS = { machine = "machine.sh", listen = "listen.sh", chassis = "chassis.sh", log = "log.sh", guest = "guest.sh", notify = "notify.py",
  serial = "serial.py", ipmitool = "ipmitool.sh" }

local function ssh_keygen(path, comment)
  run { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path }
  return (err.must(fs.read(path .. ".pub")):match("^[^\n]*"))
end

-- Starts a daemon in a namespace, detached (a session of its own), its output appended to
-- `log`, its pid in `pidfile`: `ip netns exec` and the shell exec it, so the pid stays its own.
local function daemon(ns, argv, log, pidfile)
  local pid = err.must(proc.spawn { argv = { "ip", "netns", "exec", ns, "sh", "-c", 'exec "$@" >>"$0" 2>&1', log, table.unpack(argv) } })
  write(pidfile, pid .. "\n")
end

local function build(cfg, n, redfish)
  local d = cfg.dir
  local ok, e = fs.private_dir(d)
  if not ok then err.env("lab: %s", e) end
  ok, e = fs.write(d .. MARKER, cfg.name .. "\n")
  if not ok then err.env("lab: %s", e) end
  for _, sub in ipairs { "bin", "log", "vde", "home/.ssh", "home/.ctys/groups", "home/.ctys/ipmi" } do mkdir(d .. "/" .. sub) end
  for _, tool in ipairs { "ctys", "ctys-vnetctl", "ctys-ipmi", "ctys-bmc", "ctys-wakeup", "ctys-groups", "ctys-macros", "ctys-plugins", "ctys-exec", "ctys-distribute", "ctys-machines", "ctys-vping" } do
    run { "ln", "-sf", system.exe(), d .. "/bin/" .. tool }
  end
  write(d .. "/lab.env", string.format("dir=%s name=%s subnet=%s\n", require("ctys.relay").quote(d), cfg.name, SUBNET))
  for bin, file in pairs(SCRIPTS) do
    write(d .. "/bin/" .. bin, assert(system.builtin("lua/ctys/tools/lab/" .. file), file), tonumber("755", 8))
  end
  local hostkey = ssh_keygen(d .. "/host_key", "ctys-lab-host")
  write(d .. "/authorized_keys", ssh_keygen(cfg.home .. "/.ssh/id_ed25519", "ctys-lab") .. "\n")
  -- 16 characters: what ipmi_sim keeps of a password (IPMI 1.5 user passwords).
  local rnd = assert(io.open("/dev/urandom", "rb"))
  local password = rnd:read(8):gsub(".", function(c) return string.format("%02x", c:byte()) end)
  rnd:close()

  local function ip_(...) run { "ip", ... } end
  ip_("netns", "add", cfg.ctl)
  ip_("-n", cfg.ctl, "link", "set", "lo", "up")
  ip_("-n", cfg.ctl, "link", "add", "labbr0", "type", "bridge")
  ip_("-n", cfg.ctl, "addr", "add", SUBNET .. "254/24", "dev", "labbr0")
  ip_("-n", cfg.ctl, "link", "set", "labbr0", "up")
  local ssh_config, known, machines, creds, group = {}, {}, {}, {}, {}
  -- Each machine's BMC: lab/ipmi.lua's or lab/redfish.lua's, both told the same.
  local bmc_lab = { dir = d, ctl = cfg.ctl, name = cfg.name, daemon = daemon }
  if next(redfish) then require("ctys.tools.lab.redfish").notifier(bmc_lab) end
  for i = 1, n do
    local ns, m, name, ip, bmc = cfg.name .. i, d .. "/m" .. i, machine_name(i), SUBNET .. i, SUBNET .. (100 + i)
    local mac = string.format("02:77:00:00:00:%02x", i)
    ip_("netns", "add", ns)
    ip_("-n", ns, "link", "set", "lo", "up")
    ip_("link", "add", "m" .. i, "netns", cfg.ctl, "type", "veth", "peer", "name", "eth0", "netns", ns)
    ip_("-n", cfg.ctl, "link", "set", "m" .. i, "master", "labbr0", "up")
    ip_("-n", ns, "link", "set", "eth0", "address", mac, "up")
    ip_("-n", cfg.ctl, "addr", "add", bmc .. "/24", "dev", "labbr0")
    mkdir(m .. "/bmc")
    mkdir(m .. "/vde")
    write(m .. "/bmc/power", "0\n")
    write(m .. "/sshd_config", table.concat({
      "ListenAddress " .. ip .. ":22", "HostKey " .. d .. "/host_key", "PidFile " .. m .. "/sshd.pid",
      "AuthorizedKeysFile " .. d .. "/authorized_keys", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
      "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "MaxStartups 100:30:200", "UseDNS no",
      -- Each machine's sockets (vde_switch, QEMU guests) are its own, as on separate hosts.
      "PrintMotd no", "PrintLastLog no", "SetEnv SHLVL=1 CTYS_SOCKBASE=" .. m .. "/vde", "Subsystem sftp /usr/lib/openssh/sftp-server", "LogLevel ERROR", "",
    }, "\n"))
    write(m .. "/bmc/power", "0\n")
    local bmc_fields = require(redfish[i] and "ctys.tools.lab.redfish" or "ctys.tools.lab.ipmi").start(bmc_lab, i, bmc, password)
    daemon(cfg.ctl, { d .. "/bin/listen", tostring(i) }, m .. "/listen.log", m .. "/listen.pid")
    ssh_config[#ssh_config + 1] = string.format("Host %s\n  HostName %s\n", name, ip)
    known[#known + 1] = string.format("%s,%s %s\n", name, ip, hostkey:match("^(%S+ %S+)"))
    machines[#machines + 1] = string.format("%s mac=%s ip=%s %s bmc_user=admin iface=labbr0\n", name, mac, ip, bmc_fields)
    creds[#creds + 1] = string.format("%s admin %s\n", bmc, password)
    group[#group + 1] = name
  end
  local h = cfg.home
  ssh_config[#ssh_config + 1] = string.format("Host *\n  User root\n  IdentityFile %s/.ssh/id_ed25519\n  UserKnownHostsFile %s/.ssh/known_hosts\n  StrictHostKeyChecking yes\n  ConnectTimeout 3\n", h, h)
  write(h .. "/.ssh/config", table.concat(ssh_config))
  write(h .. "/.ssh/known_hosts", table.concat(known))
  write(h .. "/.ctys/machines", "# the sandbox lab's machines (ctys lab up)\n" .. table.concat(machines))
  write(h .. "/.ctys/groups/lab", table.concat(group, " ") .. "\n")
  write(h .. "/.ctys/ipmi/credentials", table.concat(creds), tonumber("600", 8))
  local cmd = function(...) return "{ " .. table.concat({ ... }, ", ") .. " }" end
  write(h .. "/.ctys/commands.lua", "-- The lab's machines go down through their switch, never this machine.\nreturn {\n" .. table.concat({
    "  poweroff = " .. cmd(string.format("%q", d .. "/bin/machine"), '"later"'),
    "  halt = " .. cmd(string.format("%q", d .. "/bin/machine"), '"halt"'),
    "  reboot = " .. cmd(string.format("%q", d .. "/bin/machine"), '"reboot"'),
    "  init = " .. cmd(string.format("%q", d .. "/bin/machine"), '"init"'),
    "  logger = " .. cmd(string.format("%q", d .. "/bin/log"), '"logger"'),
    "  wall = " .. cmd(string.format("%q", d .. "/bin/log"), '"wall"'),
  }, ",\n") .. ",\n}\n")
  -- The QEMU test guest (guest.sh), fetched once into root's cache from this namespace (the
  -- lab's have no way out) and copied in; without it the lab still works, only guests do not.
  local cache = GUEST_CACHE
  local built = fs.private_dir(cache) and proc.run { argv = { d .. "/bin/guest", cache } }
  if built and built.status == 0 then
    mkdir(d .. "/guest")
    run { "cp", cache .. "/vmlinuz", cache .. "/initrd.gz", d .. "/guest/" }
  else
    io.stderr:write("ctys: lab: no QEMU test guest (", built and built.stderr:gsub("%s+$", "") or ("cannot use " .. cache), ")\n")
  end
  -- Ready when every BMC answers (IPMI: a presence ping; Redfish: a power status with the lab's
  -- credentials) and every listener listens.
  local pings = {}
  for i = 1, n do
    pings[#pings + 1] = require(redfish[i] and "ctys.tools.lab.redfish" or "ctys.tools.lab.ipmi").ready_chunk(bmc_lab, i, SUBNET .. (100 + i))
  end
  run { "ip", "netns", "exec", cfg.ctl, "env", "HOME=" .. cfg.home, "CTYS_NO_DNS=1", system.exe(), "-e", table.concat(pings, "; ") }
  for i = 1, n do
    local log = d .. "/m" .. i .. "/listen.log"
    local t0 = ctys.now()
    while not (fs.read(log) or ""):find("listening on", 1, true) do
      if ctys.now() - t0 > 5 then err.failed("lab: the Wake-on-LAN listener of machine %d does not listen (%s)", i, log) end
      ctys.sleep(0.05)
    end
  end
end

---The environment `exec` and `tour` give a command: the lab's HOME, tools on PATH, and the
---remote ctys on the machines reading the same files.
---@param cfg table from M.config()
---@return string[] `NAME=value` words
function M.env(cfg)
  check.arg("ctys.tools.lab.env", "cfg", cfg, "table")
  local path = cfg.dir .. "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  -- VDE sockets and vnetctl's state under the lab's directory, not the host's /var/tmp and
  -- /run/ctys, so `down` removes them; on a machine its sshd sets its own CTYS_SOCKBASE.
  local base = { "HOME=" .. cfg.home, "PATH=" .. path, "CTYS_NO_DNS=1", "CTYS_LAB_DIR=" .. cfg.dir, "CTYS_LAB_NAME=" .. cfg.name,
    "CTYS_STATE_DIR=" .. cfg.dir .. "/state" }
  local quoted = {}
  for i, w in ipairs(base) do quoted[i] = require("ctys.relay").quote(w) end
  local remote = "env " .. table.concat(quoted, " ")
  local env = { table.unpack(base) }
  env[#env + 1] = "CTYS_SOCKBASE=" .. cfg.dir .. "/vde"
  env[#env + 1] = "CTYS_REMOTE_CMD=" .. remote .. " ctys"
  env[#env + 1] = "CTYS_REMOTE_VNETCTL=" .. remote .. " ctys-vnetctl"
  return env
end

---Remove every trace of the lab: processes in its namespaces, the namespaces, its files.
---Works on whatever part exists; the directory only when `up` made it (its marker file).
---@param cfg table from M.config()
function M.down(cfg)
  check.arg("ctys.tools.lab.down", "cfg", cfg, "table")
  -- Every process in the lab's namespaces is the lab's: `up` started them there.
  for _, ns in ipairs(namespaces(cfg)) do
    local r = proc.run { argv = { "ip", "netns", "pids", ns } }
    for pid in (r and r.stdout or ""):gmatch("%d+") do system.kill(math.tointeger(tonumber(pid)), "SIGKILL") end
  end
  for _, ns in ipairs(namespaces(cfg)) do run { "ip", "netns", "del", ns } end
  if marked(cfg) then
    local ok, e = fs.remove(cfg.dir)
    if not ok and ok ~= false then err.failed("lab: %s", e) end
  elseif exists(cfg.dir) then
    io.stderr:write(string.format("ctys: lab: %s was not made by ctys lab up (no %s naming %s); left alone\n", cfg.dir, MARKER:sub(2), cfg.name))
  end
end

---Build the lab; on a failure it is taken down again before the error goes on.
---@param cfg table from M.config()
---@param n integer machines
---@param redfish? table<integer, true> the machines whose BMC speaks Redfish (none)
function M.up(cfg, n, redfish)
  check.arg("ctys.tools.lab.up", "cfg", cfg, "table")
  check.arg("ctys.tools.lab.up", "n", n, "integer")
  check.arg("ctys.tools.lab.up", "redfish", redfish, "table?")
  need_root()
  if #namespaces(cfg) > 0 or exists(cfg.dir) then
    err.failed("lab %s is up already (or left over): ctys lab down first", cfg.name)
  end
  local ok, e = pcall(build, cfg, n, redfish or {})
  if not ok then
    M.down(cfg)
    error(e, 0)
  end
end

local function alive(pidfile)
  local f = io.open(pidfile)
  if not f then return false end
  local pid = tonumber(f:read("l") or "")
  f:close()
  return pid ~= nil and system.alive(math.tointeger(pid))
end

---Each machine's state, as rows: name, power, address, sshd, BMC, listener.
---@param cfg table from M.config()
---@return string[][]
function M.status(cfg)
  check.arg("ctys.tools.lab.status", "cfg", cfg, "table")
  local rows = {}
  local i = 1
  while exists(cfg.dir .. "/m" .. i .. "/bmc/power") do
    local m = cfg.dir .. "/m" .. i
    local f = io.open(m .. "/bmc/power")
    local power = f and f:read("l") == "1" and "on" or "off"
    if f then f:close() end
    local r = proc.run { argv = { "ip", "-n", cfg.name .. i, "-4", "-o", "addr", "show", "scope", "global" } }
    local addr = r and r.status == 0 and r.stdout:match("inet (%S+)") or "-"
    rows[#rows + 1] = { machine_name(i), power, addr, alive(m .. "/sshd.pid") and "up" or "-",
      (alive(m .. "/bmc.pid") and "up " or "DOWN ") .. (exists(m .. "/bmc/redfish") and "redfish://" or "") .. SUBNET .. (100 + i),
      alive(m .. "/listen.pid") and "up" or "DOWN" }
    i = i + 1
  end
  return rows
end

-- Runs argv in the control namespace with the lab's environment; its exit status.
local function exec(cfg, argv)
  local full = { "ip", "netns", "exec", cfg.ctl, "env", table.unpack(M.env(cfg)) }
  table.move(argv, 1, #argv, #full + 1, full)
  local r, e = proc.run { argv = full, inherit = true }
  if not r then err.failed("lab exec: %s", e) end
  return r.status or 128 + r.signal
end

local function count(word)
  return require("ctys.check").integer_arg(word or "3", "lab: bad machine count", 1, 50)
end

---How the shells complete `ctys lab` (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { words = { "up", "down", "status", "exec", "tour", "--install", "--redfish" } }

---Entry point of `ctys lab`.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.lab.main", "argv", argv, "string")
  local cmd = argv[1]
  if cmd == nil or cmd == "-h" or cmd == "--help" then
    io.write(M.USAGE)
    return cmd and 0 or 1
  end
  local cfg = M.config()
  local rest, install, redfish_word = {}, false, nil
  local i = 2
  while argv[i] do
    local builds = cmd == "up" or cmd == "tour"
    if argv[i] == "--install" and builds then
      install = true
    elseif argv[i] == "--redfish" and builds then
      redfish_word = argv[i + 1] or err.usage("lab: --redfish needs a list of machines (3, 1,3 or none)")
      i = i + 1
    else
      rest[#rest + 1] = argv[i]
    end
    i = i + 1
  end
  local rf = require "ctys.tools.lab.redfish"
  -- The machines with a Redfish BMC: as given, else lab03 when there is one.
  local function redfish_of(n)
    local set = rf.parse(redfish_word or (n >= 3 and "3" or "none"))
    for k in pairs(set) do
      if k > n then err.usage("lab: --redfish %d: there are only %d machines", k, n) end
    end
    return set
  end
  if cmd == "up" then
    local redfish = redfish_of(count(rest[1]))
    need_root()
    ensure_tools(install, redfish)
    M.up(cfg, count(rest[1]), redfish)
    print(string.format("lab %s: %d machines up (off until woken); run commands with: ctys lab exec CMD", cfg.name, count(rest[1])))
    return 0
  elseif cmd == "down" then
    need_root()
    M.down(cfg)
    return 0
  elseif cmd == "status" then
    local rows = M.status(cfg)
    if #rows == 0 then print("lab " .. cfg.name .. ": down") return 0 end
    require("ctys.output").columns({ "MACHINE", "POWER", "ADDRESS", "SSHD", "BMC", "WOL LISTENER" }, rows, "  ")
    return 0
  elseif cmd == "exec" then
    need_root()
    if #rest == 0 then err.usage("lab exec: give a command") end
    return exec(cfg, rest)
  elseif cmd == "tour" then
    local n, file = 3, "examples/lab-tour.lua"
    for _, w in ipairs(rest) do
      if w:match("^%d+$") then n = count(w) else file = w end
    end
    local redfish = redfish_of(n)
    need_root()
    ensure_tools(install, redfish)
    local f = io.open(file)
    if not f then err.env("lab tour: no tour script %s (run from the source tree, or give FILE)", file) end
    f:close()
    M.up(cfg, n, redfish)
    if file:sub(1, 1) ~= "/" then file = (os.getenv("PWD") or ".") .. "/" .. file end
    local ok, status = pcall(exec, cfg, { "ctys", file })
    M.down(cfg)
    if not ok then error(status, 0) end
    print(string.format("lab %s: down again (tour exit %d)", cfg.name, status))
    return status
  end
  err.usage("lab: unknown command '%s' (up, down, status, exec, tour)", cmd)
end

return M
