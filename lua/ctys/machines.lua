--- The machine database: a name's MAC, IP, BMC and other facts, read from
---
--- 1. the files in `CTYS_MACHINES` (colon-separated), when it is set; otherwise
--- 2. `~/.ctys/machines`, `~/.ctys/machines.lua`, `/etc/ctys/machines`, `/etc/ethers`.
---
--- A machines file holds one machine a line, `#` starting a comment:
---
---     lab01   mac=00:11:22:33:44:55  ip=10.0.0.11  bmc=10.0.1.11  iface=eth0
---     lab02;10.0.0.12;00:11:22:33:44:56        # the original ctys's <node>;<IP>;<MAC>
---     lab03   00:11:22:33:44:57  10.0.0.13      # bare MAC and address words work too
---
--- A `.lua` file returns a table `{ lab01 = { mac = "...", ip = "..." }, ... }`; `/etc/ethers`
--- lines are `<mac> <name-or-ip>`. When several sources know a machine, each field comes from
--- the first source that has it. A name no source knows can still get an IP from DNS.
---@class ctys.machines
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"
local wol = require "ctys.wol"

---@class ctys.Machine
---@field name string
---@field mac? string canonical aa:bb:cc:dd:ee:ff
---@field ip? string
---@field bmc? string its BMC: host[:port] (IPMI), redfish://host[:port][/SystemId] or ipmi://host[:port]
---@field bmc_user? string the BMC user
---@field bmc_kg_file? string a file holding the BMC's K_g
---@field bmc_ca? string Redfish: PEM file of the CA of the BMC's certificate
---@field iface? string the interface its magic packets leave through
---@field source? string where the first fact came from (file:line)

local function is_ip(s)
  return require("ctys.net").parse_ip(s) ~= nil
end

---The files read, in order.
---@return string[]
function M.files()
  return require("ctys.paths").search("CTYS_MACHINES", { "~/.ctys/machines", "~/.ctys/machines.lua", "/etc/ctys/machines", "/etc/ethers" })
end

-- A machine's name: text without blanks or control characters (it is looked up as typed).
local function name_of(name, where)
  if type(name) ~= "string" or name == "" or name:find("[%s%c]") or not utf8.len(name) then
    err.env("%s: bad machine name %q", where, tostring(name))
  end
  return name
end

local function add(db, name, fields, where)
  name = name_of(name, where)
  local m = db[name]
  if not m then
    m = { name = name, source = where }
    db[name] = m
    db[#db + 1] = m
  end
  for k, v in pairs(fields) do
    if m[k] == nil then m[k] = v end
  end
end

-- The fields ctys reads, checked when the file is read (exit 2 naming file and line), never
-- when a machine is woken: each gives the value kept, or nil for a bad one.
local FIELDS = {
  mac = function(v) return wol.parse_mac(v) end,
  ip = function(v) return require("ctys.net").parse_ip(v) end,
  bmc = function(v) return require("ctys.bmc").parse(v) and v end,
  bmc_ca = function(v) return v ~= "" and v end,
  iface = function(v) return require("ctys.net").valid_name(v) and v end,
  bmc_user = function(v) return #v <= 16 and utf8.len(v) and not v:find("%c") and v end,
  bmc_kg_file = function(v) return v ~= "" and v end,
}

local function field(k, v, where)
  local check_ = FIELDS[k]
  if not check_ then return v end
  if type(v) ~= "string" then err.env("%s: %s must be a string, not a %s", where, k, type(v)) end
  local kept = check_(v)
  if not kept then err.env("%s: bad %s %q", where, k, v) end
  return kept
end

local function mac_of(v, where)
  return field("mac", v, where)
end

local function read_lines(db, path, text, ethers)
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    local where = path .. ":" .. n
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      if ethers then
        local mac, who = line:match("^(%S+)%s+(%S+)$")
        if not mac then err.env("%s: expected '<mac> <name>'", where) end
        mac = mac_of(mac, where)
        if is_ip(who) then add(db, who, { mac = mac, ip = who }, where) else add(db, who, { mac = mac }, where) end
      elseif line:find(";", 1, true) then
        local node, ip, mac = line:match("^([^;]+);([^;]*);([^;]*)$")
        if not node then err.env("%s: expected '<node>;<IP>;<MAC>'", where) end
        add(db, node, { ip = ip ~= "" and field("ip", ip, where) or nil, mac = mac ~= "" and mac_of(mac, where) or nil }, where)
      else
        local name, rest = line:match("^(%S+)%s*(.*)$")
        local fields = {}
        for word in rest:gmatch("%S+") do
          local k, v = word:match("^([%w_]+)=(.*)$")
          if not k and wol.parse_mac(word) and not is_ip(word) then
            k, v = "mac", word
          elseif not k and is_ip(word) then
            k, v = "ip", word
          elseif not k then
            err.env("%s: cannot read %q (use key=value)", where, word)
          end
          -- One value a field: a second one would silently win or lose.
          if fields[k] ~= nil then err.env("%s: %s given twice", where, k) end
          fields[k] = field(k, v, where)
        end
        add(db, name, fields, where)
      end
    end
  end
end

local function read_lua(db, path, text)
  local t, e = require("ctys.chunks").data(text, "@" .. path)
  if type(t) ~= "table" then err.env("%s: must return a table of machines (%s)", path, e or ("got a " .. type(t))) end
  for name, fields in pairs(t) do
    if type(name) ~= "string" or type(fields) ~= "table" then err.env("%s: entry %s is not name = { ... }", path, tostring(name)) end
    local f = {}
    for k, v in pairs(fields) do f[k] = field(k, v, path .. ": " .. name) end
    add(db, name, f, path)
  end
end

---A machines file's text as a database (a malformed line raises exit 2 naming `path` and the
---line): what a file would give before it is written.
---@param text string
---@param path string its name (`.lua`: a Lua table; `ethers`: /etc/ethers lines)
---@return table<string|integer, ctys.Machine>
function M.parse(text, path)
  check.arg("ctys.machines.parse", "text", text, "string")
  check.arg("ctys.machines.parse", "path", path, "string")
  local db = {}
  if path:match("%.lua$") then
    read_lua(db, path, text)
  else
    read_lines(db, path, text, path:match("ethers$") ~= nil)
  end
  return db
end

---Read every database file (missing files are skipped; a malformed one raises exit 2 naming
---its file and line).
---@param files? string[] read these instead of M.files()
---@return table<string|integer, ctys.Machine> db by name, and as a list in file order
function M.load(files)
  check.list("ctys.machines.load", "files", files, "string?")
  local db = {}
  for _, path in ipairs(files or M.files()) do
    local text, e, kind = require("ctys.fs").read(path)
    if not text and kind ~= "notfound" then err.env("%s (a machine database file)", e) end
    if text then
      for _, m in ipairs(M.parse(text, path)) do add(db, m.name, check.without(m, "name", "source"), m.source) end
    end
  end
  return db
end

---Find a machine by name, IP or MAC. A name the database does not know, but that resolves
---(an address, /etc/hosts or DNS), gives a machine with just its IP.
---@param key string name, address or MAC
---@param db? table a loaded database (default: M.load())
---@return ctys.Machine|nil machine
---@return string? err
function M.lookup(key, db)
  check.arg("ctys.machines.lookup", "key", key, "string")
  check.arg("ctys.machines.lookup", "db", db, "table?")
  db = db or M.load()
  if db[key] then return db[key] end
  local mac = wol.parse_mac(key)
  for _, m in ipairs(db) do
    if m.ip == key or (mac and m.mac == mac and not is_ip(key)) then return m end
  end
  if mac and not is_ip(key) then return { name = key, mac = mac } end
  local addrs, e = require("ctys.probe").resolve(key)
  if not addrs then return nil, e end
  return { name = key, ip = addrs[1] }
end

---The IP address of a name: the address itself, the database's `ip`, or the resolver's.
---@param key string
---@param db? table
---@return string|nil ip
---@return string? err
function M.address(key, db)
  check.arg("ctys.machines.address", "key", key, "string")
  check.arg("ctys.machines.address", "db", db, "table?")
  if is_ip(key) then return key end
  local m, e = M.lookup(key, db)
  if not m then return nil, e end
  if m.ip then return m.ip end
  local addrs, re = require("ctys.probe").resolve(key)
  if not addrs then return nil, re end
  return addrs[1]
end

return M
