# prepare.sh: sourced by the benchmark scripts. Outside the sandbox: installs what is missing
# (extra Debian packages as arguments), builds ./build, and points the kernel-test helpers at it.
# Then enters a root-owned private network namespace: benchmarks measure with the privileges a
# DaemonSet has (CAP_NET_ADMIN in the initial user namespace, so socket buffers can be sized).
bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ "${IMA_SANDBOX:-}" != 1 ]; then
        bash "$bench_root/ctest/install-deps.sh" "${bench_packages[@]}"
        [ -f "$bench_root/build/build.ninja" ] || meson setup "$bench_root/build" >&2
        ninja -C "$bench_root/build" >&2
        export IMA_BIN="$bench_root/build/cmd/ip-masq-agent" IMA_HELPERS="$bench_root/build/ctest" \
                IMA_SRCDIR="$bench_root/ctest"
fi
. "$bench_root/ctest/kernel/lib.sh"
export IMA_SANDBOX_ROOT=1
