#!/bin/sh
# A sandbox machine's power switch (ctys lab). From its BMC (chassis.sh's on-power hook) or its
# Wake-on-LAN listener: `machine on|off I`. From inside machine I, as its poweroff, halt, reboot
# and init (the lab's command table): `machine later|halt|reboot|init N` return at once and act a
# second later from the control namespace, as a real poweroff does. A machine whose BMC speaks
# Redfish (m<I>/bmc/redfish) has a switch that did not come from that BMC told to it, so the
# power it reports stays true; the BMC's own switches, and a reboot (no change of power as a BMC
# sees it), come with CTYS_LAB_BMC_KNOWS set.
. "$(dirname "$0")/../lab.env"
me() { ip netns identify $$ | sed "s/^$name//"; }
tell_bmc() {
  [ -f "$m/bmc/redfish" ] && [ -z "${CTYS_LAB_BMC_KNOWS:-}" ] || return 0
  HOME=$dir/home setsid "$dir/bin/ctys-bmc" --ca "$m/bmc/cert.pem" "$(cat "$m/bmc/redfish")" power "$1" \
    </dev/null >>"$m/bmc/told.log" 2>&1 &
}
case $1 in
on|1)
  i=$2 ns=$name$2 m=$dir/m$2
  ip -n "$ns" addr add "$subnet$i/24" dev eth0 2>/dev/null
  if ! { [ -f "$m/sshd.pid" ] && kill -0 "$(cat "$m/sshd.pid")" 2>/dev/null; }; then
    mkdir -p /run/sshd
    ip netns exec "$ns" /usr/sbin/sshd -f "$m/sshd_config"
  fi
  echo 1 > "$m/bmc/power"
  tell_bmc on ;;
off|0)
  i=$2 ns=$name$2 m=$dir/m$2
  for p in $(ip netns pids "$ns"); do [ "$p" = $$ ] || kill -9 "$p" 2>/dev/null; done
  ip -n "$ns" -4 addr flush scope global 2>/dev/null
  rm -f "$m/sshd.pid"
  echo 0 > "$m/bmc/power"
  tell_bmc off ;;
later|halt) i=$(me); ip netns exec "${name}0" setsid sh -c "sleep 1; '$0' off $i" </dev/null >/dev/null 2>&1 & ;;
reboot) i=$(me); ip netns exec "${name}0" env CTYS_LAB_BMC_KNOWS=1 setsid sh -c "sleep 1; '$0' off $i; '$0' on $i" </dev/null >/dev/null 2>&1 & ;;
init)
  case $2 in 0) exec "$0" later ;; 6) exec "$0" reboot ;; *) echo "$(date +%T) $(me) init $2" >> "$dir/log/messages" ;; esac ;;
*) echo "usage: machine on|off I | later | halt | reboot | init N" >&2; exit 1 ;;
esac
exit 0
