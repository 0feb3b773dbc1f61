--- ctys-macros: list the MACROS, or show one expanded.
---
---     ctys-macros [-f FILE] -l        every macro of the file (default: `default`) and where
---     ctys-macros [-f FILE] NAME      the words MACRO:NAME expands to
---
--- Exit values: 0, 1 (a malformed file, a cycle, %EVAL refused), 2 (no such file or macro).
---@class ctys.tools.macros
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

M.USAGE = [[
usage: ctys-macros [-f FILE] [-X] -l | NAME
  -l       list the macros of the file (default file: default), with where it was found
  NAME     show what MACRO:NAME expands to
  -f FILE  another macro file (as MACRO:NAME%FILE)
  -X       terse: NAME;value records
exit values: 0 ok, 1 malformed file, cycle or %EVAL refused, 2 no such file or macro;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_MACRO_PATH  macro directories (colon-separated; default ~/.ctys/macros, /etc/ctys/macros)
  CTYS_MACRO_EVAL  1: let %EVAL run shell commands
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "f:lXh", values = { f = "file" } }

---Entry point of the ctys-macros binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.macros.main", "argv", argv, "string")
  local opts, rest = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  local macros = require "ctys.macros"
  if opts.f and (not opts.f:match("^[%w_][%w_.%-/]*$") or opts.f:find("..", 1, true)) then err.usage("bad macro file name '%s' (-f)", opts.f) end
  if opts.l then
    if #rest > 0 then err.usage("-l takes no NAME, got '%s'", rest[1]) end
    local list, where = macros.load(opts.f or nil)
    if not list then err.env("no macro file %s (looked at %s)", opts.f or "default", where) end
    local names = {}
    for n in pairs(list) do names[#names + 1] = n end
    table.sort(names)
    if not opts.X then print("# " .. where) end
    for _, n in ipairs(names) do
      print(opts.X and (n .. ";" .. list[n].value) or string.format("%-20s = %s", n, list[n].value))
    end
    return 0
  end
  if #rest ~= 1 then err.usage("give -l, or one macro NAME (see -h)") end
  if not rest[1]:match("^" .. macros.NAME .. "$") then
    err.usage("bad macro name '%s' (letters, digits, '_', '-' and '.', then %%FLAGS)", rest[1])
  end
  local ref = "MACRO:" .. rest[1] .. (opts.f and ("%" .. opts.f) or "")
  print(table.concat(macros.expand_argv { ref }, " "))
  return 0
end

return M
