--- The BMC tools' output (ctys-ipmi, ctys-bmc): one line a BMC in the order given, as
--- ipmipower prints them (`host: result`), `-X` records `host;result;error`, or JSON lines; and
--- their exit value. A BMC with several results (log entries, sensors) has a line, record or
--- JSON object for each, its host first.
---@class ctys.bmclines
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---@class ctys.bmclines.Result
---@field host string as given
---@field result? string
---@field lines? string[] several results, each a line (`result` is then unused)
---@field records? table[] the same as tables, for JSON
---@field err? string
---@field kind? string

---Print the results in a mode and return the exit value: 0 when every BMC did it, 2 when all
---failed and a password was missing, else 3.
---@param results ctys.bmclines.Result[]
---@param mode "lines"|"terse"|"json"
---@return integer
function M.report(results, mode)
  check.arg("ctys.bmclines.report", "results", results, "table")
  check.arg("ctys.bmclines.report", "mode", mode, "string")
  local failed, secret = 0, 0
  local json = require "ctys.json"
  for _, r in ipairs(results) do
    if r.err then
      failed = failed + 1
      if r.kind == "secret" then secret = secret + 1 end
    end
    if r.lines and not r.err then
      for i, line in ipairs(r.lines) do
        if mode == "json" then
          local rec = check.without(r.records and r.records[i] or { result = line })
          rec.host = r.host
          print(json.encode(rec))
        elseif mode == "terse" then
          print(table.concat({ r.host, line, "" }, ";"))
        else
          print(r.host .. ": " .. line)
        end
      end
    elseif mode == "json" then
      print(json.encode { host = r.host, result = r.result or json.null, err = r.err or json.null, kind = r.kind or json.null })
    elseif mode == "terse" then
      print(table.concat({ r.host, r.result or "", r.err or "" }, ";"))
    else
      print(r.host .. ": " .. (r.result or r.err))
    end
  end
  if failed == 0 then return 0 end
  return (secret > 0 and failed == #results) and err.ENV or err.FAILED
end

return M
