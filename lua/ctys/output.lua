--- How tools and the ctys command line print results from many hosts:
---
--- - `prefix` (default): every output line as `host: line`, stdout to stdout, stderr to stderr
---   (pdsh); with one host, lines are printed as they are;
--- - `gather`: hosts with identical output printed once under their folded list, e.g.
---   `lab[01-04,07] (5)` (clush -b, dshbak -c);
--- - `terse` (`-X`): one `;`-separated record a host: `host;status;signal;kind;err;stdout;stderr`,
---   with `\`, `;` and newlines escaped as `\\`, `\;`, `\n`;
--- - `json`: one JSON object a host and line.
---
--- Failures are then listed on stderr, one line a host, and the exit value says whether all
--- hosts succeeded (see M.exit_value: 0, the highest remote status, or 255 like ssh).
---@class ctys.output
local M = {}

local check = require "ctys.check"

local hostlist = require "ctys.hostlist"

---@alias ctys.output.Mode "prefix"|"gather"|"terse"|"json"

---Whether a host ran its command to a zero exit.
---@param r ctys.core.RemoteResult
---@return boolean
function M.ok(r)
  check.arg("ctys.output.ok", "r", r, "table")
  return r.err == nil and r.status == 0
end

---How a command that ran ended, when not well: `exit 3`, `killed by signal 9` (nil for exit 0,
---or when it did not run: see `err`).
---@param r ctys.core.RemoteResult
---@return string|nil
function M.ended(r)
  check.arg("ctys.output.ended", "r", r, "table")
  if r.err then return nil end
  if r.signal then return "killed by signal " .. r.signal end
  if r.status ~= 0 then return "exit " .. tostring(r.status) end
end

---Why a host failed, naming the host (`lab01: exit 3`; nil when it did not fail).
---@param r ctys.core.RemoteResult
---@return string|nil
function M.why(r)
  check.arg("ctys.output.why", "r", r, "table")
  if r.err then return r.err end
  local ended = M.ended(r)
  return ended and (r.host .. ": " .. ended)
end

---A function for `on_line` that prints `host: line` as lines arrive (raw lines when `prefix`
---is false, for a single host).
---@param prefix boolean
---@param out? file* stdout lines (io.stdout)
---@param errf? file* stderr lines (io.stderr)
---@return fun(host: string, stream: string, line: string)
function M.line_printer(prefix, out, errf)
  check.arg("ctys.output.line_printer", "prefix", prefix, "boolean")
  out, errf = out or io.stdout, errf or io.stderr
  return function(host, stream, line)
    local f = stream == "stderr" and errf or out
    f:write(prefix and (host .. ": ") or "", line, "\n")
  end
end

local function lines(s)
  return (s .. (s:sub(-1) == "\n" and "" or (s == "" and "" or "\n"))):gmatch("(.-)\n")
end

local function terse_field(v)
  return (tostring(v == nil and "" or v):gsub("[\\;\n]", { ["\\"] = "\\\\", [";"] = "\\;", ["\n"] = "\\n" }))
end

---Print results in one of the modes (prefix prints what was collected, for callers that did
---not stream it).
---@param results ctys.core.RemoteResult[]
---@param mode ctys.output.Mode
---@param out? file*
---@param errf? file*
function M.print(results, mode, out, errf)
  check.list("ctys.output.print", "results", results, "table")
  check.arg("ctys.output.print", "mode", mode, "string")
  out, errf = out or io.stdout, errf or io.stderr
  if mode == "terse" then
    for _, r in ipairs(results) do
      local f = { r.host, r.status, r.signal, r.kind, r.err, r.stdout, r.stderr }
      for i = 1, 7 do f[i] = terse_field(f[i]) end
      out:write(table.concat(f, ";"), "\n")
    end
  elseif mode == "json" then
    local json = require "ctys.json"
    for _, r in ipairs(results) do
      out:write(json.encode { host = r.host, status = r.status or json.null, signal = r.signal or json.null,
        kind = r.kind or json.null, err = r.err or json.null, stdout = r.stdout, stderr = r.stderr }, "\n")
    end
  elseif mode == "gather" then
    local groups, order = {}, {}
    for _, r in ipairs(results) do
      if r.stdout ~= "" then
        if not groups[r.stdout] then groups[r.stdout] = {}; order[#order + 1] = r.stdout end
        table.insert(groups[r.stdout], r.host)
      end
      for line in lines(r.stderr) do errf:write(r.host, ": ", line, "\n") end
    end
    for _, text in ipairs(order) do
      local hosts = groups[text]
      -- As clush -b: the count only for more than one host.
      out:write("---------------\n", hostlist.fold(hosts), #hosts > 1 and (" (" .. #hosts .. ")") or "", "\n---------------\n", text)
      if text:sub(-1) ~= "\n" then out:write("\n") end
    end
  else
    local p = M.line_printer(#results > 1, out, errf)
    for _, r in ipairs(results) do
      for line in lines(r.stdout) do p(r.host, "stdout", line) end
      for line in lines(r.stderr) do p(r.host, "stderr", line) end
    end
  end
end

---List the failed hosts on stderr, one line each: `prog: host: why` (M.why).
---@param results ctys.core.RemoteResult[]
---@param prog? string program name for the lines ("ctys")
---@param errf? file*
---@return integer failed how many failed
function M.report_failures(results, prog, errf)
  check.arg("ctys.output.report_failures", "results", results, "table")
  check.arg("ctys.output.report_failures", "prog", prog, "string?")
  errf = errf or io.stderr
  local failed = 0
  for _, r in ipairs(results) do
    local why = M.why(r)
    if why then
      failed = failed + 1
      errf:write(prog or "ctys", ": ", why, "\n")
    end
  end
  return failed
end

---The exit value for a set of results: 0 when every host succeeded; else the highest exit
---status of a command that ran, or 255 (as ssh does) when a host could not run it to its end
---(unreachable, host key refused, authentication, timeout, signal).
---@param results ctys.core.RemoteResult[]
---@return integer
function M.exit_value(results)
  check.list("ctys.output.exit_value", "results", results, "table")
  local code = 0
  for _, r in ipairs(results) do
    if r.err or r.signal then
      code = 255
    elseif r.status and r.status ~= 0 then
      code = math.max(code, r.status)
    end
  end
  return code
end

---Print rows of text cells as aligned columns under a header; `rule` adds a line of dashes
---under the header. Trailing blanks are cut.
---@param head string[]
---@param rows string[][]
---@param sep string between columns, e.g. "  " or " | "
---@param rule? boolean
function M.columns(head, rows, sep, rule)
  check.arg("ctys.output.columns", "head", head, "table")
  check.arg("ctys.output.columns", "rows", rows, "table")
  check.arg("ctys.output.columns", "sep", sep, "string")
  check.arg("ctys.output.columns", "rule", rule, "boolean?")
  for _, l in ipairs(M.column_lines(head, rows, sep, rule)) do print(l) end
end

---The lines `columns` prints (the same arguments), for a caller that draws them elsewhere.
---@param head string[]
---@param rows string[][]
---@param sep string
---@param rule? boolean
---@return string[]
function M.column_lines(head, rows, sep, rule)
  check.arg("ctys.output.column_lines", "head", head, "table")
  check.arg("ctys.output.column_lines", "rows", rows, "table")
  check.arg("ctys.output.column_lines", "sep", sep, "string")
  check.arg("ctys.output.column_lines", "rule", rule, "boolean?")
  local w, out = {}, {}
  for i, h in ipairs(head) do
    w[i] = #h
    for _, r in ipairs(rows) do w[i] = math.max(w[i], #r[i]) end
  end
  local function line(r)
    local cells = {}
    for i, c in ipairs(r) do cells[i] = c .. string.rep(" ", w[i] - #c) end
    out[#out + 1] = (table.concat(cells, sep):gsub("%s+$", ""))
  end
  line(head)
  if rule then
    local dashes = {}
    for i = 1, #head do dashes[i] = string.rep("-", w[i]) end
    line(dashes)
  end
  for _, r in ipairs(rows) do line(r) end
  return out
end

return M
