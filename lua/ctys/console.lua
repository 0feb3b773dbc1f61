--- Consoles to a machine (PM CREATE's CONSOLE:): CLI is an SSH session with a terminal (a shell
--- here when the machine is this one); SOL is its serial console through its BMC (IPMI
--- Serial-over-LAN, the BMC from the machine database), which works while the OS is down;
--- XTERM, GTERM, EMACS and VNC start the command table's program in a window of its own.
---@class ctys.console
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

---The console kinds, and the command-table program of each window console.
---@type table<string, string|true>
M.KINDS = { CLI = true, SOL = true, XTERM = "xterm", GTERM = "gterm", EMACS = "emacs", VNC = "vncviewer" }

---This terminal on a BMC's serial console (IPMI Serial-over-LAN) until `~.` or the end of stdin;
---its banners on stderr name `what`. `force` takes it over from another session. True, or nil,
---err, kind when the BMC or its console fails (ctys-ipmi's `sol` and CONSOLE:SOL raise it their
---way).
---@param open ctys.ipmi.OpenOpts
---@param force boolean
---@param what string
---@return true|nil
---@return string? err
---@return string? kind
function M.attach_sol(open, force, what)
  check.arg("ctys.console.attach_sol", "open", open, "table")
  check.arg("ctys.console.attach_sol", "force", force, "boolean")
  check.arg("ctys.console.attach_sol", "what", what, "string")
  local h, e, kind = require("ctys.ipmi").open(open)
  if not h then return nil, e, kind end
  local c, se, skind = h:sol { force = force }
  if not c then
    h:close()
    return nil, se, skind
  end
  io.stderr:write(string.format("[SOL session operational: %s. Use ~? for help]\r\n", what))
  local how, ae, akind = c:attach()
  c:close()
  h:close()
  io.stderr:write("\r\n[SOL session closed]\n")
  if not how then return nil, ae, akind end
  return true
end

-- The serial console of machine `name` (its database entry's BMC) on this terminal, until ~.
-- or the end of stdin.
local function serial(name, dry_run)
  local known = require("ctys.machines").lookup(name, require("ctys.machines").load())
  if not known or not known.bmc then
    err.env("CREATE %s: CONSOLE:SOL: no BMC: add bmc= to the machine database", name)
  end
  local pmbmc = require "ctys.pm.bmc"
  local b = pmbmc.of("CREATE " .. name, "IPMI", true, known)
  if dry_run then
    print(string.format("CREATE %s: would open its serial console (Serial-over-LAN) through the BMC %s", name, b.name))
    return 0
  end
  local open = { host = b.host, port = b.port, user = b.user, kg_file = b.kg_file, label = b.name }
  local ok, e, kind = M.attach_sol(open, false, string.format("%s's serial console through %s", name, b.name))
  if not ok then pmbmc.failed("CREATE " .. name .. ": CONSOLE:SOL", e, kind) end
  return 0
end

-- An elisp string literal holding `s`: `\` and `"` escaped, so a host cannot end the string.
local function elisp_string(s)
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

---Open a console to a target (nil, or a target naming this machine: here) and return its exit
---value: CLI waits for the session to end and returns its exit status; the window consoles
---start their program in the background. `name` names the machine in messages.
---@param kind "CLI"|"SOL"|"XTERM"|"GTERM"|"EMACS"|"VNC"
---@param t? ctys.Target
---@param name string
---@param dry_run? boolean say what would run instead
---@return integer
function M.open(kind, t, name, dry_run)
  check.arg("ctys.console.open", "kind", kind, "string")
  check.arg("ctys.console.open", "t", t, "table?")
  check.arg("ctys.console.open", "name", name, "string")
  check.arg("ctys.console.open", "dry_run", dry_run, "boolean?")
  if not M.KINDS[kind] then check.bad("ctys.console.open", "kind", "'%s' is not one of CLI, SOL, XTERM, GTERM, EMACS, VNC", kind) end
  if kind == "SOL" then return serial(name, dry_run) end
  local commands = require "ctys.commands"
  local function say_console(fmt, ...) print(string.format("CREATE %s: " .. fmt, name, ...)) end
  if t and require("ctys.relay").is_local(t) then t = nil end
  local dest = t and ((t.user and (t.user .. "@") or "") .. t.host)
  if kind == "CLI" and t then
    if dry_run then
      say_console("would open an SSH session with a terminal to %s%s", dest, t.port and (":" .. t.port) or "")
      return 0
    end
    local status, e, ekind = require("ctys.remote").console { host = t }
    if not status then
      if ekind == "hostkey" or ekind == "auth" then err.env("CREATE %s: CONSOLE:CLI: %s", name, e) end
      err.failed("CREATE %s: CONSOLE:CLI: %s", name, e)
    end
    return status
  end
  local argv
  if kind == "CLI" then
    argv = { "shell" }
  elseif kind == "VNC" then
    argv = { "vncviewer", t and t.host or "localhost" }
  elseif kind == "EMACS" then
    -- A shell buffer on the machine through TRAMP's ssh method.
    argv = { "emacs", "--eval", t and string.format('(let ((default-directory %s)) (shell))',
      elisp_string("/ssh:" .. dest .. (t.port and ("#" .. t.port) or "") .. ":")) or "(shell)" }
  else
    local inner = commands.argv("shell")
    if t then inner = t.port and commands.argv("ssh", "-t", "-p", t.port, dest) or commands.argv("ssh", "-t", dest) end
    argv = { M.KINDS[kind], table.unpack(inner) }
  end
  local line = commands.describe(table.unpack(argv))
  if dry_run then
    say_console("would run %s", line)
    return 0
  end
  if kind == "CLI" then
    local r, e = require("ctys.proc").run { argv = commands.argv(table.unpack(argv)), inherit = true }
    if not r then err.env("CREATE %s: %s", name, e) end
    return r.status or 128 + r.signal
  end
  if not (os.getenv("DISPLAY") or os.getenv("WAYLAND_DISPLAY")) then
    err.env("CREATE %s: CONSOLE:%s opens a window and needs a display (DISPLAY is not set)", name, kind)
  end
  local ok, e = commands.spawn(table.unpack(argv))
  if not ok then err.failed("CREATE %s: %s", name, e) end
  say_console("CONSOLE:%s started: %s", kind, line)
  return 0
end

return M
