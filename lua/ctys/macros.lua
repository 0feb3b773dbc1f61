--- MACROS: named pieces of command line, in the original ctys's files, expanded before the
--- grammar reads a command line.
---
--- Files: `default` (or the `%<file>` a reference names) in the first directory of
--- `CTYS_MACRO_PATH` (colon-separated), `~/.ctys/macros`, `/etc/ctys/macros` that has it.
--- Format: `NAME = value` a line; `#` starts a comment line; a trailing `\` continues the line;
--- blanks around `=` are dropped; a name defined twice is an error naming both lines.
--- References: `MACRO:<name>[%<file>][%ECHO|%EVAL][%OPTIONAL]` (keyword in any case), or
--- `{macro:NAME...}` inside a word. A reference that is a whole word becomes the words of its
--- value; inside a word it is replaced as text. Values are expanded again until no reference is
--- left; a cycle is an error that names it (`a -> b -> a`). `%EVAL` ran the value through the
--- shell in the original: refused unless a site sets `ctys.macros.allow_eval = true` (or
--- CTYS_MACRO_EVAL=1), and then the value runs as `/bin/sh -c VALUE` and its output is used.
---@class ctys.macros
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

---The longest text a command line's macros may expand to (1 MiB): a chain of macros that each
---double the one before ends in an error, not in all the memory there is.
M.MAX_TEXT = 1024 * 1024

---Whether %EVAL may run shell commands (a site's decision; off by default).
M.allow_eval = os.getenv("CTYS_MACRO_EVAL") == "1"

---Directories to search instead of the environment's (a script or a test sets it).
---@type string[]|nil
M.dirs = nil

---The directories searched, in order.
---@return string[]
function M.path()
  return M.dirs or require("ctys.paths").search("CTYS_MACRO_PATH", { "~/.ctys/macros", "/etc/ctys/macros" })
end

local cache = {}

---Parse a macro file's text; `origin` names it in errors.
---@param text string
---@param origin string
---@return table<string, {value: string, line: integer}>
function M.parse(text, origin)
  check.arg("ctys.macros.parse", "text", text, "string")
  check.arg("ctys.macros.parse", "origin", origin, "string")
  -- Continued lines are gathered in a list and joined once (joining as they come is
  -- quadratic in their number).
  local macros, n, pending, first = {}, 0, nil, nil
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    if not pending then first = n end
    if line:sub(-1) == "\\" then
      pending = pending or {}
      pending[#pending + 1] = line:sub(1, -2)
    else
      if pending then
        pending[#pending + 1] = line
        line = table.concat(pending)
      end
      pending = nil
      if not line:match("^%s*#") and line:match("%S") then
        local name, value = line:match("^%s*([%w_.%-]+)%s*=%s*(.-)%s*$")
        if not name then err.usage("%s:%d: expected NAME = value, got '%s'", origin, first, line) end
        if macros[name] then
          err.usage("%s:%d: macro %s is defined again (first at line %d)", origin, first, name, macros[name].line)
        end
        macros[name] = { value = value, line = first }
      end
    end
  end
  if pending then err.usage("%s:%d: the file ends in a continued line", origin, first) end
  return macros
end

---The macros of a file name (`default` unless given), from the first directory that has it.
---@param file? string
---@return table<string, {value: string, line: integer}>|nil macros
---@return string where the file, or the places looked at
function M.load(file)
  check.arg("ctys.macros.load", "file", file, "string?")
  file = file or "default"
  if file:find("%.%.") or file:find("^/") then err.usage("bad macro file name '%s'", file) end
  local tried = {}
  for _, dir in ipairs(M.path()) do
    local path = dir .. "/" .. file
    if cache[path] then return cache[path], path end
    local text, e, kind = require("ctys.fs").read(path)
    if not text and kind ~= "notfound" then err.env("the macro file %s", e) end
    if text then
      cache[path] = M.parse(text, path)
      return cache[path], path
    end
    tried[#tried + 1] = path
  end
  return nil, table.concat(tried, ", ")
end

-- A reference: its name, file and flags from the text after `macro:`.
local function reference(spec)
  local parts = {}
  for p in (spec .. "%"):gmatch("([^%%]*)%%") do parts[#parts + 1] = p end
  local ref = { name = parts[1] }
  for i = 2, #parts do
    local up = parts[i]:upper()
    if up == "ECHO" then ref.mode = "echo"
    elseif up == "EVAL" then ref.mode = "eval"
    elseif up == "OPTIONAL" then ref.optional = true
    elseif parts[i] ~= "" and not ref.file then ref.file = parts[i]
    else err.usage("bad macro reference 'macro:%s' (%s)", spec, parts[i]) end
  end
  return ref
end

local function value_of(ref, shown)
  local macros, where = M.load(ref.file)
  local m = macros and macros[ref.name]
  if not m then
    if ref.optional then return "" end
    if not macros then err.env("macro %s: no macro file %s (looked at %s)", ref.name, ref.file or "default", where) end
    err.env("macro %s is not defined in %s", ref.name, where)
  end
  if ref.mode == "eval" then
    if not M.allow_eval then
      err.usage("%s: %%EVAL would run the macro's value as a shell command; refused (a site may set ctys.macros.allow_eval = true)", shown)
    end
    -- The shell's exit value does not matter (as with bash's `$(...)`); not starting does.
    local r, e = require("ctys.proc").run { argv = { "/bin/sh", "-c", m.value } }
    if not r then err.env("%s: %%EVAL: %s", shown, e) end
    return (r.stdout:gsub("\n+$", ""))
  end
  return m.value
end

---A reference after `MACRO:`, as a Lua pattern: a name, then %FILE and %FLAGS.
M.NAME = "[%w_.%-]+[%w_.%-%%]*"
local NAME = M.NAME

-- Expands every reference in a piece of text (no word splitting). `memo` keeps each macro's
-- expansion for the rest of the command line, so a macro used many times is expanded once;
-- `memo.size` counts the bytes the command line's expansions put in, which stop at MAX_TEXT
-- before a string that large is built.
-- string.gsub as a Lua loop: the replacement may wait (an %EVAL runs a program), which a gsub
-- callback, called from C, may not. Patterns here never match empty text.
local function replace(text, pattern, f)
  local out, pos = {}, 1
  while true do
    local s, e, a, b = text:find(pattern, pos)
    if not s then break end
    out[#out + 1] = text:sub(pos, s - 1)
    out[#out + 1] = f(a, b)
    pos = e + 1
  end
  out[#out + 1] = text:sub(pos)
  return table.concat(out)
end

local function expand_text(text, stack, memo)
  local function grow(v, shown)
    memo.size = (memo.size or 0) + #v
    if memo.size > M.MAX_TEXT then err.usage("%s expands to more than %d bytes", shown, M.MAX_TEXT) end
    return v
  end
  local function sub(spec, shown)
    local ref = reference(spec)
    -- OPTIONAL is part of the key: a missing macro is "" only where it was asked to be.
    local key = ref.name .. "%" .. (ref.file or "") .. "%" .. (ref.mode or "") .. "%" .. (ref.optional and "o" or "")
    if memo[key] then return grow(memo[key], shown) end
    for i, s in ipairs(stack) do
      if s == ref.name then
        local cycle = { table.unpack(stack, i) }
        cycle[#cycle + 1] = ref.name
        err.usage("macro cycle: %s", table.concat(cycle, " -> "))
      end
    end
    stack[#stack + 1] = ref.name
    local v = expand_text(value_of(ref, shown), stack, memo)
    stack[#stack] = nil
    memo[key] = v
    return grow(v, shown)
  end
  text = replace(text, "{[Mm][Aa][Cc][Rr][Oo]:([^}]*)}", function(spec) return sub(spec, "{macro:" .. spec .. "}") end)
  return (replace(text, "[Mm][Aa][Cc][Rr][Oo]:(" .. NAME .. ")", function(spec) return sub(spec, "macro:" .. spec) end))
end

---Expand the macros of a command line. A word that is one whole reference becomes the words
---of its value; other references are replaced inside their words.
---@param argv string[]
---@return string[]
function M.expand_argv(argv)
  check.list("ctys.macros.expand_argv", "argv", argv, "string")
  local out, memo = {}, {}
  for _, w in ipairs(argv) do
    if not w:lower():find("macro:", 1, true) then
      out[#out + 1] = w
    elseif w:match("^[Mm][Aa][Cc][Rr][Oo]:" .. NAME .. "$") then
      local text = expand_text(w, {}, memo)
      for _, x in ipairs(require("ctys.targets").split_words(text)) do out[#out + 1] = x end
    else
      out[#out + 1] = expand_text(w, {}, memo)
    end
  end
  return out
end

---Whether any word of a command line refers to a macro (so nothing is read otherwise).
---@param argv string[]
---@return boolean
function M.used(argv)
  check.list("ctys.macros.used", "argv", argv, "string")
  for _, w in ipairs(argv) do
    if w:lower():find("macro:", 1, true) then return true end
  end
  return false
end

---Forget the files read so far (a test or a long-running script after an edit).
function M.reload()
  cache = {}
end

return M
