#!/bin/sh
# The small QEMU guest of the sandbox lab and the tests: OUT/vmlinuz (Debian's cloud kernel) and
# OUT/initrd.gz (busybox-static and the virtio-net, ACPI button and evdev modules). Built once;
# a second run with both files present does nothing.
#   guest.sh OUT
# The guest reads the kernel command line:
#   ctys.name=NAME         its host name, in every line it writes to the serial console
#   ctys.ip=ADDR/PREFIX    the address of eth0 (no address: eth0 stays down)
#   ctys.powerbutton=ignore  it logs the ACPI power button but stays up (a guest that hangs)
#   ctys.powerdelay=SECONDS  it takes that long to go down after the power button
#   ctys.ping=ADDR         once up, it pings ADDR (up to 20 tries) and writes "ping ADDR ok|failed"
# On ttyS0 it writes "CTYS-GUEST NAME up", "CTYS-GUEST NAME powerdown" when the power button
# takes it down, and runs each line it reads there as a command, answering its output and
# "CTYS-GUEST-DONE STATUS".
set -eu
out=${1:?usage: guest.sh OUT}
[ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && exit 0
for t in apt-get apt-cache dpkg-deb gzip find; do
    command -v "$t" >/dev/null || { echo "guest.sh: $t is missing" >&2; exit 2; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)  # the build below runs elsewhere
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
[ -n "$kpkg" ] || { echo "guest.sh: apt-cache knows no linux-image-cloud-amd64 (run apt-get update)" >&2; exit 2; }
apt-get download -q "$kpkg" busybox-static >/dev/null 2>download.log || { cat download.log >&2; exit 2; }
dpkg-deb -x ./linux-image-*.deb kernel
dpkg-deb -x ./busybox-static_*.deb bb

mkdir -p root/bin root/lib/mod root/proc root/sys root/dev root/etc/acpi/PWRF root/tmp
cp bb/bin/busybox root/bin/busybox
# Load order matters: the cloud kernel ships no modules.dep.
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net button evdev"
for m in $mods; do
    f=$(find kernel/lib/modules -name "$m.ko" | head -n 1)
    [ -n "$f" ] || { echo "guest.sh: module $m is not in $kpkg" >&2; exit 2; }
    cp "$f" root/lib/mod/
done
cat >root/init <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $mods; do insmod /lib/mod/\$m.ko; done
name=guest ip= ignore= delay=0 target=
for arg in \$(cat /proc/cmdline); do
    case \$arg in
    ctys.name=*) name=\${arg#ctys.name=} ;;
    ctys.ip=*) ip=\${arg#ctys.ip=} ;;
    ctys.powerbutton=ignore) ignore=1 ;;
    ctys.powerdelay=*) delay=\${arg#ctys.powerdelay=} ;;
    ctys.ping=*) target=\${arg#ctys.ping=} ;;
    esac
done
hostname "\$name"
ip link set lo up
if [ -n "\$ip" ]; then ip addr add "\$ip" dev eth0; ip link set eth0 up; fi
if [ -n "\$ignore" ]; then
    printf '#!/bin/sh\necho "CTYS-GUEST %s ignores the power button" >/dev/ttyS0\n' "\$name" >/etc/acpi/PWRF/00000080
else
    printf '#!/bin/sh\necho "CTYS-GUEST %s powerdown" >/dev/ttyS0\nsleep %s\nsync\npoweroff -f\n' "\$name" "\$delay" >/etc/acpi/PWRF/00000080
fi
chmod 755 /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /tmp/acpid.log
stty -F /dev/ttyS0 -echo 2>/dev/null || true
echo "CTYS-GUEST \$name up" >/dev/ttyS0
if [ -n "\$target" ]; then
    (
        for i in \$(seq 20); do
            if ping -c 1 -W 1 "\$target" >/dev/null 2>&1; then echo "CTYS-GUEST \$name ping \$target ok"; exit; fi
        done
        echo "CTYS-GUEST \$name ping \$target failed"
    ) >/dev/ttyS0 2>&1 &
fi
while :; do
    while read -r line; do
        sh -c "\$line" 2>&1
        echo "CTYS-GUEST-DONE \$?"
    done </dev/ttyS0 >/dev/ttyS0
done
EOF
chmod 755 root/init
(cd root && find . | ./bin/busybox cpio -o -H newc 2>/dev/null) | gzip -9 >initrd.gz
cp kernel/boot/vmlinuz-* vmlinuz
mv initrd.gz "$out/initrd.gz.new" && mv vmlinuz "$out/vmlinuz" && mv "$out/initrd.gz.new" "$out/initrd.gz"
