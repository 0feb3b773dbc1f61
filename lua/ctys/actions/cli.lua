--- The CLI plugin: a plain command on the targets (`ctys -t cli -a create=cmd:<command> @lab
--- lab05`), over SSH, with the output modes of the command line (`host: line`, `--gather`,
--- `--json`, `-X`); nothing of ctys is needed on the targets. Without targets the command runs
--- here. Everything after `cmd:` is the command, commas included.
---@class ctys.actions.cli
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

-- The command of `create=cmd:<command>`.
local function command(req)
  local raw = req.action.raw or ""
  local cmd = raw:match("^[^=]*=[Cc][Mm][Dd]:(.*)$")
  if not cmd or cmd == "" then err.usage("CREATE: give the command as create=cmd:<command>, got '%s'", raw) end
  return cmd
end

---CREATE here: the command under /bin/sh, its output and exit status as they are.
---@param req ctys.Request
---@return integer
function M.create(req)
  check.arg("ctys.actions.cli.create", "req", req, "table")
  local r, e, kind = require("ctys.proc").run { argv = { "/bin/sh", "-c", command(req) }, inherit = true }
  if not r then err.must(r, e, kind) end
  return r.status or (128 + (r.signal or 0))
end

---What the caller does with targets: the command on each over SSH (see ctys.relay.command).
---@type table<string, fun(req: ctys.Request, relay: fun(req: ctys.Request): integer): integer>
M.caller = {
  create = function(req)
    local hosts = {}
    for i, t in ipairs(req.targets) do hosts[i] = { host = t.host, user = t.user, port = t.port } end
    local relay = require "ctys.relay"
    return (relay.command(hosts, command(req), { mode = relay.mode(req), user = req.user }))
  end,
}

return M
