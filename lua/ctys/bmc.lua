--- A machine's BMC as PM uses it: which one (the suboption or the machine database), one power
--- action through it, and the exit value of a failure.
---@class ctys.bmc
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---@class ctys.bmc.Bmc
---@field name string as given
---@field host string
---@field port? integer
---@field user? string
---@field kg_file? string

---A machine's BMC: `ipmi:<bmc[:port]>` as given (`ipmi`, true without a value, checked by the
---plan), else the database's `bmc` (and `bmc_user`, and `bmc_kg_file`: a file holding its
---K_g). No BMC, or a bad one in the database: exit 2 naming `what`.
---@param what string the action and machine, for messages
---@param ipmi string|true
---@param known table the machine's database entry (or {})
---@return ctys.bmc.Bmc
function M.of(what, ipmi, known)
  check.arg("ctys.bmc.of", "what", what, "string")
  check.arg("ctys.bmc.of", "ipmi", ipmi, "string|boolean")
  check.arg("ctys.bmc.of", "known", known, "table")
  local bmc = (ipmi ~= true and ipmi) or known.bmc
  if not bmc then err.env("%s: no BMC: give ipmi:<bmc> or add bmc= to the machine database", what) end
  local a, e = require("ctys.ipmi").parse_address(bmc)
  if not a then err.env("%s: the machine database's bmc: %s", what, e) end
  return { name = bmc, host = a.host, port = a.port, user = known.bmc_user, kg_file = known.bmc_kg_file }
end

---One power action through a BMC (password from IPMI_PASSWORD, ~/.ctys/ipmi/credentials or the
---terminal; K_g from the database's bmc_kg_file): its result ("on"/"off", or true), or nil,
---err, kind. The session is always closed.
---@param bmc ctys.bmc.Bmc
---@param action string status, on, off, ...
---@return string|true|nil result
---@return string? err
---@return string? kind
function M.power(bmc, action)
  check.arg("ctys.bmc.power", "bmc", bmc, "table")
  check.arg("ctys.bmc.power", "action", action, "string")
  local b, e, kind = require("ctys.ipmi").open { host = bmc.host, port = bmc.port, user = bmc.user, kg_file = bmc.kg_file }
  if not b then return nil, e, kind end
  local r, pe, pkind = b:power(action)
  b:close()
  return r, pe, pkind
end

---Raise a BMC failure: exit 2 when the secret is missing, else 3.
---@param what string
---@param e string
---@param kind? string
function M.failed(what, e, kind)
  check.arg("ctys.bmc.failed", "what", what, "string")
  check.arg("ctys.bmc.failed", "e", e, "string")
  if kind == "secret" then err.env("%s: %s", what, e) end
  err.failed("%s: %s", what, e)
end

return M
