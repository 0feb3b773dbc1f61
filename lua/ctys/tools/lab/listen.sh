#!/bin/sh
# A sandbox machine's Wake-on-LAN listener (ctys lab): `listen I` switches machine I on when a
# magic packet for its MAC (02:77:00:00:00:I; raw 0x0842, or UDP port 9 with the MAC's first
# copy after the six 0xff bytes) crosses its bridge port mI.
. "$(dirname "$0")/../lab.env"
i=$1
while :; do
  tcpdump -i "m$i" -p -n -l -c 1 "(ether proto 0x0842 and ether[20:4] = 0x02770000 and ether[24:2] = $i) or (udp dst port 9 and udp[8:4] = 0xffffffff and udp[14:4] = 0x02770000 and udp[18:2] = $i)" || exit 1
  "$dir/bin/machine" on "$i"
done
