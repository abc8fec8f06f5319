#!/bin/bash
# Real IPv6 packets: the mixed-mode scenario of test-datapath.sh with --enable-ipv6, through the
# ip6 table. Addresses are ULAs for pods and 2001:db8::/32 (documentation) for the node and the
# "internet"; all of them live in this test's namespaces.
#
#   pod-gr  fd20::2 ---- fd20::1   node   2001:db8:1::1 ---- 2001:db8:1::2  ext
#   pod-vpc fd10::2 ---- fd10::1                                        + 2001:db8:ff::2 ("internet")
#                                                                       + fd00:50::2     (private)
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

topo_mixed_mode fd20::2/64 fd20::1/64 fd10::2/64 fd10::1/64 2001:db8:1::1/64 2001:db8:1::2/64
topo_addr ext lo 2001:db8:ff::2/128
topo_addr ext lo fd00:50::2/128
topo_route pod-gr default fd20::1
topo_route pod-vpc default fd10::1
topo_route node 2001:db8:ff::/64 2001:db8:1::2
topo_route node fd00:50::/64 2001:db8:1::2
topo_route ext fd20::/64 2001:db8:1::1
topo_route ext fd10::/64 2001:db8:1::1

cat >"$WORK/config" <<'CFG'
NonMasqueradeCIDRs: [10.0.0.0/8, fd00::/8]
NonMasqueradeSrcCIDRs: [fd10::/64]
CFG
in_ns node "$IMA_BIN" apply --enable-ipv6 --config "$WORK/config" 2>/dev/null ||
        fail "apply --enable-ipv6 failed in node"

# gr pod: masqueraded to the internet, not to the exempt ULA; vpc pod: never (source exempt)
got=$(probe_matrix ext 7100 \
        "pod-gr 2001:db8:ff::2" "pod-gr fd00:50::2" "pod-vpc 2001:db8:ff::2" "pod-vpc fd00:50::2")
expected="pod-gr->2001:db8:ff::2 2001:db8:1::1
pod-gr->fd00:50::2 fd20::2
pod-vpc->2001:db8:ff::2 fd10::2
pod-vpc->fd00:50::2 fd10::2"
assert_eq "source addresses seen by ext (IPv6 mixed mode)" "$expected" "$got"

counters=$(rule_counters node ip6)
assert_eq "ip6 rule counters" "2 source in @nomasq-src: not masqueraded
1 destination in @nomasq-dst: not masqueraded
1 everything else is masqueraded (must be last)" "$counters"

# the ip table saw none of it
v4=$(in_ns node "$IMA_HELPERS/nft-readback" ip --counters |
        sed -n 's/.*"counter":{"bytes":[0-9]*,"packets":\([0-9]*\)}.*/\1/p' | paste -sd' ')
assert_eq "ip table counters after IPv6-only traffic" "0 0 0" "$v4"

# IPv6 switched off: the ip6 table goes, so IPv6 is no longer masqueraded by the agent
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/config"
in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null ||
        fail "apply without --enable-ipv6 failed"
if in_ns node nft list table ip6 ip-masq-agent >/dev/null 2>&1; then
        fail "the ip6 table survived --enable-ipv6 being switched off"
fi
got=$(probe_matrix ext 7101 "pod-gr 2001:db8:ff::2")
assert_eq "no IPv6 SNAT without --enable-ipv6" "pod-gr->2001:db8:ff::2 fd20::2" "$got"
echo "ok: IPv6 datapath matches the configuration"
