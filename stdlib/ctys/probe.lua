--- Is a machine there? ICMP echo and TCP connects (with an optional SSH banner check), run
--- concurrently with other tasks. Expected failures return nil and the reason.
---@class ctys.probe
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

local seq = 0

---The addresses of a host name (or the address itself): /etc/hosts, then DNS, as the system
---resolves. Text that cannot be a host name (ctys.net.valid_host) is refused without asking a
---resolver.
---@param host string
---@return string[]|nil addrs
---@return string? err
function M.resolve(host)
  check.arg("ctys.probe.resolve", "host", host, "string")
  if not require("ctys.net").valid_host(host) then
    return nil, string.format("'%s' is not a host name or address", #host > 64 and (host:sub(1, 60) .. "...") or host)
  end
  return core.resolve(host)
end

local function address(fname, host)
  if type(host) ~= "string" or host == "" then check.bad(fname, "host", "expected a host name or address") end
  local addrs, e = M.resolve(host)
  if not addrs then return nil, e end
  return addrs[1]
end

---Send one ICMP echo request and wait for the reply.
---@param opts {host: string, timeout?: number}
---@return number|nil rtt seconds
---@return string? err
function M.ping(opts)
  check.opts("ctys.probe.ping", opts, { host = "string", timeout = "seconds" }, { "host" })
  local addr, e = address("ctys.probe.ping", opts.host)
  if not addr then return nil, e end
  seq = seq % 65535 + 1
  return core.ping(addr, opts.timeout or 1, seq)
end

---Connect to a TCP port; with `ssh = true`, also wait for an `SSH-` banner.
---@param opts {host: string, port?: integer, timeout?: number, ssh?: boolean}
---@return number|nil rtt seconds
---@return string? err
function M.tcp(opts)
  check.opts("ctys.probe.tcp", opts, { host = "string", port = "port", timeout = "seconds", ssh = "boolean" }, { "host" })
  local addr, e = address("ctys.probe.tcp", opts.host)
  if not addr then return nil, e end
  return core.tcp_probe(addr, opts.port or 22, opts.timeout or 2, opts.ssh)
end

---Try `probe(opts)` up to `tries` times, `sleep` seconds apart, until it succeeds.
---@param probe fun(opts: table): (number|nil, string?)
---@param opts table
---@param tries integer
---@param sleep number
---@return integer|nil try the try that succeeded
---@return string? err the last failure
function M.wait(probe, opts, tries, sleep)
  check.arg("ctys.probe.wait", "probe", probe, "function")
  if math.type(tries) ~= "integer" or tries < 1 then check.bad("ctys.probe.wait", "tries", "expected a positive integer, got %s", tostring(tries)) end
  if not check.seconds(sleep) then check.bad("ctys.probe.wait", "sleep", "expected seconds from 0 to %d, got %s", check.MAX_SECONDS, tostring(sleep)) end
  local e
  for i = 1, tries do
    local ok
    ok, e = probe(opts)
    if ok then return i end
    if i < tries then ctys.sleep(sleep) end
  end
  return nil, e
end

return M
