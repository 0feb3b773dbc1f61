--- Readable rendering of Lua values (REPL results, test failures).
---@class ctys.pretty
local M = {}

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function sorted_keys(t)
  local keys, n = {}, #t
  for k in pairs(t) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "number" or ta == "string" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return keys, n
end

local function render(v, indent, seen, depth, out)
  if type(v) == "string" then out[#out + 1] = (string.format("%q", v):gsub("\\\n", "\\n")); return end
  if type(v) ~= "table" then out[#out + 1] = tostring(v); return end
  if seen[v] then out[#out + 1] = "<cycle>"; return end
  local mt = getmetatable(v)
  if mt and mt.__tostring then out[#out + 1] = tostring(v); return end
  if depth <= 0 then out[#out + 1] = "{...}"; return end
  local keys, n = sorted_keys(v)
  if n + #keys == 0 then out[#out + 1] = "{}"; return end
  seen[v] = true
  local inner = indent .. "  "
  out[#out + 1] = "{\n"
  for i = 1, n do
    out[#out + 1] = inner
    render(v[i], inner, seen, depth - 1, out)
    out[#out + 1] = ",\n"
  end
  for _, k in ipairs(keys) do
    out[#out + 1] = inner
    if is_ident(k) then out[#out + 1] = k else
      out[#out + 1] = "["; render(k, inner, seen, 0, out); out[#out + 1] = "]"
    end
    out[#out + 1] = " = "
    render(v[k], inner, seen, depth - 1, out)
    out[#out + 1] = ",\n"
  end
  out[#out + 1] = indent .. "}"
  seen[v] = nil
end

---Render a value as Lua-like text: strings quoted, tables expanded with sorted keys.
---@param v any
---@param depth? integer how many table levels to expand (default 8)
---@return string
function M.format(v, depth)
  if depth ~= nil and (math.type(depth) ~= "integer" or depth < 0) then
    require("ctys.check").bad("ctys.pretty.format", "depth", "expected a non-negative integer, got %s", tostring(depth))
  end
  local out = {}
  render(v, "", {}, depth or 8, out)
  return table.concat(out)
end

return M
