#!/bin/bash
# Runs tests under another Linux kernel, in a virtual machine: a Debian kernel package boots
# in qemu with this machine's root file system shared read-only over 9p, so the guest runs the
# binaries and test scripts built here (in ./build-vm), only the kernel differs. The VM has no
# network card: every namespace, address and packet of the tests lives in the guest's kernel.
#
#   bash ctest/vm/run-on-kernel.sh                    # Debian 12's kernel (6.1), suite "kernel"
#   bash ctest/vm/run-on-kernel.sh --kernel linux-image-6.12.118+deb12-amd64 --suite kernel --suite cli
#   bash ctest/vm/run-on-kernel.sh kernel-reconcile kernel-daemon      # some tests
#   bash ctest/vm/run-on-kernel.sh --release bullseye-security          # Debian 11's kernel (5.10)
#
# Options: --kernel PACKAGE (a linux-image package apt can download; default: the one Debian's
# linux-image-amd64 depends on); --release SUITE (take the kernel from that Debian suite, e.g.
# bullseye or bullseye-security, through a private apt list that leaves the machine's own alone; apt
# checks the suite's signature as usual); --suite NAME (repeatable) or test names (default: suite
# kernel); --accel tcg|kvm (default tcg, emulation: slow, but it works anywhere; on this project's
# build machines /dev/kvm exists but a KVM guest hangs before its first message);
# --timeout-multiplier N (meson's; default 10 with tcg, 1 with kvm); --memory MB (default 4096);
# --append PARAMS (added to the kernel command line, e.g. 'module_blacklist=nft_masq,nft_fib_ipv4':
# the kernel then refuses to load those modules, as on a node whose kernel lacks them); --run SCRIPT
# (the guest runs "bash SCRIPT" as root, in its initial namespaces, instead of the tests; its output
# is printed at the end and its exit status is this script's).
# In the guest, net.core.{w,r}mem_max are raised as README's Quick start says for older kernels.
# Needs root (apt-get; qemu reads the whole root file system). The wall time is bounded by
# IMA_VM_TIMEOUT seconds (default 10800). Ends with the guest's "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
project=$PWD

kernel_package=
release=
selection=()
accel=tcg
multiplier=
memory=4096
append=
run_script=
while [ $# -gt 0 ]; do
        case $1 in
        --kernel) kernel_package=$2; shift ;;
        --release) release=$2; shift ;;
        --suite) selection+=(--suite "$2"); shift ;;
        --accel) accel=$2; shift ;;
        --timeout-multiplier) multiplier=$2; shift ;;
        --memory) memory=$2; shift ;;
        --append) append=$2; shift ;;
        --run) run_script=$2; shift ;;
        -*)
                echo "usage: run-on-kernel.sh [--kernel PACKAGE] [--release SUITE] [--suite NAME]..." \
                        "[--accel tcg|kvm] [--timeout-multiplier N] [--memory MB] [--append PARAMS]" \
                        "[--run SCRIPT] [TEST]..." >&2
                exit 2
                ;;
        *) selection+=("$1") ;;
        esac
        shift
done
[ ${#selection[@]} -gt 0 ] || selection=(--suite kernel)
case $accel in
kvm) cpu=(-accel kvm -cpu host); : "${multiplier:=1}" ;;
tcg) cpu=(-accel tcg -cpu max); : "${multiplier:=10}" ;;
*) echo "run-on-kernel.sh: --accel must be tcg or kvm, not '$accel'" >&2; exit 2 ;;
esac

bash ctest/install-deps.sh qemu-system-x86 busybox-static kmod
[ -f build-vm/build.ninja ] || meson setup build-vm >&2
ninja -C build-vm >&2

work=$(mktemp -d /tmp/ima-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT

# apt's sandbox user cannot write into a private temporary directory.
apt_options=(-o APT::Sandbox::User=root)
if [ -n "$release" ]; then
        case $release in
        *-security) mirror=http://deb.debian.org/debian-security ;;
        *) mirror=http://deb.debian.org/debian ;;
        esac
        mkdir -p "$work"/apt/lists/partial "$work"/apt/cache/archives/partial
        echo "deb $mirror $release main" >"$work/apt/sources.list"
        apt_options+=(-o Dir::Etc::SourceList="$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache")
        apt-get -q "${apt_options[@]}" update >&2
fi
if [ -z "$kernel_package" ]; then
        kernel_package=$(apt-cache "${apt_options[@]}" depends linux-image-amd64 |
                awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
        if [ -z "$kernel_package" ]; then
                echo "run-on-kernel.sh: apt knows no linux-image-amd64 (run apt-get update?)" >&2
                exit 1
        fi
fi
download() { (cd "$work" && apt-get download -q "${apt_options[@]}" "$kernel_package" >&2); }
download || { apt-get "${apt_options[@]}" update >&2 && download; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
# /lib/modules/VERSION, or /usr/lib/modules/VERSION in packages of merged-/usr releases
modules=
for dir in "$work"/kernel/lib/modules/* "$work"/kernel/usr/lib/modules/*; do
        [ -d "$dir" ] && modules=$dir && break
done
[ -n "$modules" ] || { echo "run-on-kernel.sh: $kernel_package holds no kernel modules" >&2; exit 1; }
version=${modules##*/}
modules_base=${modules%/lib/modules/*}
vmlinuz=$work/kernel/boot/vmlinuz-$version
depmod -b "$modules_base" "$version"
if [ -n "$run_script" ]; then
        cp "$run_script" "$work/run"
        echo "run-on-kernel.sh: $kernel_package ($version), accel $accel, script: $run_script${append:+, kernel parameters: $append}" >&2
else
        echo "run-on-kernel.sh: $kernel_package ($version), accel $accel, tests: ${selection[*]}${append:+, kernel parameters: $append}" >&2
fi

# The initramfs holds busybox and the modules that mount 9p over virtio (Debian builds them as
# modules), in the order modprobe would load them.
initramfs=$work/initramfs
mkdir -p "$initramfs"/{bin,modules,proc,sys,dev,newroot}
cp /bin/busybox "$initramfs/bin/busybox"
install -m 755 ctest/vm/init.sh "$initramfs/init"
for module in virtio_pci 9pnet_virtio 9p; do
        modprobe -d "$modules_base" -S "$version" --show-depends "$module"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
        cp "$ko" "$initramfs/modules/"
        basename "$ko" >>"$initramfs/modules/order"
done
(cd "$initramfs" && find . | busybox cpio -o -H newc 2>/dev/null) >"$work/initrd"

# The kernel runs this to load a module on demand (nf_tables expressions, veth, ...): the same
# autoloading a node does, from the downloaded package's modules.
printf '#!/bin/sh\nexec /usr/sbin/modprobe -d %q "$@"\n' "$modules_base" >"$work/modprobe"
chmod 755 "$work/modprobe"
printf '%s\n' --build build-vm --timeout-multiplier "$multiplier" "${selection[@]}" >"$work/args"

share() { echo "local,path=$1,mount_tag=$2,security_model=none,multidevs=remap${3:+,$3}"; }
rc=0
timeout --kill-after=30 "${IMA_VM_TIMEOUT:-10800}" \
        qemu-system-x86_64 "${cpu[@]}" -smp "$(nproc)" -m "$memory" -nic none -no-reboot \
        -display none -monitor none -serial stdio \
        -kernel "$vmlinuz" -initrd "$work/initrd" \
        -append "console=ttyS0 panic=-1 quiet vm_project=$project vm_work=$work${append:+ $append}" \
        -virtfs "$(share / hostroot readonly=on)" \
        -virtfs "$(share "$project" project)" \
        -virtfs "$(share "$work" work)" \
        </dev/null >&2 || rc=$?
if [ ! -s "$work/summary" ]; then
        echo "run-on-kernel.sh: the VM ended (status $rc) without a result; its console is above" >&2
        echo "0 passed, 1 failed"
        exit 1
fi
if [ -n "$run_script" ]; then
        cat "$work/summary"
        exit "$(cat "$work/rc")"
fi
tail -n 1 "$work/summary"
[ "$(cat "$work/rc")" = 0 ]
