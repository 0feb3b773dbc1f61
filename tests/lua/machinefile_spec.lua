-- ctys.machinefile: merging found machines into a hand-written file keeps its comments, order,
-- formats and fields, and what it writes reads back through ctys.machines.
local mf = require "ctys.machinefile"
local machines = require "ctys.machines"

describe("ctys.machinefile.merge", function()
  local hand = table.concat({
    "# the lab, by hand",
    "lab01 ip=10.0.0.1 rack=r1   # by the window",
    "",
    "lab02;10.0.0.2;00:11:22:33:44:02  # the original's format",
    "lab03 00:11:22:33:44:03 10.0.0.3",
    "lab04 mac=00:11:22:33:44:04",
  }, "\n") .. "\n"

  it("keeps comments, order and hand-written fields; replaces found ones; appends new machines", function()
    local text, what = mf.merge(hand, {
      { name = "lab01", mac = "00:11:22:33:44:01", ip = "10.0.0.1", os = "debian-12" },
      { name = "lab02", mac = "00:11:22:33:44:22" },
      { name = "lab04", mac = "00:11:22:33:44:04" },
      { name = "lab05", mac = "00:11:22:33:44:05", ip = "10.0.0.5" },
    })
    assert.equal(table.concat({
      "# the lab, by hand",
      "lab01 ip=10.0.0.1 rack=r1 mac=00:11:22:33:44:01 os=debian-12  # by the window",
      "",
      "lab02 ip=10.0.0.2 mac=00:11:22:33:44:22  # the original's format",
      "lab03 00:11:22:33:44:03 10.0.0.3",
      "lab04 mac=00:11:22:33:44:04",
      "lab05 mac=00:11:22:33:44:05 ip=10.0.0.5",
    }, "\n") .. "\n", text)
    assert.same({ "lab05" }, what.added)
    assert.same({ "lab01", "lab02" }, what.changed)
    local db = machines.parse(text, "m")
    assert.equal("r1", db.lab01.rack)
    assert.equal("00:11:22:33:44:03", db.lab03.mac)
    -- Merging the same again changes nothing.
    local again, what2 = mf.merge(text, { { name = "lab01", mac = "00:11:22:33:44:01", os = "debian-12" } })
    assert.equal(text, again)
    assert.same({}, what2.changed)
  end)

  it("rewrites a bare word's line as key=value words only when it changes", function()
    local text = mf.merge(hand, { { name = "lab03", os = "x" } })
    assert.truthy(text:find("\nlab03 mac=00:11:22:33:44:03 ip=10.0.0.3 os=x\n", 1, true), text)
  end)

  it("starts a new file and a file without a last newline", function()
    assert.equal("a mac=00:11:22:33:44:55\n", (mf.merge("", { { name = "a", mac = "00:11:22:33:44:55" } })))
    assert.equal("# x\na ip=10.0.0.1\n", (mf.merge("# x", { { name = "a", ip = "10.0.0.1" } })))
  end)

  it("diffs by line", function()
    local new = mf.merge(hand, { { name = "lab04", ip = "10.0.0.4" }, { name = "lab06", ip = "10.0.0.6" } })
    assert.equal("--- f\n+++ f (merged)\n@@ line 6\n-lab04 mac=00:11:22:33:44:04\n+lab04 mac=00:11:22:33:44:04 ip=10.0.0.4\n@@ line 7\n+lab06 ip=10.0.0.6\n",
      mf.diff(hand, new, "f"))
    assert.equal("", mf.diff(hand, hand, "f"))
  end)
end)

describe("ctys.machinefile.write", function()
  it("keeps FILE.bak, writes atomically and refuses a merge that would not read back", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(require("ctys.fs").private_dir(dir))
    local path = dir .. "/machines"
    assert(require("ctys.fs").write(path, "# mine\nlab01 ip=10.0.0.1\n"))
    local diff = mf.write(path, { { name = "lab01", mac = "00:11:22:33:44:01" } }, false)
    assert.truthy(diff:find("+lab01 ip=10.0.0.1 mac=00:11:22:33:44:01", 1, true), diff)
    assert.equal("# mine\nlab01 ip=10.0.0.1\n", (require("ctys.fs").read(path)))
    mf.write(path, { { name = "lab01", mac = "00:11:22:33:44:01" } }, true)
    assert.equal("# mine\nlab01 ip=10.0.0.1 mac=00:11:22:33:44:01\n", (require("ctys.fs").read(path)))
    assert.equal("# mine\nlab01 ip=10.0.0.1\n", (require("ctys.fs").read(path .. ".bak")))
    -- A bad value would make the file unreadable: refused, the file untouched.
    local ok, e = pcall(mf.write, path, { { name = "lab01", mac = "zz" } }, true)
    assert.falsy(ok)
    local _, msg = require("ctys.err").describe(e)
    assert.truthy(msg:find("bad mac", 1, true), msg)
    assert.equal("# mine\nlab01 ip=10.0.0.1 mac=00:11:22:33:44:01\n", (require("ctys.fs").read(path)))
    require("ctys.fs").remove(dir)
  end)
end)
