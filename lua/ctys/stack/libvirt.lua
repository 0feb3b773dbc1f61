--- The libvirt stack handler: the machines `virsh list --name` shows; `virsh shutdown` asks a
--- guest to go down, `virsh destroy` pulls its plug. The `virsh` entry of the command table
--- chooses the connection (e.g. `{ "virsh", "-c", "qemu:///system" }`). It is here when virsh
--- is and a libvirt daemon answers it (`virsh uri`): client tools alone run no machine.
local commands = require "ctys.commands"

return {
  name = "libvirt",
  available = function() return commands.available("virsh") and commands.read("virsh", "uri") ~= nil end,
  list = function()
    local out, e = commands.read("virsh", "list", "--name")
    if not out then return nil, e end
    local vms = {}
    for line in out:gmatch("[^\n]+") do
      local vm = line:match("^%s*(.-)%s*$")
      if vm ~= "" then vms[#vms + 1] = vm end
    end
    return vms
  end,
  cancel = function(vm, how) return commands.run("virsh", how, vm) end,
}
