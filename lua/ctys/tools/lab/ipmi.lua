--- The sandbox lab's IPMI BMCs (ctys lab): an OpenIPMI ipmi_sim in the control namespace on the
--- machine's BMC address (port 623, RMCP and RMCP+, user admin with the lab's password) whose
--- chassis_control (chassis.sh) keeps the power in `m<i>`/bmc and runs the machine switch on a
--- change, and whose Serial-over-LAN console is the machine's serial port: serial.py on
--- 127.0.0.1:(SERIAL_BASE + i), a shell on a pty in the machine's namespace while it is on.
--- The same interface as ctys.tools.lab.redfish: `start`, `ready_chunk`.
---@class ctys.tools.lab.ipmi
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"
local fs = require "ctys.fs"

---Machine i's serial port listens on 127.0.0.1:(SERIAL_BASE + i) of the control namespace.
M.SERIAL_BASE = 2300

---Machine `i`'s IPMI BMC, started through `daemon` (lab.lua's): its configuration in
---`m<i>`/bmc. Returns the machine database's fields for it.
---@param lab {dir: string, ctl: string, name: string, daemon: fun(ns: string, argv: string[], log: string, pidfile: string)}
---@param i integer
---@param addr string the BMC's address
---@param password string at most 16 characters (what ipmi_sim keeps)
---@return string fields `bmc=...`
function M.start(lab, i, addr, password)
  check.arg("ctys.tools.lab.ipmi.start", "lab", lab, "table")
  check.arg("ctys.tools.lab.ipmi.start", "i", i, "integer")
  check.arg("ctys.tools.lab.ipmi.start", "addr", addr, "string")
  check.arg("ctys.tools.lab.ipmi.start", "password", password, "string")
  local d, m = lab.dir, lab.dir .. "/m" .. i
  local function write(path, text, mode) err.must(fs.write(path, text, mode)) end
  write(m .. "/bmc/on-power", string.format("#!/bin/sh\nexec %s/bin/machine \"$1\" %d\n", require("ctys.relay").quote(d), i), tonumber("755", 8))
  write(m .. "/bmc/lan.conf", table.concat({
    string.format('name "lab%02d"', i), "set_working_mc 0x20", "  startlan 1", "    addr " .. addr .. " 623", "    priv_limit admin",
    "    allowed_auths_callback md5 straight", "    allowed_auths_user md5 straight",
    "    allowed_auths_operator md5 straight", "    allowed_auths_admin md5 straight",
    string.format("    guid a1234567%08x89abcdefa1234567", i), "  endlan",
    string.format('  chassis_control "%s/bin/chassis %s/bmc 0x20"', d, m),
    string.format('  sol "tcp:127.0.0.1:%d" 115200', M.SERIAL_BASE + i),
    string.format('  user 2 true "admin" "%s" admin 10 md5 straight', password), "",
  }, "\n"), tonumber("600", 8))
  write(m .. "/bmc/sim.emu", "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n")
  lab.daemon(lab.ctl, { "python3", d .. "/bin/serial", tostring(M.SERIAL_BASE + i), lab.name .. i, m .. "/bmc/power", string.format("lab%02d", i) },
    m .. "/serial.log", m .. "/serial.pid")
  lab.daemon(lab.ctl, { "ipmi_sim", "-c", m .. "/bmc/lan.conf", "-f", m .. "/bmc/sim.emu", "-s", m .. "/bmc", "-n" }, m .. "/bmc.log", m .. "/bmc.pid")
  return "bmc=" .. addr
end

---A Lua chunk for the control namespace that waits (10 s at most) until machine `i`'s BMC
---answers an RMCP presence ping, then sets its LAN parameters (IP address source static, IP
---address) as a site configures a real BMC: `ipmitool lan print` then shows its address.
---@param lab {dir: string}
---@param i integer
---@param addr string
---@return string
function M.ready_chunk(lab, i, addr)
  check.arg("ctys.tools.lab.ipmi.ready_chunk", "lab", lab, "table")
  check.arg("ctys.tools.lab.ipmi.ready_chunk", "i", i, "integer")
  check.arg("ctys.tools.lab.ipmi.ready_chunk", "addr", addr, "string")
  local a, b, c, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local ip = string.char(tonumber(a), tonumber(b), tonumber(c), tonumber(d))
  -- Set LAN Configuration Parameters (netfn 0x0c, cmd 0x01) on channel 1: 4 source, 3 address.
  return string.format("assert(ctys.ipmi.ping{ host = %q, timeout = 0.2, retries = 50 }, %q); "
    .. "local s = assert(ctys.ipmi.open{ host = %q, prompt = false }); assert(s:raw(0x0c, 0x01, %q)); assert(s:raw(0x0c, 0x01, %q)); s:close()",
    addr, "BMC " .. i, addr, "\1\4\1", "\1\3" .. ip)
end

return M
