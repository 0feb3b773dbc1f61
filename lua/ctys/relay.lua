--- Running a ctys action on its targets: `ctys -t pm -a create=... lab01` runs
--- `ctys -t pm -a create=...` on lab01 over SSH, streams its output back and returns its exit
--- status. Targets that name this machine (localhost, 127.0.0.1, ::1, its host name; no other
--- user, no port) run here without SSH: in this process, or as a program of its own when the
--- output is gathered into records (-X, --json, --gather). Context options superpose: the command line's, then
--- the global `-- '(opts)'`, then the target's own `host'(opts)'`, the last one winning.
---@class ctys.relay
local M = {}

local check = require "ctys.check"

local system = require "ctys.system"
local output = require "ctys.output"
local targets = require "ctys.targets"

---Whether a target is this machine.
---@param t ctys.Target
---@return boolean
function M.is_local(t)
  check.fields("ctys.relay.is_local", "t", t, { host = "string", user = "string?" })
  if t.port or (t.user and t.user ~= os.getenv("USER")) then return false end
  local h = t.host:lower()
  local me = (system.hostname() or ""):lower()
  return h == "localhost" or h == "localhost.localdomain" or h == "127.0.0.1" or h == "::1"
    or (me ~= "" and (h == me or h == me:match("^[^.]+")))
end

---The argv a target's remote ctys gets: the options of the command line, then the global
---context, then the target's context (no targets: the remote side runs the action itself).
---@param req ctys.Request
---@param t ctys.RequestTarget
---@return string[]
function M.remote_argv(req, t)
  check.arg("ctys.relay.remote_argv", "req", req, "table")
  check.arg("ctys.relay.remote_argv", "t", t, "table")
  local argv = require("ctys.cli").unparse(req)
  for _, raw in ipairs { req.global_ctx_raw or "", t.ctx_raw or "" } do
    for _, w in ipairs(targets.split_words(raw)) do argv[#argv + 1] = w end
  end
  return argv
end

---The request as it applies to one target run here: contexts superposed, no targets.
---@param req ctys.Request
---@param t ctys.RequestTarget
---@return ctys.Request
function M.local_request(req, t)
  check.arg("ctys.relay.local_request", "req", req, "table")
  check.arg("ctys.relay.local_request", "t", t, "table")
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  for _, ctx in ipairs { req.global_ctx or {}, t.ctx or {} } do
    for k, v in pairs(ctx) do r[k] = v end
  end
  r.targets, r.global_ctx, r.global_ctx_raw = {}, nil, nil
  return r
end

---The request with another `-a` argument (what a caller relays when it does part of the work).
---@param req ctys.Request
---@param raw string the new `-a` argument, e.g. "cancel=POWEROFF,SELF"
---@return ctys.Request
function M.with_action(req, raw)
  check.arg("ctys.relay.with_action", "req", req, "table")
  check.arg("ctys.relay.with_action", "raw", raw, "string")
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  r.action = require("ctys.subopts").parse(raw)
  return r
end

---A word quoted for a POSIX shell (left bare when it is safe as it is).
---@param w string
---@return string
function M.quote(w)
  check.arg("ctys.relay.quote", "w", w, "string")
  if w:match("^[%w%-_.,:=/@%%+]+$") then return w end
  return "'" .. w:gsub("'", "'\\''") .. "'"
end

---The ctys a target runs: $CTYS_REMOTE_CMD, else `ctys` on its PATH, else ~/.ctys/bin/ctys (a
---command line for the remote shell).
---@return string
function M.remote_cmd()
  return require("ctys.paths").env("CTYS_REMOTE_CMD") or require("ctys.remote").installed("ctys")
end

---The output mode a request asks for (-X, --json, --gather, else prefix).
---@param req ctys.Request
---@return ctys.output.Mode
function M.mode(req)
  check.arg("ctys.relay.mode", "req", req, "table")
  return req.terse and "terse" or req.json and "json" or req.gather and "gather" or "prefix"
end

-- Results in the mode (prefix lines were printed as they came), the failures listed, the exit value.
local function finish(results, mode, prog)
  if mode ~= "prefix" then output.print(results, mode) end
  output.report_failures(results, prog)
  return output.exit_value(results), results
end

---@class ctys.relay.CommandOpts
---@field mode ctys.output.Mode
---@field user? string default remote user
---@field fanout? integer hosts at once (64)
---@field connect_timeout? number
---@field timeout? number seconds the command may run
---@field stdin? string sent to the command on every host
---@field forward_stdin? boolean stream this process's stdin to every host instead (ctys.remote.ExecOpts)
---@field prog? string the program named in failure lines ("ctys")
---@field topology? string|false the topology file (ctys.remote.ExecOpts; default $CTYS_TOPOLOGY, ~/.ctys/topology.conf)

---Run a plain shell command on hosts (nothing of ctys is needed there), print the output in a
---mode, list the failures and return pdsh's exit value: 0, the highest remote status, or 255
---when a host could not run it (ctys.output.exit_value).
---@param hosts ctys.net.Target[]
---@param cmd string
---@param opts ctys.relay.CommandOpts
---@return integer
---@return ctys.core.RemoteResult[] results
function M.command(hosts, cmd, opts)
  check.arg("ctys.relay.command", "hosts", hosts, "table")
  check.arg("ctys.relay.command", "cmd", cmd, "string")
  check.arg("ctys.relay.command", "opts", opts, "table")
  local res, e = require("ctys.remote").exec { hosts = hosts, cmd = cmd, user = opts.user, fanout = opts.fanout,
    connect_timeout = opts.connect_timeout, timeout = opts.timeout, stdin = opts.stdin,
    forward_stdin = opts.forward_stdin, on_line = opts.mode == "prefix" and output.line_printer(#hosts > 1) or nil, progress = opts.mode == "prefix" or opts.mode == "gather",
    topology = opts.topology }
  if not res then require("ctys.err").env("%s", e) end
  return finish(res, opts.mode, opts.prog)
end

---Run the request on every target and return the exit value (see ctys.output.exit_value) and
---the results, one per target in the order of `req.targets`.
---@param req ctys.Request
---@param run_local fun(req: ctys.Request): integer the action, run here
---@return integer
---@return ctys.core.RemoteResult[] results
function M.run(req, run_local)
  check.arg("ctys.relay.run", "req", req, "table")
  check.arg("ctys.relay.run", "run_local", run_local, "function")
  local mode = M.mode(req)
  local sequential = req.b and req.b:lower():find("seq") ~= nil
  local remote_cmd = M.remote_cmd()
  local stream = mode == "prefix" and output.line_printer(#req.targets > 1) or nil
  local units, by_cmd = {}, {}
  for i, t in ipairs(req.targets) do
    if M.is_local(t) and mode == "prefix" then
      units[#units + 1] = function()
        return { { index = i, host = t.host, status = run_local(M.local_request(req, t)), stdout = "", stderr = "" } }
      end
    elseif M.is_local(t) then
      -- Records need the target's output: it runs as a program of its own, here, no SSH.
      units[#units + 1] = function()
        local argv = { system.exe(), table.unpack(M.remote_argv(req, t)) }
        local r, e, kind = require("ctys.proc").run { argv = argv }
        -- A failure names its host, as the remote ones do.
        if not r then return { { index = i, host = t.host, err = t.host .. ": " .. e, kind = kind, stdout = "", stderr = "" } } end
        return { { index = i, host = t.host, status = r.status, signal = r.signal, stdout = r.stdout, stderr = r.stderr } }
      end
    else
      local words = M.remote_argv(req, t)
      for w = 1, #words do words[w] = M.quote(words[w]) end
      local cmd = remote_cmd .. " " .. table.concat(words, " ")
      if not by_cmd[cmd] then
        local group = { hosts = {}, index = {} }
        by_cmd[cmd] = group
        units[#units + 1] = function()
          local res, e = require("ctys.remote").exec { hosts = group.hosts, cmd = cmd, user = req.user,
            fanout = sequential and 1 or 64, on_line = stream, progress = mode == "prefix" or mode == "gather" }
          if not res then require("ctys.err").env("%s", e) end
          for k, r in ipairs(res) do r.index = group.index[k] end
          return res
        end
      end
      local group = by_cmd[cmd]
      group.hosts[#group.hosts + 1] = { user = t.user, host = t.host, port = t.port }
      group.index[#group.hosts] = i
    end
  end
  local results = {}
  local function collect(list) for _, r in ipairs(list) do results[r.index] = r end end
  if sequential then
    for _, u in ipairs(units) do collect(u()) end
  else
    for _, list in ipairs(ctys.all(units)) do collect(list) end
  end
  return finish(results, mode)
end

return M
