--- ctys-groups: list the GROUPS, or show the members of a group or expression.
---
---     ctys-groups -l                  every group on the search path, and where
---     ctys-groups NAME|EXPR           members, one a line, with their context options
---
--- Exit values: 0, 1 (a malformed file, an include cycle, a bad expression), 2 (no such group).
---@class ctys.tools.groups
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

M.USAGE = [[
usage: ctys-groups [-X] -l | NAME | EXPR
  -l       list the groups on the search path (CTYS_GROUPS_PATH, ~/.ctys/groups, /etc/ctys/groups)
  NAME     the members of a group, with their context options
  EXPR     @a,@b (union) @a!@b (minus) @a&@b (and) @a^@b (xor), hosts and ranges, left to right
  -X       terse: member;context records
exit values: 0 ok, 1 malformed file, include cycle or bad expression, 2 no such group;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_GROUPS_PATH  group directories (colon-separated; default ~/.ctys/groups, /etc/ctys/groups)
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "lXh", operands = "group" }

---Entry point of the ctys-groups binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.groups.main", "argv", argv, "string")
  local opts, rest = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  local groups = require "ctys.groups"
  if opts.l then
    if #rest > 0 then err.usage("-l takes no NAME, got '%s'", rest[1]) end
    local seen = {}
    for _, dir in ipairs(groups.path()) do
      local names, e = require("ctys.fs").list(dir)
      if not names then err.env("%s", e) end
      for _, name in ipairs(names) do
        if not seen[name] then
          seen[name] = true
          print(opts.X and (name .. ";" .. dir) or string.format("%-30s %s/%s", name, dir, name))
        end
      end
    end
    return 0
  end
  if #rest ~= 1 then err.usage("give -l, or one group NAME or expression (see -h)") end
  local word = rest[1]
  local members = groups.is_expression(word) and groups.hosts { word } or groups.members(word)
  for _, m in ipairs(members) do
    if opts.X then
      print(m.raw .. ";" .. (m.ctx_raw or ""))
    else
      print(m.raw .. (m.ctx_raw and ("  (" .. m.ctx_raw .. ")") or ""))
    end
  end
  return 0
end

return M
