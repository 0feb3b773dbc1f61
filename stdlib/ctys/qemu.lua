--- QEMU guests for a site script: start one on a vde_switch (ctys-vnetctl's), list the ones
--- running, take one down. A guest started here runs daemonised with a QMP socket, a serial
--- console socket, a serial log and a pid file in a private directory of the socket base
--- (`$CTYS_SOCKBASE`, else /var/tmp, then `qemu.<user>/`): `list` finds it from any process.
---
--- ```lua
--- local g = assert(ctys.qemu.start{ name = "vm1", switch = "/var/tmp/vde_switch0.alice",
---   kernel = "vmlinuz", initrd = "initrd.gz", append = "console=ttyS0", accel = "tcg" })
--- print(g.pid, g.qmp, g.log)
--- assert(g:stop{ timeout = 30 })          -- ACPI power button, then wait; { force = true } quits
--- ```
---@class ctys.qemu
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"
local fs = require "ctys.fs"
local proc = require "ctys.proc"
local qmp = require "ctys.qmp"
local system = require "ctys.system"
local vde = require "ctys.vde"

M.QEMU = "qemu-system-x86_64"
M.PACKAGE = "qemu-system-x86"

-- The guests' directory for `dir`, checked as FNAME's argument.
local function dir_of(fname, dir)
  check.arg(fname, "dir", dir, "string?")
  local env = os.getenv("CTYS_SOCKBASE")
  local base = (dir or (env ~= "" and env) or "/var/tmp"):gsub("/+$", "")
  return string.format("%s/qemu.%s", base == "" and "/" or base, system.user_name(fs.euid()) or tostring(fs.euid()))
end

---The directory of the caller's guests: `dir` (or `$CTYS_SOCKBASE`, else /var/tmp) and `qemu.<user>`.
---@param dir? string
---@return string
function M.dir(dir)
  return dir_of("ctys.qemu.dir", dir)
end

---@class ctys.qemu.Guest
---@field name string
---@field pid integer
---@field dir string its directory
---@field qmp string its QMP socket
---@field serial string its serial console (a unix socket: what is written there is typed on ttyS0)
---@field log string everything the guest wrote on its serial console
local Guest = {}
Guest.__index = Guest

local function guest(dir, name, pid)
  local p = dir .. "/" .. name
  return setmetatable({ name = name, pid = pid, dir = dir, qmp = p .. ".qmp", serial = p .. ".serial", log = p .. ".log" }, Guest)
end

-- The pid a guest's pid file names, when that process runs and is QEMU (a pid file left by a
-- guest that is gone, or a pid reused since, names none).
local function running_pid(dir, name)
  local data = fs.read(dir .. "/" .. name .. ".pid", { trusted = true, max = 64 })
  local pid = math.tointeger(tonumber(data and data:match("^%s*(%d+)%s*$") or ""))
  if not pid or not system.alive(pid) then return nil end
  local comm = fs.read("/proc/" .. pid .. "/comm", { max = 64 })
  if not (comm and comm:find("^qemu")) then return nil end
  return pid
end

---Whether the guest's process still runs.
---@return boolean
function Guest:running()
  return running_pid(self.dir, self.name) == self.pid
end

---A QMP session to the guest.
---@param timeout? number seconds (5)
---@return ctys.core.Qmp|nil
---@return string? err
---@return string? kind
function Guest:session(timeout)
  return qmp.open(self.qmp, { timeout = timeout })
end

---Ask the guest to go down, without waiting: the ACPI power button (`system_powerdown`), or with
---`force` QEMU quits at once (the guest's plug pulled). A guest already gone is fine.
---@param force? boolean
---@return true|nil ok
---@return string? err
---@return string? kind
function Guest:request(force)
  if not self:running() then return true end
  local q, e, kind = self:session()
  if not q then
    -- With force a QEMU whose QMP does not answer is ended by signal.
    if force and system.kill(self.pid, "SIGKILL") then return true end
    return nil, string.format("guest %s: %s", self.name, e), kind
  end
  local ok, e2, kind2 = q:execute(force and "quit" or "system_powerdown")
  q:close()
  if not ok and not (force and kind2 == "closed") then return nil, string.format("guest %s: %s", self.name, e2), kind2 end
  return true
end

-- Removes what QEMU leaves behind once it is gone: its sockets and pid file (the log stays).
local function tidy(g)
  for _, suffix in ipairs { ".qmp", ".serial", ".pid" } do fs.remove(g.dir .. "/" .. g.name .. suffix, { within = g.dir }) end
end

---Wait until the guest's process is gone (true), or `timeout` seconds pass (nil, err, "timeout").
---@param timeout? number seconds (30)
---@return true|nil ok
---@return string? err
---@return string? kind
function Guest:wait(timeout)
  check.opts("ctys.qemu.Guest:wait", { timeout = timeout }, { timeout = "seconds" })
  local t0, limit = core.now(), timeout or 30
  while self:running() do
    if core.now() - t0 >= limit then
      return nil, string.format("guest %s (pid %d) still runs after %g s", self.name, self.pid, limit), "timeout"
    end
    core.sleep(0.1)
  end
  tidy(self)
  return true
end

---Take the guest down and wait: `request(force)` then `wait(timeout)`.
---@param opts? {force?: boolean, timeout?: number}
---@return true|nil ok
---@return string? err
---@return string? kind
function Guest:stop(opts)
  opts = opts or {}
  check.opts("ctys.qemu.Guest:stop", opts, { force = "boolean", timeout = "seconds" })
  local ok, e, kind = self:request(opts.force)
  if not ok then return nil, e, kind end
  return self:wait(opts.timeout)
end

---The caller's running guests (in `dir`'s `qemu.<user>`), sorted by name; none when the
---directory is not there.
---@param dir? string the socket base (default `$CTYS_SOCKBASE`, else /var/tmp)
---@return ctys.qemu.Guest[]|nil
---@return string? err
---@return string? kind
function M.list(dir)
  local d = dir_of("ctys.qemu.list", dir)
  if not fs.stat(d) then return {} end
  local ok, e, kind = fs.private_dir(d)
  if not ok then return nil, e, kind end
  local files, e2, kind2 = fs.list(d, 10000)
  if not files then return nil, e2, kind2 end
  local out = {}
  for _, f in ipairs(files) do
    local name = f:match("^([^/]+)%.pid$")
    local pid = name and running_pid(d, name)
    if pid then out[#out + 1] = guest(d, name, pid) end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

---The running guest of that name, or nil.
---@param name string
---@param dir? string the socket base
---@return ctys.qemu.Guest|nil
function M.find(name, dir)
  check.arg("ctys.qemu.find", "name", name, "string")
  local d = dir_of("ctys.qemu.find", dir)
  local pid = fs.stat(d) and running_pid(d, name)
  return pid and guest(d, name, pid) or nil
end

---@class ctys.qemu.StartOpts
---@field name string letters, digits, `.`, `_`, `-` (at most 64)
---@field switch? string a vde_switch's data socket (ctys-vnetctl's QEMUSOCK); no switch: no network
---@field kernel? string a kernel to boot directly
---@field initrd? string
---@field append? string the kernel's command line
---@field disk? string a disk image (virtio)
---@field memory? integer MiB (256)
---@field cpus? integer (1)
---@field mac? string the NIC's MAC (QEMU picks one when absent)
---@field accel? string QEMU's -accel (default "kvm:tcg": KVM where it works, else emulation)
---@field dir? string the socket base (default `$CTYS_SOCKBASE`, else /var/tmp)
---@field qemu? string the QEMU program (qemu-system-x86_64)
---@field extra? string[] more QEMU arguments, as they are
---@field timeout? number seconds QEMU may take to start (10)

local START = {
  name = "string", switch = "string", kernel = "string", initrd = "string", append = "string", disk = "string",
  memory = "integer", cpus = "integer", mac = "string", accel = "string", dir = "string", qemu = "string",
  extra = "table", timeout = "seconds",
}

-- QEMU's option syntax: a comma inside a value is written twice.
local function opt(v) return (v:gsub(",", ",,")) end

---Start a guest, daemonised. Misuse raises; expected failures give nil, err, kind: QEMU missing
---(notfound, the message names the package), a switch that does not answer (notfound), a
---guest of that name running already (exists), QEMU refusing to start (failed).
---@param opts ctys.qemu.StartOpts
---@return ctys.qemu.Guest|nil
---@return string? err
---@return string? kind
function M.start(opts)
  local F = "ctys.qemu.start"
  check.opts(F, opts, START, { "name" })
  if not opts.name:match("^[%w._-]+$") or #opts.name > 64 or opts.name:match("^%.") then
    check.bad(F, "name", "letters, digits, '.', '_' and '-' (at most 64, not starting with '.'), got %s", check.shown(opts.name))
  end
  if opts.memory and (opts.memory < 16 or opts.memory > 1048576) then check.bad(F, "memory", "MiB from 16 to 1048576, got %d", opts.memory) end
  if opts.cpus and (opts.cpus < 1 or opts.cpus > 256) then check.bad(F, "cpus", "from 1 to 256, got %d", opts.cpus) end
  if opts.mac and not require("ctys.wol").parse_mac(opts.mac) then check.bad(F, "mac", "not a MAC address: %s", check.shown(opts.mac)) end
  if (opts.initrd or opts.append) and not opts.kernel then check.bad(F, "kernel", "initrd and append need a kernel") end
  check.list(F, "extra", opts.extra or {}, "string")

  local exe = proc.which(opts.qemu or M.QEMU)
  if not exe then
    return nil, string.format("%s is missing; install it with: apt-get install %s", opts.qemu or M.QEMU, M.PACKAGE), "notfound"
  end
  for _, k in ipairs { "kernel", "initrd", "disk" } do
    if opts[k] and not fs.stat(opts[k]) then return nil, string.format("%s: %s: no such file", k, check.cut(opts[k])), "notfound" end
  end
  if opts.switch then
    local ok, e, kind = vde.answers(opts.switch)
    if not ok then return nil, e, kind end
  end
  local d = dir_of(F, opts.dir)
  local ok, e, kind = fs.private_dir(d)
  if not ok then return nil, e, kind end
  local running = running_pid(d, opts.name)
  if running then return nil, string.format("guest %s is running already (pid %d)", opts.name, running), "exists" end
  local g = guest(d, opts.name, 0)
  tidy(g)

  local argv = {
    exe, "-name", opt(opts.name), "-accel", opts.accel or "kvm:tcg", "-m", tostring(opts.memory or 256),
    "-smp", tostring(opts.cpus or 1), "-display", "none", "-no-reboot", "-monitor", "none",
    "-daemonize", "-pidfile", d .. "/" .. opts.name .. ".pid",
    "-qmp", "unix:" .. opt(g.qmp) .. ",server=on,wait=off",
    "-chardev", "socket,id=serial0,path=" .. opt(g.serial) .. ",server=on,wait=off,logfile=" .. opt(g.log) .. ",logappend=on",
    "-serial", "chardev:serial0",
  }
  local function add(...) for _, w in ipairs { ... } do argv[#argv + 1] = w end end
  if opts.kernel then add("-kernel", opts.kernel) end
  if opts.initrd then add("-initrd", opts.initrd) end
  if opts.append then add("-append", opts.append) end
  if opts.disk then add("-drive", "file=" .. opt(opts.disk) .. ",if=virtio") end
  if opts.switch then
    add("-nic", "vde,sock=" .. opt(opts.switch) .. ",model=virtio-net-pci" .. (opts.mac and (",mac=" .. opts.mac) or ""))
  else
    add("-nic", "none")
  end
  for _, w in ipairs(opts.extra or {}) do add(w) end

  -- With -daemonize QEMU's first process exits once the guest is set up (0) or refused (not 0).
  local r, e2, kind2 = proc.run { argv = argv, timeout = opts.timeout or 10 }
  if not r then
    tidy(g)
    return nil, string.format("qemu %s: %s", opts.name, e2), kind2
  end
  if r.status ~= 0 then
    tidy(g)
    local why = (r.stderr .. r.stdout):gsub("%s+$", "")
    return nil, string.format("qemu %s: %s", opts.name, why ~= "" and why or ("exit " .. tostring(r.status or r.signal))), "failed"
  end
  local pid = running_pid(d, opts.name)
  if not pid then return nil, string.format("qemu %s: started, but no running QEMU is named by %s.pid", opts.name, opts.name), "failed" end
  g.pid = pid
  return g
end

return M
