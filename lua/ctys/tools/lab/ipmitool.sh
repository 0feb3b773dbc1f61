#!/bin/sh
# A sandbox machine's in-band view of its BMC (ctys lab). A real host reads its BMC's LAN
# settings through /dev/ipmi0 (`ipmitool lan print`); a lab machine has no such device, so from
# inside machine I that one command asks I's own BMC (its ipmi_sim) over the lab's LAN instead:
# the answer is the BMC's. Everywhere else, and for everything else, the real ipmitool.
. "$(dirname "$0")/../lab.env"
i=$(ip netns identify $$ 2>/dev/null | sed -n "s/^$name\([1-9][0-9]*\)$/\1/p")
if [ -n "$i" ] && [ "$*" = "lan print" ] && [ ! -f "$dir/m$i/bmc/redfish" ]; then
  bmc=$subnet$((100 + i))
  IPMI_PASSWORD=$(awk -v b="$bmc" '$1 == b { print $3 }' "$dir/home/.ctys/ipmi/credentials") \
    exec /usr/bin/ipmitool -I lanplus -C 3 -H "$bmc" -U admin -E -N 2 -R 2 lan print 1
fi
exec /usr/bin/ipmitool "$@"
