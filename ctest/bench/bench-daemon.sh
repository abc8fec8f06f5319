#!/bin/bash
# Benchmark of the daemon: config-change and repair latency (p50/p99), RSS at 64 and 100,000
# CIDRs, CPU per idle resync. Builds first if needed; runs in a private network namespace.
# Takes about two minutes (repairs are spaced out so each one is measured alone).
#
#   bash ctest/bench/bench-daemon.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ "${IMA_SANDBOX:-}" != 1 ]; then
        bash "$root/ctest/install-deps.sh"
        [ -f "$root/build/build.ninja" ] || meson setup "$root/build" >&2
        ninja -C "$root/build" >&2
        export IMA_BIN="$root/build/cmd/ip-masq-agent" IMA_HELPERS="$root/build/ctest" IMA_SRCDIR="$root/ctest"
fi
. "$root/ctest/kernel/lib.sh"
export IMA_SANDBOX_ROOT=1
ima_enter_sandbox "$@"
echo "# $(uname -r), $(nproc) CPUs, agent $("$IMA_BIN" version)"
"$IMA_HELPERS/bench-daemon" "$IMA_BIN" "$IMA_HELPERS/gen-prefixes" "$WORK"
