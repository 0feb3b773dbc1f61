-- ctys.err.must, must_with and try: the one way between "nil, message, kind" and a raised
-- error with an exit value.
local err = require "ctys.err"

describe("ctys.err.must", function()
  it("passes a value through and raises a failure with the exit value of its kind", function()
    assert.equal(5, err.must(5, "unused", "io"))
    assert.equal(false, err.must(false))
    assert.fails(2, "no such file", err.must, nil, "no such file", "notfound")
    assert.fails(2, "needs CAP_NET_ADMIN", err.must, nil, "needs CAP_NET_ADMIN", "permission")
    assert.fails(3, "no answer", err.must, nil, "no answer", "timeout")
    assert.fails(3, "failed", err.must, nil)
  end)

  it("takes its own exit values with must_with", function()
    local must = err.must_with { exists = err.USAGE, default = err.ENV }
    assert.equal("x", must("x"))
    assert.fails(1, "ctysbr0 exists", must, nil, "ctysbr0 exists", "exists")
    assert.fails(2, "refused", must, nil, "refused", "other")
    assert.fails(1, "ctys.err.must_with: bad argument 'codes'", err.must_with, { exists = 0 })
    assert.fails(1, "ctys.err.must_with: bad argument 'codes'", err.must_with, "x")
  end)
end)

describe("ctys.err.try", function()
  it("returns what the function returns, or nil, the message and a kind", function()
    assert.same({ 1, 2 }, { err.try(function(a) return a, 2 end, 1) })
    assert.same({ nil, "bad x", "usage" }, { err.try(err.usage, "bad %s", "x") })
    assert.same({ nil, "no tool", "env" }, { err.try(err.env, "no tool") })
    assert.same({ nil, "down", "failed" }, { err.try(err.failed, "down") })
    local r = { err.try(function() error("boom", 0) end) }
    assert.same({ nil, "boom", "error" }, r)
    assert.fails(1, "ctys.err.try: bad argument 'f'", err.try, 5)
  end)
end)
