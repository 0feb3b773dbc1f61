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
--- 10.77.0.<100+i> in the control namespace, switches that on and off; a tcpdump on its bridge
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
local quote = require("ctys.relay").quote

M.USAGE = [[
usage: ctys lab up [--install] [N] | down | status | exec CMD [ARGS...] | tour [--install] [N] [FILE]
  up        build N sandbox machines (default 3, at most 50): namespaces on a lab bridge, each
            with a MAC, an sshd while it is on, an ipmi_sim BMC and a Wake-on-LAN listener
  down      remove every namespace, process and file of the lab (also after a failure)
  status    each machine: power, address, sshd, BMC, listener
  exec      run CMD in the lab's control namespace with the lab's HOME and PATH, where
            `ctys -t pm -a create=wol,t:lab01`, `ctys-ipmi 10.77.0.102 power status` and
            `ctys -t pm -a cancel=POWEROFF,SELF @lab` reach the machines
  tour      up, run FILE (default examples/lab-tour.lua) there, then down whatever happened
  --install install missing packages with apt-get (without it: exit 2 naming the apt-get line)
needs root; CTYS_LAB_NAME (ctyslab) names the namespaces, CTYS_LAB_DIR (/run/NAME) holds files
exit values: 0 ok, 1 bad arguments, 2 missing package or not root, 3 a step failed (the lab
is taken down again when `up` fails);
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_LAB_NAME  the lab's name, prefix of its namespaces (ctyslab)
  CTYS_LAB_DIR   its files (/run/NAME); only a directory `up` made is removed
]]

-- What the lab runs, and the package each comes from.
local TOOLS = {
  { "ip", "iproute2" }, { "/usr/sbin/sshd", "openssh-server" }, { "ssh-keygen", "openssh-client" },
  { "ipmi_sim", "openipmi" }, { "tcpdump", "tcpdump" }, { "vde_switch", "vde2" }, { "ipmitool", "ipmitool" },
}

local SUBNET = "10.77.0."

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

-- Runs a shell command; its output, or raises exit 3 with the command and what it said.
local function sh(cmd)
  local f = assert(io.popen(cmd .. " 2>&1", "r"))
  local out = f:read("a")
  local ok, how, code = f:close()
  if not ok then err.failed("lab: %s: %s %s: %s", cmd, tostring(how), tostring(code), out:gsub("%s+$", "")) end
  return out
end

local function write(path, text, mode)
  local f, e = io.open(path, "w")
  if not f then err.failed("lab: %s", e) end
  f:write(text)
  f:close()
  if mode then sh(string.format("chmod %s %s", mode, quote(path))) end
end

local function machine_name(i) return string.format("lab%02d", i) end

-- The namespaces of this lab that exist now.
local function namespaces(cfg)
  local list = {}
  for line in sh("ip netns list"):gmatch("[^\n]+") do
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
local function check_tools(install)
  local missing = {}
  for _, t in ipairs(TOOLS) do
    if not os.execute("command -v " .. t[1] .. " >/dev/null 2>&1") then missing[#missing + 1] = t[2] end
  end
  if #missing == 0 then return end
  local line = "apt-get install -y " .. table.concat(missing, " ")
  if not install then err.env("lab: missing packages: %s; install them with: %s (or ctys lab up --install)", table.concat(missing, " "), line) end
  print("lab: installing " .. table.concat(missing, " "))
  sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive " .. line .. " -qq --no-install-recommends")
end

-- The power switch of every machine: `machine on|off I` (its BMC and WoL listener), and from
-- inside a machine `machine later|reboot|init N` (its poweroff, reboot, init: return at once and
-- go down a second later, from the control namespace, as a real poweroff does).
local MACHINE = [[
#!/bin/sh
dir=%s name=%s
me() { ip netns identify $$ | sed "s/^$name//"; }
case $1 in
on|1)
  i=$2 ns=$name$2 m=$dir/m$2
  ip -n $ns addr add %s$i/24 dev eth0 2>/dev/null
  if ! { [ -f $m/sshd.pid ] && kill -0 "$(cat $m/sshd.pid)" 2>/dev/null; }; then
    mkdir -p /run/sshd
    ip netns exec $ns /usr/sbin/sshd -f $m/sshd_config
  fi
  echo 1 > $m/bmc/power ;;
off|0)
  i=$2 ns=$name$2 m=$dir/m$2
  for p in $(ip netns pids $ns); do [ "$p" = $$ ] || kill -9 "$p" 2>/dev/null; done
  ip -n $ns -4 addr flush scope global 2>/dev/null
  rm -f $m/sshd.pid
  echo 0 > $m/bmc/power ;;
later|halt) i=$(me); ip netns exec ${name}0 setsid sh -c "sleep 1; $0 off $i" </dev/null >/dev/null 2>&1 & ;;
reboot) i=$(me); ip netns exec ${name}0 setsid sh -c "sleep 1; $0 off $i; $0 on $i" </dev/null >/dev/null 2>&1 & ;;
init)
  case $2 in 0) exec $0 later ;; 6) exec $0 reboot ;; *) echo "$(date +%%T) $(me) init $2" >> $dir/log/messages ;; esac ;;
*) echo "usage: machine on|off I | later | reboot | init N" >&2; exit 1 ;;
esac
exit 0
]]

-- A machine's WoL listener: a magic packet for its MAC (raw 0x0842 or UDP port 9, the MAC's
-- first copy after the six 0xff bytes) crossing its bridge port switches it on.
local LISTEN = [[
#!/bin/sh
i=$1
while :; do
  tcpdump -i m$i -p -n -l -c 1 "(ether proto 0x0842 and ether[20:4] = 0x02770000 and ether[24:2] = $i) or (udp dst port 9 and udp[8:4] = 0xffffffff and udp[14:4] = 0x02770000 and udp[18:2] = $i)" || exit 1
  %s/bin/machine on $i
done
]]

-- OpenIPMI's chassis_control program: get/set NAME VALUE over one file per name in the BMC's
-- state directory; a change of power runs its on-power hook (the machine's switch).
local CHASSIS = [[
#!/bin/sh
state=$1; shift 2; op=$1; shift
case $op in
get) for n in "$@"; do case $n in power) echo "power:$(cat $state/power 2>/dev/null || echo 0)" ;; boot) echo "boot:$(cat $state/boot 2>/dev/null || echo default)" ;; *) exit 1 ;; esac; done ;;
set)
  while [ $# -ge 2 ]; do
    n=$1 v=$2; shift 2
    case $n in shutdown) n=power v=0 ;; esac
    echo "$v" > $state/$n
    echo "$(date +%%T) $n $v" >> $state/chassis.log
    [ $n = power ] && $state/on-power $v
  done ;;
*) exit 1 ;;
esac
exit 0
]]

local function ssh_keygen(path, comment)
  sh(string.format("ssh-keygen -q -t ed25519 -N '' -C %s -f %s", quote(comment), quote(path)))
  local f = assert(io.open(path .. ".pub"))
  local pub = f:read("l")
  f:close()
  return pub
end

-- Starts a daemon in a namespace, detached, its pid in `pidfile`.
local function daemon(ns, cmd, log, pidfile)
  sh(string.format("ip netns exec %s setsid %s </dev/null >>%s 2>&1 & echo $! > %s", ns, cmd, quote(log), quote(pidfile)))
end

local function build(cfg, n)
  local d = cfg.dir
  local ok, e = fs.private_dir(d)
  if not ok then err.env("lab: %s", e) end
  ok, e = fs.write(d .. MARKER, cfg.name .. "\n")
  if not ok then err.env("lab: %s", e) end
  for _, sub in ipairs { "bin", "log", "vde", "home/.ssh", "home/.ctys/groups", "home/.ctys/ipmi" } do sh("mkdir -p " .. quote(d .. "/" .. sub)) end
  for _, tool in ipairs { "ctys", "ctys-vnetctl", "ctys-ipmi", "ctys-wakeup", "ctys-groups", "ctys-macros", "ctys-plugins" } do
    sh(string.format("ln -sf %s %s", quote(system.exe()), quote(d .. "/bin/" .. tool)))
  end
  write(d .. "/bin/machine", string.format(MACHINE, d, cfg.name, SUBNET), "755")
  write(d .. "/bin/listen", string.format(LISTEN, d), "755")
  write(d .. "/bin/chassis", string.format(CHASSIS), "755")
  write(d .. "/bin/log", string.format('#!/bin/sh\necho "$(date +%%T) $(ip netns identify $$) $*" >> %s/log/messages\n', d), "755")
  local hostkey = ssh_keygen(d .. "/host_key", "ctys-lab-host")
  write(d .. "/authorized_keys", ssh_keygen(cfg.home .. "/.ssh/id_ed25519", "ctys-lab") .. "\n")
  -- 16 characters: what ipmi_sim keeps of a password (IPMI 1.5 user passwords).
  local password = sh("head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n'")

  sh(string.format("ip netns add %s && ip -n %s link set lo up", cfg.ctl, cfg.ctl))
  sh(string.format("ip -n %s link add labbr0 type bridge && ip -n %s addr add %s254/24 dev labbr0 && ip -n %s link set labbr0 up",
    cfg.ctl, cfg.ctl, SUBNET, cfg.ctl))
  local ssh_config, known, machines, creds, group = {}, {}, {}, {}, {}
  for i = 1, n do
    local ns, m, name, ip, bmc = cfg.name .. i, d .. "/m" .. i, machine_name(i), SUBNET .. i, SUBNET .. (100 + i)
    local mac = string.format("02:77:00:00:00:%02x", i)
    sh(string.format("ip netns add %s && ip -n %s link set lo up", ns, ns))
    sh(string.format("ip link add m%d netns %s type veth peer name eth0 netns %s", i, cfg.ctl, ns))
    sh(string.format("ip -n %s link set m%d master labbr0 up && ip -n %s link set eth0 address %s up", cfg.ctl, i, ns, mac))
    sh(string.format("ip -n %s addr add %s/24 dev labbr0", cfg.ctl, bmc))
    sh(string.format("mkdir -p %s/bmc", quote(m)))
    write(m .. "/sshd_config", table.concat({
      "ListenAddress " .. ip .. ":22", "HostKey " .. d .. "/host_key", "PidFile " .. m .. "/sshd.pid",
      "AuthorizedKeysFile " .. d .. "/authorized_keys", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
      "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "MaxStartups 100:30:200", "UseDNS no",
      "PrintMotd no", "PrintLastLog no", "SetEnv SHLVL=1", "LogLevel ERROR", "",
    }, "\n"))
    write(m .. "/bmc/power", "0\n")
    write(m .. "/bmc/on-power", string.format("#!/bin/sh\nexec %s/bin/machine \"$1\" %d\n", d, i), "755")
    write(m .. "/bmc/lan.conf", table.concat({
      'name "' .. name .. '"', "set_working_mc 0x20", "  startlan 1", "    addr " .. bmc .. " 623", "    priv_limit admin",
      "    allowed_auths_callback md5 straight", "    allowed_auths_user md5 straight",
      "    allowed_auths_operator md5 straight", "    allowed_auths_admin md5 straight",
      string.format("    guid a1234567%08x89abcdefa1234567", i), "  endlan",
      string.format('  chassis_control "%s/bin/chassis %s/bmc 0x20"', d, m),
      string.format('  user 2 true "admin" "%s" admin 10 md5 straight', password), "",
    }, "\n"), "600")
    write(m .. "/bmc/sim.emu", "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n")
    daemon(cfg.ctl, string.format("ipmi_sim -c %s/bmc/lan.conf -f %s/bmc/sim.emu -s %s/bmc -n", m, m, m), m .. "/bmc.log", m .. "/bmc.pid")
    daemon(cfg.ctl, string.format("%s/bin/listen %d", d, i), m .. "/listen.log", m .. "/listen.pid")
    ssh_config[#ssh_config + 1] = string.format("Host %s\n  HostName %s\n", name, ip)
    known[#known + 1] = string.format("%s,%s %s\n", name, ip, hostkey:match("^(%S+ %S+)"))
    machines[#machines + 1] = string.format("%s mac=%s ip=%s bmc=%s bmc_user=admin iface=labbr0\n", name, mac, ip, bmc)
    creds[#creds + 1] = string.format("%s admin %s\n", bmc, password)
    group[#group + 1] = name
  end
  local h = cfg.home
  ssh_config[#ssh_config + 1] = string.format("Host *\n  User root\n  IdentityFile %s/.ssh/id_ed25519\n  UserKnownHostsFile %s/.ssh/known_hosts\n  StrictHostKeyChecking yes\n  ConnectTimeout 3\n", h, h)
  write(h .. "/.ssh/config", table.concat(ssh_config))
  write(h .. "/.ssh/known_hosts", table.concat(known))
  write(h .. "/.ctys/machines", "# the sandbox lab's machines (ctys lab up)\n" .. table.concat(machines))
  write(h .. "/.ctys/groups/lab", table.concat(group, " ") .. "\n")
  write(h .. "/.ctys/ipmi/credentials", table.concat(creds), "600")
  local cmd = function(...) return "{ " .. table.concat({ ... }, ", ") .. " }" end
  write(h .. "/.ctys/commands.lua", "-- The lab's machines go down through their switch, never this machine.\nreturn {\n" .. table.concat({
    "  poweroff = " .. cmd(string.format("%q", d .. "/bin/machine"), '"later"'),
    "  halt = " .. cmd(string.format("%q", d .. "/bin/machine"), '"halt"'),
    "  reboot = " .. cmd(string.format("%q", d .. "/bin/machine"), '"reboot"'),
    "  init = " .. cmd(string.format("%q", d .. "/bin/machine"), '"init"'),
    "  logger = " .. cmd(string.format("%q", d .. "/bin/log"), '"logger"'),
    "  wall = " .. cmd(string.format("%q", d .. "/bin/log"), '"wall"'),
  }, ",\n") .. ",\n}\n")
  -- Ready when every BMC answers a presence ping and every listener listens.
  local pings = {}
  for i = 1, n do pings[#pings + 1] = string.format("assert(ctys.ipmi.ping{ host = %q, timeout = 0.2, retries = 50 }, %q)", SUBNET .. (100 + i), "BMC " .. i) end
  sh(string.format("ip netns exec %s %s -e %s", cfg.ctl, quote(system.exe()), quote(table.concat(pings, "; "))))
  for i = 1, n do
    sh(string.format("for t in $(seq 100); do grep -q 'listening on' %s/m%d/listen.log && exit 0; sleep 0.05; done; exit 1", quote(d), i))
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
  -- /run/ctys, so `down` removes them.
  local base = { "HOME=" .. cfg.home, "PATH=" .. path, "CTYS_NO_DNS=1", "CTYS_LAB_DIR=" .. cfg.dir, "CTYS_LAB_NAME=" .. cfg.name,
    "CTYS_SOCKBASE=" .. cfg.dir .. "/vde", "CTYS_STATE_DIR=" .. cfg.dir .. "/state" }
  local remote = "env " .. table.concat(base, " ")
  local env = { table.unpack(base) }
  env[#env + 1] = "CTYS_REMOTE_CMD=" .. remote .. " ctys"
  env[#env + 1] = "CTYS_REMOTE_VNETCTL=" .. remote .. " ctys-vnetctl"
  return env
end

---Remove every trace of the lab: processes in its namespaces, the namespaces, its files.
---Works on whatever part exists; the directory only when `up` made it (its marker file).
---@param cfg table from M.config()
function M.down(cfg)
  check.arg("ctys.tools.lab.down", "cfg", cfg, "table")
  for _, ns in ipairs(namespaces(cfg)) do
    os.execute(string.format("for p in $(ip netns pids %s); do kill -9 $p; done 2>/dev/null", ns))
  end
  -- The namespaces go once nothing holds them; killed processes may take a moment.
  for _, ns in ipairs(namespaces(cfg)) do sh("ip netns del " .. ns) end
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
function M.up(cfg, n)
  check.arg("ctys.tools.lab.up", "cfg", cfg, "table")
  check.arg("ctys.tools.lab.up", "n", n, "integer")
  need_root()
  if #namespaces(cfg) > 0 or exists(cfg.dir) then
    err.failed("lab %s is up already (or left over): ctys lab down first", cfg.name)
  end
  local ok, e = pcall(build, cfg, n)
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
    local addr = sh(string.format("ip -n %s -4 -o addr show scope global 2>/dev/null || true", cfg.name .. i)):match("inet (%S+)") or "-"
    rows[#rows + 1] = { machine_name(i), power, addr, alive(m .. "/sshd.pid") and "up" or "-",
      (alive(m .. "/bmc.pid") and "up " or "DOWN ") .. SUBNET .. (100 + i), alive(m .. "/listen.pid") and "up" or "DOWN" }
    i = i + 1
  end
  return rows
end

-- Runs argv in the control namespace with the lab's environment; its exit status.
local function exec(cfg, argv)
  local words = {}
  for i, w in ipairs(argv) do words[i] = quote(w) end
  local env = {}
  for i, w in ipairs(M.env(cfg)) do env[i] = quote(w) end
  local _, how, code = os.execute(string.format("ip netns exec %s env %s %s", cfg.ctl, table.concat(env, " "), table.concat(words, " ")))
  return how == "exit" and code or 128 + code
end

local function count(word)
  return require("ctys.check").integer_arg(word or "3", "lab: bad machine count", 1, 50)
end

---How the shells complete `ctys lab` (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { words = { "up", "down", "status", "exec", "tour", "--install" } }

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
  local rest, install = {}, false
  for i = 2, #argv do
    if argv[i] == "--install" and (cmd == "up" or cmd == "tour") then install = true else rest[#rest + 1] = argv[i] end
  end
  if cmd == "up" then
    need_root()
    check_tools(install)
    M.up(cfg, count(rest[1]))
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
    need_root()
    check_tools(install)
    local n, file = 3, "examples/lab-tour.lua"
    for _, w in ipairs(rest) do
      if w:match("^%d+$") then n = count(w) else file = w end
    end
    local f = io.open(file)
    if not f then err.env("lab tour: no tour script %s (run from the source tree, or give FILE)", file) end
    f:close()
    M.up(cfg, n)
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
