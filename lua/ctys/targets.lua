--- Target words `[user@]host[:port][(context options)]` and the splitting of context strings.
---
--- The shell has already removed the quotes of `host'(-d 1)'`, so a target arrives as one
--- word `host(-d 1)`. The host may be a name, an address (`[::1]` for IPv6 with a port) or a
--- group name, which can be a relative path such as `desktops/tst/ctys-lab`.
---@class ctys.targets
local M = {}

local check = require "ctys.check"

local err = require("ctys.err")

---@class ctys.Target
---@field user string|nil the user before `@`
---@field host string host name, address or group name
---@field port integer|nil 1..65535
---@field ctx_raw string|nil the text inside the context parentheses
---@field raw string the word as given

local function bad(word, why)
  err.usage("bad target '%s': %s", check.cut(word), why)
end

---Parse one target word.
---@param word string e.g. `root@lab02:22(-d 1)`
---@return ctys.Target
function M.parse(word)
  check.arg("ctys.targets.parse", "word", word, "string")
  local addr, ctx_raw = word, nil
  local open = word:find("(", 1, true)
  if open then
    if word:sub(-1) ~= ")" then bad(word, "unbalanced '('") end
    addr, ctx_raw = word:sub(1, open - 1), word:sub(open + 1, -2)
  end
  if addr:find("[()]") then bad(word, "stray parenthesis") end
  local t, why = require("ctys.net").parse_target(addr)
  if not t then bad(word, why) end
  return { user = t.user, host = t.host, port = t.port, ctx_raw = ctx_raw, raw = word }
end

---The canonical text `[user@]host[:port]` of a target (IPv6 hosts in brackets).
---@param t ctys.Target
---@return string
function M.format(t)
  check.arg("ctys.targets.format", "t", t, "table")
  check.arg("ctys.targets.format", "t.host", t.host, "string")
  check.arg("ctys.targets.format", "t.user", t.user, "string?")
  check.arg("ctys.targets.format", "t.port", t.port, "integer|string?")
  local host = t.host:find(":", 1, true) and ("[" .. t.host .. "]") or t.host
  return (t.user and (t.user .. "@") or "") .. host .. (t.port and (":" .. t.port) or "")
end

---Split a context option string into words on white space, as a shell would: single and
---double quotes group words and are removed.
---@param s string e.g. `-a create=l:LAB02,reuse -c local -b 1,2 `
---@return string[]
function M.split_words(s)
  check.arg("ctys.targets.split_words", "s", s, "string")
  local words, cur, quote, in_word = {}, {}, nil, false
  for c in s:gmatch(".") do
    if quote then
      if c == quote then quote = nil else cur[#cur + 1] = c end
    elseif c == "'" or c == '"' then
      quote, in_word = c, true
    elseif c:find("^%s$") then
      if in_word then words[#words + 1], cur, in_word = table.concat(cur), {}, false end
    else
      cur[#cur + 1], in_word = c, true
    end
  end
  if quote then err.usage("unbalanced %s quote in '%s'", quote, s) end
  if in_word then words[#words + 1] = table.concat(cur) end
  return words
end

return M
