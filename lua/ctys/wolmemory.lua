--- The wake-up broadcasts CANCEL remembers: `CANCEL ...,WOL,BROADCAST:<addr>` leaves the
--- address a machine is to be woken through in a file of `<machine> <addr>` lines
--- (CTYS_WOL_REMEMBER, else ~/.ctys/wol-broadcast); a later CREATE without BROADCAST or IF sends
--- its magic packet there. And when a magic packet was last sent to each machine
--- (CTYS_WOL_SENT, else ~/.ctys/wol-sent), for `ctys status`.
---@class ctys.wolmemory
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---The file the broadcasts are kept in.
---@return string
function M.file()
  return require("ctys.paths").env("CTYS_WOL_REMEMBER") or ((os.getenv("HOME") or ".") .. "/.ctys/wol-broadcast")
end

local function remembered_lines(path, what)
  local lines = {}
  local text, e, kind = require("ctys.fs").read(path)
  if not text and kind ~= "notfound" then err.env("%s (%s)", e, what or "the remembered broadcasts") end
  for l in (text or ""):gmatch("[^\n]+") do
    local name, addr = l:match("^(%S+)%s+(%S+)")
    if name then lines[#lines + 1] = { name, addr } end
  end
  return lines
end

---The directed broadcast a CANCEL with WOL,BROADCAST remembered for a machine, or nil.
---@param name string the machine as CREATE names it (t: or l:)
---@param path? string the file (default: M.file())
---@return string|nil
function M.lookup(name, path)
  check.arg("ctys.wolmemory.lookup", "name", name, "string")
  check.arg("ctys.wolmemory.lookup", "path", path, "string?")
  for _, l in ipairs(remembered_lines(path or M.file())) do
    if l[1] == name then return l[2] end
  end
end

-- Replace the lines of `names` in a `<name> <value>` file with `value` (a missing directory is
-- made private).
local function put(path, names, value)
  local drop = {}
  for _, n in ipairs(names) do drop[n] = true end
  local out = {}
  for _, l in ipairs(remembered_lines(path)) do
    if not drop[l[1]] then out[#out + 1] = l[1] .. " " .. l[2] .. "\n" end
  end
  for _, n in ipairs(names) do out[#out + 1] = n .. " " .. value .. "\n" end
  local fs = require "ctys.fs"
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" and not fs.stat(dir) then
    local ok, e = fs.private_dir(dir)
    if not ok then return nil, string.format("cannot write %s: %s", path, e) end
  end
  return fs.write(path, table.concat(out))
end

---Remember the directed broadcast to wake machines through (replacing what was remembered for
---them); true, or nil and why the file could not be written.
---@param names string[]
---@param addr string
---@param path? string the file (default: M.file())
---@return true|nil ok
---@return string? err
function M.remember(names, addr, path)
  check.arg("ctys.wolmemory.remember", "names", names, "table")
  check.arg("ctys.wolmemory.remember", "addr", addr, "string")
  check.arg("ctys.wolmemory.remember", "path", path, "string?")
  -- One `<name> <addr>` a line: text that would make another line, or another field, is refused.
  for i, n in ipairs(names) do
    if type(n) ~= "string" or n == "" or n:find("[%s%c]") then check.bad("ctys.wolmemory.remember", "names[" .. i .. "]", "%q is not a machine name", tostring(n)) end
  end
  if not require("ctys.net").valid_host(addr) then check.bad("ctys.wolmemory.remember", "addr", "%q is not an address or host name", addr) end
  return put(path or M.file(), names, addr)
end

---The file the times magic packets were sent are kept in (`<machine> <unix time>` lines).
---@return string
function M.sent_file()
  return require("ctys.paths").env("CTYS_WOL_SENT") or ((os.getenv("HOME") or ".") .. "/.ctys/wol-sent")
end

---Note that a magic packet for a machine was sent now (what `ctys status` shows as its last
---wake-up); true, or nil and why the file could not be written. A machine named with blanks
---or control characters is not noted.
---@param name string the machine as the sender named it
---@param path? string the file (default: M.sent_file())
---@return true|nil ok
---@return string? err
function M.sent(name, path)
  check.arg("ctys.wolmemory.sent", "name", name, "string")
  check.arg("ctys.wolmemory.sent", "path", path, "string?")
  if name == "" or name:find("[%s%c]") then return nil, "not a machine name" end
  return put(path or M.sent_file(), { name }, tostring(os.time()))
end

---When a magic packet was last sent to each machine: name -> unix time.
---@param path? string the file (default: M.sent_file())
---@return table<string, integer>
function M.last_sent(path)
  check.arg("ctys.wolmemory.last_sent", "path", path, "string?")
  local out = {}
  for _, l in ipairs(remembered_lines(path or M.sent_file(), "the wake-up times")) do out[l[1]] = math.tointeger(tonumber(l[2])) end
  return out
end

return M
