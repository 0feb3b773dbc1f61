-- ctys.fs: changes through descriptors that follow no link, on the caller's own entries, and a
-- removal that never reaches `/`, a `..` path or outside the directory it is given.
local fs = require "ctys.fs"
local tempdir = require("ctys.test").tempdir

describe("ctys.fs", function()
  it("chmod, chown and rename act on the entry, never through a link", function()
    local d = tempdir()
    local f = d:write("f", "x")
    assert(fs.chmod(f, tonumber("640", 8)))
    assert.equal(tonumber("640", 8), fs.stat(f).mode)
    assert(fs.chown(f, nil, fs.stat(f).gid))
    local link = d.path .. "/l"
    assert(os.execute("ln -s f " .. link) or true)
    local ok, e, kind = fs.chmod(link, tonumber("600", 8))
    assert.same({ nil, "untrusted" }, { ok, kind }, e)
    assert.equal(tonumber("640", 8), fs.stat(f).mode)
    assert(fs.rename(f, d.path .. "/g"))
    assert.equal("file", fs.stat(d.path .. "/g").type)
    assert.equal(nil, fs.stat(f))
    assert.same({ nil, "notfound" }, { select(1, fs.rename(f, d.path .. "/h")), select(3, fs.rename(f, d.path .. "/h")) })
  end)

  it("remove refuses /, .. and paths outside `within` before it looks", function()
    local d = tempdir()
    d:write("lab/x/y", "y")
    for _, p in ipairs { "/", "/.", d.path .. "/../x" } do
      local ok, _, kind = fs.remove(p)
      assert.same({ nil, "invalid" }, { ok, kind }, p)
    end
    local ok, _, kind = fs.remove(d.path .. "/lab/x", { within = d.path .. "/other" })
    assert.same({ nil, "invalid" }, { ok, kind })
    assert.equal("dir", fs.stat(d.path .. "/lab/x").type)
    assert.equal(true, fs.remove(d.path .. "/lab/x", { within = d.path .. "/lab" }))
    assert.equal(nil, fs.stat(d.path .. "/lab/x"))
    assert.fails(1, "ctys.fs.chmod: bad argument 'mode'", fs.chmod, d.path, 99999)
    assert.fails(1, "ctys.fs.rename: bad argument 'to'", fs.rename, d.path, "")
  end)
end)
