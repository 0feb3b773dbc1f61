--- The Xen stack handler: the domains `xl list` shows, Domain-0 (this machine) left out;
--- `xl shutdown` asks a domain to go down, `xl destroy` pulls its plug. It is here when xl is
--- and answers (`xl info`: this machine is a Xen Domain-0).
local commands = require "ctys.commands"

return {
  name = "xen",
  available = function() return commands.available("xl") and commands.read("xl", "info") ~= nil end,
  list = function()
    local out, e = commands.read("xl", "list")
    if not out then return nil, e end
    local vms = {}
    for line in out:gmatch("[^\n]+") do
      local name, id = line:match("^(%S+)%s+(%d+)%s")
      if name and id ~= "0" then vms[#vms + 1] = name end
    end
    return vms
  end,
  cancel = function(vm, how) return commands.run("xl", how, vm) end,
}
