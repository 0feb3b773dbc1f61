--- Where ctys looks for its files: a colon-separated list in an environment variable replaces
--- the defaults, which are the user's `~/.ctys/...` then the site's `/etc/ctys/...`.
---@class ctys.paths
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---The value of environment variable `name`, or nil when it is not set. Set but empty is an
---error (exit 2) naming it: an empty CTYS_COMMANDS must not mean the built-in command table.
---@param name string
---@return string|nil
function M.env(name)
  check.arg("ctys.paths.env", "name", name, "string")
  local v = os.getenv(name)
  if v and not v:find("[^:%s]") then err.env("%s is set but names nothing; unset it or give a value", name) end
  return v
end

---The list in `env` (colon-separated) if it is set, else the defaults (`~` is $HOME).
---@param env string environment variable, e.g. "CTYS_GROUPS_PATH"
---@param defaults string[] e.g. { "~/.ctys/groups", "/etc/ctys/groups" }
---@return string[]
function M.search(env, defaults)
  check.arg("ctys.paths.search", "env", env, "string")
  check.list("ctys.paths.search", "defaults", defaults, "string")
  local v = M.env(env)
  local out = {}
  if v then
    for p in v:gmatch("[^:]+") do out[#out + 1] = p end
    return out
  end
  local home = os.getenv("HOME") or ""
  for i, d in ipairs(defaults) do out[i] = (d:gsub("^~", home)) end
  return out
end

---Whether there is a file, directory or anything else at `path` (never opened: a FIFO does
---not block).
---@param path string
---@return boolean
function M.exists(path)
  check.arg("ctys.paths.exists", "path", path, "string")
  return path ~= "" and require("ctys.fs").stat(path) ~= nil
end

return M
