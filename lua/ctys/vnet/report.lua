--- What ctys-vnetctl reports: a switch's info and ports, a check of the whole plumbing, the
--- switches there are.
---@class ctys.vnet.report
local M = {}

local check = require "ctys.check"
local system = require "ctys.system"
local net = require "ctys.net"
local vde = require "ctys.vde"
local context = require "ctys.vnet.context"
local bridge_ = require "ctys.vnet.bridge"
local must = context.must

---info: the switch's showinfo, then its sockets as the manual names them: `QEMUSOCK=` (what a
---guest's `-nic vde,sock=` takes) and `QEMUMGMT=`. Exit value 0.
---@param ctx table
---@return integer
function M.info(ctx)
  check.arg("ctys.vnet.report.info", "ctx", ctx, "table")
  local sw = context.need_switch(ctx)
  local data = must(sw:cmd("showinfo"))
  sw:close()
  print("SWITCH-INFO:")
  for _, l in ipairs(data) do print(l) end
  print("QEMUSOCK=" .. ctx.sock)
  print("QEMUMGMT=" .. ctx.mgmt)
  return 0
end

---ports: the switch's ports (-X: one line per endpoint). Exit value 0.
---@param ctx table
---@return integer
function M.ports(ctx)
  check.arg("ctys.vnet.report.ports", "ctx", ctx, "table")
  local sw = context.need_switch(ctx)
  local data = must(sw:cmd("port/print"))
  sw:close()
  if ctx.terse then
    for _, p in ipairs(vde.parse_ports(data)) do
      for _, e in ipairs(p.endpoints) do
        print(table.concat({ p.port, p.active and "active" or "inactive", p.vlan, p.user or "", e.module, e.description }, ";"))
      end
    end
  else
    print("SWITCH-PORTS:")
    for _, l in ipairs(data) do print(l) end
  end
  return 0
end

---check: the switch answers, its process runs, each TAP exists, is up and on a bridge, each
---other port has its socket. Exit value 0, or 1 when something is wrong.
---@param ctx table
---@return integer
function M.check(ctx)
  check.arg("ctys.vnet.report.check", "ctx", ctx, "table")
  local faults = {}
  local function fault(fmt, ...) faults[#faults + 1] = string.format(fmt, ...) end
  local sw, e = context.open_switch(ctx)
  if not sw then
    fault("no switch answers on %s: %s", ctx.mgmt, e)
  else
    local info = sw:info() or {}
    if not (info.pid and system.alive(info.pid)) then fault("switch process %s is gone", tostring(info.pid)) end
    local links = bridge_.by_name(must(net.links()))
    local taps = 0
    for _, p in ipairs(sw:ports() or {}) do
      for _, ep in ipairs(p.endpoints) do
        if ep.module == "tuntap" then
          taps = taps + 1
          local l = links[ep.description]
          if not l then
            fault("port %d: TAP %s does not exist", p.port, ep.description)
          else
            if not l.up then fault("port %d: TAP %s is down", p.port, l.name) end
            if not (l.master and links[l.master] and links[l.master].kind == "bridge") then
              fault("port %d: TAP %s is on no bridge", p.port, l.name)
            end
          end
        else
          local found = false
          for _, s in ipairs(vde.sockets(ctx.sockbase, true)) do
            if s.path:find(ctx.sock .. "/" .. string.format("%03d.", p.port), 1, true) == 1 then found = true end
          end
          if not found then fault("port %d: no socket for client %s", p.port, ep.description) end
        end
      end
    end
    if taps == 0 then fault("the switch has no TAP port") end
    sw:close()
  end
  print(string.format('VDE environment for USER="%s" => [%s]', ctx.user, #faults == 0 and "OK" or "NOK"))
  for _, f in ipairs(faults) do print("  " .. f) end
  return #faults == 0 and 0 or 1
end

local function access_text(mode)
  local s = ""
  for i, who in ipairs { 6, 3, 0 } do
    local bits = (mode >> who) & 7
    local x = bits & 1 == 1
    local special = (i == 1 and mode & 0x800 ~= 0) or (i == 2 and mode & 0x400 ~= 0)
    s = s .. ((bits & 4 ~= 0) and "r" or "-") .. ((bits & 2 ~= 0) and "w" or "-")
      .. (special and (x and "s" or "S") or (x and "x" or "-"))
  end
  return s
end

---list (the caller's switches) and listall (everyone's): path, owner, access, host.
---@param ctx table
---@param all boolean
---@return integer
function M.list(ctx, all)
  check.arg("ctys.vnet.report.list", "ctx", ctx, "table")
  check.arg("ctys.vnet.report.list", "all", all, "boolean")
  local host = system.hostname() or "localhost"
  local rows = {}
  for _, s in ipairs(vde.sockets(ctx.sockbase, all)) do
    if all or s.uid == ctx.uid then
      rows[#rows + 1] = { s.path, tostring(s.uid), tostring(s.gid), access_text(s.mode), host }
    end
  end
  if ctx.terse then
    for _, r in ipairs(rows) do print(table.concat(r, ";")) end
    return 0
  end
  require("ctys.output").columns({ "switch", "UID", "GID", "access", "machine-address" }, rows, " | ", true)
  return 0
end

return M
