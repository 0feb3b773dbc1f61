--- ctys-machines: the machine database from what a site already has, and queries on it (what
--- the original's ctys-extractMAClst and ctys-vhost did).
---
---     ctys-machines import dhcpd /etc/dhcp/dhcpd.conf   # host { hardware ethernet; fixed-address } blocks
---     ctys-machines import ethers /etc/ethers
---     ctys-machines list [NAMES|@GROUP] [--where key=value]
---     ctys-machines show lab01
---     ctys-machines neighbours eth0                      # the kernel's neighbour table
---
--- What finds machines prints database lines (`name mac=... ip=...`) on stdout, ready to append to
--- ~/.ctys/machines; queries print the database's own. -X: `name;key=value;...`, --json: one
--- object a machine.
---@class ctys.tools.machines
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-machines import dhcpd|ethers FILE
       ctys-machines list [NAMES|@GROUP...] [--where KEY=VALUE]... [-X | --json]
       ctys-machines show NAME [-X | --json]
       ctys-machines neighbours [IFACE] [-X | --json]
  import dhcpd FILE   ISC dhcpd.conf: each `host NAME { hardware ethernet MAC; fixed-address IP; }`
                      (in any group or subnet block, several on a line) as a database line
  import ethers FILE  /etc/ethers: `MAC NAME-OR-ADDRESS` lines as database lines
  list                the machine database (ctys.machines: CTYS_MACHINES, ~/.ctys/machines, ...),
                      one line a machine; NAMES and @GROUPs narrow it, --where KEY=VALUE too
                      (several: all must hold; VALUE may be a Lua pattern when it starts with ~)
  show NAME           one machine's facts and where they came from
  neighbours [IFACE]  the kernel's neighbour table (ARP, NDP): each address that answered with
                      its MAC, as a database line named by the address (iface= where it was
                      seen); failed, incomplete and multicast (noarp) entries are left out
  -X                  terse: name;key=value;...     --json  one JSON object a machine
  -h                  this help
exit values: 0 ok (list: also when nothing matched), 1 bad arguments, 2 a file that cannot be
read or parsed (named with its line), 3 show: no such machine
not yet here (the rest of the machine-database issue): collect -w HOSTS, a sweep before
neighbours, --write
environment:
  CTYS_MACHINES  the database files (colon-separated) instead of ~/.ctys/machines, ...
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "Xjh", hidden = { j = true }, words = { "import", "dhcpd", "ethers", "list", "show", "neighbours", "--where", "--json" } }

-- The fields a database line gives, in the order they are written.
local ORDER = { "mac", "ip", "bmc", "bmc_user", "bmc_ca", "bmc_kg_file", "iface" }

---A machine as a database line: `name key=value ...`, the known fields first.
---@param m table name and fields
---@return string
function M.line(m)
  check.arg("ctys.tools.machines.line", "m", m, "table")
  local words, seen = { m.name }, { name = true, source = true }
  for _, k in ipairs(ORDER) do
    if m[k] ~= nil then words[#words + 1] = k .. "=" .. tostring(m[k]) end
    seen[k] = true
  end
  local rest = {}
  for k, v in pairs(m) do
    if not seen[k] and type(k) == "string" then rest[#rest + 1] = k .. "=" .. tostring(v) end
  end
  table.sort(rest)
  table.move(rest, 1, #rest, #words + 1, words)
  return table.concat(words, " ")
end

-- dhcpd.conf as tokens with their line numbers: words, quoted strings, { } ; (comments gone).
local function tokens(text, name)
  local out, line, i, n = {}, 1, 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if c == "\n" then
      line, i = line + 1, i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif c == "#" then
      i = (text:find("\n", i, true) or n + 1)
    elseif c == '"' then
      local j = text:find('"', i + 1, true)
      if not j then err.env("%s:%d: a quoted string that does not end", name, line) end
      out[#out + 1] = { text:sub(i + 1, j - 1), line, quoted = true }
      local _, nl = text:sub(i, j):gsub("\n", "")
      line, i = line + nl, j + 1
    elseif c == "{" or c == "}" or c == ";" then
      out[#out + 1] = { c, line }
      i = i + 1
    else
      local j = text:find('[%s{};"#]', i) or n + 1
      out[#out + 1] = { text:sub(i, j - 1), line }
      i = j
    end
  end
  return out
end

---Machines from ISC dhcpd.conf text: each host block's name, MAC and (the first) fixed address.
---A malformed file raises exit 2 naming `name` and the line.
---@param text string
---@param name string the file, for messages
---@return table[] machines {name, mac?, ip?}, in file order
function M.dhcpd(text, name)
  check.arg("ctys.tools.machines.dhcpd", "text", text, "string")
  check.arg("ctys.tools.machines.dhcpd", "name", name, "string")
  local wol, net = require "ctys.wol", require "ctys.net"
  local t, out, depth, i = tokens(text, name), {}, 0, 1
  local function at(k) return t[k] and t[k][1] end
  while t[i] do
    local w, line = t[i][1], t[i][2]
    if w == "{" then
      depth = depth + 1
    elseif w == "}" then
      depth = depth - 1
      if depth < 0 then err.env("%s:%d: a '}' without its '{'", name, line) end
    elseif w == "host" and not t[i].quoted then
      local host = at(i + 1)
      if not host or host == "{" or at(i + 2) ~= "{" then err.env("%s:%d: expected 'host NAME {'", name, line) end
      if host:find("[%s%c]") or host == "" then err.env("%s:%d: bad host name %q", name, line, host) end
      local m, k = { name = host }, i + 3
      while at(k) ~= "}" do
        if not t[k] then err.env("%s:%d: host %s's block does not end", name, line, host) end
        if at(k) == "{" then err.env("%s:%d: a block inside host %s", name, t[k][2], host) end
        -- One statement: words up to its ';'.
        local words, sline = {}, t[k][2]
        while at(k) ~= ";" do
          if not t[k] or at(k) == "}" or at(k) == "{" then err.env("%s:%d: a statement without its ';' in host %s", name, sline, host) end
          words[#words + 1] = at(k)
          k = k + 1
        end
        k = k + 1
        local key = words[1] and words[1]:lower()
        if key == "hardware" then
          if #words ~= 3 then err.env("%s:%d: expected 'hardware ethernet MAC;'", name, sline) end
          m.mac = wol.parse_mac(words[3]) or err.env("%s:%d: bad MAC %q", name, sline, words[3])
        elseif key == "fixed-address" then
          local first = (words[2] or ""):match("^[^,]+")
          if not first then err.env("%s:%d: fixed-address without an address", name, sline) end
          -- A name there is left to the resolver: only an address goes into the database.
          m.ip = net.parse_ip(first) and first or nil
        end
      end
      out[#out + 1] = m
      i = k
    end
    i = i + 1
  end
  if depth > 0 then err.env("%s: a '{' that is not closed", name) end
  return out
end

---Machines from /etc/ethers text (`MAC NAME-OR-ADDRESS`, comments, any case): a malformed
---line raises exit 2 naming `name` and the line.
---@param text string
---@param name string the file, for messages
---@return table[]
function M.ethers(text, name)
  check.arg("ctys.tools.machines.ethers", "text", text, "string")
  check.arg("ctys.tools.machines.ethers", "name", name, "string")
  local wol, net = require "ctys.wol", require "ctys.net"
  local out, n = {}, 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      local mac, who, extra = line:match("^(%S+)%s+(%S+)%s*(.*)$")
      if not mac or extra ~= "" then err.env("%s:%d: expected 'MAC NAME'", name, n) end
      local m = wol.parse_mac(mac) or err.env("%s:%d: bad MAC %q", name, n, mac)
      out[#out + 1] = { name = who, mac = m, ip = net.parse_ip(who) and who or nil }
    end
  end
  return out
end

-- Prints machines as lines, records or JSON.
local function print_all(list, opts)
  local json = require "ctys.json"
  for _, m in ipairs(list) do
    if opts.j then
      local o = {}
      for k, v in pairs(m) do o[k] = v end
      print(json.encode(o))
    elseif opts.X then
      print((M.line(m):gsub(" ", ";")))
    else
      print(M.line(m))
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

---Entry point of the ctys-machines binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.machines.main", "argv", argv, "string")
  -- Options go anywhere (`list -X lab01` as `-X list lab01`): few enough to read by hand.
  local wheres, rest, opts = {}, {}, {}
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "--where" or a:match("^%-%-where=") then
      local kv = a:match("^%-%-where=(.*)$") or argv[i + 1] or err.usage("--where needs KEY=VALUE")
      if a == "--where" then i = i + 1 end
      local k, v = kv:match("^([%w_]+)=(.*)$")
      if not k then err.usage("--where %s: expected KEY=VALUE", check.cut(kv)) end
      -- A bad pattern is refused here, not first when some machine has the key.
      if v:sub(1, 1) == "~" and not pcall(string.find, "", v:sub(2)) then err.usage("--where %s=%s: bad pattern", k, check.cut(v)) end
      wheres[#wheres + 1] = v:sub(1, 1) == "~" and { key = k, pattern = v:sub(2) } or { key = k, value = v }
    elseif a == "--json" or a == "-j" then
      opts.j = true
    elseif a == "-X" then
      opts.X = true
    elseif a == "-h" or a == "--help" then
      io.write(M.USAGE)
      return 0
    elseif a:sub(1, 1) == "-" then
      err.usage("unknown option '%s' (see -h)", check.cut(a))
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  if opts.X and opts.j then err.usage("-X and --json exclude each other") end
  local cmd = rest[1]
  if cmd == "import" then
    local kind, file = rest[2], rest[3]
    if kind ~= "dhcpd" and kind ~= "ethers" then err.usage("import takes dhcpd or ethers, then a FILE") end
    if not file or file == "" or rest[4] then err.usage("import %s takes one FILE", kind) end
    if #wheres > 0 then err.usage("--where is for list") end
    local text, e = require("ctys.fs").read(file, { max = 64 << 20 })
    if not text then err.env("%s", e or (file .. ": no such file")) end
    print_all(M[kind](text, file), opts)
    return 0
  elseif cmd == "list" then
    local machines = require "ctys.machines"
    local db = machines.load()
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
  elseif cmd == "show" then
    if not rest[2] or rest[3] then err.usage("show takes one NAME") end
    if #wheres > 0 then err.usage("--where is for list") end
    local db = require("ctys.machines").load()
    local m = db[rest[2]]
    if not m then err.failed("show: no machine %s in the database (%s)", check.cut(rest[2]), table.concat(require("ctys.machines").files(), ", ")) end
    if opts.X or opts.j then
      print_all({ m }, opts)
    else
      print(M.line(m))
      print("  from " .. tostring(m.source))
    end
    return 0
  elseif cmd == "neighbours" then
    if rest[3] then err.usage("neighbours takes at most an interface") end
    if #wheres > 0 then err.usage("--where is for list") end
    local iface = rest[2]
    if iface and not require("ctys.net").valid_name(iface) then err.usage("bad interface name '%s'", check.cut(iface)) end
    local list = err.must(require("ctys.net").neighbours())
    local out = {}
    for _, n in ipairs(list) do
      -- noarp entries are the kernel's own multicast and broadcast mappings, not machines.
      local kept = n.mac and n.state ~= "failed" and n.state ~= "incomplete" and n.state ~= "noarp"
      if kept and (not iface or n.dev == iface) then
        out[#out + 1] = { name = n.ip, mac = n.mac, ip = n.ip, iface = n.dev }
      end
    end
    print_all(out, opts)
    return 0
  elseif cmd == nil then
    err.usage("give a command: import, list, show or neighbours (see -h)")
  end
  err.usage("unknown command '%s' (import, list, show, neighbours; collect is not built yet)", check.cut(cmd))
end

return M
