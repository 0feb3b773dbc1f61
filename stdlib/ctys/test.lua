--- A small describe/it/assert runner for spec files (`tests/lua/*_spec.lua`, `ctys --test`).
---
--- Spec files see the globals `describe`, `it`, `before_each`, `after_each`, `skip` and an
--- `assert` that is still callable and also has `equal`, `same`, `truthy`, `falsy`, `raises`, `fails`.
--- Test bodies may call async primitives (they run inside the host's coroutine).
---@class ctys.test
local M = {}

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local ok, pretty = pcall(require, "ctys.pretty")
  return ok and pretty.format(v) or tostring(v)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do
    if not deep_equal(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local SKIP = {}

local assertions = {}

---Fail unless `actual == expected`.
---@param expected any
---@param actual any
---@param msg? string
function assertions.equal(expected, actual, msg)
  if expected ~= actual then
    error(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", fmt(expected), fmt(actual)), 2)
  end
end

---Fail unless the two values are deeply equal (tables compared field by field).
---@param expected any
---@param actual any
---@param msg? string
function assertions.same(expected, actual, msg)
  if not deep_equal(expected, actual) then
    error(string.format("%sexpected %s, got %s", msg and (msg .. ": ") or "", fmt(expected), fmt(actual)), 2)
  end
end

---Fail unless the value is truthy.
---@param v any
---@param msg? string
function assertions.truthy(v, msg)
  if not v then error(msg or ("expected a truthy value, got " .. fmt(v)), 2) end
end

---Fail unless the value is nil or false.
---@param v any
---@param msg? string
function assertions.falsy(v, msg)
  if v then error(msg or ("expected a falsy value, got " .. fmt(v)), 2) end
end

-- An error's text as busted compares it: a string without its `file:line: ` prefix.
local function error_text(e)
  local text = tostring(e)
  return type(e) == "string" and (text:gsub("^.-:%d+: ", "", 1)) or text
end

---Fail unless `f()` raises an error; with `pattern`, its text must match that Lua pattern
---(busted's argument order: the function first). Returns the error.
---@param f function
---@param pattern? string
---@return any err the raised error value
function assertions.raises(f, pattern)
  if type(f) ~= "function" then error("assert.raises: the first argument is the function (busted's order), got " .. type(f), 2) end
  local ok, e = pcall(f)
  if ok then error("expected an error" .. (pattern and (" matching " .. fmt(pattern)) or "") .. ", none was raised", 2) end
  if pattern and not tostring(e):find(pattern) then
    error(string.format("expected an error matching %s, got %s", fmt(pattern), fmt(tostring(e))), 2)
  end
  return e
end

---busted's `assert.has_error(f, expected)`: `f()` raises, and with `expected` its text
---(without a `file:line: ` prefix) is exactly that.
---@param f function
---@param expected? string
---@return any err
function assertions.has_error(f, expected)
  local e = assertions.raises(f)
  if expected ~= nil and error_text(e) ~= expected then
    error(string.format("expected the error %s, got %s", fmt(expected), fmt(error_text(e))), 2)
  end
  return e
end
assertions.error = assertions.has_error

---busted's `assert.error_matches(f, pattern)`.
---@param f function
---@param pattern string
---@return any err
function assertions.error_matches(f, pattern)
  return assertions.raises(f, pattern)
end

---Fail unless `f(...)` raises an error with this exit value (ctys.err) whose message contains
---`text` verbatim; returns the error.
---@param code integer expected exit value (1 erroneous parameters, 2 missing environment element)
---@param text string text the message must contain, compared plainly
---@param f function
---@param ... any arguments for f
---@return any err the raised error value
function assertions.fails(code, text, f, ...)
  local args = table.pack(...)
  local e = assertions.raises(function() return f(table.unpack(args, 1, args.n)) end, (text:gsub("%p", "%%%0")))
  local got = require("ctys.err").describe(e)
  if got ~= code then error(string.format("expected exit value %d, got %d for %s", code, got, fmt(tostring(e))), 2) end
  return e
end

local assert_mt = { __call = function(_, v, msg, ...) if not v then error(msg or "assertion failed!", 2) end return v, msg, ... end }

---A fresh directory for a spec's fixture files; `dir:write("a/b", text)` makes the parents.
---The directory is left for the system's /tmp cleaning.
---@return {path: string, write: fun(self, rel: string, text: string): string}
function M.tempdir()
  local fs = require "ctys.fs"
  local root = os.tmpname()
  os.remove(root)
  assert(fs.private_dir(root))
  return {
    path = root,
    write = function(self, rel, text)
      local path = self.path .. "/" .. rel
      assert(fs.private_dir(path:match("^(.*)/")))
      local f = assert(io.open(path, "w"))
      f:write(text)
      f:close()
      return path
    end,
  }
end

---Run spec files and print one line a test plus a closing `N passed, N failed, N skipped` line.
---A skipped test counts as failed when CTYS_REQUIRE_PRIVILEGED=1.
---@param files string[] paths of spec files
---@return integer failed number of failed tests (0 = all passed)
function M.run(files)
  local strict = os.getenv("CTYS_REQUIRE_PRIVILEGED") == "1"
  local passed, failed, skipped = 0, 0, 0
  local saved = { describe = describe, it = it, before_each = before_each,
                  after_each = after_each, skip = skip, assert = assert }
  local names, befores, afters = {}, {}, {}

  local function run_test(name, body)
    local full = table.concat(names, " ") .. (#names > 0 and " " or "") .. name
    local function all()
      for _, level in ipairs(befores) do for _, f in ipairs(level) do f() end end
      body()
    end
    local ok, e = xpcall(all, function(e)
      if e == SKIP or (type(e) == "table" and e.skip) then return e end
      return debug.traceback(tostring(e), 2)
    end)
    for i = #afters, 1, -1 do for _, f in ipairs(afters[i]) do pcall(f) end end
    if ok then
      passed = passed + 1
      print("ok      " .. full)
    elseif type(e) == "table" and e.skip then
      if strict then
        failed = failed + 1
        print("FAIL    " .. full .. " (skipped, CTYS_REQUIRE_PRIVILEGED=1): " .. e.reason)
      else
        skipped = skipped + 1
        print("skip    " .. full .. ": " .. e.reason)
      end
    else
      failed = failed + 1
      print("FAIL    " .. full .. "\n" .. tostring(e):gsub("\n", "\n        "))
    end
  end

  describe = function(name, body)
    names[#names + 1] = name
    befores[#befores + 1], afters[#afters + 1] = {}, {}
    body()
    names[#names], befores[#befores], afters[#afters] = nil, nil, nil
  end
  it = run_test
  before_each = function(f) table.insert(befores[#befores] or {}, f) end
  after_each = function(f) table.insert(afters[#afters] or {}, f) end
  skip = function(reason) error({ skip = true, reason = reason or "skipped" }, 0) end
  assert = setmetatable(assertions, assert_mt)

  for _, file in ipairs(files) do
    local chunk, lerr = loadfile(file)
    if not chunk then
      failed = failed + 1
      print("FAIL    " .. file .. ": " .. lerr)
    else
      local ok, e = xpcall(chunk, debug.traceback)
      if not ok then
        failed = failed + 1
        print("FAIL    " .. file .. " (outside any it)\n" .. tostring(e))
      end
    end
  end

  for k, v in pairs(saved) do _G[k] = v end
  local line = string.format("%d passed, %d failed", passed, failed)
  if skipped > 0 then line = line .. string.format(", %d skipped", skipped) end
  print(line)
  return failed
end

return M
