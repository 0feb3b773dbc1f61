-- The host's Lua-facing contract: lazy submodules, errors with exit values, concurrency.
local err = require "ctys.err"

describe("the ctys global", function()
  it("loads submodules lazily, as require does", function()
    assert.falsy(rawget(ctys, "pretty"))
    assert.equal(require "ctys.pretty", ctys.pretty)
    assert.equal(require "ctys.log", ctys.log)
  end)

  it("gives nil for a module that does not exist", function()
    assert.equal(nil, ctys.no_such_module)
  end)

  it("treats a directory of modules as a namespace", function()
    assert.equal(require "ctys.actions.pm", ctys.actions.pm)
  end)

  it("reaches the embedded original as builtin.<name>", function()
    local b = require "builtin.ctys.err"
    assert.equal("function", type(b.raise))
    assert.truthy(package.loaded["builtin.ctys.err"])
  end)
end)

describe("errors", function()
  it("carry exit values", function()
    local e = assert.raises(function() err.env("no such tool %s", "x") end, "no such tool")
    assert.same({ 2, "no such tool x" }, { err.describe(e) })
    e = assert.raises(function() err.usage("bad") end, "bad")
    assert.same({ 1, "bad" }, { err.describe(e) })
    assert.same({ 1, "plain" }, { err.describe("plain") })
  end)

  it("name the function and argument on misuse", function()
    assert.fails(1, "ctys.sleep: bad argument 'seconds'", ctys.sleep, "soon")
    assert.raises(function() ctys.spawn(42) end, "ctys.spawn: bad argument 'f'")
    assert.raises(function() ctys.all { function() end, "x" } end, "ctys.all: bad argument 'fns%[2%]'")
  end)
end)

describe("concurrency", function()
  it("runs 100 sleeps of 0.2 s together: all start before any finishes", function()
    local events = {}
    local fns = {}
    for i = 1, 100 do
      fns[i] = function()
        events[#events + 1] = "start"
        ctys.sleep(0.2)
        events[#events + 1] = "end"
        return i
      end
    end
    local results = ctys.all(fns)
    assert.equal(200, #events)
    for i = 1, 100 do assert.equal("start", events[i], "event " .. i) end
    for i = 101, 200 do assert.equal("end", events[i], "event " .. i) end
    for i = 1, 100 do assert.equal(i, results[i]) end
  end)

  it("lets spawned tasks interleave with the caller and join in any order", function()
    local log = {}
    local a = ctys.spawn(function(x) ctys.sleep(0.05); log[#log + 1] = "a"; return x, "two" end, "one")
    local b = ctys.spawn(function() log[#log + 1] = "b" end)
    log[#log + 1] = "caller"
    assert.falsy(a:done())
    b:join()
    assert.same({ "one", "two" }, { a:join() })
    assert.same({ "caller", "b", "a" }, log)
  end)

  it("re-raises a task's error, exit value and all, when joined", function()
    local t = ctys.spawn(function() err.env("missing %s", "thing") end)
    assert.fails(2, "missing thing", t.join, t)
  end)

  it("finishes every function of ctys.all before raising the first error", function()
    local finished = false
    assert.raises(function()
      ctys.all {
        function() error("first", 0) end,
        function() ctys.sleep(0.05); finished = true end,
      }
    end, "first")
    assert.truthy(finished)
  end)

  it("aborts a task at its next wait", function()
    local reached = false
    local t = ctys.spawn(function() ctys.sleep(10); reached = true end)
    ctys.sleep(0)
    t:abort()
    assert.raises(function() t:join() end, "aborted")
    assert.falsy(reached)
  end)
end)
