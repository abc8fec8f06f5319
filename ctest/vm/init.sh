#!/bin/busybox sh
# PID 1 of the initramfs that ctest/vm/run-on-kernel.sh boots: mounts the host's root read-only
# and the project and work directories read-write at their host paths, then hands over to
# guest.sh. vm_project and vm_work come from the kernel command line.
/bin/busybox --install -s /bin
export PATH=/bin
fail() {
        echo "init: $*" >&2
        poweroff -f
}
mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev ||
        fail "cannot mount proc, sysfs or devtmpfs"
# where modules are compressed (Debian's 6.12) the kernel logs "Invalid ELF header magic" once
# for each: busybox's insmod offers the file as it is first, then unpacked
while read -r module; do
        insmod "/modules/$module" || fail "cannot load $module"
done </modules/order
p9=trans=virtio,version=9p2000.L,msize=524288
mount -t 9p -o "$p9,ro,cache=loose" hostroot /newroot || fail "cannot mount the host's root"
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp && mount -t tmpfs tmpfs /newroot/run ||
        fail "cannot mount tmpfs"
mkdir -p "/newroot$vm_work" "/newroot$vm_project" 2>/dev/null
mount -t 9p -o "$p9" work "/newroot$vm_work" || fail "cannot mount $vm_work"
mount -t 9p -o "$p9" project "/newroot$vm_project" || fail "cannot mount $vm_project"
for fs in proc sys dev; do
        mount --move "/$fs" "/newroot/$fs" || fail "cannot move /$fs"
done
exec switch_root /newroot /bin/bash "$vm_project/ctest/vm/guest.sh"
