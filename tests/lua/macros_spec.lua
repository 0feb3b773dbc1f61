-- MACROS in the original ctys's file format, in fixture trees this spec writes.
local macros = require "ctys.macros"

local fixtures = require("ctys.test").tempdir()
local root = fixtures.path
local function write(rel, text) fixtures:write(rel, text) end

write("site/default", [[
# the original's lines
F_LABEL     = 3_label_10
TAB_HYPER = -a enumerate=machine
ehyper=-a enumerate={macro:TAB_HYPER}
TAB_TST000 = b:/shared,sort
test000=-a enumerate=b:ctys,sort,macro:TAB_TST000%basetest
LONG = -t pm \
  -a create=wol,l:{macro:F_LABEL}
nested = MACRO:LONG lab01
CYC_A = x{macro:CYC_B}
CYC_B = y{macro:CYC_A}
RUN = echo hello
]])
write("site/basetest", "TAB_TST000 = b:/base,tst\n")
write("user/default", "F_LABEL = user_label\n")

describe("ctys.macros", function()
  before_each(function() macros.dirs = { root .. "/user", root .. "/site" }; macros.reload() end)
  after_each(function() macros.dirs = nil; macros.allow_eval = false end)

  it("expands whole words into words and references inside words as text", function()
    macros.dirs = { root .. "/site" }
    assert.same({ "-t", "pm", "-a", "create=wol,l:3_label_10", "lab01" }, macros.expand_argv { "MACRO:nested" })
    assert.same({ "-a", "enumerate=-a enumerate=machine" }, macros.expand_argv { "-a", "enumerate={macro:TAB_HYPER}" })
  end)

  it("takes the first directory that has the file, and %file names another file", function()
    -- The first `default` found shadows the others whole: user/default has F_LABEL only.
    assert.same({ "user_label" }, macros.expand_argv { "MACRO:F_LABEL" })
    assert.fails(2, "macro LONG is not defined in " .. root .. "/user/default", macros.expand_argv, { "MACRO:LONG" })
    macros.dirs = { root .. "/site" }
    macros.reload()
    assert.same({ "-a", "enumerate=b:ctys,sort,b:/base,tst" }, macros.expand_argv { "MACRO:test000" })
  end)

  it("accepts the keyword in any case, %ECHO, and %OPTIONAL for a missing macro", function()
    macros.dirs = { root .. "/site" }
    assert.same({ "3_label_10" }, macros.expand_argv { "Macro:F_LABEL%ECHO" })
    assert.same({ "a", "b" }, macros.expand_argv { "a", "macro:NOPE%OPTIONAL", "b" })
    assert.same({ "x=y" }, macros.expand_argv { "x={macro:NOPE%OPTIONAL}y" })
    assert.fails(2, "macro NOPE is not defined", macros.expand_argv, { "macro:NOPE" })
  end)

  it("names a cycle", function()
    macros.dirs = { root .. "/site" }
    assert.fails(1, "macro cycle: CYC_A -> CYC_B -> CYC_A", macros.expand_argv, { "{macro:CYC_A}" })
  end)

  it("refuses %EVAL unless the site allows it", function()
    macros.dirs = { root .. "/site" }
    assert.fails(1, "%EVAL would run the macro's value as a shell command; refused", macros.expand_argv, { "macro:RUN%EVAL" })
    macros.allow_eval = true
    assert.same({ "hello" }, macros.expand_argv { "macro:RUN%EVAL" })
  end)

  it("names malformed lines and duplicates by file and line (exit 1)", function()
    assert.fails(1, "f:2: expected NAME = value, got 'just words'", macros.parse, "A = 1\njust words\n", "f")
    assert.fails(1, "f:3: macro A is defined again (first at line 1)", macros.parse, "A = 1\n# c\nA = 2\n", "f")
    assert.fails(1, "f:1: the file ends in a continued line", macros.parse, "A = 1 \\", "f")
    assert.same({ A = { value = "1 2", line = 1 } }, macros.parse("A = 1 \\\n2\n", "f"))
  end)
end)
