--- GROUPS: named sets of targets, in the original ctys's files, plus ClusterShell-style ranges
--- and set expressions.
---
--- Files: the group name is a path (`lab`, `desktops/tst/ctys-lab`) under the first directory of
--- `CTYS_GROUPS_PATH` (colon-separated), `~/.ctys/groups`, `/etc/ctys/groups` that has it.
--- Format: entries `[user@]host[:port]['(ctx opts)']` separated by white space or commas, hosts
--- may carry ranges (`lab[01-20,33]`); `#include a,b` includes groups; `CONTEXT'(opts)'` gives
--- options to every member of the group (on every line, unlike the original, which gave them to
--- the last host of its line); other `#` lines are comments. Contexts superpose, the last
--- winning: an including group's CONTEXT, the included group's, the entry's own. The result is
--- a set in first-seen order. An include cycle is named (`a -> b -> a`); a missing include is a
--- missing environment element (exit 2) naming the file and line.
---
--- Expressions (command line, remote.exec hosts, ctys-vnetctl -r): `@group`, hosts and ranges
--- joined by `,` (union), `!` (minus), `&` (intersection), `^` (symmetric difference),
--- evaluated strictly left to right as ClusterShell does — `@a,@b&@c` is `(@a,@b)&@c`, where
--- Ansible's fixed precedence would read `@a,(@b&@c)`.
---@class ctys.groups
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"
local targets = require "ctys.targets"
local hostlist = require "ctys.hostlist"

---Directories to search instead of the environment's (a script or a test sets it).
---@type string[]|nil
M.dirs = nil

---The directories searched, in order.
---@return string[]
function M.path()
  return M.dirs or require("ctys.paths").search("CTYS_GROUPS_PATH", { "~/.ctys/groups", "/etc/ctys/groups" })
end

-- The most bytes of context options one member gets (its group's CONTEXTs and its own).
local MAX_CTX = 64 * 1024

---The file of a group and its text, or nil, the places looked at (or why the name is bad) and
---a kind: "notfound" or "badname" (a name is letters, digits, '_', '.', '-' and '/', not
---starting with '/' or '.', without '..', no part longer than a file name may be: 255 bytes).
---@param name string
---@return string|nil path
---@return string text_or_looked the file's text, or where it was looked for
---@return string? kind
function M.find(name)
  check.arg("ctys.groups.find", "name", name, "string")
  if not name:match("^[%w_][%w_.%-/]*$") or name:find("..", 1, true) or name:find("[^/]" .. ("[^/]"):rep(255)) then
    return nil, string.format("bad group name '%s'", #name > 64 and (name:sub(1, 60) .. "...") or name), "badname"
  end
  local tried = {}
  for _, dir in ipairs(M.path()) do
    local path = dir .. "/" .. name
    local text, e, kind = require("ctys.fs").read(path)
    if not text and kind ~= "notfound" then err.env("the group file %s", e) end
    if text then return path, text end
    tried[#tried + 1] = path
  end
  return nil, table.concat(tried, ", "), "notfound"
end

---@class ctys.GroupMember : ctys.Target
---@field ctx_raw string|nil the superposed context options (group's, then the entry's)

-- The entries of a line: words separated by white space or commas, except inside (...) and
-- a range's [...]; the shell quotes of host'(opts)' are dropped.
local function entries(line, where)
  local out, cur, depth, range = {}, {}, 0, 0
  for c in line:gmatch(".") do
    if c == "(" then depth = depth + 1 end
    if c == ")" then
      depth = depth - 1
      if depth < 0 then err.usage("%s: stray ')'", where) end
    end
    if depth == 0 and c == "[" then range = range + 1 end
    if depth == 0 and c == "]" then range = math.max(range - 1, 0) end
    if depth == 0 and range == 0 and (c == "," or c:find("%s")) then
      if #cur > 0 then out[#out + 1] = table.concat(cur); cur = {} end
    elseif not (c == "'" and depth == 0) then
      cur[#cur + 1] = c
    end
  end
  if depth ~= 0 then err.usage("%s: unbalanced '('", where) end
  if #cur > 0 then out[#out + 1] = table.concat(cur) end
  return out
end

-- A member's host: an address or a host name (ranges are checked with their first name).
local function valid_host(h)
  return require("ctys.net").valid_host(h)
end

local function join_ctx(a, b)
  if not a or a == "" then return b end
  if not b or b == "" then return a end
  return a .. " " .. b
end

local function key(t)
  if not t.user and not t.port and not t.host:find(":", 1, true) then return t.host end
  return targets.format(t)
end

-- Adds the members of a group file to `set` (keyed, ordered), under the context `outer`. A
-- group read once adds nothing when read again (members are keyed by address, the first
-- context wins), so it is read once: includes that branch (a diamond, or a bomb of doubling
-- includes) cost one read per group.
local function read_group(name, outer, set, stack, from)
  for i, s in ipairs(stack) do
    if s == name then
      local cycle = { table.unpack(stack, i) }
      cycle[#cycle + 1] = name
      err.usage("group include cycle: %s", table.concat(cycle, " -> "))
    end
  end
  set.read = set.read or {}
  if set.read[name] then return end
  set.read[name] = true
  local path, text, kind = M.find(name)
  if not path then
    if kind == "badname" then err.usage("%s%s", from and (from .. ": #include: ") or "", text) end
    if from then err.env("%s: #include %s: no such group (looked at %s)", from, name, text) end
    err.env("no group %s (looked at %s)", name, text)
  end
  stack[#stack + 1] = name
  -- CONTEXT applies to every member of the group, wherever it stands in the file.
  local ctxs = { outer }
  local lines = {}
  local n = 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    -- A `#` after an entry or a CONTEXT starts a comment, as at the start of a line.
    if not line:match("^%s*#") then line = line:gsub("%s+#.*$", "") end
    lines[n] = line
    if line:match("^%s*CONTEXT'?%(") then
      local c = line:match("^%s*CONTEXT'?(%b())'?%s*$")
      if not c then err.usage("%s:%d: bad CONTEXT line: CONTEXT(options) or CONTEXT'(options)'", path, n) end
      ctxs[#ctxs + 1] = c:sub(2, -2)
    end
  end
  local ctx = table.concat(ctxs, " ")
  if #ctx > MAX_CTX then err.usage("%s: the group's context options take more than %d bytes", path, MAX_CTX) end
  if ctx == "" then ctx = nil end
  for ln, line in ipairs(lines) do
    local where = path .. ":" .. ln
    local inc = line:match("^%s*#include%f[%s%z](.*)$")
    if inc then
      local any = false
      for g in inc:gmatch("[^,%s]+") do any = true; read_group(g, ctx, set, stack, where) end
      if not any then err.usage("%s: #include names no group", where) end
    elseif not line:match("^%s*#") and not line:match("^%s*CONTEXT'?%(") then
      for _, e in ipairs(entries(line, where)) do
        local ok, t = pcall(targets.parse, e)
        if not ok then err.usage("%s: %s", where, select(2, err.describe(t))) end
        local hosts = ok and t.host:find("[", 1, true) and hostlist.expand(t.host) or { t.host }
        if not valid_host(hosts[1]) then err.usage("%s: '%s' is not an address or a host name", where, hostlist.shown(e)) end
        -- Names are counted as they come, duplicates too: 200 lines of lab[1-100000] are
        -- refused, not expanded 200 times.
        set.produced = (set.produced or 0) + #hosts
        if set.produced > hostlist.MAX then err.usage("%s: the group names more than %d hosts", where, hostlist.MAX) end
        local member_ctx = join_ctx(ctx, t.ctx_raw)
        if member_ctx and #member_ctx > MAX_CTX then err.usage("%s: the context options take more than %d bytes", where, MAX_CTX) end
        for _, h in ipairs(hosts) do
          local m = { user = t.user, host = h, port = t.port, ctx_raw = member_ctx }
          m.raw = key(m)
          local k = m.raw
          if not set[k] then
            set[k] = m
            set[#set + 1] = m
            if #set > hostlist.MAX then err.usage("%s: the group holds more than %d hosts", where, hostlist.MAX) end
          end
        end
      end
    end
  end
  stack[#stack] = nil
end

---The members of a group, in first-seen order, each with its superposed context.
---@param name string
---@param ctx? string context options given with the group (applied last: they win)
---@return ctys.GroupMember[]
function M.members(name, ctx)
  check.arg("ctys.groups.members", "name", name, "string")
  check.arg("ctys.groups.members", "ctx", ctx, "string?")
  local set = {}
  read_group(name, nil, set, {}, nil)
  local out = {}
  for i, m in ipairs(set) do
    if ctx then m.ctx_raw = join_ctx(m.ctx_raw, ctx) end
    out[i] = m
  end
  return out
end

-- The operands and operators of an expression: `@a,@b!lab[1-3]&x` → operands and ops.
local function tokens(expr)
  local parts, ops, cur, depth = {}, {}, {}, 0
  for c in expr:gmatch(".") do
    if c == "[" then depth = depth + 1 elseif c == "]" then depth = depth - 1 end
    if depth == 0 and (c == "," or c == "!" or c == "&" or c == "^") then
      parts[#parts + 1] = table.concat(cur)
      ops[#ops + 1] = c
      cur = {}
    else
      cur[#cur + 1] = c
    end
  end
  parts[#parts + 1] = table.concat(cur)
  return parts, ops
end

---Whether a target word is a group expression rather than one host.
---@param word string
---@return boolean
function M.is_expression(word)
  check.arg("ctys.groups.is_expression", "word", word, "string")
  local addr = word:match("^([^(]*)") or word
  if addr:sub(1, 1) == "@" then return true end
  local outside = addr:gsub("%b[]", "")
  return outside:find("[,!&^]") ~= nil or addr:find("[", 1, true) ~= nil and not addr:find("^%[")
end

local function operand(word, where)
  if word == "" then err.usage("empty operand in the group expression '%s'", where) end
  if word:sub(1, 1) == "@" then return M.members(word:sub(2)) end
  local t = targets.parse(word)
  local out = {}
  if not valid_host(t.host:gsub("%b[]", "0")) then err.usage("'%s' in '%s' is not an address or a host name", hostlist.shown(word), hostlist.shown(where)) end
  for _, h in ipairs(t.host:find("[", 1, true) and hostlist.expand(t.host) or { t.host }) do
    local m = { user = t.user, host = h, port = t.port }
    m.raw = key(m)
    out[#out + 1] = m
  end
  return out
end

---Evaluate a group expression strictly left to right; members keep their contexts, and `ctx`
---(options given with the whole expression) is applied last.
---@param expr string e.g. "@lab,@desk!lab03&lab[01-10]"
---@param ctx? string
---@return ctys.GroupMember[]
function M.expand(expr, ctx)
  check.arg("ctys.groups.expand", "expr", expr, "string")
  check.arg("ctys.groups.expand", "ctx", ctx, "string?")
  local parts, ops = tokens(expr)
  local result = operand(parts[1], expr)
  for i, op in ipairs(ops) do
    local right = operand(parts[i + 1], expr)
    local rset = {}
    for _, m in ipairs(right) do rset[m.raw] = m end
    local lset = {}
    for _, m in ipairs(result) do lset[m.raw] = true end
    local out = {}
    if op == "," or op == "^" then
      for _, m in ipairs(result) do if op == "," or not rset[m.raw] then out[#out + 1] = m end end
      for _, m in ipairs(right) do if not lset[m.raw] then out[#out + 1] = m; lset[m.raw] = true end end
    elseif op == "!" then
      for _, m in ipairs(result) do if not rset[m.raw] then out[#out + 1] = m end end
    else
      for _, m in ipairs(result) do if rset[m.raw] then out[#out + 1] = m end end
    end
    result = out
    if #result > hostlist.MAX then err.usage("the group expression '%s' stands for more than %d hosts", expr, hostlist.MAX) end
  end
  local out = {}
  for i, m in ipairs(result) do
    out[i] = { user = m.user, host = m.host, port = m.port, raw = m.raw, ctx_raw = join_ctx(m.ctx_raw, ctx) }
  end
  return out
end

---Resolve command-line targets: expressions and words that name a group become their members;
---other targets stay. Each member's context: the group's, then the one given on the command
---line (`@lab'(-d 1)'`), parsed with the ctys option grammar.
---@param list ctys.RequestTarget[]
---@return ctys.RequestTarget[]
function M.resolve(list)
  check.list("ctys.groups.resolve", "list", list, "table")
  local out, seen = {}, {}
  local cli = require "ctys.cli"
  -- Members of one group share their context text: each text is parsed once.
  local parsed = {}
  local function parse(raw)
    if parsed[raw] == nil then parsed[raw] = cli.parse_options(targets.split_words(raw)) end
    return parsed[raw]
  end
  for _, t in ipairs(list) do
    local members
    local word = t.expr or t.host
    if t.expr or (not t.user and not t.port and M.find(word)) then
      members = t.expr and M.expand(word, t.ctx_raw) or M.members(word, t.ctx_raw)
    end
    for _, m in ipairs(members or { t }) do
      local k = m.host and key(m) or m.raw or m.expr
      if not seen[k] then
        seen[k] = true
        if members then
          m.ctx = m.ctx_raw and parse(m.ctx_raw) or nil
        end
        out[#out + 1] = m
      end
    end
  end
  return out
end

---Hosts for remote execution: strings (hosts, group names, expressions, with an optional
---`(ctx)`) or target tables, with groups and expressions expanded.
---@param list (string|ctys.Target)[]
---@return ctys.GroupMember[]
function M.hosts(list)
  check.arg("ctys.groups.hosts", "list", list, "table")
  local ts = {}
  for i, h in ipairs(list) do
    if type(h) == "table" then
      ts[i] = h
    elseif M.is_expression(h) then
      local addr, ctx = h:match("^([^(]*)%((.*)%)$")
      ts[i] = { expr = addr or h, ctx_raw = ctx, raw = h }
    else
      ts[i] = targets.parse(h)
    end
  end
  return M.resolve(ts)
end

return M
