-- Every public function of the ctys layer (lua/ctys) checks its arguments as the stdlib does:
-- a wrong type raises "ctys.<module>.<fn>: bad argument '<name>'" (exit 1), never "attempt
-- to index a nil value". Driven by the LuaCATS annotations, so a new function is covered too.
local core = require "ctys.core"
local err = require "ctys.err"

local WRONG = { string = 42, table = "x", boolean = "x", number = "x", integer = "x", ["function"] = 1 }

local function kind_of(t)
  if t:match("^fun%(") then return "function" end
  if t == "string" or t:match('^"') or t == "ctys.output.Mode" then return "string" end
  if t == "boolean" or t == "integer" or t == "number" then return t end
  if t == "file*" or t == "any" then return nil end
  return "table"
end

-- { module, function name, first parameter, its kind } for every annotated public function.
local function public_functions()
  local out = {}
  for _, path in ipairs(core.embedded_files()) do
    local rel = path:match("^lua/(ctys/.+)%.lua$")
    if rel then
      local modname = rel:gsub("/init$", ""):gsub("/", ".")
      local params = {}
      for line in core.embedded(path):gmatch("[^\n]*") do
        local name, opt, ty = line:match("^%-%-%-@param (%w[%w_]*)(%??) (%S+)")
        if name then
          params[#params + 1] = { name = name, optional = opt == "?", kind = kind_of(ty) }
        elseif line:match("^function M[.:]") then
          local fn = line:match("^function M[.:]([%w_]+)")
          if params[1] and not params[1].optional and params[1].kind then
            out[#out + 1] = { mod = modname, fn = fn, param = params[1] }
          end
          params = {}
        elseif not line:match("^%-%-%-") then
          params = {}
        end
      end
    end
  end
  return out
end

describe("the ctys layer's functions", function()
  it("name the argument of a wrong type, as misuse (exit 1)", function()
    local list = public_functions()
    assert.truthy(#list > 50, "annotated functions found: " .. #list)
    local bad = {}
    for _, f in ipairs(list) do
      local ok, e = pcall(require(f.mod)[f.fn], WRONG[f.param.kind])
      local code, msg = err.describe(e)
      local want = f.mod .. "." .. f.fn .. ": bad argument '" .. f.param.name .. "'"
      if ok or code ~= 1 or msg:sub(1, #want) ~= want then
        bad[#bad + 1] = string.format("%s.%s(%s): %s", f.mod, f.fn, f.param.name, ok and "no error" or msg)
      end
    end
    assert.same({}, bad)
  end)
end)
