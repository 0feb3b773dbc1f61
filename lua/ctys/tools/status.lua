--- ctys status: one table for a lab. Each machine's power as its BMC reports it (IPMI or
--- Redfish, from the database's bmc=), whether it answers ping and SSH, its uptime and load
--- when SSH answers, and when a magic packet was last sent to it (ctys.wolmemory). --watch
--- redraws it in place every N seconds on a full-screen view (ctys.term: no scrolling, redrawn
--- at once when the terminal is resized, q quits and gives the terminal back); --json prints
--- one object a machine for monitoring.
---
---     ctys status @lab
---     ctys status --watch 2 lab[01-03]
---     ctys status --json | jq 'select(.power == "off")'
---@class ctys.tools.status
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [==[
usage: ctys status [--watch [SECONDS]] [-X | --json] [--timeout SECONDS] [NAMES|@GROUP...]
  NAMES, @GROUP   the machines (hosts, ranges lab[01-03], groups); none: every machine of the
                  machine database
  POWER           as the machine's BMC reports it (bmc= in the database: IPMI or Redfish;
                  the password from ~/.ctys/ipmi/credentials or IPMI_PASSWORD, never asked
                  for); - without a BMC, ? when the BMC did not answer (the reason below)
  PING, SSH       ICMP echo round trip, time to the SSH banner: at the database's ip, else
                  ~/.ssh/config's HostName; the port of host:port, else its Port, else 22
  UP, LOAD        uptime and load averages, read over SSH when SSH answers
  WOL             when a magic packet was last sent to it (ctys -t pm create=wol, ctys-wakeup)
  --watch [N]     redraw every N seconds (default 2) on the whole terminal; q or Ctrl-C quits
  --json          one JSON object a machine: name, bmc, power ("on", "off" or null), power_err,
                  ping_ms, ssh_ms, uptime_s, load, wol_sent (unix time); null where unknown
  -X              terse: one `name;power;ping_ms;ssh_ms;uptime_s;load1;wol_sent` record a machine
  --timeout N     seconds each probe may take (default 1)
  -h              this help
Every machine is probed at once; a round takes about two timeouts at most, whatever is down.
exit values: 0 the table was made (whatever the machines' state), 1 bad arguments, 2 a machine
database that cannot be read, or --watch without a terminal
environment:
  CTYS_MACHINES  the machine database files;  CTYS_WOL_SENT  the wake-up notes (~/.ctys/wol-sent)
]==]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { options = { "--watch", "--json", "--timeout" }, spec = "Xh", operands = "host" }

-- "2h03m", "3d04h", "45s".
local function span(s)
  if s < 60 then return string.format("%ds", s) end
  if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
  if s < 86400 then return string.format("%dh%02dm", s // 3600, s % 3600 // 60) end
  return string.format("%dd%02dh", s // 86400, s % 86400 // 3600)
end

local function ms(rtt) return rtt and (math.floor(rtt * 10000 + 0.5) / 10) or nil end

-- One round: every machine probed, as rows of facts.
local function round(list, timeout)
  -- The notes first: a file that cannot be read is said before anything is probed.
  local sent = require("ctys.wolmemory").last_sent()
  local states = require("ctys.reach").probe(list, { power = true, uptime = true, timeout = timeout })
  local rows = {}
  for i, m in ipairs(list) do
    local s = states[i]
    rows[i] = { name = m.name, bmc = m.record.bmc, power = s.power or (m.record.bmc and "?" or "-"), power_err = s.power_err, ping_ms = ms(s.ping),
      ssh_ms = ms(s.ssh), ping_err = s.ping_err, ssh_err = s.ssh_err, uptime_s = s.uptime, load = s.load,
      wol_sent = sent[m.name] }
  end
  return rows
end

-- The table's lines, with the reasons of what failed below it.
local function lines(rows, now)
  local head = { "MACHINE", "POWER", "PING", "SSH", "UP", "LOAD", "WOL" }
  local cells, notes = {}, {}
  for i, r in ipairs(rows) do
    cells[i] = { r.name, r.power, r.ping_ms and (r.ping_ms .. "ms") or "-", r.ssh_ms and (r.ssh_ms .. "ms") or "-",
      r.uptime_s and span(r.uptime_s) or "-", r.load and string.format("%.2f %.2f %.2f", r.load[1], r.load[2], r.load[3]) or "-",
      r.wol_sent and (span(math.max(0, now - r.wol_sent)) .. " ago") or "-" }
    if r.power_err then notes[#notes + 1] = r.name .. ": BMC: " .. r.power_err end
  end
  local out = require("ctys.output").column_lines(head, cells, "  ")
  for _, n in ipairs(notes) do out[#out + 1] = n end
  return out
end

local function print_rows(rows, mode)
  local json = require "ctys.json"
  for _, r in ipairs(rows) do
    if mode == "json" then
      -- JSON says what the BMC said, or null; the table's "-" (no BMC) and "?" are for eyes.
      local power = (r.power == "on" or r.power == "off") and r.power or json.null
      print(json.encode { name = r.name, power = power, bmc = r.bmc or json.null, power_err = r.power_err or json.null, ping_ms = r.ping_ms or json.null,
        ssh_ms = r.ssh_ms or json.null, uptime_s = r.uptime_s or json.null, load = r.load or json.null, wol_sent = r.wol_sent or json.null })
    else
      print(table.concat({ r.name, r.power, tostring(r.ping_ms or ""), tostring(r.ssh_ms or ""), tostring(r.uptime_s or ""),
        r.load and tostring(r.load[1]) or "", tostring(r.wol_sent or "") }, ";"))
    end
  end
end

-- The full-screen loop: a round, drawn; keys and resizes between rounds.
local function watch(list, every, timeout)
  local term = require "ctys.term"
  local view, e = term.screen()
  if not view then err.env("status --watch needs a terminal (%s); --json is for monitoring", e) end
  local ok, werr = pcall(function()
    local shown = { "ctys status: probing " .. #list .. " machines ..." }
    local function draw()
      local rows, cols = view:size()
      view:write(term.frame(shown, rows, cols))
    end
    draw()
    while true do
      local t0 = ctys.now()
      local body = lines(round(list, timeout), os.time())
      table.insert(body, 1, string.format("ctys status  %s  every %gs (a round took %.1fs)  q quits", os.date("%H:%M:%S"), every, ctys.now() - t0))
      table.insert(body, 2, "")
      shown = body
      draw()
      local size = table.pack(view:size())
      local due = t0 + every
      while ctys.now() < due do
        local k, ke = view:key(math.min(0.25, math.max(0.01, due - ctys.now())))
        if k == nil then error(ke, 0) end
        if k == "q" or k == "Q" then return end
        local now = table.pack(view:size())
        if now[1] ~= size[1] or now[2] ~= size[2] then
          size = now
          draw()
        end
      end
    end
  end)
  view:close()
  if not ok then error(werr, 0) end
end

---Entry point of `ctys status`.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.status.main", "argv", argv, "string")
  local words, mode, every, timeout = {}, "table", nil, 1
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "-h" or a == "--help" then
      io.write(M.USAGE)
      return 0
    elseif a == "--watch" or a:match("^%-%-watch=") then
      local v = a:match("^%-%-watch=(.*)$")
      if not v and argv[i + 1] and argv[i + 1]:match("^[%d.]+$") then
        v = argv[i + 1]
        i = i + 1
      end
      every = check.seconds_arg(v or "2", "bad --watch interval")
      if every < 0.5 then err.usage("--watch %s: at least 0.5 seconds", v) end
    elseif a == "--timeout" or a:match("^%-%-timeout=") then
      local v = a:match("^%-%-timeout=(.*)$") or argv[i + 1] or err.usage("--timeout needs SECONDS")
      if not a:find("=", 1, true) then i = i + 1 end
      timeout = check.seconds_arg(v, "bad --timeout")
      if timeout <= 0 or timeout > 60 then err.usage("--timeout %s: from more than 0 to 60 seconds", v) end
    elseif a == "--json" then
      mode = mode == "table" and "json" or err.usage("-X and --json exclude each other")
    elseif a == "-X" then
      mode = mode == "table" and "terse" or err.usage("-X and --json exclude each other")
    elseif a:sub(1, 1) == "-" then
      err.usage("unknown option '%s' (see ctys status -h)", check.cut(a))
    else
      words[#words + 1] = a
    end
    i = i + 1
  end
  if every and mode ~= "table" then err.usage("--watch draws the table: not with -X or --json") end
  local list = require("ctys.reach").machines(words)
  if #list == 0 then err.env("no machines: the database (%s) is empty and none were named", table.concat(require("ctys.machines").files(), ", ")) end
  if every then
    watch(list, every, timeout)
    return 0
  end
  local rows = round(list, timeout)
  if mode == "table" then
    for _, l in ipairs(lines(rows, os.time())) do print(l) end
  else
    print_rows(rows, mode)
  end
  return 0
end

return M
