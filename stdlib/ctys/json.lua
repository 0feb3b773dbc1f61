--- JSON text for machine-readable output (one object a line). Encoding only: ctys reads no JSON.
---@class ctys.json
local M = {}

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function string_(s)
  -- Bytes of text that is not UTF-8 (binary output) become \u00XX so the line stays valid JSON.
  local pattern = utf8.len(s) and '[%c"\\]' or '[%c"\\\128-\255]'
  return '"' .. s:gsub(pattern, function(c) return ESC[c] or string.format("\\u%04x", c:byte()) end) .. '"'
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return n > 0 or next(t) == nil
end

-- Deeper than this is a mistake, not data (and would end in a C stack overflow).
local MAX_DEPTH = 200

local function bad(fmt, ...)
  require("ctys.check").bad("ctys.json.encode", "v", fmt, ...)
end

local function encode(v, out, seen, depth)
  local t = type(v)
  if v == nil or v == M.null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    elseif math.type(v) == "integer" then out[#out + 1] = tostring(v)
    else
      -- The shortest text that reads back as the same number (0.35, not 0.34999999999999998).
      local text = string.format("%.15g", v)
      if tonumber(text) ~= v then text = string.format("%.17g", v) end
      out[#out + 1] = text
    end
  elseif t == "string" then out[#out + 1] = string_(v)
  elseif t == "table" then
    if seen[v] then bad("a table contains itself") end
    if depth > MAX_DEPTH then bad("tables nested deeper than %d", MAX_DEPTH) end
    seen[v] = true
    if is_array(v) and next(v) ~= nil then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out, seen, depth + 1)
      end
      out[#out + 1] = "]"
    else
      -- Object keys are strings, or integers written in decimal; two keys that would be
      -- the same text (1 and "1") are refused, as is any other key.
      local keys, by_text = {}, {}
      for k in pairs(v) do
        if type(k) ~= "string" and math.type(k) ~= "integer" then bad("a %s key cannot be a JSON object key", math.type(k) or type(k)) end
        local text = tostring(k)
        if by_text[text] ~= nil then bad("keys %q twice (as a string and as a number)", text) end
        by_text[text] = k
        keys[#keys + 1] = text
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = string_(k) .. ":"
        encode(v[by_text[k]], out, seen, depth + 1)
      end
      out[#out + 1] = "}"
    end
    seen[v] = nil
  else
    bad("cannot encode a %s", t)
  end
end

---A value that encodes as `null` inside tables (where nil would drop the key).
M.null = setmetatable({}, { __tostring = function() return "null" end })

---Encode a value as JSON text (object keys sorted, so output is stable).
---@param v any nil, boolean, number, string, or tables of them
---@return string
function M.encode(v)
  local out = {}
  encode(v, out, {}, 1)
  return table.concat(out)
end

return M
