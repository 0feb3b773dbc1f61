--- Gateways between this machine and its hosts, in ClusterShell's topology.conf format, so one
--- file serves both tools:
---
--- ```ini
--- [routes]
--- admin: gw[1-4]              # the line of this machine (its host name): first-level gateways
--- gw[1-4]: rack[1-4]gw        # any of gw1-gw4 reaches any of rack1gw-rack4gw
--- rack1gw: rack1-[001-250]
--- ```
---
--- Each side is a node set (`ctys.hostlist`: `gw[1-4]`, commas, several brackets); `:` or `=`
--- separates them; `#` and `;` start comments; an indented line continues the one above. A
--- host that no line names on its right is reached directly.
---@class ctys.topology
local M = {}

local check = require "ctys.check"

---The most levels of gateways between this machine and a host.
M.MAX_DEPTH = 8

---@class ctys.topology.Topology
---@field name string where it was read from, for messages
---@field lines {left: string[], right: string[], line: integer}[]
---@field private parents table<string, string[]> the nodes of the left sides naming a node

-- A node set's names: its items (split at commas and spaces outside brackets) expanded;
-- raises as ctys.hostlist.expand does.
local function nodeset(text)
  local expand, names, depth, item = require("ctys.hostlist").expand, {}, 0, {}
  local function flush()
    if #item > 0 then
      for _, n in ipairs(expand(table.concat(item))) do names[#names + 1] = n end
      item = {}
    end
  end
  for c in text:gmatch(".") do
    if c == "[" then depth = depth + 1 elseif c == "]" then depth = depth - 1 end
    if depth == 0 and (c == "," or c:match("%s")) then flush() else item[#item + 1] = c end
  end
  flush()
  return names
end

---Parse topology.conf text (`name` names it in messages). A bad line is nil, "NAME:LINE: why",
---"invalid".
---@param text string
---@param name? string
---@return ctys.topology.Topology|nil
---@return string? err
---@return string? kind
function M.parse(text, name)
  check.arg("ctys.topology.parse", "text", text, "string")
  check.arg("ctys.topology.parse", "name", name, "string?")
  name = name or "topology"
  local entries, section = {}, nil
  local n = 0
  for raw in (text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local line = raw:gsub("%s[#;].*$", "")
    if line:match("^%s*[#;]") or line:match("^%s*$") then
      -- nothing
    elseif line:match("^%[") then
      section = line:match("^%[%s*([^%]]-)%s*%]%s*$")
      if section ~= "routes" then return nil, string.format("%s:%d: only a [routes] section, not %s", name, n, check.cut(line)), "invalid" end
    elseif section ~= "routes" then
      return nil, string.format("%s:%d: a route before [routes]", name, n), "invalid"
    elseif line:match("^%s") and entries[#entries] then
      local e = entries[#entries]
      e.right = e.right .. "," .. line:match("^%s*(.-)%s*$")
    else
      local left, right = line:match("^%s*([^:=]-)%s*[:=]%s*(.-)%s*$")
      if not left or left == "" or right == "" then
        return nil, string.format("%s:%d: expected 'NODES: NODES', got %s", name, n, check.cut(line)), "invalid"
      end
      entries[#entries + 1] = { left = left, right = right, line = n }
    end
  end
  local topo = { name = name, lines = {}, parents = {} }
  for _, e in ipairs(entries) do
    local ok, l = pcall(nodeset, e.left)
    local ok2, r = pcall(nodeset, e.right)
    if not (ok and ok2) then
      return nil, string.format("%s:%d: %s", name, e.line, tostring(ok and r or l)), "invalid"
    end
    topo.lines[#topo.lines + 1] = { left = l, right = r, line = e.line }
    for _, node in ipairs(r) do
      local p = topo.parents[node] or {}
      table.move(l, 1, #l, #p + 1, p)
      topo.parents[node] = p
    end
  end
  return setmetatable(topo, { __index = M })
end

---Read and parse a topology file (at most 16 MiB).
---@param path string
---@return ctys.topology.Topology|nil
---@return string? err
---@return string? kind
function M.load(path)
  check.arg("ctys.topology.load", "path", path, "string")
  local text, e, kind = require("ctys.fs").read(path, { max = 16 << 20 })
  if not text then return nil, e or (path .. ": no such file"), kind or "notfound" end
  return M.parse(text, path)
end

-- Routes are found from the host up.
local function reverse(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

---The gateways between `root` (this machine) and `host`: one list of candidates per level,
---nearest first; {} when the host is reached directly (no line names it, or `root`'s does).
---A loop, or more than MAX_DEPTH levels: nil, err, "invalid".
---@param topo ctys.topology.Topology
---@param host string
---@param root string this machine's name in the file
---@return string[][]|nil
---@return string? err
---@return string? kind
function M.route(topo, host, root)
  check.arg("ctys.topology.route", "topo", topo, "table")
  check.arg("ctys.topology.route", "host", host, "string")
  check.arg("ctys.topology.route", "root", root, "string")
  local levels, seen, set = {}, { [host] = true }, { host }
  while true do
    local up, has = {}, {}
    for _, node in ipairs(set) do
      for _, p in ipairs(topo.parents[node] or {}) do
        if p == root then return reverse(levels) end
        if not has[p] then has[p], up[#up + 1] = true, p end
      end
    end
    -- A host no line names is reached directly; gateways no line leads to are not reached.
    if #up == 0 then
      if #levels == 0 then return {} end
      return nil, string.format("%s: no route from %s to %s: no line leads to %s (is %s this machine's name?)", topo.name, root, host, set[1], root), "invalid"
    end
    for _, p in ipairs(up) do
      if seen[p] then return nil, string.format("%s: the routes to %s go round in a loop through %s", topo.name, host, p), "invalid" end
      seen[p] = true
    end
    if #levels == M.MAX_DEPTH then return nil, string.format("%s: more than %d gateways between %s and %s", topo.name, M.MAX_DEPTH, root, host), "invalid" end
    levels[#levels + 1] = up
    set = up
  end
end

return M
