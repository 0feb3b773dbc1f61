--- The local terminal as a full-screen view, for tools that redraw in place (`ctys status
--- --watch`): the alternate screen with the cursor hidden, keys read one at a time without echo,
--- and the terminal put back as it was by `close` (or when the view is collected, or the script
--- ends by error or signal). Ctrl-C still interrupts.
---
--- ```lua
--- local view = assert(ctys.term.screen())
--- repeat
---   local rows, cols = view:size()
---   view:write(ctys.term.frame({ "now " .. os.date("%T"), "q quits" }, rows, cols))
--- until view:key(1) == "q"
--- view:close()
--- ```
---@class ctys.term
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

---Take the terminal for a full-screen view; nil, err, kind "invalid" when standard input or
---output is not a terminal.
---@return ctys.core.Screen|nil view `:size()`, `:write(bytes)`, `:key(timeout?)`, `:close()`
---@return string? err
---@return string? kind
function M.screen()
  io.stdout:flush()
  return core.term_screen()
end

-- What a line may show: control characters (an escape from a hostile peer's text) become '?'.
local function shown(line)
  return (line:gsub("[%c\127]", "?"))
end

-- The first `cols` characters of a line (bytes when it is not UTF-8).
local function cut(line, cols)
  local n = utf8.len(line)
  if not n then return line:sub(1, cols) end
  if n <= cols then return line end
  return line:sub(1, utf8.offset(line, cols + 1) - 1)
end

---The bytes that draw `lines` over the whole screen from its top left: each line cut to `cols`
---characters, at most `rows` lines, the rest of each line and of the screen cleared; nothing
---ever scrolls (the last row gets no newline). Control characters in the text show as '?'.
---@param lines string[]
---@param rows integer
---@param cols integer
---@return string
function M.frame(lines, rows, cols)
  check.list("ctys.term.frame", "lines", lines, "string")
  for name, v in pairs { rows = rows, cols = cols } do
    if math.type(v) ~= "integer" or v < 1 then check.bad("ctys.term.frame", name, "expected a positive integer, got %s", tostring(v)) end
  end
  local out = { "\27[H" }
  for i = 1, math.min(#lines, rows) do
    out[#out + 1] = cut(shown(lines[i]), cols) .. "\27[K" .. (i < rows and "\r\n" or "")
  end
  out[#out + 1] = "\27[J"
  return table.concat(out)
end

return M
