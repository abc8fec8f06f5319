#!/bin/bash
# Benchmark of the reconcile engine against nft -f and the upstream agent's iptables-restore.
# Builds first if needed; runs in a private network namespace; prints figures and ratios.
#
#   bash ctest/bench/bench-reconcile.sh [--ipv6] [N...]     (default: 64 1000 10000 100000)
#
# --ipv6: each N is also measured with N IPv6 prefixes (--enable-ipv6) and with N/2 IPv4 + N/2
# IPv6 ones, against ip6tables-restore for upstream's part; a table of the three side by side
# ends the run (about three times as long as without).
set -euo pipefail
bench_packages=(iptables)
. "$(dirname "$0")/prepare.sh"
ima_enter_sandbox "$@"
families=ipv4
if [ "${1:-}" = --ipv6 ]; then
        families=ipv4,ipv6,mixed
        shift
fi
[ $# -gt 0 ] || set -- 64 1000 10000 100000
echo "# $(uname -r), $(nproc) CPUs, $(nft --version), $(iptables --version)"
"$IMA_HELPERS/bench-reconcile" "$IMA_HELPERS/gen-prefixes" "$WORK" "$families" "$@"
