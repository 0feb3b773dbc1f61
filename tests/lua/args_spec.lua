-- Every public function of the stdlib (stdlib/ctys) and of the ctys layer (lua/ctys) checks
-- its arguments: a wrong type in any position raises "ctys.<module>.<fn>: bad argument
-- '<name>'" (exit 1), never "attempt to index a nil value" or a conversion error. Driven by
-- the LuaCATS annotations, so a new function is covered too.
local core = require "ctys.core"
local err = require "ctys.err"

local WRONG = { string = 42, table = "x", boolean = "x", number = "x", integer = "x", ["function"] = 1 }

-- The kind a `---@param` type asks for, or nil when any value may do.
local function kind_of(t)
  if t:match("^fun%(") then return "function" end
  if t == "string" or t:match('^"') or t == "ctys.output.Mode" then return "string" end
  if t == "boolean" or t == "integer" or t == "number" then return t end
  if t == "file*" or t == "any" or t:find("|", 1, true) then return nil end
  return "table"
end

-- Functions that take anything by design, or whose wrong argument is itself a value to show.
local ANY = { ["ctys.pretty.format"] = true, ["ctys.json.encode"] = true, ["ctys.log.format"] = true }

-- { module, function name, parameters } for every annotated public function.
local function public_functions()
  local out = {}
  for _, path in ipairs(core.embedded_files()) do
    local rel = path:match("^lua/(ctys/.+)%.lua$") or path:match("^stdlib/(ctys/.+)%.lua$")
    if rel and rel ~= "ctys/test" then
      local modname = rel:gsub("/init$", ""):gsub("/", ".")
      local params = {}
      for line in core.embedded(path):gmatch("[^\n]*") do
        local name, opt, ty = line:match("^%-%-%-@param (%w[%w_]*)(%??) (%S+)")
        if name then
          params[#params + 1] = { name = name, optional = opt == "?", kind = kind_of(ty) }
        elseif line:match("^function M%.") then
          local fn = line:match("^function M%.([%w_]+)")
          if #params > 0 and not ANY[modname .. "." .. fn] then out[#out + 1] = { mod = modname, fn = fn, params = params } end
          params = {}
        elseif not line:match("^%-%-%-") then
          params = {}
        end
      end
    end
  end
  return out
end

describe("the public functions", function()
  it("name an argument of a wrong type, in any position, as misuse (exit 1)", function()
    local list = public_functions()
    assert.truthy(#list > 150, "annotated functions found: " .. #list)
    local bad = {}
    for _, f in ipairs(list) do
      for i, p in ipairs(f.params) do
        if p.kind then
          -- Earlier arguments are left out: a required one missing is named first, still misuse.
          local args = { n = i }
          args[i] = WRONG[p.kind]
          local ok, e = pcall(require(f.mod)[f.fn], table.unpack(args, 1, args.n))
          local code, msg = err.describe(e)
          local want = f.mod .. "." .. f.fn .. ": bad argument '"
          if ok or code ~= 1 or msg:sub(1, #want) ~= want then
            bad[#bad + 1] = string.format("%s.%s(#%d %s): %s", f.mod, f.fn, i, p.name, ok and "no error" or msg:gsub("\n.*", ""))
          end
        end
      end
    end
    assert.same({}, bad)
  end)
end)
