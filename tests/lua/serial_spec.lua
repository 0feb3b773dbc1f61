local serial = require "ctys.serial"
local json = require "ctys.json"

describe("ctys.serial", function()
  it("round-trips plain data, byte-exact strings and special numbers", function()
    local v = { 1, 2.5, "a\0b\n\"\\\200\r", { x = true, y = false }, n = -3, big = math.maxinteger, [3.5] = "k" }
    local d = assert(serial.decode(serial.encode(v)))
    assert.same(v, d)
    assert.equal(math.huge, serial.decode(serial.encode(math.huge)))
    local nan = serial.decode(serial.encode(0 / 0))
    assert.truthy(nan ~= nan)
    assert.equal("<function>", serial.decode(serial.encode(print)))
  end)

  it("never runs what it decodes, and names the bad byte", function()
    for _, text in ipairs { "os.exit(3)", "(function() end)()", "{[1]=2", '"open', "{[nil]=1,}", "1 2" } do
      local v, e = serial.decode(text)
      assert.equal(nil, v)
      assert.truthy(e:find("^ctys.serial.decode: .* at byte %d+$"), e)
    end
    assert.truthy(select(2, serial.decode(string.rep("{[1]=", 1000))):find("nesting too deep"))
  end)

  it("refuses cycles", function()
    local t = {}
    t.self = t
    assert.raises(function() serial.encode(t) end, "contains itself")
  end)
end)

describe("ctys.json", function()
  it("encodes objects with sorted keys, arrays, null and escapes", function()
    assert.equal('{"a":[1,2.5,"x"],"b":null,"c":{},"d":"q\\"\\n\\u0001"}',
      json.encode { a = { 1, 2.5, "x" }, b = json.null, c = {}, d = 'q"\n\1' })
  end)

  it("keeps binary bytes as \\u00XX so the text stays valid", function()
    assert.equal('"\\u00ffa"', json.encode "\255a")
    assert.equal('"é"', json.encode "é")
  end)
end)
