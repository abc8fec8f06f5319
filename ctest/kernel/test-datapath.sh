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
command -v python3 >/dev/null || fail "python3 is not installed (the TCP client and server)"

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
# counters that traffic moved make no rule someone else's: in sync, nothing rebuilt (which would
# zero the counters at every reconcile that reads the kernel)
rc=0
in_ns node "$IMA_BIN" diff --config "$WORK/config" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff after traffic counted by the rules (exit status)" 0 "$rc"

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

# TCP, which most pod traffic is: a masqueraded connection leaves from the node's address with a
# port of the tcp rules' --to-ports ranges, an exempt one from the pod's own. Then what README's
# Deploying says about deleting the tables under open connections: where another table still does
# NAT (kube-proxy's on a node) they keep their translation; on a host where nothing else uses NAT
# the kernel stops translating them: a masqueraded TCP connection is reset (ext, which routes the
# pod's address, answers the untranslated segment with a reset), a UDP flow goes on from the pod's
# address.
# tcp.py server PORT COUNT: answers each of COUNT connections, one at a time, with the address and
# port it came from, then "ok" to whatever it sends until it closes. tcp.py peer DEST PORT: prints
# what the server saw. tcp.py hold DEST PORT DIR: the same, then holds the connection until the
# file DIR/go exists and prints what a further send meets: reset, answered, closed or timeout.
# Bounded: every wait ends within 10 to 20 s.
cat >"$WORK/tcp.py" <<'PY'
import os, socket, sys, time

mode = sys.argv[1]
if mode == "server":
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", int(sys.argv[2])))
    srv.listen()
    srv.settimeout(20)
    print("ready", flush=True)
    for _ in range(int(sys.argv[3])):
        conn, (addr, port) = srv.accept()
        conn.settimeout(20)
        conn.sendall(f"{addr} {port}\n".encode())
        try:
            while conn.recv(100):
                conn.sendall(b"ok\n")
        except OSError:
            pass
        conn.close()
    sys.exit(0)
conn = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
lines = conn.makefile("rb")
print(lines.readline().decode().strip(), flush=True)
if mode == "hold":
    conn.sendall(b"before\n")
    assert lines.readline() == b"ok\n"
    open(os.path.join(sys.argv[4], "held"), "w").close()
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(sys.argv[4], "go")) and time.monotonic() < deadline:
        time.sleep(0.01)
    # the reset may come before this send: a delayed ACK of "ok" can leave after the tables went
    try:
        conn.sendall(b"after\n")
        print("answered" if lines.readline() else "closed")
    except (ConnectionResetError, BrokenPipeError):
        print("reset")
    except socket.timeout:
        print("timeout")
PY
tcp_client() {
        in_ns pod-gr python3 "$WORK/tcp.py" "$@"
}
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]\n' >"$WORK/config"
in_ns node "$IMA_BIN" apply --config "$WORK/config" --to-ports=20000-20099,20200-20299 2>/dev/null ||
        fail "apply --to-ports failed in node"
in_ns ext python3 "$WORK/tcp.py" server 7300 11 >"$WORK/tcp-server.log" 2>&1 &
tcp_server=$!
wait_for 5 grep -q '^ready$' "$WORK/tcp-server.log" || fail "the TCP server in ext did not start"
assert_eq "TCP to an exempt destination: source seen" 10.1.0.2 "$(tcp_client peer 192.168.50.2 7300 | cut -d' ' -f1)"
for ((i = 0; i < 8; i++)); do
        read -r addr sport <<<"$(tcp_client peer 203.0.113.2 7300)"
        [ "$addr" = 198.51.100.1 ] || fail "TCP, masqueraded: source $addr, expected the node's 198.51.100.1"
        ((sport >= 20000 && sport <= 20099 || sport >= 20200 && sport <= 20299)) ||
                fail "TCP, masqueraded: source port $sport is outside 20000-20099,20200-20299"
done
# held_across_cleanup UDP_PORT: a TCP connection and a UDP flow from pod-gr, masqueraded, then
# the agent's tables deleted, then both used again; prints the source ext saw for the connection,
# what its next send met, and the sources of the flow's two datagrams
held_across_cleanup() {
        rm -f "$WORK/held" "$WORK/go"
        in_ns node "$IMA_BIN" apply --config "$WORK/config" 2>/dev/null || fail "apply failed in node"
        tcp_client hold 203.0.113.2 7300 "$WORK" >"$WORK/tcp-held.log" 2>&1 &
        local held=$!
        probe_recv_start ext "$1" 2 "$WORK/udp-held"
        in_ns pod-gr "$IMA_HELPERS/udp-probe" send 203.0.113.2 "$1" before "$1"
        wait_for 10 test -e "$WORK/held" || fail "the held TCP connection did not start: $(cat "$WORK/tcp-held.log")"
        in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
        touch "$WORK/go"
        in_ns pod-gr "$IMA_HELPERS/udp-probe" send 203.0.113.2 "$1" after "$1"
        wait "$held" || fail "the held TCP connection failed: $(cat "$WORK/tcp-held.log")"
        wait "$PROBE_PID" || true
        sed 's/ .*//' "$WORK/tcp-held.log"
        grep -v '^ready$' "$WORK/udp-held" | awk '{ print $1, $3 }'
}
# kube-proxy's masquerade of the traffic it marks, which pod-gr's is not. A rule that translates
# is what counts: beside an empty nat chain alone the connection was reset as with no table at all
# (Linux 6.18), which no node with kube-proxy has.
in_ns node nft 'add table ip other-nat; add chain ip other-nat post { type nat hook postrouting priority srcnat; }
        add rule ip other-nat post meta mark & 0x4000 == 0x4000 masquerade'
assert_eq "open connections when the tables go, another NAT table left" "198.51.100.1
answered
198.51.100.1 before
198.51.100.1 after" "$(held_across_cleanup 7010)"
in_ns node nft delete table ip other-nat
assert_eq "open connections when the tables go, no other NAT user" "198.51.100.1
reset
198.51.100.1 before
10.1.0.2 after" "$(held_across_cleanup 7011)"
kill "$tcp_server" 2>/dev/null || true
wait "$tcp_server" 2>/dev/null || true

# cleanup: the node no longer masquerades (and nothing else does)
in_ns node "$IMA_BIN" cleanup 2>/dev/null || fail "cleanup failed"
got=$(probe_matrix ext 7002 "pod-gr 203.0.113.2")
assert_eq "no SNAT after cleanup" "pod-gr->203.0.113.2 10.1.0.2" "$got"
echo "ok: datapath matches the configuration"
