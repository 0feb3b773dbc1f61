--- Stack propagation: the hypervisors on this machine and the machines they run, so that CANCEL
--- takes the machines on top down before the one beneath them.
---
--- A handler is a module `ctys.stack.<name>` returning `{ name, available, list, cancel }`;
--- ctys ships `libvirt` (virsh) and `xen` (xl), and a site adds one by dropping
--- `ctys/stack/<name>.lua` on the module search path (or calls `register` from a script).
---@class ctys.stack
local M = {}

local check = require "ctys.check"

---@class ctys.stack.Handler
---@field name string
---@field available fun(): boolean whether its hypervisor is here (its tool exists)
---@field list fun(): string[]|nil, string? the running machines (never this machine itself)
---@field cancel fun(vm: string, how: "shutdown"|"destroy"): true|nil, string? ask one machine to go down

local registered, order = {}, {}

---Add a handler (one of the same name is replaced).
---@param h ctys.stack.Handler
---@return ctys.stack.Handler h
function M.register(h)
  check.arg("ctys.stack.register", "h", h, "table")
  check.opts("ctys.stack.register", h, { name = "string", available = "function", list = "function", cancel = "function" },
    { "name", "available", "list", "cancel" })
  if not registered[h.name] then order[#order + 1] = h.name end
  registered[h.name] = h
  return h
end

local loaded = false

---The handlers whose hypervisor is here, in registration order (built-in and site modules
---`ctys.stack.*` are loaded on first use).
---@return ctys.stack.Handler[]
function M.handlers()
  if not loaded then
    loaded = true
    for _, name in ipairs(require("ctys.system").modules("ctys.stack.")) do M.register(require(name)) end
  end
  local out = {}
  for _, name in ipairs(order) do
    if registered[name].available() then out[#out + 1] = registered[name] end
  end
  return out
end

---@class ctys.stack.Machine
---@field handler string
---@field vm string

---The machines running on top, per handler that is here; a handler that cannot list is
---reported in `errs`.
---@param only? string just this handler
---@return ctys.stack.Machine[] machines
---@return string[] errs
function M.running(only)
  check.arg("ctys.stack.running", "only", only, "string?")
  local machines, errs = {}, {}
  for _, h in ipairs(M.handlers()) do
    if not only or h.name == only then
      local vms, e = h.list()
      if not vms then errs[#errs + 1] = h.name .. ": " .. tostring(e) end
      for _, vm in ipairs(vms or {}) do machines[#machines + 1] = { handler = h.name, vm = vm } end
    end
  end
  return machines, errs
end

---Take the machines down, all at once, and wait up to `wait` seconds until their handlers no
---longer list them. Returns the machines still running (empty when all went down) and the
---failures, one message each.
---@param machines ctys.stack.Machine[]
---@param how "shutdown"|"destroy"
---@param wait number seconds
---@return ctys.stack.Machine[] left
---@return string[] errs
function M.cancel(machines, how, wait)
  check.arg("ctys.stack.cancel", "machines", machines, "table")
  check.arg("ctys.stack.cancel", "how", how, "string")
  check.arg("ctys.stack.cancel", "wait", wait, "number")
  local jobs, errs = {}, {}
  for i, m in ipairs(machines) do
    jobs[i] = function() return { registered[m.handler].cancel(m.vm, how) } end
  end
  local left = {}
  for i, r in ipairs(ctys.all(jobs)) do
    if r[1] then left[#left + 1] = machines[i] else errs[#errs + 1] = string.format("%s:%s: %s", machines[i].handler, machines[i].vm, tostring(r[2])) end
  end
  -- Only the handlers of these machines are asked again (no availability probe each second).
  local asked = {}
  for _, m in ipairs(machines) do asked[m.handler] = true end
  for waited = 0, math.ceil(wait) do
    local still = {}
    local now = {}
    for name in pairs(asked) do
      for _, vm in ipairs(registered[name].list() or {}) do now[name .. "\0" .. vm] = true end
    end
    for _, m in ipairs(left) do
      if now[m.handler .. "\0" .. m.vm] then still[#still + 1] = m end
    end
    left = still
    if #left == 0 or waited >= wait then break end
    ctys.sleep(math.min(1, wait - waited))
  end
  return left, errs
end

return M
