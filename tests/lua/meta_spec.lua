-- Stub drift: every ctys.core entry has a stub in lua/meta/ctys.d.lua, and every public
-- function of the built-in Lua modules carries a LuaCATS annotation.
local core = require "ctys.core"
local meta = assert(core.embedded("lua/meta/ctys.d.lua"), "lua/meta/ctys.d.lua is not embedded")

-- The lines of a file, and for each line whether the line above is a `---` annotation.
local function lines(src)
  local out = {}
  for line in (src .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end

local ml_all = lines(meta)
local function meta_line(i) return ml_all[i] end

describe("lua/meta/ctys.d.lua", function()
  local ml = ml_all

  local function stub_of(name)
    for i, line in ipairs(ml) do
      local fname = line:match("^function ctys%.core%.([%w_]+)%s*%(")
      local field = line:match("^ctys%.core%.([%w_]+)%s*=")
      if fname == name or field == name then return i end
    end
  end

  it("has a stub with an annotation for every ctys.core entry", function()
    local missing = {}
    for name in pairs(core) do
      local at = stub_of(name)
      if not at or not (ml[at - 1] or ""):match("^%-%-%-") then missing[#missing + 1] = name end
    end
    table.sort(missing)
    assert.same({}, missing, "ctys.core entries without an annotated stub")
  end)

  it("has no stub for something ctys.core does not have", function()
    local stale = {}
    for _, line in ipairs(ml) do
      local name = line:match("^function ctys%.core%.([%w_]+)%s*%(") or line:match("^ctys%.core%.([%w_]+)%s*=")
      if name and core[name] == nil then stale[#stale + 1] = name end
    end
    assert.same({}, stale, "stubs for entries ctys.core does not have")
  end)

  it("annotates parameters of every stubbed function", function()
    for i, line in ipairs(ml) do
      local params = line:match("^function [%w_.:]+%(([^)]*)%)")
      if params then
        for p in params:gmatch("[%w_]+") do
          local found = false
          for j = i - 1, 1, -1 do
            if not ml[j]:match("^%-%-%-") then break end
            if ml[j]:match("^%-%-%-@param " .. p .. "%??%s") then found = true end
          end
          assert.truthy(found, "lua/meta/ctys.d.lua:" .. i .. ": no ---@param for '" .. p .. "'")
        end
      end
    end
  end)
end)

describe("ctys.core functions held to their stubs", function()
  -- The first parameter of each stubbed function: its name and type, or nil.
  local function first_param(name)
    for i, line in ipairs(lines(meta)) do
      local params = line:match("^function ctys%.core%." .. name .. "%(([^)]*)%)")
      if params then
        local p = params:match("^[%w_.]+")
        if not p then return nil end
        for j = i - 1, 1, -1 do
          local ty = meta_line(j):match("^%-%-%-@param " .. p:gsub("%.", "%%.") .. "%??%s+(%S+)")
          if ty then return p, ty end
        end
      end
    end
  end

  it("name a wrongly typed argument in the contract's words, before any effect", function()
    local thread, n = coroutine.create(print), 0
    for name, f in pairs(core) do
      if type(f) == "function" then
        local p, ty = first_param(name)
        if ty ~= "any" then
          local ok, e = pcall(f, thread)
          assert.falsy(ok, name)
          local want = p and ("ctys.core." .. name .. ": bad argument '" .. p .. "': expected " .. ty .. ", got thread")
            or ("ctys.core." .. name .. ": bad argument #1: takes 0 argument(s)")
          assert.truthy(tostring(e):find(want, 1, true), tostring(e))
          n = n + 1
        end
      end
    end
    assert.truthy(n >= 70, "functions checked: " .. n)
  end)

  it("refuse a missing argument and an extra one", function()
    local ok, e = pcall(core.embedded)
    assert.truthy(not ok and tostring(e):find("ctys.core.embedded: bad argument 'path': expected string, got nothing", 1, true), tostring(e))
    ok, e = pcall(core.embedded, "x", 2)
    assert.truthy(not ok and tostring(e):find("ctys.core.embedded: bad argument #2: takes 1 argument(s)", 1, true), tostring(e))
    assert.equal(nil, core.embedded("x", nil))
  end)
end)

describe("built-in Lua modules", function()
  it("annotate every public function", function()
    local bad = {}
    for _, path in ipairs(core.embedded_files()) do
      if not path:match("^lua/meta/") then
        local fl = lines(core.embedded(path))
        for i, line in ipairs(fl) do
          if line:match("^function [%w_]+[.:][%w_]+%s*%(") and not (fl[i - 1] or ""):match("^%-%-%-") then
            bad[#bad + 1] = path .. ":" .. i
          end
        end
      end
    end
    assert.same({}, bad, "public functions without a --- annotation")
  end)
end)

describe("the option tables of ctys.core", function()
  -- The fields of a `---@class NAME` block in the stubs.
  local function stub_fields(class)
    local fields, inside = {}, false
    for line in (meta .. "\n"):gmatch("(.-)\n") do
      if line == "---@class " .. class or line:find("---@class " .. class .. " :", 1, true) == 1 then
        inside = true
      elseif inside then
        local f = line:match("^%-%-%-@field ([%w_]+)%??%s")
        if not f then break end
        fields[#fields + 1] = f
      end
    end
    table.sort(fields)
    return fields
  end

  it("have stubs whose fields are exactly the fields the code reads", function()
    local n = 0
    for class, fields in pairs(core.schema) do
      n = n + 1
      local want = { table.unpack(fields) }
      table.sort(want)
      assert.same(want, stub_fields(class), class)
    end
    assert.truthy(n >= 7, "schemas found: " .. n)
  end)

  it("refuse a field they do not read, naming it", function()
    local ok, e = pcall(core.proc_spawn, { argv = { "true" }, evn = {} })
    assert.falsy(ok)
    assert.truthy(tostring(e):find("ctys.core.proc_spawn: bad argument 'spec': unknown field 'evn' (ctys.core.SpawnSpec)", 1, true), tostring(e))
    -- The bindings' own misuse names the function and the argument too.
    for _, c in ipairs {
      { function() core.isatty("stdnone") end, "ctys.core.isatty: bad argument 'stream'" },
      { function() core.kill(999999, "SIGFOO") end, "ctys.core.kill: bad argument 'signal'" },
      { function() core.set_log_level("loud") end, "ctys.core.set_log_level: bad argument 'level'" },
      { function() core.remote_exec { targets = {}, cmd = "true", strict = "maybe" } end, "ctys.core.remote_exec: bad argument 'spec.strict'" },
      { function() core.net_tap_add { name = "\255" } end, "ctys.core.net_tap_add: bad argument 'spec.name': '" },
      { function() core.vde_check_paths { sock = "/tmp/a", mgmt = "/tmp/b" } end, "ctys.core.vde_check_paths: bad argument 'spec.pidfile': missing" },
    } do
      local ok2, e2 = pcall(c[1])
      assert.falsy(ok2)
      assert.truthy(tostring(e2):find(c[2], 1, true), tostring(e2))
    end
  end)
end)
