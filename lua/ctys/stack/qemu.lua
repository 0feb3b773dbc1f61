--- The QEMU stack handler: the guests `ctys.qemu.start` started (a pid file each under the socket
--- base's `qemu.<user>/`, as `ctys.qemu.list` finds them). `shutdown` presses the guest's ACPI
--- power button (QMP system_powerdown), `destroy` makes QEMU quit at once. It is here when that
--- directory is.
local qemu = require "ctys.qemu"

return {
  name = "qemu",
  available = function() return require("ctys.fs").stat(qemu.dir()) ~= nil end,
  list = function()
    local guests, e = qemu.list()
    if not guests then return nil, e end
    local names = {}
    for i, g in ipairs(guests) do names[i] = g.name end
    return names
  end,
  cancel = function(vm, how)
    local g = qemu.find(vm)
    if not g then return true end
    return g:request(how == "destroy")
  end,
}
