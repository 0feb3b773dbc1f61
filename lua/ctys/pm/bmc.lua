--- A machine's BMC as PM uses it: which one (the suboption or the machine database), one power
--- action through it, and the exit value of a failure.
---@class ctys.pm.bmc
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---@class ctys.pm.bmc.Bmc
---@field name string as given
---@field tag string how PM's lines name the way: ipmi, redfish or bmc
---@field protocol? "ipmi"|"redfish" nil: probed when opened
---@field host string
---@field port? integer
---@field system? string Redfish system Id
---@field user? string
---@field kg_file? string
---@field ca? string
---@field timeout? number seconds a try (IPMI) or a request (Redfish) may take (their defaults)
---@field retries? integer IPMI tries (4)
---@field prompt? boolean ask for a missing password on the terminal (true)

---A machine's BMC: the suboption's own value (`ipmi:<bmc>`, `redfish:<bmc>`, `bmc:<bmc>`; a
---bare address or a redfish:// / ipmi:// URL, checked by the plan), else the database's `bmc`
---(and `bmc_user`, `bmc_ca`: the CA of its certificate, `bmc_kg_file`: a file holding its K_g).
---The protocol: the URL's, else the suboption's (IPMI, REDFISH), else (BMC with a bare address)
---probed. No BMC, a bad one in the database, or one of the other protocol: exit 2 naming `what`.
---@param what string the action and machine, for messages
---@param via "IPMI"|"REDFISH"|"BMC" the suboption given
---@param value string|true
---@param known table the machine's database entry (or {})
---@return ctys.pm.bmc.Bmc
function M.of(what, via, value, known)
  check.arg("ctys.pm.bmc.of", "what", what, "string")
  check.arg("ctys.pm.bmc.of", "via", via, "string")
  check.arg("ctys.pm.bmc.of", "value", value, "string|boolean")
  check.arg("ctys.pm.bmc.of", "known", known, "table")
  local name = (value ~= true and value) or known.bmc
  if not name then err.env("%s: no BMC: give %s:<bmc> or add bmc= to the machine database", what, via:lower()) end
  local a, e = require("ctys.bmc").parse(name)
  if not a then err.env("%s: the machine database's bmc: %s", what, e) end
  local wanted = ({ IPMI = "ipmi", REDFISH = "redfish" })[via]
  if wanted and a.protocol and a.protocol ~= wanted then
    err.env("%s: the BMC %s is a %s BMC: use %s or BMC", what, name, a.protocol, a.protocol:upper())
  end
  return { name = name, tag = via:lower(), protocol = a.protocol or wanted, host = a.host, port = a.port, system = a.system,
    user = known.bmc_user, kg_file = known.bmc_kg_file, ca = known.bmc_ca }
end

---One power action through a BMC (password from IPMI_PASSWORD, ~/.ctys/ipmi/credentials or the
---terminal; K_g from the database's bmc_kg_file): its result ("on"/"off", or true), or nil,
---err, kind. The session is always closed.
---@param bmc ctys.pm.bmc.Bmc
---@param action string status, on, off, ...
---@return string|true|nil result
---@return string? err
---@return string? kind
function M.power(bmc, action)
  check.arg("ctys.pm.bmc.power", "bmc", bmc, "table")
  check.arg("ctys.pm.bmc.power", "action", action, "string")
  local b, e, kind = require("ctys.bmc").open { host = bmc.host, port = bmc.port, protocol = bmc.protocol, user = bmc.user,
    kg_file = bmc.kg_file, system = bmc.system, ca = bmc.ca, timeout = bmc.timeout, retries = bmc.retries, prompt = bmc.prompt }
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
  check.arg("ctys.pm.bmc.failed", "what", what, "string")
  check.arg("ctys.pm.bmc.failed", "e", e, "string")
  if kind == "secret" then err.env("%s: %s", what, e) end
  err.failed("%s: %s", what, e)
end

return M
