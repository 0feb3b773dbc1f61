--- The libvirt stack handler: the machines `virsh list --name` shows; `virsh shutdown` asks a
--- guest to go down, `virsh destroy` pulls its plug. The `virsh` entry of the command table
--- chooses the connection (e.g. `{ "virsh", "-c", "qemu:///system" }`).
local commands = require "ctys.commands"

return {
  name = "libvirt",
  available = function() return commands.available("virsh") end,
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
