--- Machines from files a site already has: ISC dhcpd.conf host blocks and /etc/ethers lines
--- (what the original's ctys-extractMAClst read), as records for database lines.
---@class ctys.tools.machines.import
local M = {}

local check = require "ctys.check"
local err = require "ctys.err"

-- dhcpd.conf as tokens with their line numbers: words, quoted strings, { } ; (comments gone).
local function tokens(text, name)
  local out, line, i, n = {}, 1, 1, #text
  while i <= n do
    local c = text:sub(i, i)
    if c == "\n" then
      line, i = line + 1, i + 1
    elseif c:match("%s") then
      i = i + 1
    elseif c == "#" then
      i = (text:find("\n", i, true) or n + 1)
    elseif c == '"' then
      local j = text:find('"', i + 1, true)
      if not j then err.env("%s:%d: a quoted string that does not end", name, line) end
      out[#out + 1] = { text:sub(i + 1, j - 1), line, quoted = true }
      local _, nl = text:sub(i, j):gsub("\n", "")
      line, i = line + nl, j + 1
    elseif c == "{" or c == "}" or c == ";" then
      out[#out + 1] = { c, line }
      i = i + 1
    else
      local j = text:find('[%s{};"#]', i) or n + 1
      out[#out + 1] = { text:sub(i, j - 1), line }
      i = j
    end
  end
  return out
end

---Machines from ISC dhcpd.conf text: each host block's name, MAC and (the first) fixed address.
---A malformed file raises exit 2 naming `name` and the line.
---@param text string
---@param name string the file, for messages
---@return table[] machines {name, mac?, ip?}, in file order
function M.dhcpd(text, name)
  check.arg("ctys.tools.machines.import.dhcpd", "text", text, "string")
  check.arg("ctys.tools.machines.import.dhcpd", "name", name, "string")
  local wol, net = require "ctys.wol", require "ctys.net"
  local t, out, depth, i = tokens(text, name), {}, 0, 1
  local function at(k) return t[k] and t[k][1] end
  while t[i] do
    local w, line = t[i][1], t[i][2]
    if w == "{" then
      depth = depth + 1
    elseif w == "}" then
      depth = depth - 1
      if depth < 0 then err.env("%s:%d: a '}' without its '{'", name, line) end
    elseif w == "host" and not t[i].quoted then
      local host = at(i + 1)
      if not host or host == "{" or at(i + 2) ~= "{" then err.env("%s:%d: expected 'host NAME {'", name, line) end
      if host:find("[%s%c]") or host == "" then err.env("%s:%d: bad host name %q", name, line, host) end
      local m, k = { name = host }, i + 3
      while at(k) ~= "}" do
        if not t[k] then err.env("%s:%d: host %s's block does not end", name, line, host) end
        if at(k) == "{" then err.env("%s:%d: a block inside host %s", name, t[k][2], host) end
        -- One statement: words up to its ';'.
        local words, sline = {}, t[k][2]
        while at(k) ~= ";" do
          if not t[k] or at(k) == "}" or at(k) == "{" then err.env("%s:%d: a statement without its ';' in host %s", name, sline, host) end
          words[#words + 1] = at(k)
          k = k + 1
        end
        k = k + 1
        local key = words[1] and words[1]:lower()
        if key == "hardware" then
          if #words ~= 3 then err.env("%s:%d: expected 'hardware ethernet MAC;'", name, sline) end
          m.mac = wol.parse_mac(words[3]) or err.env("%s:%d: bad MAC %q", name, sline, words[3])
        elseif key == "fixed-address" then
          local first = (words[2] or ""):match("^[^,]+")
          if not first then err.env("%s:%d: fixed-address without an address", name, sline) end
          -- A name there is left to the resolver: only an address goes into the database.
          m.ip = net.parse_ip(first) and first or nil
        end
      end
      out[#out + 1] = m
      i = k
    end
    i = i + 1
  end
  if depth > 0 then err.env("%s: a '{' that is not closed", name) end
  return out
end

---Machines from /etc/ethers text (`MAC NAME-OR-ADDRESS`, comments, any case): a malformed
---line raises exit 2 naming `name` and the line.
---@param text string
---@param name string the file, for messages
---@return table[]
function M.ethers(text, name)
  check.arg("ctys.tools.machines.import.ethers", "text", text, "string")
  check.arg("ctys.tools.machines.import.ethers", "name", name, "string")
  local wol, net = require "ctys.wol", require "ctys.net"
  local out, n = {}, 0
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    n = n + 1
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then
      local mac, who, extra = line:match("^(%S+)%s+(%S+)%s*(.*)$")
      if not mac or extra ~= "" then err.env("%s:%d: expected 'MAC NAME'", name, n) end
      local m = wol.parse_mac(mac) or err.env("%s:%d: bad MAC %q", name, n, mac)
      out[#out + 1] = { name = who, mac = m, ip = net.parse_ip(who) and who or nil }
    end
  end
  return out
end

return M
