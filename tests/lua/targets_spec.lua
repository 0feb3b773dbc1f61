-- Specs for ctys.targets: target words and context word splitting.
local targets = require("ctys.targets")

describe("ctys.targets.parse", function()
  it("reads a bare host", function()
    assert.same({ host = "lab01", raw = "lab01" }, targets.parse("lab01"))
  end)

  it("reads user, host and port", function()
    assert.same({ user = "root", host = "lab02", port = 2222, raw = "root@lab02:2222" },
      targets.parse("root@lab02:2222"))
  end)

  it("reads a group name that is a relative path", function()
    assert.same({ host = "desktops/tst/ctys-lab", raw = "desktops/tst/ctys-lab" },
      targets.parse("desktops/tst/ctys-lab"))
  end)

  it("reads a context in parentheses", function()
    assert.same({ host = "host", ctx_raw = "-d 1", raw = "host(-d 1)" }, targets.parse("host(-d 1)"))
  end)

  it("reads the original's group entry", function()
    local word = "root@lab02(-a create=l:LAB02,reuse -c local -b 1,2 )"
    assert.same({ user = "root", host = "lab02", ctx_raw = "-a create=l:LAB02,reuse -c local -b 1,2 ",
                  raw = word }, targets.parse(word))
  end)

  it("reads IPv6 addresses, with a port in brackets", function()
    assert.same({ host = "::1", port = 22, raw = "[::1]:22" }, targets.parse("[::1]:22"))
    assert.same({ user = "u", host = "fe80::1", raw = "u@[fe80::1]" }, targets.parse("u@[fe80::1]"))
    assert.same({ host = "fe80::1", raw = "fe80::1" }, targets.parse("fe80::1"))
  end)

  it("rejects a bad port", function()
    for _, word in ipairs({ "lab01:0", "lab01:65536", "lab01:x", "lab01:", "lab01:-1", "[::1]:99999" }) do
      assert.fails(1, "'" .. word .. "'", targets.parse, word)
    end
  end)

  it("rejects an empty host or user", function()
    for _, word in ipairs({ "@host", "user@", "", ":22", "a@b@c", "[]:22", "[::1", "[::1]x" }) do
      assert.fails(1, "'" .. word .. "'", targets.parse, word)
    end
  end)

  it("rejects a user or host that would read as a command option", function()
    for _, word in ipairs({ "-oProxyCommand=x", "-o@lab01", "u@-h" }) do
      assert.fails(1, "'" .. word .. "'", targets.parse, word)
    end
  end)

  it("rejects unbalanced or stray parentheses", function()
    for _, word in ipairs({ "lab01(-d 1", "lab01)", "lab01(-d 1)x" }) do
      assert.fails(1, "'" .. word .. "'", targets.parse, word)
    end
  end)
end)

describe("ctys.targets.format", function()
  it("gives back the canonical text", function()
    assert.equal("root@lab02:22", targets.format(targets.parse("root@lab02:22(-d 1)")))
    assert.equal("lab01", targets.format({ host = "lab01" }))
    assert.equal("[::1]:22", targets.format(targets.parse("[::1]:22")))
    assert.equal("u@[fe80::1]", targets.format(targets.parse("u@fe80::1")))
  end)
end)

describe("ctys.targets.split_words", function()
  it("splits on white space", function()
    assert.same({ "-a", "create=l:LAB02,reuse", "-c", "local", "-b", "1,2" },
      targets.split_words("-a create=l:LAB02,reuse -c local -b 1,2 "))
    assert.same({ "-d", "1" }, targets.split_words("\t -d\n1  "))
    assert.same({}, targets.split_words("  "))
  end)

  it("groups words in quotes and removes the quotes", function()
    assert.same({ "-c", "a b", "x'y", 'p"q', "" }, targets.split_words([[-c "a b" "x'y" 'p"q' '']]))
    assert.same({ "ab cd" }, targets.split_words([[a"b c"d]]))
  end)

  it("rejects an unbalanced quote", function()
    assert.fails(1, [['-c "a b']], targets.split_words, [[-c "a b]])
  end)
end)
