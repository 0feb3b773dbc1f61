--- Argument checks for the stdlib's table-of-options functions: misuse raises a ctys usage
--- error (exit 1) that names the function, the option and the bad value.
---@class ctys.check
local M = {}

local err = require "ctys.err"
local core = require "ctys.core"

---The longest wait anything accepts, in seconds (366 days; the Rust primitives' bound too).
M.MAX_SECONDS = core.max_seconds

-- A number of seconds: finite, from 0 (or above it) to MAX_SECONDS.
local function secs(v, positive)
  return type(v) == "number" and v == v and v <= M.MAX_SECONDS and (positive and v > 0 or not positive and v >= 0)
end

---A value as a message shows it: a string quoted, and one longer than 80 bytes cut to its first
---60 and last 12 (a 100 KB argument must not become a 100 KB message); others by tostring.
---@param v any
---@return string
function M.shown(v)
  if type(v) ~= "string" then return tostring(v) end
  return string.format("%q", M.cut(v))
end

---A string for a message, as it is up to 80 bytes, else its first 60 and last 12 around "...".
---@param s string
---@return string
function M.cut(s)
  if type(s) ~= "string" then M.bad("ctys.check.cut", "s", "expected a string, got %s", type(s)) end
  return #s > 80 and (s:sub(1, 60) .. "..." .. s:sub(-12)) or s
end
local show = M.shown

---Raise "FNAME: bad argument 'NAME': ...".
---@param fname string function name, e.g. "ctys.wol.send"
---@param name string option name
---@param fmt string format of the complaint
---@param ... any format arguments
function M.bad(fname, name, fmt, ...)
  if type(fname) ~= "string" or type(name) ~= "string" or type(fmt) ~= "string" then
    err.usage("ctys.check.bad: bad argument '%s': expected a string", type(fname) ~= "string" and "fname" or type(name) ~= "string" and "name" or "fmt")
  end
  err.usage("%s: bad argument '%s': " .. fmt, fname, name, ...)
end

-- The checkers' own arguments: a name and a function name are strings.
local function own(fname, ...)
  for i = 1, select("#", ...), 2 do
    local name, v = select(i, ...)
    if type(v) ~= "string" then M.bad(fname, name, "expected a string, got %s", type(v)) end
  end
end

-- Kinds of option value and how to test them.
local KINDS = {
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  ["function"] = function(v) return type(v) == "function" end,
  table = function(v) return type(v) == "table" end,
  number = function(v) return type(v) == "number" and v > 0 and v == v end,
  ["number>=0"] = function(v) return type(v) == "number" and v >= 0 and v == v end,
  seconds = function(v) return secs(v, true) end,
  ["seconds>=0"] = function(v) return secs(v, false) end,
  integer = function(v) return math.type(v) == "integer" and v > 0 end,
  ["integer>=0"] = function(v) return math.type(v) == "integer" and v >= 0 end,
  port = function(v) return math.type(v) == "integer" and v > 0 and v < 65536 end,
}
-- What a kind's message adds after the value.
local HINT = { seconds = string.format(" (seconds, at most %d)", core.max_seconds) }
HINT["seconds>=0"] = HINT.seconds

local WHAT = { number = "a positive number", ["number>=0"] = "a non-negative number", integer = "a positive integer",
  seconds = "a positive number", ["seconds>=0"] = "a non-negative number",
  ["integer>=0"] = "a non-negative integer", port = "a port number (1-65535)" }

---Check an options table against a spec `{ name = kind }` (kinds: string, boolean, function,
---table, number (> 0), "number>=0", seconds (> 0, at most MAX_SECONDS), "seconds>=0", integer
---(> 0), "integer>=0", port, or a list of allowed strings); unknown options and missing
---required ones raise too.
---@param fname string
---@param opts any the caller's argument
---@param spec table<string, string|string[]>
---@param required? string[] options that must be present
---@return table opts the same table
function M.opts(fname, opts, spec, required)
  own("ctys.check.opts", "fname", fname)
  if type(spec) ~= "table" then M.bad("ctys.check.opts", "spec", "expected a table, got %s", type(spec)) end
  if required ~= nil and type(required) ~= "table" then M.bad("ctys.check.opts", "required", "expected a table, got %s", type(required)) end
  if type(opts) ~= "table" then M.bad(fname, "opts", "expected a table of options, got %s", type(opts)) end
  for k, v in pairs(opts) do
    local kind = spec[k]
    if kind == nil then err.usage("%s: unknown option '%s'", fname, tostring(k)) end
    if type(kind) == "table" then
      local ok = false
      for _, allowed in ipairs(kind) do ok = ok or v == allowed end
      if not ok then M.bad(fname, k, "%s is not one of %s", show(v), table.concat(kind, ", ")) end
    elseif kind ~= "any" and not KINDS[kind](v) then
      M.bad(fname, k, "expected %s, got %s%s", WHAT[kind] or ("a " .. kind), show(v), HINT[kind] or "")
    end
  end
  for _, k in ipairs(required or {}) do
    if opts[k] == nil then err.usage("%s: missing option '%s'", fname, k) end
  end
  return opts
end

---Seconds written as text (a command line's `TIMEOUT:5`, `-N 0.5`; read by the Rust
---primitives' rule, so `0x10` is refused as there) or given as a number: the number, or nil
---when it is not a finite number from 0 to MAX_SECONDS.
---@param v any
---@return number|nil
function M.seconds(v)
  if type(v) == "string" then return core.parse_seconds(v) end
  if secs(v, false) then return v end
end

---Seconds from a command line, or a usage error (exit 1) `LABEL 'V': not a number of seconds
---from 0 (above 0 with `positive`) to MAX_SECONDS`.
---@param v string|number
---@param label string e.g. "CANCEL: bad TIMEOUT"
---@param positive? boolean 0 is refused too
---@return number
function M.seconds_arg(v, label, positive)
  own("ctys.check.seconds_arg", "label", label)
  if positive ~= nil and type(positive) ~= "boolean" then M.bad("ctys.check.seconds_arg", "positive", "expected a boolean, got %s", type(positive)) end
  local n = M.seconds(v)
  if not n or (positive and n == 0) then
    err.usage("%s '%s': not a number of seconds %s %d", label, tostring(v), positive and "above 0, at most" or "from 0 to", M.MAX_SECONDS)
  end
  return n
end

---A whole number from a command line, in decimal digits only (no sign, `0x`, exponent, point
---or blanks), from `lo` to `hi`; or a usage error (exit 1) `LABEL 'V': a whole number from LO
---to HI`.
---@param v string
---@param label string e.g. "CREATE: bad PORT"
---@param lo integer
---@param hi integer
---@return integer
function M.integer_arg(v, label, lo, hi)
  own("ctys.check.integer_arg", "v", v, "label", label)
  if math.type(lo) ~= "integer" or math.type(hi) ~= "integer" then M.bad("ctys.check.integer_arg", "lo", "expected integer bounds") end
  local n = #v <= 19 and v:match("^%d+$") and math.tointeger(tonumber(v))
  if not n or n < lo or n > hi then err.usage("%s '%s': a whole number from %d to %d", label, v, lo, hi) end
  return n
end

local ARG_KINDS = {
  string = function(v) return type(v) == "string" end,
  table = function(v) return type(v) == "table" end,
  boolean = function(v) return type(v) == "boolean" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return math.type(v) == "integer" end,
  ["function"] = function(v) return type(v) == "function" end,
}

---Check one positional argument: `kind` is string, table, boolean, number, integer or
---function, several joined by `|`, and a trailing `?` lets it be nil. Misuse raises
---"FNAME: bad argument 'NAME': expected KIND, got TYPE" (exit 1).
---@param fname string e.g. "ctys.cli.parse"
---@param name string the parameter's name
---@param v any
---@param kind string
---@return any v
function M.arg(fname, name, v, kind)
  own("ctys.check.arg", "fname", fname, "name", name, "kind", kind)
  local optional = kind:sub(-1) == "?"
  if v == nil and optional then return v end
  for k in (optional and kind:sub(1, -2) or kind):gmatch("[^|]+") do
    local test = ARG_KINDS[k]
    if not test then M.bad("ctys.check.arg", "kind", "unknown kind '%s'", k) end
    if test(v) then return v end
  end
  M.bad(fname, name, "expected %s, got %s", (kind:gsub("%?$", " or nil"):gsub("|", " or ")), type(v) == "string" and string.format("%q", v) or (math.type(v) or type(v)))
end

---Check a list argument and each of its elements: `v` is a table (nil too with a trailing `?`
---on `kind`) whose elements 1..#v are each of `kind` (as check.arg). Misuse raises
---"FNAME: bad argument 'NAME[I]': expected KIND, got TYPE" (exit 1).
---@param fname string
---@param name string
---@param v any
---@param kind string the elements' kind, e.g. "string"; "string?" lets the list be nil
---@return any v
function M.list(fname, name, v, kind)
  own("ctys.check.list", "fname", fname, "name", name, "kind", kind)
  local optional = kind:sub(-1) == "?"
  if v == nil and optional then return v end
  M.arg(fname, name, v, "table")
  local each = optional and kind:sub(1, -2) or kind
  for i = 1, #v do M.arg(fname, name .. "[" .. i .. "]", v[i], each) end
  return v
end

---Check a table argument and the fields a function reads of it: `fields` maps each name to a
---kind as check.arg takes it ("string", "table?", "integer|string", ...). Misuse raises
---"FNAME: bad argument 'NAME.FIELD': expected KIND, got TYPE" (exit 1).
---@param fname string
---@param name string
---@param t any
---@param fields table<string, string>
---@return table t
function M.fields(fname, name, t, fields)
  if type(fname) ~= "string" then M.bad("ctys.check.fields", "fname", "expected a string, got %s", type(fname)) end
  M.arg(fname, name, t, "table")
  if type(fields) ~= "table" then M.bad("ctys.check.fields", "fields", "expected a table, got %s", type(fields)) end
  for k, kind in pairs(fields) do M.arg(fname, name .. "." .. k, t[k], kind) end
  return t
end

---A shallow copy of a table without the named keys.
---@param t table
---@param ... string keys to drop
---@return table
function M.without(t, ...)
  if type(t) ~= "table" then M.bad("ctys.check.without", "t", "expected a table, got %s", type(t)) end
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for i = 1, select("#", ...) do out[select(i, ...)] = nil end
  return out
end

return M
