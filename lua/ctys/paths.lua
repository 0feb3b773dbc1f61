--- Where ctys looks for its files: a colon-separated list in an environment variable replaces
--- the defaults, which are the user's `~/.ctys/...` then the site's `/etc/ctys/...`.
---@class ctys.paths
local M = {}

local check = require "ctys.check"

---The list in `env` (colon-separated) if it is set, else the defaults (`~` is $HOME).
---@param env string environment variable, e.g. "CTYS_GROUPS_PATH"
---@param defaults string[] e.g. { "~/.ctys/groups", "/etc/ctys/groups" }
---@return string[]
function M.search(env, defaults)
  check.arg("ctys.paths.search", "env", env, "string")
  check.arg("ctys.paths.search", "defaults", defaults, "table")
  local v = os.getenv(env)
  local out = {}
  if v then
    for p in v:gmatch("[^:]+") do out[#out + 1] = p end
    return out
  end
  local home = os.getenv("HOME") or ""
  for i, d in ipairs(defaults) do out[i] = (d:gsub("^~", home)) end
  return out
end

---Whether a file (or directory) can be opened for reading.
---@param path string
---@return boolean
function M.exists(path)
  check.arg("ctys.paths.exists", "path", path, "string")
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

return M
