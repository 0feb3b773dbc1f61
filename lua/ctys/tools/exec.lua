--- ctys-exec: a command, or a copy, on many hosts at once, with pdsh's and clush's habits.
---
---     ctys-exec -w @lab,lab[01-20]!lab03 uptime
---     echo hello | ctys-exec -w @lab -b cat
---     ctys-exec -w @lab --copy ./tool ./conf.d --dest /opt/site
---     ctys-exec -w @lab --rcopy /var/log/syslog --dest ./logs
---
--- Exit values: a command's as pdsh's (0, the highest remote status, 255 when a host could not
--- run it); a copy's 0, or 255 when a host failed; 1 bad arguments, 2 a missing file.
---@class ctys.tools.exec
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

M.USAGE = [[
usage: ctys-exec -w HOSTS [-x EXCLUDE] [-f FANOUT] [-t CONNECT_TIMEOUT] [-u COMMAND_TIMEOUT]
                 [-l USER] [--topology FILE] [-b | -X | --json] CMD...
       ctys-exec -w HOSTS [...] --copy SRC... --dest DIR
       ctys-exec -w HOSTS [...] --rcopy SRC --dest DIR
  -w HOSTS    hosts, groups and ranges: a group expression (@lab,lab[01-20]!lab03)
  -x EXCLUDE  hosts to leave out (the same grammar)
  -f FANOUT   hosts at once (64)
  -t SECONDS  connect timeout (10)      -u SECONDS  command timeout (none)
  -l USER     remote user (a host's own user@ wins)
  --topology FILE  reach hosts through the gateways of FILE (ClusterShell's topology.conf
              format: [routes] lines `NODES: NODES`; the line of this machine's host name
              lists the first gateways, which run `ctys --gateway`); `none`: all direct;
              --copy goes through them too (staged once per gateway), --rcopy goes direct
  -b          gather: identical outputs once, under their hosts (clush -b)
  -X          terse: one ';' record a host      --json  one JSON object a host
  --copy SRC... --dest DIR   copy files and directories into DIR on each host (made when
              missing; each SRC lands inside it under its own name)
  --rcopy SRC --dest DIR     fetch SRC from each host into DIR/<host>/
standard input, when it is not a terminal, is streamed to the command on every host as it
arrives (a host that falls 1 MiB behind holds it back; hosts beyond -f keep at most 64 MiB);
hosts behind gateways read an empty standard input.
exit values: a command's as pdsh's: 0, the highest remote exit status, 255 when a host could not
run it; a copy's 0, or 255 when a host failed; 1 bad arguments; 2 a missing file;
128+N ended by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
environment:
  CTYS_GROUPS_PATH  group directories      CTYS_NO_DNS  1: never ask DNS
  CTYS_TOPOLOGY     the topology without --topology (else ~/.ctys/topology.conf if present)
  CTYS_REMOTE_CMD   the ctys a gateway runs (else ctys on its PATH, else ~/.ctys/bin/ctys)
]]

local SPEC = "w:x:f:t:u:l:bXjCRD:T:h"
local LONG = { ["--json"] = "j", ["--copy"] = "C", ["--rcopy"] = "R", ["--dest"] = "D", ["--gather"] = "b", ["--topology"] = "T" }

---How the shells complete it (see ctys.tools.vnetctl.COMPLETE).
M.COMPLETE = { spec = SPEC, hidden = { j = true, C = true, R = true, D = true, T = true }, values = { w = "host", x = "host", l = "user", T = "file" } }

-- `--dest DIR` may come after the sources of --copy: taken out wherever it is (before `--`).
local function take_dest(argv)
  local out, dest = {}, nil
  local i = 1
  while i <= #argv do
    local w = argv[i]
    if w == "--" then
      table.move(argv, i, #argv, #out + 1, out)
      break
    elseif w == "--dest" then
      dest = argv[i + 1] or err.usage("option '--dest' needs a value")
      i = i + 2
    elseif w:find("^%-%-dest=") then
      dest = w:sub(8)
      i = i + 1
    else
      out[#out + 1] = w
      i = i + 1
    end
  end
  return out, dest
end

---The hosts of `-w` minus those of `-x`, as target tables; none is a usage error (exit 1).
---@param w string a group expression
---@param x? string hosts to leave out
---@return ctys.net.Target[]
function M.hosts(w, x)
  check.arg("ctys.tools.exec.hosts", "w", w, "string")
  check.arg("ctys.tools.exec.hosts", "x", x, "string?")
  local groups = require "ctys.groups"
  local skip = {}
  if x then
    for _, m in ipairs(groups.hosts { x }) do skip[m.host] = true end
  end
  local out = {}
  for _, m in ipairs(groups.hosts { w }) do
    -- Named here as the user's word, not by ctys.remote's misuse message about its argument.
    if not require("ctys.net").valid_host(m.host) then err.usage("-w: %s is not a host name or address", check.shown(m.host)) end
    if not skip[m.host] then out[#out + 1] = { host = m.host, user = m.user, port = m.port } end
  end
  if #out == 0 then err.usage("-w %s%s names no host", w, x and (" -x " .. x) or "") end
  return out
end

local function seconds(v, flag)
  return v and check.seconds_arg(v, "bad " .. flag) or nil
end

-- Prints each host's copy result; the exit value (255 when a host failed).
local function copied(results, verb)
  local failed = 0
  for _, r in ipairs(results) do
    if r.err then
      failed = failed + 1
      io.stderr:write("ctys-exec: ", r.err, "\n")
    else
      print(string.format("%s: %s %d file(s), %d bytes: %s", r.host, verb, r.files, r.bytes, table.concat(r.paths, " ")))
    end
  end
  return failed > 0 and 255 or 0
end

---Entry point of the ctys-exec binary.
---@param argv string[]
---@return integer
function M.main(argv)
  check.list("ctys.tools.exec.main", "argv", argv, "string")
  local dest
  for _, w in ipairs(argv) do
    if w == "--" then break end
    if w == "--copy" or w == "--rcopy" then
      argv, dest = take_dest(argv)
      break
    end
  end
  local opts, rest = require("ctys.getopt").parse(argv, SPEC, LONG)
  if opts.h then io.write(M.USAGE) return 0 end
  if not opts.w then err.usage("give the hosts with -w HOSTS (see -h)") end
  if opts.T == "" then err.usage("--topology takes a FILE (or none)") end
  local n = 0
  for _, f in ipairs { "b", "X", "j" } do n = n + (opts[f] and 1 or 0) end
  if n > 1 then err.usage("-b, -X and --json exclude each other") end
  local fanout = opts.f and check.integer_arg(opts.f, "bad -f", 1, 1024) or 64
  local remote = require "ctys.remote"
  local common = { fanout = fanout, connect_timeout = seconds(opts.t, "-t"), user = opts.l or nil,
    topology = opts.T and (opts.T ~= "none" and opts.T or false) or nil }
  if opts.C or opts.R then
    if opts.C and opts.R then err.usage("--copy and --rcopy exclude each other") end
    if not dest then err.usage("%s needs --dest DIR", opts.C and "--copy" or "--rcopy") end
    if #rest == 0 then err.usage("%s needs a source", opts.C and "--copy" or "--rcopy") end
    local hosts = M.hosts(opts.w, opts.x)
    local o = { hosts = hosts, src = opts.C and rest or rest[1], dest = opts.C and (dest:gsub("/*$", "/")) or dest, fanout = common.fanout,
      connect_timeout = common.connect_timeout, user = common.user, timeout = seconds(opts.u, "-u"), topology = opts.C and common.topology or nil }
    if opts.R and #rest > 1 then err.usage("--rcopy takes one source, got %d", #rest) end
    local res, e, kind = (opts.C and remote.copy or remote.fetch)(o)
    if not res then err.must(res, e, kind) end
    return copied(res, opts.C and "copied" or "fetched")
  end
  if #rest == 0 then err.usage("give the command to run (see -h)") end
  local cmd = table.concat(rest, " ")
  local mode = opts.b and "gather" or opts.X and "terse" or opts.j and "json" or "prefix"
  return (require("ctys.relay").command(M.hosts(opts.w, opts.x), cmd, { mode = mode, user = common.user, fanout = fanout,
    connect_timeout = common.connect_timeout, timeout = seconds(opts.u, "-u"),
    forward_stdin = not require("ctys.system").isatty("stdin"), prog = "ctys-exec", topology = common.topology }))
end

return M
