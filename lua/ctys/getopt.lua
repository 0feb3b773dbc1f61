--- Short options for the tools (`ctys-wakeup -i eth0 -n lab01`), POSIX style: `-x`, `-x VALUE`,
--- `-xVALUE`, bundled flags `-nv`, `--` ends options, the first non-option ends them too.
--- `--help` is `-h` for every tool that has `-h`; other long options only where the tool names
--- them (`long`: `{ ["--json"] = "j" }`, a value as `--dest DIR` or `--dest=DIR`).
---@class ctys.getopt
local M = {}

local check = require "ctys.check"

local err = require "ctys.err"

---Parse argv against a spec such as "i:t:p:P:nhV" (a colon after a letter: it takes a value).
---A repeated option keeps its last value. Misuse raises (exit 1) naming the option (the
---front end puts the tool's name before the message).
---@param argv string[]
---@param spec string
---@param long? table<string, string> long options and the letters they stand for
---@return table<string, string|boolean> opts by letter
---@return string[] rest the operands
function M.parse(argv, spec, long)
  check.arg("ctys.getopt.parse", "argv", argv, "table")
  check.arg("ctys.getopt.parse", "spec", spec, "string")
  check.arg("ctys.getopt.parse", "long", long, "table?")
  local opts, rest, i = {}, {}, 1
  while i <= #argv do
    local w = argv[i]
    if w == "--" then
      table.move(argv, i + 1, #argv, 1, rest)
      return opts, rest
    end
    if w:sub(1, 1) ~= "-" or w == "-" then
      table.move(argv, i, #argv, 1, rest)
      return opts, rest
    end
    if w:sub(1, 2) == "--" then
      local name, value = w:match("^(%-%-[^=]+)=(.*)$")
      local letter = long and long[name or w]
      if letter and value then
        w = "-" .. letter .. value
      elseif letter then
        w = "-" .. letter
      elseif w == "--help" and spec:find("h", 1, true) then
        w = "-h"
      else
        err.usage("unknown option '%s'", w)
      end
    end
    local pos = 2
    while pos <= #w do
      local c = w:sub(pos, pos)
      local at = spec:find(c, 1, true)
      if not at or c == ":" then err.usage("unknown option '-%s'", c) end
      if spec:sub(at + 1, at + 1) == ":" then
        local v = w:sub(pos + 1)
        if v == "" then
          i = i + 1
          v = argv[i]
          if v == nil then err.usage("option '-%s' needs a value", c) end
        end
        opts[c] = v
        break
      end
      opts[c] = true
      pos = pos + 1
    end
    i = i + 1
  end
  return opts, rest
end

return M
