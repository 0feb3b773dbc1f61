--- What the REPL completes and how it prints results (the terminal itself is Rust's).
---@class ctys.repl
local M = {}

local pretty = require "ctys.pretty"

-- String keys of a value that can be indexed: its fields, its metatable's __index table,
-- and for a lazily loading ctys namespace the modules it would load.
local function fields(v, out)
  if type(v) == "table" then
    for k in pairs(v) do if type(k) == "string" then out[k] = true end end
  end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__index) == "table" and mt.__index ~= v then fields(mt.__index, out) end
  if v == ctys then
    for _, name in ipairs(ctys.core.modules("ctys.")) do out[name:match("^ctys%.([^.]+)")] = true end
  end
  return out
end

---Complete the identifier path before the cursor (`ctys.w` → `ctys.wol`).
---@param line string the line up to the cursor
---@return integer start byte offset (0-based) where the completed word starts
---@return string[] candidates full replacements for that word
function M.complete(line)
  require("ctys.check").arg("ctys.repl.complete", "line", line, "string")
  local word = line:match("[%w_%.:]*$")
  local start = #line - #word
  local path, sep, last = word:match("^(.-)([%.:]?)([%w_]*)$")
  local v = _G
  if path ~= "" then
    for part in path:gmatch("[^.:]+") do
      local ok, nv = pcall(function() return v[part] end)
      if not ok or nv == nil then return start, {} end
      v = nv
    end
  end
  local out = {}
  for k in pairs(fields(v, {})) do
    if k:sub(1, #last) == last and k:match("^[%a_][%w_]*$") then out[#out + 1] = path .. sep .. k end
  end
  table.sort(out)
  return start, out
end

---Print the results of a statement, one per line (tables expanded).
---@param ... any
function M.show(...)
  for i = 1, select("#", ...) do print(pretty.format((select(i, ...)))) end
end

return M
