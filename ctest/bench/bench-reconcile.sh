#!/bin/bash
# Benchmark of the reconcile engine against nft -f and the upstream agent's iptables-restore.
# Builds first if needed; runs in a private network namespace; prints figures and ratios.
#
#   bash ctest/bench/bench-reconcile.sh [N...]     (default: 64 1000 10000 100000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${IMA_SANDBOX:-}" != 1 ]; then
        bash "$root/ctest/install-deps.sh"
        command -v iptables-restore >/dev/null || {
                apt-get install -y --no-install-recommends iptables >&2 ||
                        { apt-get update >&2 && apt-get install -y --no-install-recommends iptables >&2; }
        }
        [ -f "$root/build/build.ninja" ] || meson setup "$root/build" >&2
        ninja -C "$root/build" >&2
        export IMA_BIN="$root/build/cmd/ip-masq-agent" IMA_HELPERS="$root/build/ctest" IMA_SRCDIR="$root/ctest"
fi
. "$root/ctest/kernel/lib.sh"
export IMA_SANDBOX_ROOT=1
ima_enter_sandbox "$@"
[ $# -gt 0 ] || set -- 64 1000 10000 100000
echo "# $(uname -r), $(nproc) CPUs, $(nft --version), $(iptables --version)"
"$IMA_HELPERS/bench-reconcile" "$IMA_HELPERS/gen-prefixes" "$@"
