--- Running programs: an argv (no shell between), optional stdin, environment additions, a
--- timeout. Other tasks go on while one runs; a timeout (or a script that is interrupted) ends
--- the program and everything it started (SIGTERM, SIGKILL 2 s later).
---
--- ```lua
--- local r = assert(ctys.proc.run{ argv = { "ip", "-br", "link" }, timeout = 5 })
--- print(r.status, r.stdout)
--- ```
---@class ctys.proc
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---@class ctys.proc.RunOpts
---@field argv string[] the program and its arguments (looked up on PATH when it has no `/`)
---@field stdin? string what the program reads (default: nothing, /dev/null)
---@field env? table<string,string> added to the environment
---@field timeout? number seconds; then the program's process group is ended (kind timeout)
---@field max_output? integer the most bytes of stdout, and of stderr, kept (64 MiB); more is kind toolarge
---@field inherit? boolean stdout and stderr go where ctys's go (nothing is captured)

---@class ctys.proc.Result
---@field status? integer the exit status, when it exited
---@field signal? integer the signal number, when a signal ended it
---@field stdout string
---@field stderr string

local OPTS = { argv = "table", stdin = "string", env = "table", timeout = "seconds", max_output = "integer", inherit = "boolean" }

local function check_argv(fname, opts)
  if #opts.argv == 0 then check.bad(fname, "argv", "expected a program and its arguments") end
  for i = 1, #opts.argv do
    if type(opts.argv[i]) ~= "string" then check.bad(fname, "argv[" .. i .. "]", "expected a string, got %s", type(opts.argv[i])) end
    -- exec takes C strings: a NUL would cut the word short.
    if opts.argv[i]:find("%z") then check.bad(fname, "argv[" .. i .. "]", "contains a NUL byte") end
  end
  for k, v in pairs(opts.env or {}) do
    if type(k) ~= "string" or type(v) ~= "string" or k == "" or k:find("[=%z]") or v:find("%z") then
      check.bad(fname, "env", "expected NAME = value strings, got %s = %s", tostring(k), tostring(v))
    end
  end
end

---Run a program to its end. Misuse raises; a program that cannot start (kind notfound,
---permission) or runs out its timeout (timeout) or writes too much (toolarge) gives nil, err,
---kind. A non-zero exit is a result, not a failure.
---@param opts ctys.proc.RunOpts
---@return ctys.proc.Result|nil
---@return string? err
---@return string? kind
function M.run(opts)
  check.opts("ctys.proc.run", opts, OPTS, { "argv" })
  check_argv("ctys.proc.run", opts)
  return core.proc_run(opts)
end

---Where `run` would find a program: a word with a `/` as it is, else the first executable
---file of that name on $PATH. Nil when there is none.
---@param prog string
---@return string|nil path
function M.which(prog)
  check.arg("ctys.proc.which", "prog", prog, "string")
  return core.proc_which(prog)
end

---Start a program detached from ctys (a session of its own, no terminal; it goes on after
---ctys ends, as a console window does) and return its pid.
---@param opts {argv: string[], env?: table<string,string>}
---@return integer|nil pid
---@return string? err
---@return string? kind "notfound"|"permission"|"io"
function M.spawn(opts)
  check.opts("ctys.proc.spawn", opts, { argv = "table", env = "table" }, { "argv" })
  check_argv("ctys.proc.spawn", opts)
  return core.proc_spawn(opts)
end

return M
