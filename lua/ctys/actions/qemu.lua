--- The QEMU plugin: CANCEL of a host's QEMU guests (`ctys -t qemu -a cancel=...`), the guests
--- `ctys.qemu.start` started being its stack (see ctys.actions.pm.hypervisor): shutdown presses
--- their ACPI power button, FORCE makes QEMU quit.
return require("ctys.actions.pm").hypervisor("qemu")
