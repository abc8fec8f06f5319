#!/bin/bash
# Real packets while the agent is replaced over and over, as in rolling updates and crashes: every
# datagram pod -> internet must leave masqueraded and every one pod -> private network must keep
# the pod's address, whatever the agent is doing. Agents are killed (SIGKILL) or stopped (SIGTERM)
# and replaced by agents with other options (table ownership on or off, --priority, --to-ports,
# --random-fully), and ConfigMap updates land in between (some of 1,500 prefixes). Each datagram
# is a new flow (a new socket, so a new conntrack entry and a new NAT decision), so a moment with
# the chain missing, half built or holding a partial set would show. Switching ownership
# re-creates the table: before the agent did that in two transactions (range rules first, set
# lookups once the sets are live), a few flows to exempt destinations came out masqueraded.
#
#   pod-gr 10.1.0.2 ---- 10.1.0.1 node 198.51.100.1 ---- 198.51.100.2 ext
#                                                       + 203.0.113.2  ("internet": masqueraded)
#                                                       + 192.168.50.2 (private: not masqueraded)
#
# "test-datapath-churn.sh ipv6" does the same through the ip6 table (--enable-ipv6): pod-gr
# fd20::2, node 2001:db8:1::1, "internet" 2001:db8:ff::2, private fd00:50::2.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
family=${1:-ipv4}

seed=${IMA_CHURN_SEED:-$(($(date +%s%N) % 32768))}
RANDOM=$seed
flows=300 # per destination
note "datapath churn ($family): $flows flows to each destination, IMA_CHURN_SEED=$seed"

# Every config keeps the private destination exempt and the internet one masqueraded; they differ
# around them.
cm="$WORK/configmap"
mkdir "$cm"
case $family in
ipv4)
        topo_mixed_mode 10.1.0.2/24 10.1.0.1/24 172.16.0.2/24 172.16.0.1/24 198.51.100.1/24 198.51.100.2/24
        topo_addr ext lo 203.0.113.2/32
        topo_addr ext lo 192.168.50.2/32
        topo_route pod-gr default 10.1.0.1
        topo_route node 203.0.113.0/24 198.51.100.2
        topo_route node 192.168.50.0/24 198.51.100.2
        topo_route ext 10.1.0.0/24 198.51.100.1
        pod=10.1.0.2 node=198.51.100.1 internet=203.0.113.2 private=192.168.50.2 flags=()
        base="10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"
        mapfile -t big < <("$IMA_HELPERS/gen-prefixes" 1500 "$seed" | grep -v '^203\.0\.113\.\|^192\.168\.')
        configs=("NonMasqueradeCIDRs: [$base]"
                "NonMasqueradeCIDRs: [$base, 100.64.0.0/10]"
                "NonMasqueradeCIDRs: [192.168.0.0/16]
NonMasqueradeSrcCIDRs: [172.16.0.0/16]")
        ;;
ipv6)
        topo_mixed_mode fd20::2/64 fd20::1/64 fd10::2/64 fd10::1/64 2001:db8:1::1/64 2001:db8:1::2/64
        topo_addr ext lo 2001:db8:ff::2/128
        topo_addr ext lo fd00:50::2/128
        topo_route pod-gr default fd20::1
        topo_route node 2001:db8:ff::/64 2001:db8:1::2
        topo_route node fd00:50::/64 2001:db8:1::2
        topo_route ext fd20::/64 2001:db8:1::1
        topo_neigh pod-gr eth0 fd20::1 node gr0
        topo_neigh node eth0 2001:db8:1::2 ext eth0
        pod=fd20::2 node=2001:db8:1::1 internet=2001:db8:ff::2 private=fd00:50::2 flags=(--enable-ipv6)
        base="10.0.0.0/8, fd00::/8"
        # inside fd00::/8: they nest in it or touch one another, never reach 2001:db8:ff::2
        mapfile -t big < <("$IMA_HELPERS/gen-prefixes" 1500 "$seed" ipv6)
        configs=("NonMasqueradeCIDRs: [$base]"
                "NonMasqueradeCIDRs: [$base, 2001:db8:ab::/48]"
                "NonMasqueradeCIDRs: [fd00::/8]
NonMasqueradeSrcCIDRs: [fd10::/64]")
        ;;
*) fail "usage: test-datapath-churn.sh [ipv6]" ;;
esac
configs+=("CidrLimit: 2000
NonMasqueradeCIDRs: [$base, $(IFS=,; echo "${big[*]}")]")
kubelet_update "$cm" ip-masq-agent "${configs[0]}"
option_sets=("" "--table-ownership=off" "--priority=50" "--to-ports=20000-29999" "--random-fully=false"
        "--table-ownership=off --priority=50 --to-ports=20000-20999,21000-29999")

instances=0
start_agent() {
        local opts=$1
        instances=$((instances + 1))
        log="$WORK/agent.$instances.log"
        read -ra extra <<<"$opts"
        # not through in_ns: a function run in the background is a subshell, and $! would be it
        ip netns exec node "$IMA_BIN" run "${flags[@]}" --config "$cm/ip-masq-agent" "${extra[@]}" --v=2 >"$log" 2>&1 &
        agent_pid=$!
        wait_for 10 grep -q 'Reconciled" trigger="start"\|already holds' "$log" ||
                fail "agent $instances ($opts) did not apply its configuration: $(tail -5 "$log")"
}
start_agent ""

# no deadline of its own that sending could outlast (slow machines, sanitizer builds): the
# datagrams are counted once the sender is done
in_ns ext "$IMA_HELPERS/udp-probe" recv 7100 $((2 * flows)) 600000 >"$WORK/received" &
receiver=$!
wait_for 5 grep -q '^ready$' "$WORK/received" || fail "the receiver did not start"
# paced, not as fast as one process can send: the flows must spread over many replacements, in
# any build (a sanitizer build's processes start 12 times slower)
(
        for ((i = 0; i < flows; i += 5)); do
                for ((j = i; j < i + 5 && j < flows; j++)); do
                        echo "$internet internet-$j"
                        echo "$private private-$j"
                done | in_ns pod-gr "$IMA_HELPERS/udp-probe" send-lines 7100 || exit 1
                sleep 0.08
        done
) &
sender=$!

# replace the agent, and update the ConfigMap, until the sender is done (at most 60 rounds)
rounds=0 updates=0
while kill -0 "$sender" 2>/dev/null && [ "$rounds" -lt 60 ]; do
        rounds=$((rounds + 1))
        crash_or_stop "$agent_pid" "$log"
        if [ $((RANDOM % 2)) = 0 ]; then
                kubelet_update "$cm" ip-masq-agent "${configs[RANDOM % ${#configs[@]}]}"
                updates=$((updates + 1))
        fi
        start_agent "${option_sets[RANDOM % ${#option_sets[@]}]}"
        sleep 0.0$((RANDOM % 10))
done
wait "$sender" || fail "the sender failed"
# every datagram is sent: those still on their way arrive within moments
wait_for 5 sh -c "[ \$(grep -c -v '^ready\$' '$WORK/received') -ge $((2 * flows)) ]" ||
        fail "only $(grep -c -v '^ready$' "$WORK/received") of $((2 * flows)) datagrams arrived"
wait "$receiver" || fail "the receiver failed"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "the last agent: exit code $? after SIGTERM"

# "SOURCE SPORT PAYLOAD": internet flows from the node's address, private ones from the pod's
wrong=$(awk -v node="$node" -v pod="$pod" \
        '$3 ~ /^internet-/ && $1 != node || $3 ~ /^private-/ && $1 != pod' "$WORK/received")
[ -z "$wrong" ] || fail "flows with the wrong source while agents were replaced:
$(head -20 <<<"$wrong")"
errors=$(cat "$WORK"/agent.*.log | grep -c '^E' || true)
note "$instances agents, $updates ConfigMap updates in $rounds rounds; $((2 * flows)) flows, each with the right source; $errors error lines"
echo "ok: SNAT held through every agent replacement"
