--- The XEN plugin: CANCEL of a Xen host's domains (`ctys -t xen -a cancel=...`), the domains of
--- `xl list` being its stack (see ctys.actions.pm.hypervisor).
return require("ctys.actions.pm").hypervisor("xen")
