--- The tools: `ctys-NAME ARGS` (a link to ctys), `ctys --tool NAME ARGS` and `ctys lab ARGS` run
--- `ctys.tools.NAME.main(argv)`. A site adds a tool by dropping `ctys/tools/NAME.lua` on the
--- search path.
---@class ctys.tool
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---Run a tool module's `main(argv)` (`ctys-vnetctl` runs `ctys.tools.vnetctl`).
---A tool that is not there is a missing environment element (exit 2).
---@param name string tool name without the `ctys-` prefix
---@param argv string[] its arguments
---@return integer exit value
function M.run(name, argv)
  check.arg("ctys.tool.run", "name", name, "string")
  check.list("ctys.tool.run", "argv", argv, "string")
  local mod = require("ctys.run").try_require("ctys.tools." .. name)
  if type(mod) ~= "table" or type(mod.main) ~= "function" then
    err.env("ctys-%s is not available: no module ctys.tools.%s with a main function", name, name)
  end
  return mod.main(argv) or 0
end

return M
