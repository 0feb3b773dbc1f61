--- Host lists the ClusterShell way: `lab[01-04,07]` expands to five names and five names
--- fold back into it; padding is kept (`h[001-064]`), steps work (`h[1-10/3]`), several
--- brackets multiply (`rack[1-2]-n[01-03]`).
---@class ctys.hostlist
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

---The most names one word, or one group, may stand for: `lab[1-1000][1-1000][1-1000]` is
---refused before a single name is made.
M.MAX = 100000

---The most bytes one word's names may take together (16 MiB): a long word with a range is
---refused as well.
M.MAX_BYTES = 16 * 1024 * 1024

---A long word (or item) shortened for a message: its first 60 and last 12 bytes.
---@param w string
---@return string
function M.shown(w)
  check.arg("ctys.hostlist.shown", "w", w, "string")
  return check.cut(w)
end
local shown = M.shown

-- A range item's bounds: "01-04", "7", "1-10/3" → lo, hi, step, padding width, count.
local function range_of(item, word)
  local a, b, step = item:match("^(%d+)%-(%d+)/(%d+)$")
  if not a then a, b = item:match("^(%d+)%-(%d+)$") end
  if not a then a = item:match("^(%d+)$"); b = a end
  if not a then err.usage("bad range '%s' in '%s'", shown(item), shown(word)) end
  -- 19 digits may fit an integer (tointeger below says), and no name needs more padding.
  if #a > 19 or #b > 19 or (step and #step > 19) then err.usage("bad range '%s' in '%s': numbers of at most 19 digits", shown(item), shown(word)) end
  local lo, hi, st = math.tointeger(tonumber(a)), math.tointeger(tonumber(b)), math.tointeger(tonumber(step or 1))
  if not (lo and hi and st) or lo > hi or st < 1 then err.usage("bad range '%s' in '%s'", shown(item), shown(word)) end
  -- hi - lo cannot wrap (both are non-negative); the count is capped before it grows further.
  return lo, hi, st, (#a > 1 and a:sub(1, 1) == "0") and #a or 0, math.min((hi - lo) // st, M.MAX) + 1
end

-- How many names a word stands for, counted without making them (at most M.MAX + 1).
local function count(word)
  local n = 1
  for body in word:gmatch("%[([^%]]*)%]") do
    if body == "" then err.usage("empty range in '%s'", shown(word)) end
    local items = 0
    for item in (body .. ","):gmatch("([^,]*),") do
      items = items + select(5, range_of(item, word))
      if items > M.MAX then break end
    end
    if items > M.MAX // n then return M.MAX + 1 end
    n = n * items
  end
  return n
end

-- The numbers a range item stands for, as text (padding kept).
local function range_items(item, word, out)
  local lo, hi, st, width = range_of(item, word)
  for n = lo, hi, st do out[#out + 1] = string.format("%0" .. width .. "d", n) end
end

-- The names of a word, in order (its size checked by M.expand): the word is cut into pieces,
-- each a list of choices (a literal has one), and each name is joined once from its choices,
-- so the work is the size of the names, however many brackets there are.
local function expand(word)
  local pieces, pos = {}, 1
  while pos <= #word do
    local open = word:find("[", pos, true)
    local lit = word:sub(pos, (open or #word + 1) - 1)
    if lit:find("]", 1, true) then err.usage("stray ']' in '%s'", shown(word)) end
    if lit ~= "" then pieces[#pieces + 1] = { lit } end
    if not open then break end
    local close = word:find("]", open, true)
    if not close then err.usage("unbalanced '[' in '%s'", shown(word)) end
    local body = word:sub(open + 1, close - 1)
    if body == "" or body:find("[", 1, true) then err.usage("bad range '[%s]' in '%s'", shown(body), shown(word)) end
    local choices = {}
    for item in (body .. ","):gmatch("([^,]*),") do range_items(item, word, choices) end
    pieces[#pieces + 1] = choices
    pos = close + 1
  end
  if #pieces == 0 then return { "" } end
  -- An odometer over the pieces, the last turning fastest.
  local at, out, name = {}, {}, {}
  for i, p in ipairs(pieces) do at[i] = 1; name[i] = p[1] end
  while true do
    out[#out + 1] = table.concat(name)
    local i = #pieces
    while i > 0 and at[i] == #pieces[i] do at[i] = 1; name[i] = pieces[i][1]; i = i - 1 end
    if i == 0 then return out end
    at[i] = at[i] + 1
    name[i] = pieces[i][at[i]]
  end
end

---Expand one word with `[...]` ranges into host names, in order; more than M.MAX names is
---an error (exit 1).
---@param word string e.g. "lab[01-03,07]" or "rack[1-2]-n[1-2]"
---@return string[]
function M.expand(word)
  check.arg("ctys.hostlist.expand", "word", word, "string")
  local n = count(word)
  if n > M.MAX then err.usage("'%s' is too large: it stands for more than %d hosts", shown(word), M.MAX) end
  if n * #word > M.MAX_BYTES then err.usage("'%s' is too large: its %d names take more than %d bytes", shown(word), n, M.MAX_BYTES) end
  return expand(word)
end

-- prefix, number text, suffix of a name, split at the last run of digits of its host part
-- (a `:port` stays in the suffix, so 127.0.0.50:2222 and 127.0.0.51:2222 fold).
local function split_name(name)
  local host, port = name:match("^(.-)(:%d+)$")
  local pre, num, suf = (host or name):match("^(.-)(%d+)(%D*)$")
  if pre then return pre, num, suf .. (port or "") end
end

---Fold host names into the shortest ClusterShell form: `lab01,lab02,lab03,lab07` →
---`lab[01-03,07]`. Names are sorted; duplicates dropped.
---@param names string[]
---@return string
function M.fold(names)
  check.list("ctys.hostlist.fold", "names", names, "string")
  local groups, order, plain, seen = {}, {}, {}, {}
  for _, name in ipairs(names) do
    if not seen[name] then
      seen[name] = true
      local pre, num, suf = split_name(name)
      if not pre then
        plain[#plain + 1] = name
      else
        local key = pre .. "\0" .. suf
        if not groups[key] then groups[key] = { pre = pre, suf = suf, nums = {} }; order[#order + 1] = key end
        table.insert(groups[key].nums, num)
      end
    end
  end
  table.sort(order)
  local out = {}
  for _, key in ipairs(order) do
    local g = groups[key]
    table.sort(g.nums, function(a, b)
      if tonumber(a) ~= tonumber(b) then return tonumber(a) < tonumber(b) end
      return #a < #b
    end)
    local items, i = {}, 1
    while i <= #g.nums do
      local j = i
      -- A run continues while numbers are consecutive; padded ones must keep their width.
      while j < #g.nums and tonumber(g.nums[j + 1]) == tonumber(g.nums[j]) + 1
        and (#g.nums[j + 1] == #g.nums[j] or not (g.nums[i]:match("^0%d") or g.nums[j + 1]:match("^0%d"))) do
        j = j + 1
      end
      items[#items + 1] = i == j and g.nums[i] or (g.nums[i] .. "-" .. g.nums[j])
      i = j + 1
    end
    if #g.nums == 1 then
      out[#out + 1] = g.pre .. g.nums[1] .. g.suf
    else
      out[#out + 1] = g.pre .. "[" .. table.concat(items, ",") .. "]" .. g.suf
    end
  end
  table.sort(plain)
  for _, p in ipairs(plain) do out[#out + 1] = p end
  return table.concat(out, ",")
end

return M
