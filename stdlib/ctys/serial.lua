--- Plain Lua data as text and back, for values that cross a process or host boundary
--- (`ctys.remote.run_lua`). Decoding parses the text itself and never runs it, so a hostile
--- peer can send wrong data but no code.
---@class ctys.serial
local M = {}

local function encode(v, out, seen)
  local t = type(v)
  if t == "nil" or t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if math.type(v) == "integer" then out[#out + 1] = string.format("%d", v)
    elseif v ~= v then out[#out + 1] = "0/0"
    elseif v == math.huge then out[#out + 1] = "1/0"
    elseif v == -math.huge then out[#out + 1] = "-1/0"
    else out[#out + 1] = string.format("%.17g", v) end
  elseif t == "string" then out[#out + 1] = string.format("%q", v)
  elseif t == "table" then
    if seen[v] then error("ctys.serial.encode: a table contains itself", 0) end
    seen[v] = true
    out[#out + 1] = "{"
    for k, val in pairs(v) do
      out[#out + 1] = "["
      encode(k, out, seen)
      out[#out + 1] = "]="
      encode(val, out, seen)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
    seen[v] = nil
  else
    -- Functions, threads and userdata cannot travel; say what they were.
    out[#out + 1] = string.format("%q", "<" .. t .. ">")
  end
end

---Encode nil, booleans, numbers, strings and tables of them (no cycles) as text.
---@param v any
---@return string
function M.encode(v)
  local out = {}
  encode(v, out, {})
  return table.concat(out)
end

local ESCAPES = { a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v", ["\\"] = "\\", ['"'] = '"', ["'"] = "'", ["\n"] = "\n" }

-- A recursive-descent reader for exactly what encode writes.
local function reader(s)
  local pos = 1
  local function fail(what) error(string.format("ctys.serial.decode: %s at byte %d", what, pos), 0) end
  local value
  local function string_()
    pos = pos + 1
    local parts = {}
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(parts) end
      if c == "\\" then
        local n = s:sub(pos + 1, pos + 1)
        local digits = s:match("^%d%d?%d?", pos + 1)
        if digits then
          local code = tonumber(digits)
          if code > 255 then fail("bad escape") end
          parts[#parts + 1] = string.char(code)
          pos = pos + 1 + #digits
        elseif ESCAPES[n] then
          parts[#parts + 1] = ESCAPES[n]
          pos = pos + 2
        else
          fail("bad escape")
        end
      else
        local run = s:match('^[^"\\]+', pos)
        parts[#parts + 1] = run
        pos = pos + #run
      end
    end
  end
  local function number()
    for _, special in ipairs { "0/0", "1/0", "-1/0" } do
      if s:sub(pos, pos + #special - 1) == special then
        pos = pos + #special
        return special == "0/0" and 0 / 0 or (special == "1/0" and math.huge or -math.huge)
      end
    end
    local text = s:match("^-?[%d.]+[eE]?[-+]?%d*", pos) or fail("bad number")
    pos = pos + #text
    return math.tointeger(tonumber(text)) or tonumber(text) or fail("bad number")
  end
  local function table_(depth)
    if depth > 200 then fail("nesting too deep") end
    pos = pos + 1
    local t = {}
    while s:sub(pos, pos) ~= "}" do
      if s:sub(pos, pos) ~= "[" then fail("expected '['") end
      pos = pos + 1
      local k = value(depth)
      if s:sub(pos, pos + 1) ~= "]=" then fail("expected ']='") end
      pos = pos + 2
      local v = value(depth)
      if s:sub(pos, pos) ~= "," then fail("expected ','") end
      pos = pos + 1
      if k == nil or k ~= k then fail("bad key") end
      t[k] = v
    end
    pos = pos + 1
    return t
  end
  value = function(depth)
    local c = s:sub(pos, pos)
    if c == '"' then return string_() end
    if c == "{" then return table_(depth + 1) end
    for word, v in pairs { ["true"] = true, ["false"] = false, ["nil"] = M } do
      if s:sub(pos, pos + #word - 1) == word then pos = pos + #word; if v == M then return nil end return v end
    end
    return number()
  end
  return function()
    local v = value(0)
    if pos <= #s then fail("trailing bytes") end
    return v
  end
end

---Decode text made by encode. Bad text gives nil and a message naming the byte.
---@param s string
---@return any value
---@return string? err
function M.decode(s)
  if type(s) ~= "string" then require("ctys.check").bad("ctys.serial.decode", "s", "expected a string, got %s", type(s)) end
  local ok, v = pcall(reader(s))
  if ok then return v end
  return nil, v
end

return M
