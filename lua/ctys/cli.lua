--- The ctys command-line grammar and the dispatch of an action to its plugin module.
---
--- `ctys [-t type] [-T type,...|all] -a ACTION[=subopts] [generic options] [--]
--- ['(global opts)'] [targets...]`. Options and targets may interleave before `--`. A context
--- `(opts)` belongs to the target just before it, or is the global context when it comes right
--- after `--`; contexts hold options only and are parsed with the same option grammar.
---@class ctys.cli
local M = {}

local check = require "ctys.check"

local err = require("ctys.err")
local subopts = require("ctys.subopts")
local targets = require("ctys.targets")

---@class ctys.Options options as given: absent ones stay nil, so contexts superpose cleanly
---@field type string|nil plugin type, upper-case (`-t`)
---@field types string[]|nil plugin types to preload (`-T`), `{ "ALL" }` for `all`
---@field action ctys.Action|nil `-a`
---@field debug integer|nil `-d`
---@field terse boolean|nil `-X`
---@field version boolean|nil `-V`
---@field help boolean|nil `-h`
---@field dry_run boolean|nil `--dry-run`
---@field yes boolean|nil `-y`/`--yes`: no question before a destructive action on several targets
---@field user string|nil default remote user (`-l`)
---@field b string|nil `-b` execution mode, e.g. `sync,seq`
---@field c string|nil `-c`
---@field Z string|nil `-Z` privilege escalation, e.g. `SUDO`

---@class ctys.RequestTarget : ctys.Target
---@field ctx ctys.Options|nil the parsed context options

---@class ctys.Request : ctys.Options
---@field type string plugin type, `PM` unless `-t` is given
---@field terse boolean
---@field version boolean
---@field help boolean
---@field dry_run boolean
---@field global_ctx ctys.Options|nil options from `(...)` right after `--`
---@field global_ctx_raw string|nil the text inside those parentheses
---@field targets ctys.RequestTarget[]

local function is_type(s)
  return s:find("^%a[%w_]*$") ~= nil
end

-- The type becomes part of a module name, so only identifiers pass.
local function read_type(v, opt)
  if not is_type(v) then err.usage("bad plugin type '%s' for %s", v, opt) end
  return v:upper()
end

local function read_types(v, opt)
  if v:lower() == "all" then return { "ALL" } end
  local list = {}
  for item in (v .. ","):gmatch("([^,]*),") do
    if not is_type(item) then err.usage("bad plugin type list '%s' for %s", v, opt) end
    list[#list + 1] = item:upper()
  end
  return list
end

local function read_level(v, opt)
  local n = v:find("^%d+$") and math.tointeger(tonumber(v))
  if not n then err.usage("bad level '%s' for %s: not a non-negative integer", v, opt) end
  return n
end

local function read_string(v)
  return v
end

-- -b: sync|async, then seq|par, comma-separated; the original's numeric forms (its example
-- `-b 1,2`) are taken too and run as par.
local MODES = { sync = true, async = true, seq = true, par = true, ["0"] = true, ["1"] = true, ["2"] = true }
local function read_mode(v)
  local n = 0
  for w in (v .. ","):gmatch("([^,]*),") do
    n = n + 1
    if not MODES[w:lower()] or n > 2 then err.usage("bad value '%s' for -b: sync|async[,seq|par]", v) end
  end
  return v
end

---How -Z becomes root: the original's names, and the command each one runs.
---@type table<string, string[]>
M.ESCALATE = { SUDO = { "sudo", "-n" }, KSU = { "ksu", "-q", "-e" } }

local function read_escalation(v, opt)
  local up = v:upper()
  if not M.ESCALATE[up] then err.usage("bad value '%s' for %s: SUDO or KSU", v, opt) end
  return up
end

-- Options: the request field each sets and, for those taking a value, its reader.
-- Options without a reader are flags.
local OPTIONS = {
  ["-t"] = { field = "type", read = read_type },
  ["-T"] = { field = "types", read = read_types },
  ["-a"] = { field = "action", read = subopts.parse },
  ["-d"] = { field = "debug", read = read_level },
  ["-l"] = { field = "user", read = read_string },
  ["-b"] = { field = "b", read = read_mode },
  ["-c"] = { field = "c", read = read_string },
  ["-Z"] = { field = "Z", read = read_escalation },
  ["-X"] = { field = "terse" },
  ["-V"] = { field = "version" },
  ["-h"] = { field = "help" },
  ["--dry-run"] = { field = "dry_run" },
  ["-y"] = { field = "yes" },
  ["--yes"] = { field = "yes" },
  ["--gather"] = { field = "gather" },
  ["--json"] = { field = "json" },
}

---How the shells complete a ctys command line (docs/gen.lua writes the completions from it):
---its options, what follows one (a list of values, "file", "dir", "host", "types": the plugin
---types there are, "types+all"), the words it takes, its operands. The host's options too.
M.COMPLETE = {
  options = { "--lua-path", "--repl", "--test", "--dump-lua", "--tool", "--help", "--version", "-e" },
  values = { ["-t"] = "types", ["-T"] = "types+all", ["-d"] = { "0", "1", "2", "3" }, ["-Z"] = { "SUDO", "KSU" },
    ["-a"] = { "create=", "cancel=" }, ["-l"] = "user", ["-b"] = { "sync", "async", "seq", "par" },
    ["--lua-path"] = "dir", ["--test"] = "file", ["--dump-lua"] = "dir",
    ["--tool"] = { "vnetctl", "wakeup", "ipmi", "macros", "groups", "plugins", "lab", "status" } },
  words = { "lab", "status" },
  operands = "host",
}
for opt in pairs(OPTIONS) do table.insert(M.COMPLETE.options, opt) end
table.sort(M.COMPLETE.options)

local function is_option(w)
  return w:sub(1, 1) == "-" and w ~= "--"
end

-- Read the option at words[i] into opts; returns the index of the next word.
local function take_option(words, i, opts)
  local w = words[i]
  local spec = OPTIONS[w]
  if spec and not spec.read then
    opts[spec.field] = true
    return i + 1
  end
  local name, value = w, words[i + 1]
  if spec then
    if value == nil then err.usage("option %s needs a value", w) end
    i = i + 2
  else
    -- joined form `-tpm`: a one-letter option taking a value, glued to it
    name, value = w:sub(1, 2), w:sub(3)
    spec = OPTIONS[name]
    if not (spec and spec.read) then err.usage("unknown option '%s'", w) end
    i = i + 1
  end
  if value == "" then err.usage("empty value for option %s", name) end
  opts[spec.field] = spec.read(value, name)
  return i
end

-- -X, --json and --gather exclude each other, on the command line and in a context.
local function one_output_form(opts)
  local modes = {}
  for _, m in ipairs { { "terse", "-X" }, { "json", "--json" }, { "gather", "--gather" } } do
    if opts[m[1]] then modes[#modes + 1] = m[2] end
  end
  if #modes > 1 then err.usage("%s: one output form at a time", table.concat(modes, " and ")) end
  return opts
end

---Parse option words (a context's content): options only, no targets, no `--`.
---Only the options given appear in the result; no defaults are filled in.
---@param words string[]
---@return ctys.Options
function M.parse_options(words)
  check.list("ctys.cli.parse_options", "words", words, "string")
  local opts, i = {}, 1
  while i <= #words do
    if not is_option(words[i]) then
      err.usage("a context takes options only, not '%s'", words[i])
    end
    i = take_option(words, i, opts)
  end
  return one_output_form(opts)
end

local function parse_context(raw)
  return M.parse_options(targets.split_words(raw))
end

-- Join argv[i] with the following words until its parentheses balance: an unquoted context
-- reaches the host split into words. Returns the joined text and the index after it.
local function gather(argv, i)
  local parts, depth = {}, 0
  repeat
    local w = argv[i]
    if w == nil then err.usage("unbalanced '(' in '%s'", table.concat(parts, " ")) end
    parts[#parts + 1] = w
    for pos = 1, #w do
      local c = w:sub(pos, pos)
      if c == "(" or c == ")" then
        depth = depth + (c == "(" and 1 or -1)
        if depth < 0 then err.usage("stray ')' in '%s'", w) end
        if depth == 0 and pos < #w then err.usage("unexpected text after ')' in '%s'", w) end
      end
    end
    i = i + 1
  until depth == 0
  return table.concat(parts, " "), i
end

---Parse a ctys command line (argv without the program name, already shell-split).
---@param argv string[]
---@return ctys.Request
function M.parse(argv)
  check.list("ctys.cli.parse", "argv", argv, "string")
  local req = { targets = {} }
  local i, after_dashdash, last = 1, false, nil
  while i <= #argv do
    local w = argv[i]
    if not after_dashdash and w == "--" then
      after_dashdash, last, i = true, nil, i + 1
    elseif not after_dashdash and is_option(w) then
      last, i = nil, take_option(argv, i, req)
    else
      local text
      text, i = gather(argv, i)
      if text:sub(1, 1) ~= "(" then
        -- A group expression (@lab,@desk!lab03, lab[01-04]) stays whole until ctys.groups
        -- resolves it; any other word is one target.
        if require("ctys.groups").is_expression(text) then
          local addr, ctx_raw = text:match("^([^(]*)%((.*)%)$")
          last = { expr = addr or text, ctx_raw = ctx_raw, raw = text }
        else
          last = targets.parse(text)
        end
        last.ctx = last.ctx_raw and parse_context(last.ctx_raw)
        req.targets[#req.targets + 1] = last
      elseif last and not last.ctx_raw then
        last.ctx_raw, last.raw = text:sub(2, -2), last.raw .. " " .. text
        last.ctx = parse_context(last.ctx_raw)
      elseif not last and after_dashdash and not req.global_ctx_raw then
        req.global_ctx_raw = text:sub(2, -2)
        req.global_ctx = parse_context(req.global_ctx_raw)
      else
        err.usage("context '%s' belongs to no target (one per target, global one right after --)", text)
      end
    end
  end
  req.type = req.type or "PM"
  for _, spec in pairs(OPTIONS) do
    if not spec.read then req[spec.field] = req[spec.field] or false end
  end
  return one_output_form(req)
end

---The help text: grammar, options, exit values, host options.
---@return string
function M.usage()
  return [[
usage: ctys [-t TYPE] [-T TYPE,...|all] -a ACTION[=SUBOPTS] [options] [--] ['(GLOBAL OPTS)'] [TARGET...]

  -t TYPE          plugin type of the action (default PM)
  -T TYPE,...|all  plugin types to preload
  -a ACTION[=SUBOPTS]
                   action and its suboptions: ',' separates them (',,' a literal comma),
                   KEY:ARG gives an argument ('::' or '\:' a literal colon, '%' separates
                   values, '%%' a literal percent); keys are case-insensitive
  -d LEVEL         debug level, a non-negative integer
  -X               terse machine output (';'-separated records)
  -V               print the version and exit
  -h               print this help and exit
  --dry-run        show what would be done, do nothing
  -y, --yes        do not ask before a destructive action (CANCEL) on several targets;
                   the question comes only when stdin and stderr are a terminal
  --gather         results from several targets: identical outputs once, under
                   their folded host list (clush -b)
  --json           results from several targets: one JSON object a target
  -l USER          default remote user
  -b VALUE         execution mode sync|async[,seq|par]: with seq, targets run one after
                   another (default: all at once); the original's 0, 1, 2 are taken as par
  -c VALUE         stored for the action to read
  -Z VALUE         privilege escalation: SUDO|KSU
  --               end of options; a '(...)' right after it is the global context

  TARGET           [user@]host[:port] or a group name, optionally followed by
                   '(OPTS)': options for that target only (last wins). The action
                   runs on each target, over SSH as `ctys OPTIONS` ($CTYS_REMOTE_CMD
                   replaces `ctys`); localhost and this machine's names run here.
                   Output lines read `host: line` when there are several targets.

exit values: 0 ok, 1 erroneous parameters, 2 missing environment element, 3 the operation
failed (a machine did not come up or go down, a BMC refused); with targets: the highest
remote exit value, 255 when a target could not run it; 128+N ended by signal N (130 Ctrl-C,
143 SIGTERM, 129 SIGHUP)

environment:
  CTYS_LUA_PATH        Lua module directories searched first (colon-separated)
  CTYS_REMOTE_CMD      the ctys a target runs (ctys on its PATH, else ~/.ctys/bin/ctys)
  CTYS_COMMANDS        the command table (poweroff, reboot, init, logger, wall, ...)
  CTYS_MACHINES        machine database files (colon-separated; ~/.ctys/machines, ...)
  CTYS_GROUPS_PATH     group directories       CTYS_MACRO_PATH   macro directories
  CTYS_MACRO_EVAL      1: let MACRO:...%EVAL run shell commands
  CTYS_CANCEL_TIMEOUT  CANCEL's default wait before acting (20 s)
  CTYS_WOL_REMEMBER    where CANCEL ...,WOL,BROADCAST remembers broadcasts
  CTYS_NO_DNS          1: resolve names from files only, never through DNS
  IPMI_PASSWORD        BMC password for PM CREATE/CANCEL with IPMI
  RUST_LOG             log filter (as -d LEVEL)

host options, handled before this grammar:
  ctys FILE.lua [ARGS...]   run a Lua script
  ctys -e CHUNK             run a Lua chunk
  ctys --repl               interactive Lua
  ctys --test DIR           run the *_spec.lua files in DIR
  ctys --dump-lua DIR       write the built-in Lua tree to DIR
  --lua-path DIR            search DIR first for Lua modules
]]
end

-- The action function of a plugin type; missing module or function: exit 2.
local function action_function(type_name, action)
  local name = "ctys.actions." .. type_name:lower()
  local mod = require("ctys.run").try_require(name)
  if mod == nil then
    err.env("action not available: plugin type %s has no module %s", type_name, name)
  end
  local fn = type(mod) == "table" and mod[action:lower()]
  if type(fn) ~= "function" then
    err.env("action not available: %s for plugin type %s", action, type_name)
  end
  return fn, type(mod.caller) == "table" and mod.caller[action:lower()] or nil,
    type(mod.destructive) == "table" and mod.destructive[action:lower()] or false
end

-- A destructive action on several targets asks first, on a terminal only (scripts and -y
-- do not); anything but y or yes ends it with nothing done.
local function confirm(req)
  local system = require "ctys.system"
  if req.yes or req.dry_run or #req.targets < 2 or not (system.isatty("stdin") and system.isatty("stderr")) then return end
  local hosts = {}
  for i, t in ipairs(req.targets) do hosts[i] = t.host end
  io.stderr:write(string.format("ctys: %s on %d targets (%s)? [y/N] ", req.action.raw, #req.targets,
    require("ctys.hostlist").fold(hosts)))
  local answer = (io.read("l") or ""):lower()
  if answer ~= "y" and answer ~= "yes" then err.usage("%s: not confirmed, nothing done (-y skips the question)", req.action.raw) end
end

---Run a grammar command line: expand MACROS, parse, handle -h/-V/-d, resolve GROUPS, dispatch
---the action (here, or on each target).
---@param argv string[] the words after the program name
---@return integer exit value (the action's result, or 0)
function M.main(argv)
  check.list("ctys.cli.main", "argv", argv, "string")
  -- `ctys lab ...` and `ctys status ...` are tools (ctys.tools.lab, ctys.tools.status).
  if argv[1] == "lab" or argv[1] == "status" then return require("ctys.tool").run(argv[1], table.move(argv, 2, #argv, 1, {})) end
  local macros = require "ctys.macros"
  if macros.used(argv) then argv = macros.expand_argv(argv) end
  local req = M.parse(argv)
  if req.help then
    io.write(M.usage())
    return 0
  end
  if req.version then
    if #req.targets > 0 then err.usage("-V takes no targets, got '%s'", req.targets[1].raw or req.targets[1].host) end
    print("ctys " .. require("ctys").version)
    return 0
  end
  if req.debug then require("ctys.log").set_level(req.debug) end
  if not req.action then err.usage("no action given (-a ACTION)") end
  -- Checked here first, so a missing plugin fails fast, before any target is contacted.
  local _, around, destructive = action_function(req.type, req.action.action)
  for _, t in ipairs(req.types or {}) do
    if t ~= "ALL" and require("ctys.run").try_require("ctys.actions." .. t:lower()) == nil then
      err.env("plugin type %s (-T) is not available: no module ctys.actions.%s", t, t:lower())
    end
  end
  local function run_here(r) return action_function(r.type, r.action.action)(r) or 0 end
  if #req.targets > 0 then
    req.targets = require("ctys.groups").resolve(req.targets)
    -- Every target is checked before the first is contacted: a word that names no group is a
    -- host, and must look like one.
    local net, shown = require "ctys.net", require("ctys.hostlist").shown
    for _, t in ipairs(req.targets) do
      if t.host and not net.valid_host(t.host) then err.usage("target '%s': not a group, an address or a host name", shown(t.raw or t.host)) end
      if t.user and not t.user:match("^[%w_.$][%w_.%-$]*$") then err.usage("target '%s': '%s' is not a user name", shown(t.raw or t.host), shown(t.user)) end
    end
    if destructive then confirm(req) end
    local function relay(r) return require("ctys.relay").run(r, run_here) end
    -- An action may do part of its work here, around the relay (PM CANCEL with IPMI).
    if around then return around(req, relay) end
    return relay(req)
  end
  return run_here(req)
end

---The option words that reproduce a request's options (not its targets, contexts, `-l`,
---`-h` or `-V`): what a relayed ctys gets on its command line.
---@param req ctys.Options
---@return string[]
function M.unparse(req)
  check.arg("ctys.cli.unparse", "req", req, "table")
  local w = {}
  local function add(opt, v) if v ~= nil and v ~= false then w[#w + 1] = opt; if v ~= true then w[#w + 1] = v end end end
  add("-t", req.type)
  add("-T", req.types and table.concat(req.types, ","))
  add("-a", req.action and req.action.raw)
  add("-d", req.debug and tostring(req.debug))
  add("-b", req.b)
  add("-c", req.c)
  add("-Z", req.Z)
  add("-X", req.terse)
  add("--dry-run", req.dry_run)
  return w
end

return M
