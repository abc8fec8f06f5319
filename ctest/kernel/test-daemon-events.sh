#!/bin/bash
# The daemon in event-repair mode, one nf_tables event at a time: which commits by others make it
# repair (any object of table ip|ip6 ip-masq-agent, set elements, a dormant flag, the ip6 table
# while IPv6 is off) and which must not (tables of that name in the other families), each repair
# counted under the cause it repaired; and the NAT counters exported as counters that never go
# backwards when the kernel's restart at 0 with a re-created table.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
command -v curl >/dev/null || fail "curl is not installed"

printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/config"
PORT=10261

start_agent() {
        : >"$WORK/agent.log"
        "$IMA_BIN" run --config "$WORK/config" --table-ownership=off --v=2 \
                --metrics-bind-address=127.0.0.1:$PORT "$@" >>"$WORK/agent.log" 2>&1 &
        AGENT=$!
        wait_for 10 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"
        wait_for 10 curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics" || fail "no /metrics"
}

stop_agent() {
        kill -TERM "$AGENT"
        wait_for 10 sh -c "! kill -0 $AGENT" || { kill -KILL "$AGENT"; fail "the agent did not exit"; }
        wait "$AGENT" || fail "exit code $? after SIGTERM"
}

scrape() {
        curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics" || fail "no answer from /metrics"
}

# metric 'NAME{LABELS}': its value in the last scrape, or "absent"
metric() {
        awk -v s="$1" '$1 == s { v = $2 } END { print v == "" ? "absent" : v }' "$WORK/metrics"
}

repairs() {
        grep -c '"Checking the tables' "$WORK/agent.log" || true
}

in_sync() {
        "$IMA_BIN" diff --config "$WORK/config" "$@" >/dev/null 2>&1
}

# --- commits that must not cause a repair ----------------------------------------------------------
# (resyncs every 100 ms, logged at --v=3: whether one read the kernel state says so)
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\nResyncInterval: 100ms\n' >"$WORK/config"
start_agent --v=3
scrape
events0=$(metric ip_masq_agent_kernel_events_total)
for family in inet bridge arp netdev; do
        nft add table "$family" ip-masq-agent
        nft add chain "$family" ip-masq-agent c
        nft delete table "$family" ip-masq-agent
done
nft 'add table ip other; add set ip other s { type ipv4_addr; }; add element ip other s { 1.2.3.4 }'
nft delete table ip other
# each transaction is counted once it is read; a repair, had there been one, starts 2 ms after
events_seen() {
        scrape
        [ "$(metric ip_masq_agent_kernel_events_total)" = "$1" ]
}
wait_for 5 events_seen $((events0 + 14)) ||
        fail "kernel events counted: $(metric ip_masq_agent_kernel_events_total), expected $((events0 + 14))"
sleep 0.1
assert_eq "repairs after commits to other tables (ip-masq-agent of inet, bridge, arp, netdev among them)" 0 "$(repairs)"
# nor a read of the kernel state: the resync after another table's commit, once its event is read,
# trusts the generation the event accounts for
resyncs() { grep -c '"In sync, nothing sent" trigger="resync"' "$WORK/agent.log" || true; }
resynced_since() { [ "$(resyncs)" -gt "$1" ]; }
for i in 1 2 3; do
        scrape
        events=$(metric ip_masq_agent_kernel_events_total)
        nft add table ip other$i
        wait_for 5 events_seen $((events + 1)) || fail "the commit of table ip other$i was not counted"
        before=$(resyncs)
        wait_for 5 resynced_since "$before" || fail "no resync: $(tail -3 "$WORK/agent.log")"
        last=$(grep '"In sync, nothing sent" trigger="resync"' "$WORK/agent.log" | tail -1)
        [[ $last == *'kernelState="known from the last commit"'* ]] ||
                fail "the resync after the commit of table ip other$i read the kernel state: $last"
done
nft 'delete table ip other1; delete table ip other2; delete table ip other3'
stop_agent
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/config"

# --- commits that must: each repaired, and counted under its cause ---------------------------------
start_agent
# the configured table as libnftables reads it back (apart from the agent's own reader)
grep -v -e 'element 172.16.0.0/12' -e 'element 192.168.0.0/16' "$IMA_SRCDIR/golden/apply/default/expected.ip" >"$WORK/want.ip"
as_configured() {
        in_sync && readback ip >"$WORK/got.ip" 2>&1 && cmp -s "$WORK/want.ip" "$WORK/got.ip"
}
check_repair() {
        local what=$1 cause=$2 before
        scrape
        before=$(metric "ip_masq_agent_drift_repairs_total{cause=\"$cause\"}")
        eval "$what" || fail "[$what] failed"
        wait_for 5 as_configured || fail "[$what] not repaired: $(diff -u "$WORK/want.ip" "$WORK/got.ip") $(tail -3 "$WORK/agent.log")"
        # the repair is counted right after it commits; diff may see the kernel first
        wait_for 5 sh -c "curl -sf --max-time 2 http://127.0.0.1:$PORT/metrics |
                grep -qxF 'ip_masq_agent_drift_repairs_total{cause=\"$cause\"} $((before + 1))'" ||
                fail "[$what] not counted as $cause: $(curl -s "http://127.0.0.1:$PORT/metrics" | grep drift_repairs)"
}
check_repair "nft add element ip ip-masq-agent nomasq-dst '{ 8.8.8.8 }'" elements
check_repair "nft delete element ip ip-masq-agent nomasq-dst '{ 10.0.0.0/8 }'" elements
check_repair "nft add table ip ip-masq-agent '{ flags dormant; }'" table_flags
check_repair "nft add chain ip ip-masq-agent stray" table_foreign_objects
check_repair "nft add set ip ip-masq-agent stray '{ type ipv4_addr; }'" table_foreign_objects
check_repair "nft add counter ip ip-masq-agent stray" table_foreign_objects
# (flowtables: this kernel has no flowtable type loaded, and a namespace cannot load it; the
# decoder's handling of their events is covered by test-events)
check_repair "nft add rule ip ip-masq-agent postrouting counter accept" rules
check_repair "nft flush ruleset" table_missing
# IPv6 off: table ip6 ip-masq-agent is not the agent's to keep, and the README says it goes
check_repair "nft add table ip6 ip-masq-agent" table_unwanted
scrape
assert_eq "set_elements of ip6 with IPv6 off" absent "$(metric 'ip_masq_agent_set_elements{family="ip6",set="nomasq-dst"}')"
assert_eq "NAT packets of ip6 with IPv6 off" absent \
        "$(metric 'ip_masq_agent_nat_packets_total{family="ip6",action="masqueraded"}')"
# our own commits (a config change) repair nothing, and cause no repair of their own
before=$(repairs)
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n' >"$WORK/config.tmp"
mv "$WORK/config.tmp" "$WORK/config"
wait_for 5 in_sync || fail "the config change was not applied"
sleep 0.2
assert_eq "repairs caused by our own commit" "$before" "$(repairs)"

# --- NAT counters: kernel counters that restart at 0 with the table; exported ones do not -----------
# a veth pair for a route out (no dummy module in a namespace); NAT decides before the neighbour
# table is asked, but a permanent entry keeps ARP out of it
ip link add v0 type veth peer name v1
ip addr add 192.0.2.1/24 dev v0
ip link set v0 up
ip link set v1 up
ip neigh replace 192.0.2.99 lladdr 02:00:00:00:00:99 dev v0 nud permanent
# each flow from a source port of its own: two sockets given the same ephemeral port one after
# the other would be one conntrack entry, counted once (seen once in CI: 4 of 5 counted)
next_flow_port=20000
flows() {
        local i
        for ((i = 0; i < $1; i++)); do
                "$IMA_HELPERS/udp-probe" send 192.0.2.99 9 "flow-$i" $((next_flow_port++)) ||
                        fail "udp-probe could not send flow $i"
        done
}
masqueraded='ip_masq_agent_nat_packets_total{family="ip",action="masqueraded"}'
flows 5
scrape
assert_eq "masqueraded after 5 flows" 5 "$(metric "$masqueraded")"
nft flush ruleset
wait_for 5 in_sync || fail "the flushed table was not re-created"
scrape
assert_eq "masqueraded after the table was re-created (kernel: 0)" 5 "$(metric "$masqueraded")"
flows 2
scrape
assert_eq "masqueraded after 2 more flows" 7 "$(metric "$masqueraded")"
# a live scrape, repairs, NAT counters and reconcile histogram filled in, as Prometheus reads it
bash "$IMA_SRCDIR/helpers/lint-metrics.sh" "$WORK/metrics" >/dev/null || fail "the scrape does not pass promtool's lint"
# re-created again, and counting past the last reading (2) before the next scrape: no reading
# falls, but the agent knows its repair started the counters over
nft delete table ip ip-masq-agent
wait_for 5 in_sync || fail "the deleted table was not re-created"
flows 3
scrape
assert_eq "masqueraded after a repair and 3 flows (kernel: 3)" 10 "$(metric "$masqueraded")"
stop_agent

# With --to-ports an action has several rules, their counters summed. One of them removed by
# someone else and read before the repair is no restart of the others: they must not be counted
# twice. The agent is stopped while the rule goes and the scrape is sent, so that the scrape is
# answered before the repair (2 ms after the event); when it is not, that is said, and tried again.
to_ports=--to-ports=1024-29999,32768-65535
rules_repaired='ip_masq_agent_drift_repairs_total{cause="rules"}'
# the request waits, unread, in the stopped agent's socket: curl has connected and sent it (on a
# slow machine curl takes longer to start than any fixed pause)
request_queued() {
        ss -Htn state established "( sport = :$PORT )" | awk '$1 > 0 { found = 1 } END { exit !found }'
}
start_agent "$to_ports"
for attempt in 1 2 3; do
        # each attempt its own flows: the last attempt's repair started the rules' counters over
        flows 20
        scrape
        before=$(metric "$masqueraded")
        repaired=$(metric "$rules_repaired")
        handle=$(nft -a list chain ip ip-masq-agent postrouting |
                sed -n 's/.*udp counter packets \([0-9]*\) .*to :32768-65535 .*# handle \([0-9]*\)$/\1 \2/p')
        [ "${handle%% *}" -gt 0 ] && [ "${handle%% *}" -lt "$before" ] ||
                fail "the flows did not spread over the masquerade rules: $(nft list chain ip ip-masq-agent postrouting)"
        kill -STOP "$AGENT"
        nft delete rule ip ip-masq-agent postrouting handle "${handle##* }"
        curl -sf --max-time 10 "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.mid" &
        curl_pid=$!
        wait_for 10 request_queued || fail "the scrape did not reach the stopped agent's socket"
        kill -CONT "$AGENT"
        wait "$curl_pid" || fail "no answer from /metrics"
        wait_for 5 in_sync "$to_ports" || fail "the deleted rule was not put back"
        mv "$WORK/metrics.mid" "$WORK/metrics"
        [ "$(metric "$rules_repaired")" = "$repaired" ] && break
        [ "$attempt" -lt 3 ] || fail "in 3 attempts the scrape always came after the repair: nothing was tested"
        note "attempt $attempt: the scrape came after the repair"
done
assert_eq "masqueraded read with one of the masquerade rules gone" "$before" "$(metric "$masqueraded")"
scrape
assert_eq "masqueraded after the rules were rebuilt" "$before" "$(metric "$masqueraded")"
stop_agent
echo "ok: daemon-events"
