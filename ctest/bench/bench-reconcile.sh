#!/bin/bash
# Benchmark of the reconcile engine against nft -f and the upstream agent's iptables-restore.
# Builds first if needed; runs in a private network namespace; prints figures and ratios.
#
#   bash ctest/bench/bench-reconcile.sh [N...]     (default: 64 1000 10000 100000)
set -euo pipefail
bench_packages=(iptables)
. "$(dirname "$0")/prepare.sh"
ima_enter_sandbox "$@"
[ $# -gt 0 ] || set -- 64 1000 10000 100000
echo "# $(uname -r), $(nproc) CPUs, $(nft --version), $(iptables --version)"
"$IMA_HELPERS/bench-reconcile" "$IMA_HELPERS/gen-prefixes" "$WORK" "$@"
