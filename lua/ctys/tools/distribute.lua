--- ctys-distribute: this ctys onto hosts that lack it (the original's ctys-distribute).
---
---     ctys-distribute -w @lab            ~/.ctys/bin/ctys and its ctys-* names on each host
---
--- The relay (ctys ACTION on targets, ctys-vnetctl -r, ctys-plugins HOST) runs `ctys` from the
--- host's PATH, else ~/.ctys/bin/ctys: after one ctys-distribute, a host without ctys works.
---@class ctys.tools.distribute
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

-- A fan-out gives nil only when ~/.ssh/config cannot be read: a missing environment element.
local must = err.must_with { default = 2 }

M.USAGE = [[
usage: ctys-distribute -w HOSTS [-x EXCLUDE] [-f FANOUT] [-t CONNECT_TIMEOUT] [-l USER] [-n]
  copies this ctys binary to ~/.ctys/bin/ctys on each host (over SFTP, whole or not at all),
  with its ctys-* names beside it; only to hosts of this machine's architecture (uname -m);
  a ctys on a host's PATH older than this one is named in a warning
  -w HOSTS    hosts, groups and ranges: a group expression (@lab,lab[01-20]!lab03)
  -x EXCLUDE  hosts to leave out       -f FANOUT  hosts at once (64)
  -t SECONDS  connect timeout (10)     -l USER    remote user
  -n          say what would be done; copy nothing
exit values: 0 every host has it; 1 bad arguments; 255 a host failed (unreachable, another
architecture, a failed copy); 128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
]]

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = "w:x:f:t:l:nh", values = { w = "host", x = "host", l = "user" } }

-- The names a ctys binary answers to (ctys.tool runs ctys-NAME as the tool NAME).
local NAMES = { "ctys-vnetctl", "ctys-wakeup", "ctys-ipmi", "ctys-bmc", "ctys-macros", "ctys-groups", "ctys-plugins", "ctys-exec", "ctys-distribute", "ctys-machines", "ctys-vping" }

-- The ctys binary (it answers to every ctys-NAME; a tool binary answers only to its own):
-- this one when it is ctys, else the ctys beside it, else the one on PATH.
local function ctys_binary()
  local exe = require("ctys.system").exe()
  if exe:match("[^/]+$") == "ctys" then return exe end
  local sibling = exe:gsub("[^/]+$", "ctys")
  if require("ctys.fs").stat(sibling) then return sibling end
  return require("ctys.proc").which("ctys") or err.env("no ctys binary beside %s or on PATH to distribute", exe)
end

-- "0.1.10" before "0.2.0": versions compared number by number.
local function older(a, b)
  local x, y = {}, {}
  for n in a:gmatch("%d+") do x[#x + 1] = tonumber(n) end
  for n in b:gmatch("%d+") do y[#y + 1] = tonumber(n) end
  for i = 1, math.max(#x, #y) do
    if (x[i] or 0) ~= (y[i] or 0) then return (x[i] or 0) < (y[i] or 0) end
  end
  return false
end

---Entry point of the ctys-distribute binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.distribute.main", "argv", argv, "string")
  local opts, rest = require("ctys.getopt").parse(argv, M.COMPLETE.spec)
  if opts.h then io.write(M.USAGE) return 0 end
  if not opts.w then err.usage("give the hosts with -w HOSTS (see -h)") end
  if #rest > 0 then err.usage("unexpected '%s' (see -h)", rest[1]) end
  local hosts = require("ctys.tools.exec").hosts(opts.w, opts.x)
  local ssh = { fanout = opts.f and check.integer_arg(opts.f, "bad -f", 1, 1024) or 64,
    connect_timeout = opts.t and check.seconds_arg(opts.t, "bad -t") or nil, user = opts.l or nil }
  local here = require("ctys.proc").run { argv = { "uname", "-m" } }
  local arch = here and here.status == 0 and here.stdout:match("%S+") or err.env("uname -m does not answer here")
  local remote = require "ctys.remote"
  -- Its architecture, its $HOME (where the relay looks), the version of a ctys on its PATH.
  local probe = must(remote.exec { hosts = hosts, cmd = 'uname -m; echo "$HOME"; command -v ctys >/dev/null 2>&1 && ctys --version', progress = false,
    fanout = ssh.fanout, connect_timeout = ssh.connect_timeout, user = ssh.user })
  local fit, homes, failed = {}, {}, 0
  for i, r in ipairs(probe) do
    local their, home, rest = r.stdout:match("^(%S+)\n([^\n]*)\n?(.*)$")
    local version = rest and rest:match("^%S+ (%d[%w.%-]*)")
    if r.err or not their or not home:match("^/") then
      failed = failed + 1
      io.stderr:write("ctys-distribute: ", r.err or (r.host .. ": uname -m said nothing"), "\n")
    elseif their ~= arch then
      failed = failed + 1
      io.stderr:write(string.format("ctys-distribute: %s: is %s, this ctys is built for %s; not copied\n", r.host, their, arch))
    else
      if version and older(version, ctys.version) then
        io.stderr:write(string.format("ctys-distribute: warning: %s: the ctys on its PATH is %s, older than this %s (it is used before ~/.ctys/bin/ctys)\n", r.host, version, ctys.version))
      end
      fit[#fit + 1], homes[#fit + 1] = hosts[i], home
    end
  end
  local exe = ctys_binary()
  if opts.n then
    for i, h in ipairs(fit) do print(string.format("would copy %s to %s:%s/.ctys/bin/ctys and link %s", exe, h.host, homes[i], table.concat(NAMES, " "))) end
    return failed > 0 and 255 or 0
  end
  if #fit > 0 then
    -- One fan-out per home directory path (usually one for all).
    local copied, by_home = {}, {}
    for i, home in ipairs(homes) do
      by_home[home] = by_home[home] or {}
      table.insert(by_home[home], i)
    end
    for home, idx in pairs(by_home) do
      local group = {}
      for k, i in ipairs(idx) do group[k] = fit[i] end
      local res = must(remote.copy { hosts = group, src = exe, dest = home .. "/.ctys/bin/ctys", mode = tonumber("755", 8),
        fanout = ssh.fanout, connect_timeout = ssh.connect_timeout, user = ssh.user })
      for k, i in ipairs(idx) do copied[i] = res[k] end
    end
    local done = {}
    for i, r in ipairs(copied) do
      if r.err then
        failed = failed + 1
        io.stderr:write("ctys-distribute: ", r.err, "\n")
      else
        done[#done + 1] = fit[i]
      end
    end
    if #done > 0 then
      -- Each name made beside and renamed over the old one: hosts that share a home race safely.
      local links = 'cd "$HOME/.ctys/bin" && for n in ' .. table.concat(NAMES, " ") .. "; do ln -sf ctys $n.$$ && mv -f $n.$$ $n || exit 1; done && ./ctys --version"
      for _, r in ipairs(must(remote.exec { hosts = done, cmd = links, progress = false, fanout = ssh.fanout, user = ssh.user })) do
        if r.status == 0 then
          print(string.format("%s: ~/.ctys/bin/ctys (%s) and its ctys-* names", r.host, r.stdout:match("%S+ (%S+)") or "?"))
        else
          failed = failed + 1
          io.stderr:write("ctys-distribute: ", require("ctys.output").why(r), ": ", (r.stderr:gsub("%s+$", "")), "\n")
        end
      end
    end
  end
  return failed > 0 and 255 or 0
end

return M
