#!/bin/bash
# Drop-in on the wire: for seeded random configurations, the source address (and, with
# --to-ports, the source port) that an external host sees for each (pod, destination) pair is the
# same behind the upstream agent's iptables rules as behind this agent's table, and is what the
# configuration says. Each configuration runs twice on one topology: phase A with the rules
# upstream's agent (kubernetes-sigs/ip-masq-agent v2.12) writes, loaded the way it loads them
# (iptables-restore --noflush of its chain, the POSTROUTING jump appended), through iptables-nft,
# as on the nftables-based nodes this agent is for; phase B with "ip-masq-agent apply" of the same
# configuration as YAML. (Not iptables-legacy: on a kernel with modules its x_tables modules cannot
# be loaded from the test's user namespace, and its verdicts are the same.)
#
#   pod-gr  10.1.0.2 ---- 10.1.0.1   node   198.51.100.1 ---- 198.51.100.2  ext
#   pod-vpc 172.16.0.2 -- 172.16.0.1                                        + every destination
#
# ext holds a local route for the whole address space (AnyIP), so it owns every destination a
# configuration picks without an address per destination; the node sends all of them to ext.
# Destinations never fall in the three subnets of the topology (nor 0/8, 127/8, 224/3), so the
# pods' addresses and the node's cannot be one of them.
#
# "test-datapath-upstream.sh ipv6" does the same with ip6tables and --enable-ipv6 (fe80::/10 and
# MasqLinkLocalIPv6 instead of 169.254.0.0/16 and MasqLinkLocal): pod-gr fd20::2, pod-vpc fd10::2,
# node 2001:db8:1::1, ext 2001:db8:1::2.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
family=${1:-ipv4}

seed=${IMA_UPSTREAM_SEED:-$(($(date +%s%N) % 1000000))}
config_count=20
note "datapath against upstream's rules ($family): $config_count configurations, IMA_UPSTREAM_SEED=$seed"

command -v python3 >/dev/null || fail "python3 is not installed (it draws the configurations)"
case $family in
ipv4) ipt=iptables ;;
ipv6) ipt=ip6tables ;;
*) fail "usage: test-datapath-upstream.sh [ipv6]" ;;
esac
backend=$ipt-nft
for tool in "$backend" "$backend-restore" "$backend-save"; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (Debian package iptables)"
done
# what phase A needs from the kernel: the nat table, addrtype, statistic, MASQUERADE with
# --to-ports and --random-fully (iptables-nft runs the xt matches through nft_compat)
probe_rule=(-m comment --comment probe -m addrtype ! --dst-type LOCAL -p udp -m statistic --mode random
        --probability 0.5 -j MASQUERADE --to-ports 20000-20099 --random-fully)
out=$("$backend" -t nat -A POSTROUTING "${probe_rule[@]}" 2>&1) ||
        fail "$backend cannot hold upstream's rules in this kernel (a module missing?): $out"
"$backend" -t nat -D POSTROUTING "${probe_rule[@]}"

case $family in
ipv4)
        topo_mixed_mode 10.1.0.2/24 10.1.0.1/24 172.16.0.2/24 172.16.0.1/24 198.51.100.1/24 198.51.100.2/24
        topo_route pod-gr default 10.1.0.1
        topo_route pod-vpc default 172.16.0.1
        topo_route node default 198.51.100.2
        topo_route ext 10.1.0.0/24 198.51.100.1
        topo_route ext 172.16.0.0/24 198.51.100.1
        in_ns ext ip route add local 0.0.0.0/0 dev lo
        node_addr=198.51.100.1 pod_addrs=(10.1.0.2 172.16.0.2) agent_flags=()
        topology="10.1.0.0/24 172.16.0.0/24 198.51.100.0/24"
        ;;
ipv6)
        topo_mixed_mode fd20::2/64 fd20::1/64 fd10::2/64 fd10::1/64 2001:db8:1::1/64 2001:db8:1::2/64
        topo_route pod-gr default fd20::1
        topo_route pod-vpc default fd10::1
        topo_route node default 2001:db8:1::2
        topo_route ext fd20::/64 2001:db8:1::1
        topo_route ext fd10::/64 2001:db8:1::1
        in_ns ext ip -6 route add local ::/0 dev lo
        # a burst of new flows must not wait on neighbour discovery (lib.sh, topo_neigh)
        topo_neigh pod-gr eth0 fd20::1 node gr0
        topo_neigh pod-vpc eth0 fd10::1 node vpc0
        topo_neigh node eth0 2001:db8:1::2 ext eth0
        node_addr=2001:db8:1::1 pod_addrs=(fd20::2 fd10::2) agent_flags=(--enable-ipv6)
        topology="fd20::/64 fd10::/64 2001:db8:1::/64"
        ;;
esac
pods=(pod-gr pod-vpc)

# Configuration N in files $WORK/cfg.N.*: config (YAML for the agent), upstream (the
# iptables-restore payload), flags (the agent's, one a line; upstream's rules carry the same),
# to_ports (the ranges, or empty), dests ("ADDRESS exempt|masq": the
# expectation, from CIDR membership alone, not from either rule set), summary.
python3 - "$seed" "$config_count" "$WORK" "$family" "$topology" <<'PY'
import ipaddress
import random
import sys

seed, count, work, family, topology = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rng = random.Random(seed)
v6 = family == "ipv6"
bits = 128 if v6 else 32
top = (1 << bits) - 1
# by family: ip_address(1) would be 0.0.0.1 in IPv6 mode too
net = ipaddress.IPv6Network if v6 else ipaddress.IPv4Network
addr = ipaddress.IPv6Address if v6 else ipaddress.IPv4Address
link_local = net("fe80::/10" if v6 else "169.254.0.0/16")
halves = ["::/1", "8000::/1"] if v6 else ["0.0.0.0/1", "128.0.0.0/1"]
# never destinations: the topology's subnets (pods, node), and what no router forwards to a host
# (unspecified, loopback, IPv4-mapped, multicast; IPv6 link-local, which a router must not forward:
# fe80::/10 is still in the rules, its traffic is not observable here)
unroutable = ["::/8", "ff00::/8", "fe80::/10"] if v6 else ["0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3"]
never = [net(c) for c in unroutable + topology.split()]


def prefix(a, plen):
    return net((a & ~(top >> plen) & top, plen))


def random_address():
    if v6 and rng.random() < 0.8:
        return rng.getrandbits(125) | (1 << 125)  # 2000::/3, global unicast
    return rng.getrandbits(bits)


def random_length():
    r = rng.random()
    if r < 0.1:
        return rng.randint(1, 7)
    if r < 0.2:
        return rng.randint(bits - 2, bits)
    return rng.randint(8, 30) if not v6 else rng.randint(16, 72)


def cidr_list():
    """Nested, overlapping, duplicate and adjacent prefixes, in no order; sometimes none."""
    shape = rng.random()
    n = 0 if shape < 0.1 else rng.randint(1, 8) if shape < 0.6 else rng.randint(9, 24) if shape < 0.9 else rng.randint(25, 64)
    out = []
    while len(out) < n:
        kind = rng.choice(["fresh", "fresh", "nested", "wider", "duplicate", "adjacent", "half", "link-local"])
        base = rng.choice(out) if out else None
        if kind == "fresh" or base is None:
            out.append(prefix(random_address(), random_length()))
        elif kind == "nested" and base.prefixlen < bits:
            plen = rng.randint(base.prefixlen + 1, min(bits, base.prefixlen + 12))
            out.append(prefix(int(base.network_address) + rng.getrandbits(bits - base.prefixlen), plen))
        elif kind == "wider" and base.prefixlen > 0:
            out.append(prefix(int(base.network_address), rng.randint(max(0, base.prefixlen - 12), base.prefixlen - 1)))
        elif kind == "duplicate":
            out.append(base)
        elif kind == "adjacent":
            size = base.num_addresses
            start = int(base.network_address) + rng.choice([size, -size])
            if 0 <= start <= top:
                out.append(prefix(start, base.prefixlen))
        elif kind == "half" and rng.random() < 0.3:
            out.append(net(rng.choice(halves)))
        elif kind == "link-local":
            ll = int(link_local.network_address)
            plen = rng.choice([link_local.prefixlen, link_local.prefixlen - rng.randint(1, 8),
                               rng.randint(link_local.prefixlen + 1, bits)])
            out.append(prefix(ll + rng.getrandbits(bits - link_local.prefixlen), plen))
    return out


def destinations(cidrs):
    """First and last address of each prefix, the ones just outside, link-local, random ones."""
    found = []
    ll_first, ll_last = int(link_local.network_address), int(link_local.broadcast_address)
    candidates = [ll_first, ll_last, ll_first - 1, ll_last + 1] + \
        [ll_first + rng.getrandbits(bits - link_local.prefixlen) for _ in range(3)] + \
        [random_address() for _ in range(10)]
    for c in cidrs:
        first, last = int(c.network_address), int(c.broadcast_address)
        candidates += [first, last, first - 1, last + 1]
    for a in candidates:
        if 0 <= a <= top and a not in found and not any(addr(a) in n for n in never):
            found.append(a)
    return [addr(a) for a in found]


def key(camel):
    return camel if rng.random() < 0.5 else camel[0].upper() + camel[1:]


def ports(total):
    """One or two ranges of --to-ports, disjoint (adjacent at times), in either order. Never
    fewer than 4 ports: both pods' flows to one destination must find a port each."""
    ranges = []
    while len(ranges) < total:
        lo = rng.randint(1024, 60000)
        r = (lo, lo + (rng.randint(3, 63) if rng.random() < 0.15 else rng.randint(64, 2000)))
        if ranges and rng.random() < 0.2:
            r = (ranges[0][1] + 1, ranges[0][1] + 1 + r[1] - r[0])
        if r[1] <= 65535 and all(r[1] < o[0] or r[0] > o[1] for o in ranges):
            ranges.append(r)
    return ranges


jump_comment = '-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE"'
masq_comment = '-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)"'
for i in range(count):
    cidrs = cidr_list()
    masq_link_local = rng.choice([None, False, True])
    random_fully = rng.choice([None, False, True])  # None: the flag left out, true by default
    to_ports = ports(rng.randint(1, 2)) if rng.random() < 0.35 else []
    d = f"{work}/cfg.{i}"

    lines = []
    if rng.random() < 0.5:
        # in a flow sequence YAML reads a plain ":" as a key's end: "::/0" needs quotes there
        flow = [f'"{c}"' if str(c).startswith(":") else str(c) for c in cidrs]
        lines.append(f"{key('nonMasqueradeCIDRs')}: [{', '.join(flow)}]")
    else:
        # no items: "[]", or null, which upstream's JSON decoding also takes as an empty list
        lines.append(f"{key('nonMasqueradeCIDRs')}:" + (" []" if not cidrs and rng.random() < 0.5 else ""))
        lines += [f"  - {c}" for c in cidrs]
    if masq_link_local is not None:
        lines.append(f"{key('masqLinkLocalIPv6' if v6 else 'masqLinkLocal')}: {str(masq_link_local).lower()}")
    with open(f"{d}.config", "w") as f:
        f.write("\n".join(lines) + "\n")

    fully = " --random-fully" if random_fully is not False else ""
    rules = ["*nat", ":IP-MASQ-AGENT - [0:0]"]
    if not masq_link_local:
        rules.append(f"-A IP-MASQ-AGENT {jump_comment} -d {link_local} -j RETURN")
    rules += [f"-A IP-MASQ-AGENT {jump_comment} -d {c} -j RETURN" for c in cidrs]
    total = sum(hi - lo + 1 for lo, hi in to_ports)
    for proto in ["tcp", "udp", "sctp"]:
        remaining = total
        for k, (lo, hi) in enumerate(to_ports):
            statistic = ""
            if k < len(to_ports) - 1:
                statistic = f" -m statistic --mode random --probability {repr((hi - lo + 1) / remaining)}"
            rules.append(f"-A IP-MASQ-AGENT {masq_comment} -j MASQUERADE{fully} -p {proto}{statistic} --to-ports {lo}-{hi}")
            remaining -= hi - lo + 1
    rules += [f"-A IP-MASQ-AGENT {masq_comment} -j MASQUERADE{fully}", "COMMIT"]
    with open(f"{d}.upstream", "w") as f:
        f.write("\n".join(rules) + "\n")

    flags = []
    if random_fully is not None:
        flags.append(f"--random-fully={str(random_fully).lower()}")
    if to_ports:
        flags.append("--to-ports=" + ",".join(f"{lo}-{hi}" for lo, hi in to_ports))
    with open(f"{d}.flags", "w") as f:
        f.write("".join(x + "\n" for x in flags))
    with open(f"{d}.to_ports", "w") as f:
        f.write(" ".join(f"{lo}-{hi}" for lo, hi in to_ports))

    # the expectation, from the configuration's meaning rather than from either rule set
    dests = destinations(cidrs)
    with open(f"{d}.dests", "w") as f:
        for a in dests:
            exempt = any(a in c for c in cidrs) or (not masq_link_local and a in link_local)
            f.write(f"{a} {'exempt' if exempt else 'masq'}\n")
    with open(f"{d}.summary", "w") as f:
        f.write(f"{len(cidrs)} CIDRs, {'MasqLinkLocal' + ('IPv6' if v6 else '')}={masq_link_local}, "
                f"flags [{' '.join(flags)}], {len(dests)} destinations")
PY

# probe SPORT_BASE DESTS OUT: from each pod, one datagram to each address of DESTS, pod i sending
# from source port SPORT_BASE + i; writes "POD DEST SOURCE SPORT" lines, sorted, to OUT. A
# datagram lost on the way (a veth backlog overflows on a loaded machine) is sent once more: from
# the same port, so the same flow, NATed by the binding it already got. Bounded: two rounds, each
# of one datagram per pair and a receiver's deadline.
probe() {
        local sport_base=$1 dests=$2 out=$3 pending="$WORK/pending" seen="$WORK/seen" round i
        local -a senders=()
        : >"$seen"
        for i in "${!pods[@]}"; do
                awk -v pod="${pods[i]}" '{ print pod, $1 }' "$dests"
        done >"$pending"
        for round in 1 2; do
                probe_recv_start ext 7100 "$(wc -l <"$pending")" "$WORK/received" $((5000 + $(wc -l <"$pending") * 20))
                senders=()
                for i in "${!pods[@]}"; do
                        # one sender per pod; each datagram from a new socket
                        awk -v pod="${pods[i]}" '$1 == pod { print $2, pod ">" $2 }' "$pending" |
                                in_ns "${pods[i]}" "$IMA_HELPERS/udp-probe" send-lines 7100 $((sport_base + i)) &
                        senders+=($!)
                done
                for i in "${senders[@]}"; do
                        wait "$i" || fail "udp-probe send failed"
                done
                wait "$PROBE_PID" || true
                awk '$1 != "ready" { split($3, p, ">"); print p[1], p[2], $1, $2 }' "$WORK/received" >>"$seen"
                awk 'NR == FNR { got[$1 " " $2] = 1; next } !got[$1 " " $2]' "$seen" "$pending" >"$pending.next"
                mv "$pending.next" "$pending"
                [ -s "$pending" ] || break
                [ "$round" = 2 ] || note "probe: $(wc -l <"$pending") datagrams did not arrive; sending them once more"
        done
        sort -u "$seen" >"$out"
}

# Conntrack keeps the NAT binding of a flow: a datagram of phase B on a flow of phase A would leave
# with A's translation, whatever B's rules say. So each phase of each configuration sends from
# source ports of its own (the pods send from fixed ports, not ephemeral ones that could repeat):
# every flow of B is new. Fixed ports also show port preservation: a flow not masqueraded, or
# masqueraded without --random-fully and --to-ports, keeps its source port (each flow has a
# destination of its own, so no two clash on the node's address).
sport_of() { # CONFIG PHASE(0 = A, 1 = B) -> the first pod's source port
        echo $((41000 + 4 * $1 + 2 * $2))
}

# upstream_tables CONFIG CMD...: CMD (an iptables tool) in node, or fail with what it said
upstream_tables() {
        local config=$1
        shift
        in_ns node "$@" 2>"$WORK/ipt.err" || fail "configuration $config: $* failed: $(cat "$WORK/ipt.err")"
}

jump=(-m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain"
        -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT)
total_pairs=0
t_start=$(now_ms)
for ((c = 0; c < config_count; c++)); do
        cfg="$WORK/cfg.$c"
        mapfile -t flags <"$cfg.flags"
        note "configuration $c: $(cat "$cfg.summary")"

        # phase A: upstream's rules, as its agent writes them
        upstream_tables "$c" "$backend-restore" --noflush <"$cfg.upstream"
        upstream_tables "$c" "$backend" -t nat -A POSTROUTING "${jump[@]}"
        probe "$(sport_of "$c" 0)" "$cfg.dests" "$cfg.seen-upstream"
        upstream_tables "$c" "$backend-save" -t nat >"$cfg.rules-upstream"
        # gone completely before the agent's phase, as README's migration steps leave them
        upstream_tables "$c" "$backend" -t nat -D POSTROUTING "${jump[@]}"
        upstream_tables "$c" "$backend" -t nat -F IP-MASQ-AGENT
        upstream_tables "$c" "$backend" -t nat -X IP-MASQ-AGENT
        left=$(upstream_tables "$c" "$backend-save" -t nat)
        ! grep -q 'IP-MASQ-AGENT\|MASQUERADE' <<<"$left" || fail "configuration $c: upstream's rules are still there: $left"

        # phase B: the agent
        in_ns node "$IMA_BIN" apply "${agent_flags[@]}" --config "$cfg.config" "${flags[@]}" 2>"$WORK/apply.err" ||
                fail "configuration $c: apply failed: $(cat "$WORK/apply.err")
$(cat "$cfg.config")"
        probe "$(sport_of "$c" 1)" "$cfg.dests" "$cfg.seen-agent"
        in_ns node nft list ruleset >"$cfg.rules-agent"
        in_ns node "$IMA_BIN" cleanup "${agent_flags[@]}" 2>"$WORK/cleanup.err" ||
                fail "configuration $c: cleanup failed: $(cat "$WORK/cleanup.err")"

        keeps_port=0
        ! grep -q -e '--random-fully=false' "$cfg.flags" || keeps_port=1
        # per (pod, destination): both phases saw a datagram, with the same source address, which
        # is the pod's for an exempt destination and the node's otherwise; source ports kept where
        # nothing may change them, within --to-ports where masqueraded with it
        mismatches=$(awk -v node="$node_addr" -v pods="${pods[*]}" -v addrs="${pod_addrs[*]}" \
                -v sport_a="$(sport_of "$c" 0)" -v sport_b="$(sport_of "$c" 1)" \
                -v to_ports="$(cat "$cfg.to_ports")" -v keeps_port="$keeps_port" '
                function in_ranges(port,    i, n, r, b) {
                        n = split(to_ports, r, " ")
                        for (i = 1; i <= n; i++) {
                                split(r[i], b, "-")
                                if (port + 0 >= b[1] + 0 && port + 0 <= b[2] + 0)
                                        return 1
                        }
                        return 0
                }
                function check(phase, pair, want_addr, sent_port, masq,    got, f) {
                        if (!((phase, pair) in seen))
                                return phase ": no datagram arrived"
                        split(seen[phase, pair], f, " ")
                        if (f[1] != want_addr)
                                return phase ": source " f[1] ":" f[2]
                        if (!masq || (to_ports == "" && keeps_port))
                                return f[2] == sent_port ? "" : phase ": source port " f[2] ", sent from " sent_port
                        if (to_ports != "" && !in_ranges(f[2]))
                                return phase ": source port " f[2] " outside --to-ports"
                        return ""
                }
                BEGIN {
                        n = split(pods, pod, " ")
                        split(addrs, addr, " ")
                }
                FILENAME ~ /seen-upstream$/ { seen["upstream", $1 " " $2] = $3 " " $4; next }
                FILENAME ~ /seen-agent$/ { seen["agent", $1 " " $2] = $3 " " $4; next }
                {
                        for (i = 1; i <= n; i++) {
                                pair = pod[i] " " $1
                                want = $2 == "exempt" ? addr[i] : node
                                a = check("upstream", pair, want, sport_a + i - 1, $2 == "masq")
                                b = check("agent", pair, want, sport_b + i - 1, $2 == "masq")
                                if (a != "" || b != "")
                                        print pod[i] " -> " $1 ": expected " $2 " (source " want ")" \
                                                (a != "" ? "; " a : "") (b != "" ? "; " b : "")
                                total++
                        }
                }
                END { print total > "/dev/stderr" }' "$cfg.seen-upstream" "$cfg.seen-agent" "$cfg.dests" 2>"$WORK/pairs")
        total_pairs=$((total_pairs + $(cat "$WORK/pairs")))
        if [ -n "$mismatches" ]; then
                echo "FAIL: configuration $c of IMA_UPSTREAM_SEED=$seed ($family): $(wc -l <<<"$mismatches") of $(cat "$WORK/pairs") pairs differ" >&2
                head -40 <<<"$mismatches" >&2
                {
                        echo "--- config (agent flags: ${agent_flags[*]} ${flags[*]})"
                        cat "$cfg.config"
                        echo "--- upstream's rules as $backend-save read them back"
                        cat "$cfg.rules-upstream"
                        echo "--- the agent's ruleset"
                        cat "$cfg.rules-agent"
                } >&2
                exit 1
        fi
done
note "$total_pairs (pod, destination) pairs in $config_count configurations agree in $(($(now_ms) - t_start)) ms"
echo "ok: upstream's iptables rules and the agent's table translate every flow alike ($family, IMA_UPSTREAM_SEED=$seed)"
