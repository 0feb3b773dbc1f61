--- ctys-vnetctl: the network plumbing for QEMU/KVM guests — a TAP device on a bridge, with a
--- vde_switch attached to the TAP — made, inspected and removed in one call.
---
---     ctys-vnetctl [-b bridge] [-d level] [-f] [-g group] [-h] [-H opt] [-i iface] [-l user]
---                  [-r hosts] [-s sock] [-S mgmt] [-u user[.group]] [-n] [-V] [-X] [-Z SUDO|KSU]
---                  (cancel|check|create|info|ports|list|listall)
---
--- Defaults as the manual says: switch socket /var/tmp/vde_switch0.$USER, management socket
--- /var/tmp/vde_mgmt0.$USER (the directory is CTYS_SOCKBASE when set), pid file beside them;
--- the first bridge (alphabetically), else a new `ctysbr0` holding the interface (-i, else the
--- first with an IPv4 address) with its addresses and routes moved onto the bridge.
--- What create made goes into a state file that cancel acts on: beside the sockets
--- (`SOCK.ctys`), or for root (and wherever CTYS_STATE_DIR names) in /run/ctys/vnetctl, where
--- nobody else can write. State, pid files and management sockets are obeyed only when the
--- caller (or root; for sockets also the -u user) owns them and nobody else may write them.
--- Exit values: 0 ok, 1 erroneous parameters (or check found a fault), 2 a missing environment
--- element (vde_switch, a permission, a switch that does not answer).
---@class ctys.tools.vnetctl
local M = {}

local check = require "ctys.check"

local system = require "ctys.system"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-vnetctl [options] [cancel|check|create|info|ports|list|listall]   (default: info)
  create   a TAP owned by the user, on the bridge, with a vde_switch on it (reused if running)
  cancel   remove the switch, its TAP, sockets and pid file; the bridge only if ctys made it
           and nothing else is on it (its addresses and routes go back to the interface);
           clients still attached (QEMU guests, vde_plug) are named: they lose their link
  check    the switch answers, its TAP exists, is up and on a bridge, its clients' sockets exist
  info     the switch's showinfo, QEMUSOCK= and QEMUMGMT= (for QEMU's -nic vde,sock=)
  ports    its port/print
  list     this user's switches                 listall every switch socket on this machine
options:
  -b BRIDGE     bridge to use (default: the first one; none: create ctysbr0)
  -i IFACE      interface for a new bridge (default: the first with an IPv4 address)
  -f            force: create a bridge even over the interface of the caller's SSH session
  -u USER[.GROUP] owner of the TAP and the sockets (default: the current user)
  -g GROUP      group of the sockets, with the setgid bit on the switch directory
  -s SOCK       switch socket (default /var/tmp/vde_switch0.USER)
  -S MGMT       management socket (default /var/tmp/vde_mgmt0.USER)
  -r HOSTS      run on [user@]host[,...] over SSH instead (-l USER: the login)
  -Z SUDO|KSU   run as root through sudo -n / ksu (here and with -r)
  -n            say what would be done; change nothing
  -d LEVEL      say each step (1) and more (2)        -X  terse output (';' records)
  -V            version      -h  this help      -H OPT  the same help
exit values: 0 ok, 1 erroneous parameters or check failed, 2 missing environment element
(also a state file, pid file or socket that is not yours or root's, or that others may write);
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_SOCKBASE        directory of the default sockets (/var/tmp)
  CTYS_STATE_DIR       where create's state is kept (root: /run/ctys/vnetctl; others: beside
                       the sockets)
  CTYS_REMOTE_VNETCTL  the command -r runs on each host (ctys-vnetctl, else ~/.ctys/bin/ctys-vnetctl)
]]

local COMMANDS = { cancel = true, check = true, create = true, info = true, ports = true, list = true, listall = true }

local switch, report = require "ctys.vnet.switch", require "ctys.vnet.report"
local RUN = { create = switch.create, cancel = switch.cancel, info = report.info, ports = report.ports, check = report.check,
  list = function(ctx) return report.list(ctx, false) end, listall = function(ctx) return report.list(ctx, true) end }

local ESCALATE = require("ctys.cli").ESCALATE

local quote = require("ctys.relay").quote

-- The options as given (already read by getopt), minus those in `skip`, as words again: what
-- another ctys-vnetctl is to get. Bundled letters (-nr) come apart here.
local SPEC = "b:d:fg:hH:i:l:r:s:S:u:nVXZ:"

---How the shells complete it (docs/gen.lua writes the completions from this): the getopt spec,
---what follows an option (a list of values, "file", "dir", "host" or "user"), the words it
---takes, and what its operands are ("host", "group").
M.COMPLETE = { spec = SPEC, values = { d = { "0", "1", "2", "3" }, Z = { "SUDO", "KSU" }, s = "file", S = "file", r = "host", l = "user", u = "user" },
  words = { "create", "cancel", "check", "info", "ports", "list", "listall" } }

local function option_words(opts, skip)
  local words = {}
  for letter, takes in SPEC:gmatch("(%a)(:?)") do
    local v = opts[letter]
    if v ~= nil and not skip[letter] then
      words[#words + 1] = "-" .. letter
      if takes == ":" then words[#words + 1] = v end
    end
  end
  return words
end

-- -r: the same command line, minus -r, -l and -Z, on each host.
local function remote(opts, command)
  local words = option_words(opts, { r = true, l = true, Z = true })
  words[#words + 1] = command
  for i, w in ipairs(words) do words[i] = quote(w) end
  local cmd = (require("ctys.paths").env("CTYS_REMOTE_VNETCTL") or require("ctys.remote").installed("ctys-vnetctl")) .. " " .. table.concat(words, " ")
  if opts.Z then cmd = table.concat(ESCALATE[opts.Z:upper()], " ") .. " " .. cmd end
  -- `-r a,root@b` is a list, and @groups and ranges work too (a list is a union).
  local hosts = require("ctys.groups").hosts { opts.r }
  local output = require "ctys.output"
  local res, e = require("ctys.remote").exec { hosts = hosts, cmd = cmd, user = opts.l or nil,
    on_line = output.line_printer(#hosts > 1), progress = not opts.X }
  if not res then err.env("%s", e) end
  output.report_failures(res, "ctys-vnetctl")
  return output.exit_value(res)
end

---Entry point of the ctys-vnetctl binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.vnetctl.main", "argv", argv, "string")
  local macros = require "ctys.macros"
  if macros.used(argv) then argv = macros.expand_argv(argv) end
  local opts, rest = require("ctys.getopt").parse(argv, SPEC)
  if opts.h or opts.H then io.write(M.USAGE) return 0 end
  if opts.V then print("ctys-vnetctl " .. require("ctys").version) return 0 end
  if #rest > 1 then err.usage("one command only, got '%s'", table.concat(rest, " ")) end
  local command = (rest[1] or "info"):lower()
  if not COMMANDS[command] then err.usage("unknown command '%s' (cancel, check, create, info, ports, list, listall)", rest[1]) end
  if opts.Z and not ESCALATE[opts.Z:upper()] then err.usage("-Z takes SUDO or KSU, not '%s'", opts.Z) end
  if opts.l and not opts.r then err.usage("-l names the login for -r hosts; give -r") end
  if opts.d and not (opts.d:match("^%d+$") and tonumber(opts.d) <= 3) then err.usage("bad debug level '%s' (-d): 0 to 3", opts.d) end
  if opts.r then return remote(opts, command) end
  if opts.Z and require("ctys.fs").euid() ~= 0 then
    -- This very binary again, as root, told which tool to be (installed as a ctys-vnetctl
    -- link, it is `ctys` on disk).
    local argv2 = { table.unpack(ESCALATE[opts.Z:upper()]) }
    for _, w in ipairs { system.exe(), "--tool", "vnetctl", table.unpack(option_words(opts, { Z = true })) } do argv2[#argv2 + 1] = w end
    argv2[#argv2 + 1] = command
    local r, e = require("ctys.proc").run { argv = argv2, inherit = true }
    if not r then err.env("%s", e) end
    return r.status or (128 + (r.signal or 0))
  end
  local ctx = require("ctys.vnet.context").of(opts, command)
  if ctx.debug >= 2 then require("ctys.log").set_level(ctx.debug) end
  return RUN[command](ctx)
end

return M
