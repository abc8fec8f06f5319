#!/bin/bash
# Does this kernel make a transaction's new rules live before the lookup data of an interval set
# created in the same transaction? That is why the agent re-creates a table in two transactions
# (README, "Re-creating a table without a gap"). Plain nft, no agent: a table with a set of
# exempt destinations and a masquerade rule is re-created with "nft -f" in a loop while a pod
# sends 400 new flows to an exempt destination; then the same with only the chain re-created
# (the set untouched). Prints how many flows came out masqueraded each way. A count above 0 for
# the table is the window; the chain count is the control. Then the same for a table made where
# there was none (deleted, then made again, in a loop): with plain nft, awake in one transaction,
# and with the agent's apply, which makes it dormant and wakes it in a second (README, "A table
# that is not there at all"). Counts vary from run to run.
#
#   bash ctest/bench/recreate-window.sh
set -euo pipefail
bench_packages=()
. "$(dirname "$0")/prepare.sh"
ima_enter_sandbox "$@"
echo "# $(uname -r), $(nproc) CPUs, $(nft --version)"

topo_mixed_mode 10.1.0.2/24 10.1.0.1/24 172.16.0.2/24 172.16.0.1/24 198.51.100.1/24 198.51.100.2/24
topo_addr ext lo 192.168.50.2/32
topo_route pod-gr default 10.1.0.1
topo_route node 192.168.50.0/24 198.51.100.2
topo_route ext 10.1.0.0/24 198.51.100.1

flows=400
# 1,500 prefixes besides the exempt ranges: a set the size of a real one
extra=$("$IMA_HELPERS/gen-prefixes" 1500 7 | grep -v '^192\.168\.\|^10\.\|^172\.' | tr '\n' ',')
table="table ip t {
        set d {
                type ipv4_addr; flags interval; auto-merge
                elements = { $extra 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 }
        }
        chain p {
                type nat hook postrouting priority 100; policy accept
                ip daddr @d counter return
                counter masquerade
        }
}"
chain="table ip t {
        chain p {
                type nat hook postrouting priority 100; policy accept
                ip daddr @d counter return
                counter masquerade
        }
}"
printf '%s\n' "$table" >"$WORK/table.nft"
printf 'delete table ip t\n%s\n' "$table" >"$WORK/recreate-table.nft"
printf 'flush chain ip t p\ndelete chain ip t p\n%s\n' "$chain" >"$WORK/recreate-chain.nft"
in_ns node nft -f "$WORK/table.nft"

load_script() { in_ns node nft -f "$1" || fail "nft -f $1 failed"; }
# plain nft: the table deleted, then made again awake in a transaction of its own
create_with_nft() {
        in_ns node nft delete table ip t || fail "nft delete table failed"
        in_ns node nft -f "$WORK/table.nft" || fail "nft -f of the table failed"
}
# the agent: its table deleted, then made again by apply (the defaults exempt 192.168.0.0/16)
create_with_agent() {
        in_ns node nft delete table ip ip-masq-agent || fail "nft delete table failed"
        in_ns node "$IMA_BIN" apply --config "$WORK/none" --table-ownership=off 2>/dev/null || fail "apply failed"
}

# masqueraded_while COMMAND ARG PORT: new flows pod -> 192.168.50.2 (exempt) while COMMAND ARG runs
# in a loop
masqueraded_while() {
        local command=$1 script=$2 port=$3 writer loads
        rm -f "$WORK/stop"
        in_ns ext "$IMA_HELPERS/udp-probe" recv "$port" "$flows" 30000 >"$WORK/received" &
        PROBE_PID=$!
        wait_for 5 grep -q '^ready$' "$WORK/received" || fail "the receiver did not start"
        (
                for ((loads = 0; loads < 5000; loads++)); do
                        [ -e "$WORK/stop" ] && break
                        "$command" "$script"
                done
                echo "$loads" >"$WORK/loads"
        ) &
        writer=$!
        for ((i = 0; i < flows; i++)); do
                in_ns pod-gr "$IMA_HELPERS/udp-probe" send 192.168.50.2 "$port" "flow-$i"
        done
        wait "$PROBE_PID" || true
        touch "$WORK/stop"
        wait "$writer"
        echo "$(grep -c '^198\.51\.100\.1 ' "$WORK/received" || true) of $(grep -vc '^ready$' "$WORK/received") flows masqueraded, during $(cat "$WORK/loads") loads"
}

echo "table (sets and rules) re-created in one transaction: $(masqueraded_while load_script "$WORK/recreate-table.nft" 7201)"
echo "only the chain re-created (the set untouched):        $(masqueraded_while load_script "$WORK/recreate-chain.nft" 7202)"
# flooded_while COMMAND PORT: as many new flows pod -> 192.168.50.2 (exempt) as the pod sends in
# 5 s, each from a new socket, while COMMAND runs in a loop: a window of microseconds per load
# needs a flood to be seen at all
flooded_while() {
        local command=$1 port=$2 writer sent
        rm -f "$WORK/stop"
        in_ns ext "$IMA_HELPERS/udp-probe" tally "$port" 1000 30000 >"$WORK/tally" &
        PROBE_PID=$!
        wait_for 5 grep -q '^ready$' "$WORK/tally" || fail "the receiver did not start"
        (
                for ((loads = 0; loads < 5000; loads++)); do
                        [ -e "$WORK/stop" ] && break
                        "$command"
                done
                echo "$loads" >"$WORK/loads"
        ) &
        writer=$!
        sent=$(in_ns pod-gr "$IMA_HELPERS/udp-probe" flood 192.168.50.2 "$port" 5000000 5000)
        touch "$WORK/stop"
        wait "$writer"
        wait "$PROBE_PID" || true
        echo "$(awk '$1 == "198.51.100.1" { n = $2 } END { print n + 0 }' "$WORK/tally") of $(awk '$1 != "ready" { n += $2 } END { print n + 0 }' "$WORK/tally") flows received masqueraded ($sent sent), during $(cat "$WORK/loads") loads"
}

echo "table made where there was none, nft -f (awake):         $(flooded_while create_with_nft 7203)"
in_ns node nft delete table ip t
in_ns node "$IMA_BIN" apply --config "$WORK/none" --table-ownership=off 2>/dev/null || fail "apply failed"
echo "table made where there was none, agent (dormant, woken): $(flooded_while create_with_agent 7204)"
