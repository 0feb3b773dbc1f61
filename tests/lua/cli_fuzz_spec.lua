-- No input breaks the grammar: thousands of hostile command lines, and every failure must be
-- a ctys usage error (exit 1, naming a token) — never a Lua runtime error from the parser.
local cli = require "ctys.cli"
local err = require "ctys.err"

local TOKENS = {
  "-t", "-T", "-a", "-d", "-X", "-V", "-h", "-l", "-b", "-c", "-Z", "--", "--dry-run", "-q", "-", "-tpm",
  "pm", "xen", "all", "create", "create=", "cancel=l:", "cancel=1:tst100,POWEROFF:0", "=x", ":", "::",
  ",", ",,", "%", "%%", "\\:", "m:00:11:22:33:44:55", "wol,,x", "lab01", "root@lab02:22", "@", "user@",
  "host:0", "host:99999", "[::1]:22", "fe80::1", "(", ")", "(-d 1)", "lab01(-d", "1)", "x(-a", "'", "\"",
  "()", "((", "))", "lab01(-d 1)x", "", " ", "\0", "é", string.rep("a", 300),
}

local function random_word(rng)
  if rng(4) > 1 then return TOKENS[rng(#TOKENS)] end
  local chars = {}
  for i = 1, rng(12) do chars[i] = string.char(rng(32, 126)) end
  return table.concat(chars)
end

describe("ctys.cli.parse under random input", function()
  it("raises only ctys usage errors", function()
    local rng = math.random
    math.randomseed(20261122)
    local failures, parsed = 0, 0
    for _ = 1, 5000 do
      local argv = {}
      for i = 1, rng(0, 8) do argv[i] = random_word(rng) end
      local ok, e = pcall(cli.parse, argv)
      if ok then
        parsed = parsed + 1
      else
        failures = failures + 1
        assert.truthy(err.is(e), "not a usage error for " .. table.concat(argv, " ") .. ": " .. tostring(e))
        assert.equal(1, e.code)
      end
    end
    assert.truthy(parsed > 0 and failures > 0, "the generator must hit both outcomes")
  end)
end)
