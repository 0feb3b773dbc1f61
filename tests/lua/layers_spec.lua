-- The layers depend one way: lua/ctys (the ctys decisions) uses stdlib (the public API), which
-- uses ctys.core (the native bindings); stdlib never requires the ctys layer and the ctys layer
-- never calls ctys.core itself.
local core = require "ctys.core"

-- The code of a Lua source without its comments (annotations name ctys.core types).
local function code_of(src)
  local out = {}
  for line in (src .. "\n"):gmatch("(.-)\n") do
    out[#out + 1] = (line:gsub("%-%-.*$", ""))
  end
  return table.concat(out, "\n")
end

local function files_under(prefix)
  local list = {}
  for _, p in ipairs(core.embedded_files()) do
    if p:sub(1, #prefix) == prefix and p:match("%.lua$") then list[#list + 1] = p end
  end
  table.sort(list)
  return list
end

-- Module names a source requires with a literal name.
local function requires(src)
  local names = {}
  for name in code_of(src):gmatch("require%s*%(?%s*[\"']([%w_.]+)[\"']") do names[#names + 1] = name end
  return names
end

describe("the layers", function()
  it("the ctys layer (lua/) never touches ctys.core", function()
    local bad = {}
    for _, p in ipairs(files_under("lua/ctys/")) do
      if code_of(core.embedded(p)):find("ctys%.core") then bad[#bad + 1] = p end
    end
    assert.same({}, bad)
  end)

  it("stdlib requires only stdlib modules and ctys.core", function()
    local bad = {}
    for _, p in ipairs(files_under("stdlib/")) do
      for _, name in ipairs(requires(core.embedded(p))) do
        local rel = name:gsub("%.", "/")
        if name ~= "ctys.core" and not (core.embedded("stdlib/" .. rel .. ".lua") or core.embedded("stdlib/" .. rel .. "/init.lua")) then
          bad[#bad + 1] = p .. " requires " .. name
        end
      end
      if code_of(core.embedded(p)):find("ctys%.tools%.") or code_of(core.embedded(p)):find("ctys%.actions%.") then
        bad[#bad + 1] = p .. " names the ctys layer's tools or actions"
      end
    end
    assert.same({}, bad)
  end)

  it("finds what it looks for", function()
    -- The checks above would pass on an empty tree: they must see the files and their requires.
    assert.truthy(#files_under("lua/ctys/") > 20)
    assert.truthy(#requires(core.embedded("stdlib/ctys/remote.lua")) >= 2)
    assert.truthy(code_of('local x = require "ctys.core" -- note'):find("ctys%.core"))
    assert.falsy(code_of('---@return ctys.core.RemoteResult'):find("ctys%.core"))
  end)
end)
