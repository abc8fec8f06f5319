#!/bin/bash
# PID 1 of the VM once init.sh has switched to the host's root: sets up what a booted system has
# and the tests use, runs ctest/run-tests.sh with the arguments run-on-kernel.sh left in
# $vm_work/args (or, when it left a script in $vm_work/run, that script), writes its output and
# status there, and powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/tmp/home TMPDIR=/tmp
mkdir -p /dev/pts /dev/shm "$HOME"
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# what udev makes on a booted system: bash's <(...) needs /dev/fd
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
ip link set lo up
echo "$vm_work/modprobe" >/proc/sys/kernel/modprobe
sysctl -q -w net.core.wmem_max=4194304 net.core.rmem_max=4194304
echo "guest: Linux $(uname -r), $(nproc) CPUs" >&2
cd "$vm_project" || exit 1
if [ -f "$vm_work/run" ]; then
        bash "$vm_work/run" >"$vm_work/summary" 2>&1
        echo $? >"$vm_work/rc"
else
        mapfile -t args <"$vm_work/args"
        bash ctest/run-tests.sh "${args[@]}" >"$vm_work/summary"
        echo $? >"$vm_work/rc"
fi
echo "guest: $(tail -n 1 "$vm_work/summary")" >&2
sync
echo o >/proc/sysrq-trigger
sleep 60
