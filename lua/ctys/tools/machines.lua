--- ctys-machines: the machine database from the lab itself and from what a site already has,
--- and queries on it (what the original's ctys-genmconf, ctys-vdbgen, ctys-extractMAClst,
--- ctys-extractARPlst and ctys-vhost did).
---
---     ctys-machines collect -w lab[01-03] --write       # ask each host over SSH, merge
---     ctys-machines import dhcpd /etc/dhcp/dhcpd.conf   # host { hardware ethernet; fixed-address } blocks
---     ctys-machines import ethers /etc/ethers
---     ctys-machines neighbours --sweep 10.0.0.0/24 eth0 # the kernel's neighbour table
---     ctys-machines list [NAMES|@GROUP] [--where key=value]
---     ctys-machines show lab01
---
--- What finds machines prints database lines (`name mac=... ip=...`) on stdout, or with --write
--- merges them into the database file (ctys.machinefile: comments and hand-written fields
--- kept, a diff shown, FILE.bak kept); queries print the database's own. -X:
--- `name;key=value;...`, --json: one object a machine.
---@class ctys.tools.machines
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-machines collect -w HOSTS [--write | --diff] [--db FILE] [-X | --json]
       ctys-machines import dhcpd|ethers FILE [--write | --diff] [--db FILE] [-X | --json]
       ctys-machines neighbours [--sweep CIDR] [IFACE] [--write | --diff] [--db FILE] [-X | --json]
       ctys-machines list [NAMES|@GROUP...] [--where KEY=VALUE]... [-X | --json]
       ctys-machines show NAME [-X | --json]
  collect -w HOSTS    ask each host (hosts, groups, @GROUP, ranges lab[01-03]) over SSH, with
                      its ctys: the MAC, address, link state and Wake-on-LAN modes of the
                      interface SSH reached (nic=, link=, wol=, wol_modes=), the MACs of its
                      other interfaces (mac_<nic>=), os=, arch=, hostname=, and bmc= when the
                      host reads it (ipmitool lan print); what it cannot find is said on stderr.
                      Records are named as the hosts were given
  import dhcpd FILE   ISC dhcpd.conf: each `host NAME { hardware ethernet MAC; fixed-address IP; }`
                      (in any group or subnet block, several on a line) as a database line
  import ethers FILE  /etc/ethers: `MAC NAME-OR-ADDRESS` lines as database lines
  neighbours [IFACE]  the kernel's neighbour table (ARP, NDP): each address that answered with
                      its MAC, as a database line named by the address (iface= where it was
                      seen); failed, incomplete and multicast (noarp) entries are left out
  --sweep CIDR        neighbours: first ping every address of an IPv4 subnet (at most 4096
                      addresses, 256 at once, 0.5 s each), so that the table holds them
  --write             merge what was found into the database file: a machine there keeps its
                      line, comment and the fields not found; found fields replace theirs; new
                      machines are appended; the diff is printed, the old file kept as FILE.bak
  --diff              only print what --write would change
  --db FILE           the file --write merges into (default: the first of CTYS_MACHINES, else
                      ~/.ctys/machines)
  list                the machine database (ctys.machines: CTYS_MACHINES, ~/.ctys/machines, ...),
                      one line a machine; NAMES and @GROUPs narrow it, --where KEY=VALUE too
                      (several: all must hold; VALUE may be a Lua pattern when it starts with ~)
  show NAME           one machine's facts and where they came from
  -X                  terse: name;key=value;...     --json  one JSON object a machine
  -h                  this help
exit values: 0 ok (list: also when nothing matched), 1 bad arguments, 2 a file that cannot be
read or parsed (named with its line), 3 show: no such machine; collect: a host that did not
answer (the others are still printed or merged)
environment:
  CTYS_MACHINES   the database files (colon-separated) instead of ~/.ctys/machines, ...
  CTYS_REMOTE_CMD the ctys a host runs for collect (ctys on its PATH, else ~/.ctys/bin/ctys)
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "w:Xjh", hidden = { j = true }, values = { w = "host" },
  words = { "collect", "import", "dhcpd", "ethers", "list", "show", "neighbours", "--where", "--json", "--write", "--diff", "--db", "--sweep" } }

local line = require("ctys.machinefile").line

-- Prints machines as lines, records or JSON.
local function print_all(list, opts)
  local json = require "ctys.json"
  for _, m in ipairs(list) do
    if opts.j then
      local o = {}
      for k, v in pairs(m) do o[k] = v end
      print(json.encode(o))
    elseif opts.X then
      print((line(m):gsub(" ", ";")))
    else
      print(line(m))
    end
  end
end

-- Whether machine `m` meets every `key=value` (a value starting with ~ is a Lua pattern).
local function meets(m, wheres)
  for _, w in ipairs(wheres) do
    local v = m[w.key]
    if v == nil then return false end
    v = tostring(v)
    if w.pattern then
      -- A pattern can be malformed past what an empty string reaches ("a%").
      local ok, found = pcall(string.find, v, w.pattern)
      if not ok then err.usage("--where %s=~%s: bad pattern", w.key, check.cut(w.pattern)) end
      if not found then return false end
    elseif v ~= w.value then
      return false
    end
  end
  return true
end

-- Every address of an IPv4 subnet (`10.0.0.0/24`: .1 to .254), pinged 256 at once so that the
-- kernel's neighbour table learns who answers. At most 4096 addresses.
local function sweep(cidr)
  local a, b, c, d, len = cidr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
  local bytes = { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  len = tonumber(len)
  if not a or not len or len > 32 or bytes[1] > 255 or bytes[2] > 255 or bytes[3] > 255 or bytes[4] > 255 then
    err.usage("--sweep %s: expected an IPv4 subnet (10.0.0.0/24)", check.cut(cidr))
  end
  if len < 20 then err.usage("--sweep %s: at most 4096 addresses (/20 or longer)", check.cut(cidr)) end
  local base = ((bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]) & ~((1 << (32 - len)) - 1) & 0xffffffff
  local first, last = base, base + (1 << (32 - len)) - 1
  if len <= 30 then first, last = first + 1, last - 1 end
  local probe = require "ctys.probe"
  for from = first, last, 256 do
    local jobs = {}
    for n = from, math.min(from + 255, last) do
      local ip = string.format("%d.%d.%d.%d", n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)
      jobs[#jobs + 1] = function() return probe.ping { host = ip, timeout = 0.5 } end
    end
    ctys.all(jobs)
  end
end

-- What a finding subcommand found: printed, or (--write/--diff) merged into the database file.
local function found(list, opts)
  if not (opts.write or opts.diff) then return print_all(list, opts) end
  -- The database's first file: CTYS_MACHINES's first, else ~/.ctys/machines.
  local file = opts.db or require("ctys.machines").files()[1]
  local diff, what = require("ctys.machinefile").write(file, list, opts.write == true)
  io.write(diff)
  io.stderr:write(string.format("ctys-machines: %s: %d added, %d changed%s\n", file, #what.added, #what.changed,
    opts.write and (diff ~= "" and " (the old file is " .. file .. ".bak)" or "") or " (not written: --diff)"))
end

-- Options go anywhere (`list -X lab01` as `-X list lab01`): few enough to read by hand.
local VALUED = { ["--where"] = "where", ["-w"] = "w", ["--db"] = "db", ["--sweep"] = "sweep" }
local FLAGS = { ["--json"] = "j", ["-j"] = "j", ["-X"] = "X", ["--write"] = "write", ["--diff"] = "diff" }

local function parse(argv)
  local wheres, rest, opts = {}, {}, {}
  local i = 1
  while argv[i] do
    local a = argv[i]
    local long, inline = a:match("^(%-%-[%w]+)=(.*)$")
    local key = VALUED[long or a]
    if key then
      local v = inline or argv[i + 1] or err.usage("%s needs a value", long or a)
      if not inline then i = i + 1 end
      if key == "where" then
        local k, val = v:match("^([%w_]+)=(.*)$")
        if not k then err.usage("--where %s: expected KEY=VALUE", check.cut(v)) end
        -- A bad pattern is refused here, not first when some machine has the key.
        if val:sub(1, 1) == "~" and not pcall(string.find, "", val:sub(2)) then err.usage("--where %s=%s: bad pattern", k, check.cut(val)) end
        wheres[#wheres + 1] = val:sub(1, 1) == "~" and { key = k, pattern = val:sub(2) } or { key = k, value = val }
      elseif opts[key] then
        err.usage("%s given twice", long or a)
      elseif v == "" then
        err.usage("%s needs a value, not ''", long or a)
      else
        opts[key] = v
      end
    elseif FLAGS[a] then
      opts[FLAGS[a]] = true
    elseif a == "-h" or a == "--help" then
      opts.h = true
    elseif a:sub(1, 1) == "-" then
      err.usage("unknown option '%s' (see -h)", check.cut(a))
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest, wheres
end

-- Which options each subcommand takes.
local TAKES = {
  collect = { w = true, write = true, diff = true, db = true, X = true, j = true },
  import = { write = true, diff = true, db = true, X = true, j = true },
  neighbours = { sweep = true, write = true, diff = true, db = true, X = true, j = true },
  list = { where = true, X = true, j = true },
  show = { X = true, j = true },
}
local OPTION_NAMES = { w = "-w", write = "--write", diff = "--diff", db = "--db", X = "-X", j = "--json", sweep = "--sweep", where = "--where" }

---Entry point of the ctys-machines binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.machines.main", "argv", argv, "string")
  local opts, rest, wheres = parse(argv)
  if opts.h then
    io.write(M.USAGE)
    return 0
  end
  local cmd = rest[1]
  if cmd == nil then err.usage("give a command: collect, import, neighbours, list or show (see -h)") end
  -- A name no machine can have (ctys.machines reads UTF-8 names without blanks) is misuse.
  if cmd == "list" or cmd == "show" then
    for k = 2, #rest do
      if not utf8.len(rest[k]) or rest[k]:find("[%s%c]") or rest[k] == "" then err.usage("bad machine name %s", check.shown(rest[k])) end
    end
  end
  local takes = TAKES[cmd] or err.usage("unknown command '%s' (collect, import, neighbours, list, show)", check.cut(cmd))
  if #wheres > 0 then opts.where = true end
  for k in pairs(opts) do
    if not takes[k] then err.usage("%s is not for %s", OPTION_NAMES[k], cmd) end
  end
  if opts.X and opts.j then err.usage("-X and --json exclude each other") end
  if opts.write and opts.diff then err.usage("--write and --diff exclude each other") end
  if opts.db and not (opts.write or opts.diff) then err.usage("--db is for --write and --diff") end
  if cmd == "collect" then
    if not opts.w then err.usage("collect needs the hosts: -w HOSTS") end
    if rest[2] then err.usage("collect takes its hosts with -w, not '%s'", check.cut(rest[2])) end
    local hosts = require("ctys.tools.exec").hosts(opts.w)
    local results = require("ctys.tools.machines.collect").run(hosts, { remote_cmd = require("ctys.relay").remote_cmd() })
    local list, failed = {}, 0
    for _, r in ipairs(results) do
      if r.err then
        failed = failed + 1
        io.stderr:write("ctys-machines: collect: ", r.err, "\n")
      else
        for _, u in ipairs(r.unknown) do io.stderr:write("ctys-machines: ", r.host, ": unknown: ", u, "\n") end
        list[#list + 1] = r.record
      end
    end
    found(list, opts)
    return failed > 0 and err.FAILED or 0
  elseif cmd == "import" then
    local kind, file = rest[2], rest[3]
    if kind ~= "dhcpd" and kind ~= "ethers" then err.usage("import takes dhcpd or ethers, then a FILE") end
    if not file or file == "" or rest[4] then err.usage("import %s takes one FILE", kind) end
    local text, e = require("ctys.fs").read(file, { max = 64 << 20 })
    if not text then err.env("%s", e or (file .. ": no such file")) end
    found(require("ctys.tools.machines.import")[kind](text, file), opts)
    return 0
  elseif cmd == "neighbours" then
    if rest[3] then err.usage("neighbours takes at most an interface") end
    local iface = rest[2]
    if iface and not require("ctys.net").valid_name(iface) then err.usage("bad interface name '%s'", check.cut(iface)) end
    if opts.sweep then sweep(opts.sweep) end
    local list = err.must(require("ctys.net").neighbours())
    local out = {}
    for _, n in ipairs(list) do
      -- noarp entries are the kernel's own multicast and broadcast mappings, not machines.
      local kept = n.mac and n.state ~= "failed" and n.state ~= "incomplete" and n.state ~= "noarp"
      if kept and (not iface or n.dev == iface) then
        out[#out + 1] = { name = n.ip, mac = n.mac, ip = n.ip, iface = n.dev }
      end
    end
    found(out, opts)
    return 0
  elseif cmd == "list" then
    local db = require("ctys.machines").load()
    local only
    if rest[2] then
      only = {}
      for _, t in ipairs(require("ctys.groups").hosts { table.concat(rest, ",", 2) }) do only[t.host] = true end
    end
    local out = {}
    for _, m in ipairs(db) do
      if (not only or only[m.name]) and meets(m, wheres) then out[#out + 1] = m end
    end
    print_all(out, opts)
    return 0
  end
  -- show
  if not rest[2] or rest[3] then err.usage("show takes one NAME") end
  local machines = require "ctys.machines"
  local m = machines.load()[rest[2]]
  if not m then err.failed("show: no machine %s in the database (%s)", check.cut(rest[2]), table.concat(machines.files(), ", ")) end
  if opts.X or opts.j then
    print_all({ m }, opts)
  else
    print(line(m))
    print("  from " .. tostring(m.source))
  end
  return 0
end

return M
