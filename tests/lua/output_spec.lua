local output = require "ctys.output"

-- A file handle that collects what is written.
local function sink()
  local parts = {}
  return { write = function(self, ...) for i = 1, select("#", ...) do parts[#parts + 1] = tostring(select(i, ...)) end return self end,
           text = function() return table.concat(parts) end }
end

local RESULTS = {
  { host = "lab01", status = 0, stdout = "up 3 days\n", stderr = "" },
  { host = "lab02", status = 0, stdout = "up 3 days\n", stderr = "warn\n" },
  { host = "lab03", status = 2, stdout = "x;y\\z\nsecond", stderr = "" },
  { host = "lab04", stdout = "", stderr = "", err = "lab04: connect 10.0.0.4:22: refused", kind = "connect" },
  { host = "lab05", signal = "KILL", stdout = "", stderr = "" },
}

describe("ctys.output", function()
  it("prefixes lines with the host (pdsh)", function()
    local out, err = sink(), sink()
    output.print(RESULTS, "prefix", out, err)
    assert.equal("lab01: up 3 days\nlab02: up 3 days\nlab03: x;y\\z\nlab03: second\n", out.text())
    assert.equal("lab02: warn\n", err.text())
  end)

  it("gathers identical outputs under a folded host list (clush -b)", function()
    local out, err = sink(), sink()
    output.print(RESULTS, "gather", out, err)
    assert.equal("---------------\nlab[01-02] (2)\n---------------\nup 3 days\n"
      .. "---------------\nlab03\n---------------\nx;y\\z\nsecond\n", out.text())
  end)

  it("writes terse records with escapes (-X)", function()
    local out = sink()
    output.print(RESULTS, "terse", out, sink())
    local lines = {}
    for l in out.text():gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("lab03;2;;;;x\\;y\\\\z\\nsecond;", lines[3])
    assert.equal("lab04;;;connect;lab04: connect 10.0.0.4:22: refused;;", lines[4])
    assert.equal("lab05;;KILL;;;;", lines[5])
  end)

  it("writes one JSON object a host", function()
    local out = sink()
    output.print({ RESULTS[5] }, "json", out, sink())
    assert.equal('{"err":null,"host":"lab05","kind":null,"signal":"KILL","status":null,"stderr":"","stdout":""}\n', out.text())
  end)

  it("names each failed host and why, and sets the exit value", function()
    local err = sink()
    assert.equal(3, output.report_failures(RESULTS, "ctys", err))
    assert.equal("ctys: lab03: exit 2\nctys: lab04: connect 10.0.0.4:22: refused\nctys: lab05: killed by signal KILL\n", err.text())
    assert.equal(255, output.exit_value(RESULTS))
    assert.equal(2, output.exit_value { RESULTS[1], RESULTS[3] })
    assert.equal(0, output.exit_value { RESULTS[1] })
  end)
end)
