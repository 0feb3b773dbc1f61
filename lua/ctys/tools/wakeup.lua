--- ctys-wakeup: send Wake-on-LAN magic packets.
---
---     ctys-wakeup [-i <iface>] [-t <broadcast>] [-p <port>] [-P <password>] [-n] <mac|name>...
---
--- With -t, a UDP packet to that address (a directed broadcast, 255.255.255.255 or a unicast
--- address; with -i it leaves through that interface). With -i alone, a raw Ethernet frame on
--- that interface to the broadcast MAC. With neither, UDP to 255.255.255.255. Names are looked
--- up in the machine database (ctys.machines). -n prints what would be sent, sends nothing.
--- The SecureOn password may come from CTYS_WOL_PASSWORD instead of -P (argv is visible in ps).
--- Exit values: 0 sent, 1 erroneous parameters, 2 a name without MAC, or sending failed.
---@class ctys.tools.wakeup
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

M.USAGE = [[
usage: ctys-wakeup [-i IFACE] [-t BROADCAST] [-p PORT] [-P PASSWORD] [-n] MAC|NAME...
  -i IFACE      interface: raw Ethernet frame on it, or with -t, UDP bound to it
  -t BROADCAST  UDP to this address or name (directed broadcast, 255.255.255.255, unicast)
  -p PORT       UDP port (default 9)
  -P PASSWORD   SecureOn password a.b.c.d or aa:bb:cc:dd:ee:ff (or CTYS_WOL_PASSWORD)
  -n            print what would be sent; send nothing
  -h            this help
exit values: 0 sent, 1 erroneous parameters, 2 unknown MAC or sending failed;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_WOL_PASSWORD  the SecureOn password (kept out of ps, unlike -P)
  CTYS_MACHINES      machine database files for names (colon-separated)
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "i:t:p:P:nh", values = { t = "host" }, operands = "host" }

---Entry point of the ctys-wakeup binary.
---@param argv string[]
---@return integer exit value
function M.main(argv)
  check.list("ctys.tools.wakeup.main", "argv", argv, "string")
  local opts, targets = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  if #targets == 0 then err.usage("no MAC or machine name given (see -h)") end
  local machines = require "ctys.machines"
  local wol = require "ctys.wol"
  local db = machines.load()
  local spec = { iface = opts.i or nil, password = opts.P or os.getenv("CTYS_WOL_PASSWORD") }
  if opts.i and not require("ctys.net").valid_name(opts.i) then
    err.usage("bad interface (-i) '%s': 1 to 15 bytes, no '/', ':' or blanks", opts.i)
  end
  if spec.password and not wol.check_password(spec.password) then
    -- Never repeated: it is a secret.
    err.usage("bad SecureOn password (%s): a.b.c.d (each 0-255) or aa:bb:cc:dd:ee:ff", opts.P and "-P" or "CTYS_WOL_PASSWORD")
  end
  if opts.p then
    spec.port = check.integer_arg(opts.p, "bad port (-p)", 1, 65535)
    if not opts.t and opts.i then err.usage("-p needs -t (a raw frame has no port)") end
  end
  if opts.t then
    if not require("ctys.net").valid_host(opts.t) then
      err.usage("bad -t '%s': an address or a host name%s", opts.t, opts.t:find(":%d+$") and " (the port goes with -p)" or "")
    end
    local b, e = machines.address(opts.t, db)
    if not b then err.env("-t %s: %s", opts.t, e) end
    spec.broadcast = b
  elseif opts.i then
    spec.raw = true
  end
  -- Every target is checked before the first packet leaves.
  local macs = {}
  for i, t in ipairs(targets) do
    if t:sub(1, 1) == "-" then err.usage("'%s': options go before the MACs and names", t) end
    macs[i] = wol.parse_mac(t)
    if not macs[i] then
      local m = machines.lookup(t, db)
      macs[i] = m and m.mac
      if not macs[i] then err.env("%s: no MAC address (not a MAC, and not in %s)", t, table.concat(machines.files(), ", ")) end
    end
  end
  local failed = 0
  for i, t in ipairs(targets) do
    local mac = macs[i]
    spec.mac = mac
    if opts.n then
      local what, hex = wol.describe(spec)
      if not what then err.env("%s", hex) end
      print(what)
      print(hex)
    else
      local ok, e = wol.send(spec)
      if ok then
        print(string.format("%s: magic packet sent (%s)", t, mac))
        local noted, ne = require("ctys.wolmemory").sent(t)
        if not noted then require("ctys.log").warn("%s: the time of this wake-up is not noted: %s", t, ne) end
      else
        failed = failed + 1
        io.stderr:write(string.format("ctys-wakeup: %s: %s\n", t, e))
      end
    end
  end
  return failed == 0 and 0 or err.ENV
end

return M
