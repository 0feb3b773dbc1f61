-- ctys.system, the clocks and ctys.net.parse_target: what the ctys layer takes from stdlib
-- instead of ctys.core.
describe("clocks", function()
  it("ctys.now is monotonic wall time: a 0.2 s sleep shows as about 0.2 s", function()
    local t0 = ctys.now()
    ctys.sleep(0.2)
    local dt = ctys.now() - t0
    assert.truthy(dt >= 0.19 and dt < 5, "slept " .. dt)
  end)

  it("ctys.time is the wall clock, with fractions", function()
    local t = ctys.time()
    assert.truthy(math.abs(t - os.time()) <= 2, tostring(t))
    assert.equal("float", math.type(t))
  end)
end)

describe("ctys.system", function()
  local system = require "ctys.system"

  it("knows this process", function()
    local pid = math.tointeger(tonumber(assert(io.open("/proc/self/stat")):read("l"):match("^(%d+)")))
    assert.equal(true, system.alive(pid))
    assert.equal(false, system.alive(0))
    assert.equal(false, system.alive(4194304 + 7))
    assert.truthy(system.exe():find("/", 1, true))
    assert.equal(require("ctys.fs").euid(), (system.user()))
    assert.equal(system.user_name(), system.user_name(require("ctys.fs").euid()))
    assert.equal(0, (system.user("root")))
    assert.equal(nil, system.user("no-such-user-ctys"))
    assert.equal(0, system.group("0"))
    assert.same({}, system.modules("ctys.no_such_prefix."))
    assert.truthy(#system.modules("ctys.stack.") >= 2)
  end)

  it("signals a process it started, and sees it end", function()
    local pid = assert(ctys.proc.spawn { argv = { "sleep", "30" } })
    assert.equal(true, system.alive(pid))
    assert.equal(true, system.kill(pid, "SIGKILL"))
    local t0 = ctys.now()
    while system.alive(pid) and ctys.now() - t0 < 5 do ctys.sleep(0.02) end
    assert.equal(false, system.alive(pid))
  end)

  it("names bad arguments", function()
    assert.fails(1, "ctys.system.kill: bad argument 'signal': unknown signal 'SIGFOO'", system.kill, 1, "SIGFOO")
    assert.fails(1, "ctys.system.isatty: bad argument 'stream'", system.isatty, "stdnone")
  end)
end)

describe("ctys.net.parse_target", function()
  local parse = require("ctys.net").parse_target

  it("splits [user@]host[:port], IPv6 in brackets", function()
    assert.same({ host = "lab01" }, parse("lab01"))
    assert.same({ user = "root", host = "lab01", port = 2222 }, parse("root@lab01:2222"))
    assert.same({ user = "a", host = "::1", port = 22 }, parse("a@[::1]:22"))
    assert.same({ host = "fe80::1" }, parse("fe80::1"))
  end)

  it("returns nil and why for text of another form", function()
    for text, why in pairs {
      ["@h"] = "empty user before '@'", ["h:0"] = "port must be an integer 1..65535", ["h:x"] = "port must be an integer 1..65535",
      ["[::1"] = "missing ']'", ["[::1]x"] = "unexpected text after ']'", [""] = "empty host", ["-oX"] = "user or host starts with '-'",
      ["a@b@c"] = "host contains '@' or white space", [string.rep("u", 100000) .. "@h"] = "user name longer than 255 bytes",
    } do
      local t, e = parse(text)
      assert.equal(nil, t, text)
      assert.equal(why, e, text)
    end
  end)
end)

describe("ctys.remote takes hosts, not groups", function()
  it("refuses a group or an expression with a pointer to ctys.groups.hosts, before connecting", function()
    for _, h in ipairs { "@lab", "a,b", "lab[1-3]", "h(-d 1)" } do
      assert.fails(1, "ctys.remote.exec: bad argument 'hosts[1]': '" .. h .. "' is a group or an expression: expand it with ctys.groups.hosts first",
        ctys.remote.exec, { hosts = { h }, cmd = "true" })
    end
    assert.fails(1, "ctys.remote.console: bad argument 'host': '@lab' is a group", ctys.remote.console, { host = "@lab" })
  end)
end)
