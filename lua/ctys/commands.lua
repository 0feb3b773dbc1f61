--- The system commands ctys actions run (poweroff, reboot, init, halt, logger, wall, terminals,
--- vncviewer, the hypervisors' virsh and xl), in one table a site can change: a Lua file returning `{ name = { argv... } }`
--- read from CTYS_COMMANDS, else ~/.ctys/commands.lua, else /etc/ctys/commands.lua, replaces
--- the entries it names. Tests point every entry at a recorder; nothing destructive runs there.
---@class ctys.commands
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

---The built-in table: command name → argv prefix.
M.defaults = {
  poweroff = { "poweroff" },
  reboot = { "reboot" },
  init = { "init" },
  halt = { "halt", "-p" },
  logger = { "logger", "-t", "ctys" },
  wall = { "wall" },
  xterm = { "xterm", "-e" },
  gterm = { "gnome-terminal", "--" },
  emacs = { "emacs" },
  vncviewer = { "vncviewer" },
  ssh = { "ssh" },
  -- CONSOLE:CLI on this machine: the user's shell.
  shell = { "/bin/sh", "-c", 'exec "${SHELL:-/bin/sh}"' },
  virsh = { "virsh" },
  xl = { "xl" },
}

local loaded

---The table in force: the defaults with the site's file laid over them.
---@return table<string, string[]>
function M.table()
  if loaded then return loaded end
  local table_ = {}
  for k, v in pairs(M.defaults) do table_[k] = v end
  -- CTYS_COMMANDS names the table to use: one that is not there is an error, never the
  -- built-in table (a typo must not turn a recorder back into a real poweroff).
  local named = require("ctys.paths").env("CTYS_COMMANDS")
  for _, path in ipairs(require("ctys.paths").search("CTYS_COMMANDS", { "~/.ctys/commands.lua", "/etc/ctys/commands.lua" })) do
    local text, e, kind = require("ctys.fs").read(path)
    if not text and (named or kind ~= "notfound") then err.env("the command table %s", e) end
    if text then
      local t, de = require("ctys.chunks").data(text, "@" .. path)
      if type(t) ~= "table" then err.env("%s: must return a table of commands (%s)", path, de or ("got a " .. type(t))) end
      for k, v in pairs(t) do
        local words = type(k) == "string" and type(v) == "table" and #v > 0
        for i = 1, words and #v or 0 do words = words and type(v[i]) == "string" end
        if not words then err.env("%s: command %s is not a list of words", path, tostring(k)) end
        table_[k] = v
      end
      break
    end
  end
  loaded = table_
  return loaded
end

---The full argv of a command with its arguments.
---@param name string
---@param ... string arguments
---@return string[]
function M.argv(name, ...)
  check.arg("ctys.commands.argv", "name", name, "string")
  local base = M.table()[name] or err.env("no command '%s' in the command table", name)
  local argv = table.move(base, 1, #base, 1, {})
  for i = 1, select("#", ...) do argv[#argv + 1] = tostring((select(i, ...))) end
  return argv
end

---The command as a shell would read it (for plans and messages).
---@param name string
---@param ... string
---@return string
function M.describe(name, ...)
  check.arg("ctys.commands.describe", "name", name, "string")
  local quote = require("ctys.relay").quote
  local words = {}
  for i, w in ipairs(M.argv(name, ...)) do words[i] = quote(w) end
  return table.concat(words, " ")
end

---Where each program word resolves, as ctys.proc.run would find it: an executable path as
---given, or the executable file of that name on PATH.
---@param words string[]
---@return table<string, string> found word → path (words that do not resolve are absent)
function M.which(words)
  check.list("ctys.commands.which", "words", words, "string")
  local found = {}
  for _, w in ipairs(words) do found[w] = require("ctys.proc").which(w) end
  return found
end

---Whether a command of the table can run here: its program is an executable path or found on
---PATH.
---@param name string
---@return boolean
function M.available(name)
  check.arg("ctys.commands.available", "name", name, "string")
  local prog = M.table()[name] and M.table()[name][1]
  return prog ~= nil and M.which({ prog })[prog] ~= nil
end

-- How a program of the table ended, in words: `LINE: exit N` or `LINE: signal N`.
local function ended(line, r, e)
  if not r then return string.format("%s: %s", line, e) end
  return string.format("%s: %s %s", line, r.signal and "signal" or "exit", tostring(r.signal or r.status))
end

---Run a command of the table and return its output (stdout); nil and how it ended (with its
---stderr) when it fails. Other tasks go on meanwhile.
---@param name string
---@param ... string
---@return string|nil out
---@return string? err
function M.read(name, ...)
  check.arg("ctys.commands.read", "name", name, "string")
  local argv = M.argv(name, ...)
  local r, e = require("ctys.proc").run { argv = argv }
  if r and r.status == 0 then return r.stdout end
  local said = r and r.stderr:gsub("%s+$", ""):gsub("\n", "; ") or ""
  return nil, ended(M.describe(name, ...), r, e) .. (said ~= "" and (": " .. said) or "")
end

---Start a command of the table detached from this terminal and from ctys (consoles that open
---their own window, and stay open after ctys ends); true, or nil and why it could not start.
---@param name string
---@param ... string
---@return true|nil ok
---@return string? err
function M.spawn(name, ...)
  check.arg("ctys.commands.spawn", "name", name, "string")
  local pid, e = require("ctys.proc").spawn { argv = M.argv(name, ...) }
  if pid then return true end
  return nil, M.describe(name, ...) .. ": could not be started: " .. tostring(e)
end

---Run a command of the table on this terminal; true, or nil and how it ended. Other tasks go
---on meanwhile (the stack's shutdowns run at once).
---@param name string
---@param ... string
---@return true|nil ok
---@return string? err
function M.run(name, ...)
  check.arg("ctys.commands.run", "name", name, "string")
  local r, e = require("ctys.proc").run { argv = M.argv(name, ...), inherit = true }
  if r and r.status == 0 then return true end
  return nil, ended(M.describe(name, ...), r, e)
end

return M
