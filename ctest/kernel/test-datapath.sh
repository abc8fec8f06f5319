#!/bin/bash
# Real packets: pods -> node (the agent) -> ext through veth pairs. For the TKE mixed-mode
# scenario, the source address ext sees for each (pod, destination) pair is exactly what the
# configuration promises.
#
#   pod-gr  10.1.0.2 ---- 10.1.0.1   node   198.51.100.1 ---- 198.51.100.2  ext
#   pod-vpc 172.16.0.2 -- 172.16.0.1                                        + 203.0.113.2  ("internet")
#                                                                           + 192.168.50.2 (private)
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

topo_mixed_mode 10.1.0.2/24 10.1.0.1/24 172.16.0.2/24 172.16.0.1/24 198.51.100.1/24 198.51.100.2/24
topo_addr ext lo 203.0.113.2/32
topo_addr ext lo 192.168.50.2/32
topo_route pod-gr default 10.1.0.1
topo_route pod-vpc default 172.16.0.1
topo_route node 203.0.113.0/24 198.51.100.2
topo_route node 192.168.50.0/24 198.51.100.2
topo_route ext 10.1.0.0/24 198.51.100.1
topo_route ext 172.16.0.0/24 198.51.100.1

cat >"$WORK/config" <<'CFG'
NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
NonMasqueradeSrcCIDRs: [172.16.0.0/16, 10.16.0.0/16]
CFG
in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null || fail "apply failed in node"

got=$(probe_matrix ext 7000 \
        "pod-gr 203.0.113.2" "pod-gr 192.168.50.2" "pod-vpc 203.0.113.2" "pod-vpc 192.168.50.2")
expected="pod-gr->192.168.50.2 10.1.0.2
pod-gr->203.0.113.2 198.51.100.1
pod-vpc->192.168.50.2 172.16.0.2
pod-vpc->203.0.113.2 172.16.0.2"
assert_eq "source addresses seen by ext (mixed mode)" "$expected" "$got"

# the chain's counters saw the same: 2 source exemptions, 1 destination exemption, 1 masquerade
counters=$(rule_counters node ip)
assert_eq "rule counters" "2 source in @nomasq-src: not masqueraded
1 destination in @nomasq-dst: not masqueraded
1 everything else is masqueraded (must be last)" "$counters"

# --to-ports: masqueraded connections get source ports from the given ranges only, split between
# them (numgen). Two ranges far from the ephemeral range the pods' sockets use (32768+), each
# larger than the number of connections so that NAT can never run out of ports.
in_ns node "$IMA_BIN" apply --config "$WORK/config" --to-ports=20000-20099,20200-20299 2>/dev/null ||
        fail "apply --to-ports failed in node"
sources=$(probe_sources ext 7003 pod-gr 203.0.113.2 24)
[ "$(wc -l <<<"$sources")" = 24 ] || fail "--to-ports: expected 24 datagrams, got: $sources"
in_low=0 in_high=0
while read -r addr sport; do
        [ "$addr" = 198.51.100.1 ] || fail "--to-ports: source $addr, expected the node's 198.51.100.1"
        if ((sport >= 20000 && sport <= 20099)); then
                in_low=$((in_low + 1))
        elif ((sport >= 20200 && sport <= 20299)); then
                in_high=$((in_high + 1))
        else
                fail "--to-ports: source port $sport is outside 20000-20099,20200-20299"
        fi
done <<<"$sources"
# each range has probability 1/2 per connection: one stays unused with probability 2^-23
((in_low > 0 && in_high > 0)) || fail "--to-ports: one range was never used ($in_low low, $in_high high)"
note "--to-ports: $in_low connections in 20000-20099, $in_high in 20200-20299"

# VPC-CNI scenario on the same topology: nothing is masqueraded any more, for new connections.
# One that NAT already translated keeps its translation while conntrack remembers it (the same
# source port, within UDP's 30 s), as it does under iptables: what README says to operators.
probe_recv_start ext 7004 2 "$WORK/kept"
in_ns pod-gr "$IMA_HELPERS/udp-probe" send 203.0.113.2 7004 before 40000
printf 'NonMasqueradeCIDRs: [0.0.0.0/0]\n' >"$WORK/config"
in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null || fail "apply failed in node"
in_ns pod-gr "$IMA_HELPERS/udp-probe" send 203.0.113.2 7004 after 40000
wait "$PROBE_PID" || true
assert_eq "one flow across the change: source seen before and after" "198.51.100.1 before
198.51.100.1 after" "$(grep -v '^ready$' "$WORK/kept" | awk '{ print $1, $3 }')"
got=$(probe_matrix ext 7001 "pod-gr 203.0.113.2" "pod-vpc 203.0.113.2")
assert_eq "source addresses seen by ext (VPC-CNI)" "pod-gr->203.0.113.2 10.1.0.2
pod-vpc->203.0.113.2 172.16.0.2" "$got"

# Another NAT rule at srcnat, as kube-proxy's or iptables' nat POSTROUTING sits (an egress SNAT
# here), decides before ours, as it did before upstream's jump at the end of POSTROUTING, and
# whether it was there first or came later: at one priority the newest chain would run first.
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/config"
topo_addr node eth0 198.51.100.9/24
egress_snat="table ip egress {
        chain post {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr 10.1.0.2 ip daddr 203.0.113.2 snat to 198.51.100.9
        }
}"
in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
in_ns node nft -f - <<<"$egress_snat"
in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null || fail "apply after the egress table failed"
got=$(probe_matrix ext 7005 "pod-gr 203.0.113.2" "pod-vpc 203.0.113.2")
assert_eq "an earlier table's SNAT at srcnat, agent's table created later" "pod-gr->203.0.113.2 198.51.100.9
pod-vpc->203.0.113.2 198.51.100.1" "$got"
in_ns node nft delete table ip egress
in_ns node nft -f - <<<"$egress_snat"
got=$(probe_matrix ext 7006 "pod-gr 203.0.113.2" "pod-vpc 203.0.113.2")
assert_eq "a later table's SNAT at srcnat" "pod-gr->203.0.113.2 198.51.100.9
pod-vpc->203.0.113.2 198.51.100.1" "$got"
in_ns node nft delete table ip egress

# An iptables exemption "-j ACCEPT" in a chain that nat POSTROUTING jumps to (the CNI plugins'
# iptables ipMasq accepts the pod's own subnet in its CNI-... chain) ends iptables' traversal, so
# an upstream-style IP-MASQ-AGENT chain jumped to after it never sees the flow: it is not
# masqueraded. Our chain is another base chain: the same flow is masqueraded by the agent (README,
# "unlike upstream"). iptables-nft's layout, written with nft.
in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
in_ns node nft -f - <<'NFT'
table ip nat {
        chain CNI-exempt {
                ip daddr 192.168.50.0/24 counter accept
        }
        chain IP-MASQ-AGENT {
                ip daddr 10.0.0.0/8 counter return
                counter masquerade fully-random
        }
        chain POSTROUTING {
                type nat hook postrouting priority srcnat; policy accept;
                ip saddr 10.1.0.2 counter jump CNI-exempt
                fib daddr type != local counter jump IP-MASQ-AGENT
        }
}
NFT
got=$(probe_matrix ext 7008 "pod-gr 192.168.50.2" "pod-gr 203.0.113.2")
assert_eq "upstream-style chain after a sub-chain's accept" "pod-gr->192.168.50.2 10.1.0.2
pod-gr->203.0.113.2 198.51.100.1" "$got"
in_ns node nft flush chain ip nat IP-MASQ-AGENT # as Migrating says: the old chain masquerades nothing
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/config"
in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null || fail "apply beside the nat table failed"
got=$(probe_matrix ext 7009 "pod-gr 192.168.50.2" "pod-gr 203.0.113.2")
assert_eq "a sub-chain's accept in nat POSTROUTING does not stop the agent" "pod-gr->192.168.50.2 198.51.100.1
pod-gr->203.0.113.2 198.51.100.1" "$got"
in_ns node nft delete table ip nat

# kube-proxy's masquerade of the traffic it marks (hairpin, NodePort) is its own, as under
# upstream, where KUBE-POSTROUTING comes first: our --to-ports does not reach those connections.
# A kube-proxy-like table (nftables mode: marks in prerouting, masquerades at srcnat) there before
# ours, as on a node where kube-proxy started first: at one priority ours, newer, would decide.
in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
in_ns node nft -f - <<'NFT'
table ip kube-proxy {
        chain mark-for-masquerade {
                type filter hook prerouting priority dstnat; policy accept;
                ip saddr 10.1.0.2 ip daddr 203.0.113.2 meta mark set meta mark | 0x4000
        }
        chain nat-postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                meta mark & 0x4000 == 0x4000 masquerade fully-random
        }
}
NFT
in_ns node "$IMA_BIN" apply --config "$WORK/config" --to-ports=20000-20099 2>/dev/null || fail "apply --to-ports failed"
sources=$(probe_sources ext 7007 pod-gr 203.0.113.2 8)
[ "$(wc -l <<<"$sources")" = 8 ] || fail "kube-proxy masquerade: expected 8 datagrams, got: $sources"
in_range=0
while read -r addr sport; do
        [ "$addr" = 198.51.100.1 ] || fail "kube-proxy masquerade: source $addr, expected the node's 198.51.100.1"
        if ((sport >= 20000 && sport <= 20099)); then in_range=$((in_range + 1)); fi
done <<<"$sources"
# each of kube-proxy's fully random ports lands in the 100 of --to-ports with a chance under 1%
((in_range < 8)) || fail "kube-proxy's masqueraded connections got --to-ports ports: our chain decided first"
note "kube-proxy masquerade: $in_range of 8 connections happened to get a port in 20000-20099"
in_ns node nft delete table ip kube-proxy

# cleanup: the node no longer masquerades (and nothing else does)
in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
got=$(probe_matrix ext 7002 "pod-gr 203.0.113.2")
assert_eq "no SNAT after cleanup" "pod-gr->203.0.113.2 10.1.0.2" "$got"
echo "ok: datapath matches the configuration"
