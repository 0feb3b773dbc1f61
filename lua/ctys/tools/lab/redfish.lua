--- The sandbox lab's Redfish BMCs (ctys lab): a machine chosen with `--redfish` gets, instead
--- of an ipmi_sim, sushy-tools' emulator on its BMC address (HTTPS on 443, a certificate made
--- for that address, basic auth with the lab's BMC password) holding one fake system named after
--- the machine. The fake driver PUTs each change of the system to the lab's notifier
--- (notify.py), which switches the machine; a switch from elsewhere (Wake-on-LAN, the machine's
--- own poweroff) is told to the BMC by the machine switch (machine.sh), so both agree.
---@class ctys.tools.lab.redfish
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"
local fs = require "ctys.fs"
local proc = require "ctys.proc"

-- sushy-tools as the Redfish tests measured it.
local SUSHY = "sushy-tools==2.2.0"
-- Where the notifier listens, on the control namespace's own loopback.
M.NOTIFY_PORT = 9999

---The venv that holds sushy-tools: CTYS_LAB_SUSHY, else root's cache.
---@return string
function M.venv()
  return require("ctys.paths").env("CTYS_LAB_SUSHY") or "/var/cache/ctys/sushy"
end

---The machine numbers of a `--redfish` value: `none`, or numbers 1-50 separated by commas.
---@param word string
---@return table<integer, true>
function M.parse(word)
  check.arg("ctys.tools.lab.redfish.parse", "word", word, "string")
  local set = {}
  if word == "none" then return set end
  for item in (word .. ","):gmatch("([^,]*),") do
    set[check.integer_arg(item, "lab: bad --redfish machine", 1, 50)] = true
  end
  return set
end

-- A program's stdout, or exit 3 naming it and what it said (argv only: no secret goes in one).
local function run(argv, stdin)
  local r, e = proc.run { argv = argv, stdin = stdin, timeout = 600 }
  if not r then err.failed("lab: %s: %s", table.concat(argv, " "), e) end
  if r.status ~= 0 then err.failed("lab: %s: exit %s: %s", table.concat(argv, " "), tostring(r.status or r.signal), (r.stderr .. r.stdout):gsub("%s+$", "")) end
  return r.stdout
end

---sushy-tools ready in its venv: with `install` made (python3 -m venv, pip from PyPI), else
---exit 2 saying how.
---@param install boolean
function M.ensure(install)
  check.arg("ctys.tools.lab.redfish.ensure", "install", install, "boolean")
  local venv = M.venv()
  if fs.stat(venv .. "/bin/sushy-emulator") then return end
  if not install then
    err.env("lab: a Redfish BMC needs sushy-tools in %s: ctys lab up --install puts it there (pip, from PyPI), or --redfish none", venv)
  end
  print("lab: installing " .. SUSHY .. " into " .. venv)
  local probe = proc.run { argv = { "python3", "-c", "import ensurepip, venv" } }
  if not (probe and probe.status == 0) then
    run { "apt-get", "update", "-qq" }
    run { "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends", "python3-venv" }
  end
  err.must(fs.private_dir(venv:match("^(.*)/[^/]+$") or "."))
  run { "python3", "-m", "venv", venv }
  local ok, e = pcall(run, { venv .. "/bin/pip", "install", "-q", SUSHY })
  if not ok then
    fs.remove(venv)
    error(e, 0)
  end
end

---Machine `i`'s Redfish BMC, started in the control namespace through `daemon` (lab.lua's):
---its certificate, password file, emulator configuration and process in `m`/bmc. Returns the
---machine database's fields for it.
---@param lab {dir: string, ctl: string, daemon: fun(ns: string, argv: string[], log: string, pidfile: string)}
---@param i integer
---@param addr string the BMC's address
---@param password string
---@return string fields `bmc=... bmc_ca=...`
function M.start(lab, i, addr, password)
  check.arg("ctys.tools.lab.redfish.start", "lab", lab, "table")
  check.arg("ctys.tools.lab.redfish.start", "i", i, "integer")
  check.arg("ctys.tools.lab.redfish.start", "addr", addr, "string")
  check.arg("ctys.tools.lab.redfish.start", "password", password, "string")
  local b = lab.dir .. "/m" .. i .. "/bmc"
  local python = M.venv() .. "/bin/python"
  run { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
    "-subj", "/CN=" .. addr, "-addext", "subjectAltName=IP:" .. addr, "-keyout", b .. "/key.pem", "-out", b .. "/cert.pem" }
  -- The password goes in on stdin, never in an argv.
  local auth = run({ python, "-c", "import bcrypt, sys; u, p = sys.stdin.read().split(' ', 1); "
    .. "print(u + ':' + bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode())" }, "admin " .. password)
  err.must(fs.write(b .. "/auth", auth, tonumber("600", 8)))
  local q = require("ctys.json").encode
  local name, mac = string.format("lab%02d", i), string.format("02:77:00:00:00:%02x", i)
  local uuid = string.format("27946b59-9e44-4fa7-8e91-%012x", 0x7ab000000000 + i)
  err.must(fs.write(b .. "/emu.conf", table.concat({
    "SUSHY_EMULATOR_FAKE_DRIVER = True",
    string.format("SUSHY_EMULATOR_FAKE_SYSTEMS = [{'uuid': %s, 'name': %s, 'power_state': 'Off', 'external_notifier': True, 'nics': [{'mac': %s, 'ip': %s}]}]",
      q(uuid), q(name), q(mac), q("10.77.0." .. i)),
    "EXTERNAL_NOTIFICATION_URL = " .. q("http://127.0.0.1:" .. M.NOTIFY_PORT .. "/"),
    "SUSHY_EMULATOR_AUTH_FILE = " .. q(b .. "/auth"),
    "SUSHY_EMULATOR_STATE_DIR = " .. q(b .. "/state"), "",
  }, "\n"), tonumber("600", 8)))
  err.must(fs.write(b .. "/redfish", "redfish://" .. addr .. "\n"))
  lab.daemon(lab.ctl, { M.venv() .. "/bin/sushy-emulator", "--config", b .. "/emu.conf", "-i", addr, "-p", "443",
    "--ssl-certificate", b .. "/cert.pem", "--ssl-key", b .. "/key.pem" }, lab.dir .. "/m" .. i .. "/bmc.log", lab.dir .. "/m" .. i .. "/bmc.pid")
  return string.format("bmc=redfish://%s bmc_ca=%s", addr, b .. "/cert.pem")
end

---The notifier every Redfish BMC of the lab tells its changes to.
---@param lab {dir: string, ctl: string, daemon: fun(ns: string, argv: string[], log: string, pidfile: string)}
function M.notifier(lab)
  check.arg("ctys.tools.lab.redfish.notifier", "lab", lab, "table")
  lab.daemon(lab.ctl, { M.venv() .. "/bin/python", lab.dir .. "/bin/notify", tostring(M.NOTIFY_PORT) }, lab.dir .. "/log/notify.log", lab.dir .. "/notify.pid")
end

---A Lua chunk for the control namespace that waits (30 s at most) until machine `i`'s Redfish
---BMC answers a power status with the lab's credentials.
---@param lab {dir: string}
---@param i integer
---@param addr string
---@return string
function M.ready_chunk(lab, i, addr)
  check.arg("ctys.tools.lab.redfish.ready_chunk", "lab", lab, "table")
  check.arg("ctys.tools.lab.redfish.ready_chunk", "i", i, "integer")
  check.arg("ctys.tools.lab.redfish.ready_chunk", "addr", addr, "string")
  return string.format("do local t0, b, e = ctys.now() repeat b, e = ctys.bmc.open { host = %q, protocol = 'redfish', ca = %q } "
    .. "if not b then ctys.sleep(0.2) end until b or ctys.now() - t0 > 30 assert(b, 'Redfish BMC %d: ' .. tostring(e)) "
    .. "assert(b:power('status')) b:close() end", "redfish://" .. addr, lab.dir .. "/m" .. i .. "/bmc/cert.pem", i)
end

return M
