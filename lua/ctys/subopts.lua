--- The `-a ACTION[=suboptions]` argument: action name, suboption list, machine-address keys.
---
--- `create=wol,t:hostX,broadcast:hostXDirectedCast` → action CREATE with the suboptions
--- WOL, TCP:hostX and BROADCAST:hostXDirectedCast. Keys are case-insensitive and the
--- machine-address aliases (`t:`, `l:`, `1:`, `m:`, ...) map to one canonical key, so actions
--- look up `by_key.TCP` whatever the user typed. Whether a key may repeat, or needs an
--- argument, is the action's business: this module only checks the syntax.
---@class ctys.subopts
local M = {}

local check = require "ctys.check"

local err = require("ctys.err")

---@class ctys.Subopt
---@field key string canonical upper-case key (aliases resolved)
---@field given string the key as the user typed it
---@field value string|nil the whole unescaped argument (`%%` → `%`, single `%` kept); nil without one
---@field values string[] the argument split at single `%`; empty without an argument

---@class ctys.Action
---@field action string the action name, upper-case
---@field raw string the `-a` argument as given
---@field list ctys.Subopt[] the suboptions in command-line order
---@field by_key table<string, ctys.Subopt> canonical key → suboption (a repeated key: the last)

---Machine-address key aliases → canonical key. The manuals print the label key as `1:`.
---@type table<string, string>
M.KEY_ALIASES = {
  ID = "ID", I = "ID", PATHNAME = "ID", PNAME = "ID", P = "ID",
  BASEPATH = "BASEPATH", BASE = "BASEPATH", B = "BASEPATH",
  LABEL = "LABEL", L = "LABEL", ["1"] = "LABEL",
  FILENAME = "FILENAME", FNAME = "FILENAME", F = "FILENAME",
  UUID = "UUID", U = "UUID",
  MAC = "MAC", M = "MAC",
  TCP = "TCP", T = "TCP",
  DBRECORD = "DBRECORD", DBREC = "DBRECORD", DR = "DBRECORD",
}

local COMMA_ESCAPES = { [",,"] = "," }
-- Single colons stay literal in an argument so that a MAC address keeps its colons.
local ARG_ESCAPES = { ["::"] = ":", ["\\:"] = ":", ["%%"] = "%" }

-- Split `s` at the one-character separator `sep`, replacing the two-character escapes first
-- (an escape may start with the separator itself, as `,,` and `%%` do).
local function split(s, sep, escapes)
  local pieces, cur, i = {}, {}, 1
  while i <= #s do
    local lit = escapes[s:sub(i, i + 1)]
    if lit then
      cur[#cur + 1], i = lit, i + 2
    else
      local c = s:sub(i, i)
      if c == sep then
        pieces[#pieces + 1], cur = table.concat(cur), {}
      else
        cur[#cur + 1] = c
      end
      i = i + 1
    end
  end
  pieces[#pieces + 1] = table.concat(cur)
  return pieces
end

---The canonical form of a key as typed: upper-cased, aliases resolved.
---@param given string
---@return string
function M.canonical_key(given)
  check.arg("ctys.subopts.canonical_key", "given", given, "string")
  local up = given:upper()
  return M.KEY_ALIASES[up] or up
end

-- One suboption `key[:argument]`; the key ends at the first colon (keys never hold one).
local function parse_subopt(sub)
  local colon = sub:find(":", 1, true)
  local given, arg = sub, nil
  if colon then
    given, arg = sub:sub(1, colon - 1), sub:sub(colon + 1)
    if given == "" then err.usage("bad suboption '%s': empty key before ':'", sub) end
    if arg == "" then err.usage("bad suboption '%s': empty argument after ':'", sub) end
  end
  local values = arg and split(arg, "%", ARG_ESCAPES) or {}
  return {
    key = M.canonical_key(given),
    given = given,
    value = arg and table.concat(values, "%"),
    values = values,
  }
end

---Parse an `-a` argument `ACTION[=suboption,...]`.
---@param token string the argument as given, e.g. `cancel=1:tst100,POWEROFF:0`
---@return ctys.Action
function M.parse(token)
  check.arg("ctys.subopts.parse", "token", token, "string")
  local name, rest = token:match("^([^=]*)=(.*)$")
  name = name or token
  if name == "" then err.usage("bad action '%s': empty action name", token) end
  local parsed = { action = name:upper(), raw = token, list = {}, by_key = {} }
  if not rest then return parsed end
  if rest == "" then err.usage("bad action '%s': no suboptions after '='", token) end
  for _, sub in ipairs(split(rest, ",", COMMA_ESCAPES)) do
    if sub == "" then err.usage("bad suboption list '%s': empty suboption", token) end
    local entry = parse_subopt(sub)
    parsed.list[#parsed.list + 1] = entry
    parsed.by_key[entry.key] = entry
  end
  return parsed
end

---The `-a` argument of a parsed action with the suboptions of the given keys left out (the
---others exactly as written): what a caller relays when it does part of the work itself.
---@param parsed ctys.Action
---@param drop string[] canonical keys
---@return string
function M.without(parsed, drop)
  check.fields("ctys.subopts.without", "parsed", parsed, { raw = "string" })
  check.list("ctys.subopts.without", "drop", drop, "string")
  local skip, kept = {}, {}
  for _, k in ipairs(drop) do skip[k] = true end
  local name, rest = parsed.raw:match("^([^=]*)=(.*)$")
  for _, sub in ipairs(rest and split(rest, ",", COMMA_ESCAPES) or {}) do
    if not skip[parse_subopt(sub).key] then kept[#kept + 1] = (sub:gsub(",", ",,")) end
  end
  return #kept > 0 and (name .. "=" .. table.concat(kept, ",")) or (name or parsed.raw)
end

---The suboption of a parsed action by key (any alias, any case), or nil.
---@param parsed ctys.Action
---@param key string e.g. `"TCP"`, `"t"`, `"LABEL"`, `"1"`
---@return ctys.Subopt|nil
function M.get(parsed, key)
  check.fields("ctys.subopts.get", "parsed", parsed, { by_key = "table" })
  check.arg("ctys.subopts.get", "key", key, "string")
  return parsed.by_key[M.canonical_key(key)]
end

return M
