--- Writing the machine database: machines as database lines, and merged into a machines file
--- (`name key=value ...` lines) without losing what was written by hand. A machine already in
--- the file keeps its line, its comment, its order and every field the merge does not bring; a
--- field it brings replaces the value there (the line is rewritten as key=value words); a new
--- machine is appended. `write` shows the change as a diff, keeps the old file as FILE.bak and
--- replaces the file atomically, after checking that ctys.machines reads the new text.
---@class ctys.machinefile
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

-- The fields a database line gives first, in this order; the rest follow sorted.
local ORDER = { "mac", "ip", "bmc", "bmc_user", "bmc_ca", "bmc_kg_file", "iface" }

-- A record's fields as {key, value} pairs in line order (name and source left out).
local function pairs_of(m)
  local out, seen = {}, { name = true, source = true }
  for _, k in ipairs(ORDER) do
    if m[k] ~= nil then out[#out + 1] = { k, tostring(m[k]) } end
    seen[k] = true
  end
  local rest = {}
  for k, v in pairs(m) do
    if not seen[k] and type(k) == "string" then rest[#rest + 1] = { k, tostring(v) } end
  end
  table.sort(rest, function(a, b) return a[1] < b[1] end)
  table.move(rest, 1, #rest, #out + 1, out)
  return out
end

---A machine as a database line: `name key=value ...`, the known fields first.
---@param m table name and fields
---@return string
function M.line(m)
  check.arg("ctys.machinefile.line", "m", m, "table")
  local words = { m.name }
  for _, kv in ipairs(pairs_of(m)) do words[#words + 1] = kv[1] .. "=" .. kv[2] end
  return table.concat(words, " ")
end

-- A line's name and fields as it stands: key=value words, bare MAC and address words, or the
-- original's `node;IP;MAC`; nil for a comment or an empty line.
local function fields_of(body)
  local wol, net = require "ctys.wol", require "ctys.net"
  if body:find(";", 1, true) then
    local node, ip, mac = body:match("^%s*([^;%s]+)%s*;([^;]*);([^;]*)$")
    if not node then return nil end
    local out = {}
    if ip:match("%S") then out[#out + 1] = { "ip", ip:match("^%s*(.-)%s*$") } end
    if mac:match("%S") then out[#out + 1] = { "mac", mac:match("^%s*(.-)%s*$") } end
    return node, out
  end
  local name, rest = body:match("^%s*(%S+)%s*(.*)$")
  if not name then return nil end
  local out = {}
  for word in rest:gmatch("%S+") do
    local k, v = word:match("^([%w_]+)=(.*)$")
    if not k then k, v = (net.parse_ip(word) and "ip") or (wol.parse_mac(word) and "mac") or "?", word end
    out[#out + 1] = { k, v }
  end
  return name, out
end

-- A text's lines, the last one with or without its newline ("" has none).
local function split(text)
  local out = {}
  for l in text:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  local tail = text:match("[^\n]+$")
  if tail then out[#out + 1] = tail end
  return out
end

---Merge machines into a machines file's text.
---@param text string the file as it is ("" for a new one)
---@param machines table[] records: name and fields
---@return string text the merged file
---@return {added: string[], changed: string[]} what changed, by machine name
function M.merge(text, machines)
  check.arg("ctys.machinefile.merge", "text", text, "string")
  check.list("ctys.machinefile.merge", "machines", machines, "table")
  local lines, at = split(text), {}
  for n, line in ipairs(lines) do
    local name = fields_of((line:gsub("#.*", "")))
    if name and not at[name] then at[name] = n end
  end
  local added, changed = {}, {}
  for _, m in ipairs(machines) do
    local n = at[m.name]
    if not n then
      lines[#lines + 1] = M.line(m)
      at[m.name] = #lines
      added[#added + 1] = m.name
    else
      local body, comment = lines[n]:match("^([^#]*)(.*)$")
      local _, old = fields_of(body)
      local index, dirty = {}, false
      for i, kv in ipairs(old) do index[kv[1]] = index[kv[1]] or i end
      for _, kv in ipairs(pairs_of(m)) do
        local i = index[kv[1]]
        if not i then
          old[#old + 1] = kv
          dirty = true
        elseif old[i][2] ~= kv[2] then
          old[i][2], dirty = kv[2], true
        end
      end
      if dirty then
        local words = { m.name }
        -- A bare word kept its meaning only by its look: written as key=value now.
        for _, kv in ipairs(old) do words[#words + 1] = kv[1] == "?" and kv[2] or (kv[1] .. "=" .. kv[2]) end
        lines[n] = table.concat(words, " ") .. (comment ~= "" and ("  " .. comment) or "")
        changed[#changed + 1] = m.name
      end
    end
  end
  return #lines > 0 and (table.concat(lines, "\n") .. "\n") or "", { added = added, changed = changed }
end

---The lines that differ between two texts of one file, as `-old` / `+new` lines under a
---`--- FILE` / `+++ FILE` header with `@@ line N` marks; "" when they are the same.
---@param old string
---@param new string
---@param name string the file, for the header
---@return string
function M.diff(old, new, name)
  check.arg("ctys.machinefile.diff", "old", old, "string")
  check.arg("ctys.machinefile.diff", "new", new, "string")
  check.arg("ctys.machinefile.diff", "name", name, "string")
  if old == new then return "" end
  local a, b = split(old), split(new)
  -- A merge keeps every line where it was and only appends: line n of one is line n of the other.
  local out = { "--- " .. name, "+++ " .. name .. " (merged)" }
  for n = 1, math.max(#a, #b) do
    if a[n] ~= b[n] then
      out[#out + 1] = "@@ line " .. n
      if a[n] then out[#out + 1] = "-" .. a[n] end
      if b[n] then out[#out + 1] = "+" .. b[n] end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

---Merge machines into a machines file: returns the diff (and with `apply`, writes the file:
---the old one kept as FILE.bak, the new text checked by ctys.machines first, then put in place
---atomically). A file that cannot be read, or a merge that would not read back: exit 2.
---@param path string
---@param machines table[]
---@param apply boolean write it, or only say what would change
---@return string diff
---@return {added: string[], changed: string[]}
function M.write(path, machines, apply)
  check.arg("ctys.machinefile.write", "path", path, "string")
  check.list("ctys.machinefile.write", "machines", machines, "table")
  check.arg("ctys.machinefile.write", "apply", apply, "boolean")
  local fs = require "ctys.fs"
  if path:match("%.lua$") or path:match("ethers$") then err.env("%s: only a file of database lines can be merged into, not a .lua or ethers file", path) end
  local old, e, kind = fs.read(path, { max = 64 << 20 })
  if not old and kind ~= "notfound" then err.env("%s", e) end
  old = old or ""
  local new, what = M.merge(old, machines)
  require("ctys.machines").parse(new, path)
  local diff = M.diff(old, new, path)
  if apply and diff ~= "" then
    local st = fs.stat(path)
    local mode = st and st.mode
    if st then err.must(fs.write(path .. ".bak", old, mode)) end
    err.must(fs.write(path, new, mode))
  end
  return diff, what
end

return M
