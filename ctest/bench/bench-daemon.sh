#!/bin/bash
# Benchmark of the daemon: config-change and repair latency (p50/p99), RSS at 64 and 100,000
# CIDRs (and at 64 with the health and metrics endpoints on), CPU per idle resync. Builds first
# if needed; runs in a private network namespace.
# Takes about three minutes (repairs are spaced out so each one is measured alone).
#
#   bash ctest/bench/bench-daemon.sh [--ipv6]
#
# --ipv6: instead, only the footprint rows at 100,000 CIDRs, first with IPv4 prefixes, then with
# IPv6 ones and --enable-ipv6 (about three minutes).
set -euo pipefail
bench_packages=()
. "$(dirname "$0")/prepare.sh"
ima_enter_sandbox "$@"
echo "# $(uname -r), $(nproc) CPUs, agent $("$IMA_BIN" version)"
"$IMA_HELPERS/bench-daemon" "$IMA_BIN" "$IMA_HELPERS/gen-prefixes" "$WORK" "$@"
