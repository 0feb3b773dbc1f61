local hostlist = require "ctys.hostlist"

describe("ctys.hostlist.expand", function()
  it("expands ranges, lists, padding, steps and several brackets", function()
    assert.same({ "lab01", "lab02", "lab03", "lab07" }, hostlist.expand("lab[01-03,07]"))
    assert.same({ "h1", "h4", "h7", "h10" }, hostlist.expand("h[1-10/3]"))
    assert.same({ "r1-n1", "r1-n2", "r2-n1", "r2-n2" }, hostlist.expand("r[1-2]-n[1-2]"))
    assert.same({ "plain" }, hostlist.expand("plain"))
  end)

  it("names the bad word", function()
    assert.fails(1, "unbalanced '[' in 'lab[1-2'", hostlist.expand, "lab[1-2")
    assert.fails(1, "bad range '3-1' in 'h[3-1]'", hostlist.expand, "h[3-1]")
    assert.fails(1, "bad range 'x' in 'h[x]'", hostlist.expand, "h[x]")
    assert.fails(1, "empty range in 'h[]'", hostlist.expand, "h[]")
    assert.fails(1, "stray ']' in 'h]'", hostlist.expand, "h]")
    assert.fails(1, "too large", hostlist.expand, "h[1-9999999]")
  end)
end)

describe("ctys.hostlist.fold", function()
  it("folds as ClusterShell does, sorted, duplicates dropped", function()
    assert.equal("lab[01-04,07]", hostlist.fold { "lab07", "lab01", "lab02", "lab03", "lab04", "lab02" })
    assert.equal("127.0.0.[2-3,10]", hostlist.fold { "127.0.0.10", "127.0.0.3", "127.0.0.2" })
    assert.equal("h[9-10]", hostlist.fold { "h10", "h9" })
    assert.equal("a,b", hostlist.fold { "b", "a" })
    assert.equal("n1", hostlist.fold { "n1" })
  end)

  it("round-trips with expand", function()
    for _, w in ipairs { "h[001-064]", "rack[1-3]x", "lab[01-04,07]" } do
      assert.equal(w, hostlist.fold(hostlist.expand(w)))
    end
  end)
end)
