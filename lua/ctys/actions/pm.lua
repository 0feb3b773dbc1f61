--- The PM plugin: actions on physical machines (`ctys -t pm -a ACTION=...`).
---
--- Each action is a function `M.<action>(req)` taking the parsed command line (ctys.cli) and
--- returning an exit value. CREATE (Wake-on-LAN) and CANCEL are not built yet; until they are,
--- `ctys -t pm -a create=...` ends with "action not available" (exit 2). A site may replace this
--- module (`~/.ctys/lua/ctys/actions/pm.lua`) and reach this one as `builtin.ctys.actions.pm`.
---@class ctys.actions.pm
local M = {}

return M
