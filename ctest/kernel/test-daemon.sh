#!/bin/bash
# The daemon ("run"): ConfigMap updates applied at once, drift repaired at once (event mode) or
# made impossible (ownership mode), signals, a bad configuration keeping the last good one in
# force, and a process fighting the agent not making it spin.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

cm="$WORK/configmap"
mkdir "$cm"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"

started() {
        [ "$(grep -c 'trigger="start"' "$WORK/agent.log")" -gt "$1" ]
}

# Starts the agent and waits for its first reconcile: before that it may not have blocked
# SIGTERM yet, and an existing table says nothing about this agent.
start_agent() {
        local before
        before=$(grep -c 'trigger="start"' "$WORK/agent.log" 2>/dev/null || true)
        # the binary itself, not the agent() function: $! must be the agent for kill
        "$IMA_BIN" run --config "$cm/ip-masq-agent" --v=2 "$@" >>"$WORK/agent.log" 2>&1 &
        AGENT=$!
        wait_for 10 started "${before:-0}" || fail "the agent did not start: $(tail "$WORK/agent.log")"
}

stop_agent() {
        kill -TERM "$AGENT"
        if ! wait_for 10 sh -c "! kill -0 $AGENT"; then
                kill -KILL "$AGENT"
                fail "the agent did not exit within 10 s of SIGTERM: $(tail -20 "$WORK/agent.log")"
        fi
        local rc=0
        wait "$AGENT" || rc=$?
        [ "$rc" = 0 ] || fail "exit code $rc after SIGTERM: $(grep -v '^I' "$WORK/agent.log" | tail -30)"
}


dst_lacks() {
        local out
        out=$(nft list set ip ip-masq-agent nomasq-dst 2>/dev/null) && ! grep -q -- "$1" <<<"$out"
}

# --- event repair mode ----------------------------------------------------------------------------
# --masq-chain's value reads as a command: the one-shot commands below must still see a daemon here
start_agent --table-ownership=off --masq-chain apply
dst_has "10.0.0.0/8" || fail "initial configuration not applied"
# a second daemon in event-repair mode would fight the first over another configuration: it says so
"$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off >"$WORK/second.log" 2>&1 &
second=$!
wait_for 5 grep -q "^W.*\"Another ip-masq-agent daemon runs in this network namespace: .*pid=\"$AGENT\"" "$WORK/second.log" ||
        fail "a second daemon did not name the first: $(cat "$WORK/second.log")"
kill -TERM $second
wait $second || fail "the second daemon did not exit 0 on SIGTERM"

t0=$(now_ms)
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]"
wait_for 5 dst_has "192.168.0.0/16" || fail "ConfigMap update not applied"
note "ConfigMap update applied after $(($(now_ms) - t0)) ms (poll granularity 10 ms)"

# what each repair must restore, read back apart from the agent's own reader (libnftables JSON):
# the default table, less the CIDR the ConfigMap leaves out
grep -v 'element 172.16.0.0/12' "$IMA_SRCDIR/golden/apply/default/expected.ip" >"$WORK/want.ip"
as_configured() {
        readback ip >"$WORK/got.ip" 2>&1 && cmp -s "$WORK/want.ip" "$WORK/got.ip"
}
as_configured || fail "the ConfigMap's table is not as configured: $(diff -u "$WORK/want.ip" "$WORK/got.ip")"
drifts=("nft delete table ip ip-masq-agent" "nft flush ruleset" "nft flush chain ip ip-masq-agent postrouting"
        "nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }")
add_catchall_drift drifts
for drift in "${drifts[@]}"; do
        t0=$(now_ms)
        eval "$drift"
        wait_for 5 as_configured || fail "[$drift] not repaired: $(diff -u "$WORK/want.ip" "$WORK/got.ip")"
        note "[$drift] repaired after $(($(now_ms) - t0)) ms"
        agent diff --config "$cm/ip-masq-agent" >/dev/null || fail "[$drift] repaired, but diff still reports drift"
done

# a one-shot cleanup beside the daemon succeeds in the kernel, is undone at once, and says so
out=$(agent cleanup 2>&1) || fail "cleanup beside the daemon failed: $out"
grep -q "\"Another ip-masq-agent runs in this network namespace: it will undo this change\" command=\"cleanup\" pid=$AGENT " \
        <<<"$out" || fail "cleanup did not name the daemon that undoes it: $out"
wait_for 5 agent diff --config "$cm/ip-masq-agent" || fail "the daemon did not undo the cleanup"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12]\n' >"$WORK/other.yaml"
out=$(agent apply --config "$WORK/other.yaml" 2>&1) || fail "apply beside the daemon failed: $out"
grep -q "it will undo this change\" command=\"apply\" pid=$AGENT " <<<"$out" ||
        fail "apply did not name the daemon that undoes it: $out"
wait_for 5 agent diff --config "$cm/ip-masq-agent" || fail "the daemon did not undo the apply"

# our own large commits (60,000 prefixes: 120,000 element notifications, added at start, then
# deleted by a config change) are sent while the agent is out of the event group, so the kernel
# builds no notifications for them; afterwards the generation shows nobody else committed meanwhile
# (no read), and the next change by someone else is seen and repaired.
stop_agent
need_large_transactions "the large-commit checks (60,000 prefixes in one transaction)"
{
        echo "CidrLimit: 60000"
        echo "NonMasqueradeCIDRs:"
        "$IMA_HELPERS/gen-prefixes" 60000 7 | sed 's/^/  - /'
} >"$WORK/big.yaml"
: >"$WORK/agent.log"
"$IMA_BIN" run --config "$WORK/big.yaml" --table-ownership=off --v=3 >>"$WORK/agent.log" 2>&1 &
AGENT=$!
wait_for 30 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"
if grep -q '^E' "$WORK/agent.log"; then fail "the large start failed: $(grep -m3 '^E' "$WORK/agent.log")"; fi
# a long list is logged as counts, not as a 1 MB line
grep -qE '"Using configuration" .* loadTime="[0-9.]+(µs|ms|s)" nonMasqueradeCIDRs=60000 nonMasqueradeSrcCIDRs=0 cidrLimit=60000 ' "$WORK/agent.log" ||
        fail "the large configuration was not logged as counts: $(grep -m1 'Using configuration' "$WORK/agent.log" | cut -c1-300)"
longest=$(awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }' "$WORK/agent.log")
[ "$longest" -lt 1000 ] || fail "a log line of $longest bytes"
repaired_8888() {
        nft add element ip ip-masq-agent nomasq-dst "{ 8.8.8.8 }"
        # dst_lacks: the set is there (a lost table lacks 8.8.8.8 too)
        wait_for 10 dst_lacks "8\.8\.8\.8" ||
                fail "$1: a change by another process was not repaired: $(tail -5 "$WORK/agent.log")"
}
wait_for 5 grep -q 'In sync, nothing sent" trigger="repair" kernelState="known from the last commit"' "$WORK/agent.log" ||
        fail "our own large commit was not followed by a generation check, or that check read the ruleset: $(tail -5 "$WORK/agent.log")"
! grep -q "events were lost" "$WORK/agent.log" ||
        fail "the agent heard its own large commit: $(grep 'events were lost' "$WORK/agent.log")"
repaired_8888 "after our large commit"
# a large commit by someone else overflows the agent's event queue while the agent is not reading
# (stopped here, to make it certain): another agent, run with --enable-ipv6, adds table ip6
# ip-masq-agent with 60,000 prefixes (120,000 notifications), which this IPv4-only agent must
# remove; only the loss tells it to look
{
        echo "CidrLimit: 120000"
        echo "NonMasqueradeCIDRs:"
        "$IMA_HELPERS/gen-prefixes" 60000 7 | sed 's/^/  - /'
        "$IMA_HELPERS/gen-prefixes" 60000 9 ipv6 | sed 's/^/  - /'
} >"$WORK/big6.yaml"
kill -STOP "$AGENT"
"$IMA_BIN" apply --enable-ipv6 --config "$WORK/big6.yaml" 2>/dev/null || fail "the other agent's apply failed"
kill -CONT "$AGENT"
wait_for 10 grep -q "events were lost" "$WORK/agent.log" ||
        fail "120,000 notifications did not overflow the agent's event queue: $(tail -3 "$WORK/agent.log")"
wait_for 10 sh -c "! nft list table ip6 ip-masq-agent >/dev/null 2>&1" ||
        fail "the table ip6 another process added was not removed after the loss: $(tail -3 "$WORK/agent.log")"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8]\n' >"$WORK/big.yaml.tmp"
mv "$WORK/big.yaml.tmp" "$WORK/big.yaml"
wait_for 30 grep -q 'trigger="config change"' "$WORK/agent.log" || fail "the config change was not applied"
grep -q '"New configuration" .* loadTime="[0-9.]*[µm]*s" config="{\\"nonMasqueradeCIDRs\\":\[\\"10.0.0.0/8\\"\],' "$WORK/agent.log" ||
        fail "a short configuration was not logged in full: $(grep 'New configuration' "$WORK/agent.log")"
repaired_8888 "after our large delete"
# SIGHUP reads the kernel state back (README: Running as a daemon), though the generation says
# the agent's own last commit holds: the backstop an operator asks for
kill -HUP "$AGENT"
wait_for 5 grep -q '"In sync, nothing sent" trigger="reload" kernelState="read"' "$WORK/agent.log" ||
        fail "SIGHUP did not read the kernel state: $(grep 'trigger="reload"' "$WORK/agent.log" | tail -1)"
# a burst of large updates: each of our commits is followed by a generation check, and those
# checks, finding nothing to repair, must not be taken for a fight (slowed down and warned of)
for seed in 3 4; do
        {
                echo "CidrLimit: 2000"
                echo "NonMasqueradeCIDRs:"
                "$IMA_HELPERS/gen-prefixes" 1500 "$seed" | sed 's/^/  - /'
        } >"$WORK/burst$seed.yaml"
done
checks_before=$(grep -c 'Checking the tables' "$WORK/agent.log" || true)
for i in $(seq 1 40); do
        cp "$WORK/burst$((3 + i % 2)).yaml" "$WORK/big.yaml.tmp"
        mv "$WORK/big.yaml.tmp" "$WORK/big.yaml"
        sleep 0.05
done
wait_for 10 agent diff --config "$WORK/big.yaml" || fail "the last of the burst was not applied"
# read back apart from the agent: the last file's prefixes, and link-local
readback ip | sed -n 's/^  element //p' | sort >"$WORK/got.burst"
{ "$IMA_HELPERS/gen-prefixes" 1500 3; echo 169.254.0.0/16; } | sort >"$WORK/want.burst"
cmp -s "$WORK/want.burst" "$WORK/got.burst" ||
        fail "after the burst the set is not the last file's: $(diff "$WORK/want.burst" "$WORK/got.burst" | head -5)"
if grep -q "Another process keeps changing" "$WORK/agent.log"; then
        fail "our own burst of large commits was taken for a fight: $(grep -m1 "keeps changing" "$WORK/agent.log")"
fi
note "burst of 40 large updates: $(($(grep -c 'Checking the tables' "$WORK/agent.log") - checks_before)) generation checks"
repaired_8888 "after a burst of our large commits"
stop_agent
: >"$WORK/agent.log" # the sections below count lines of their own agent's log only
start_agent --table-ownership=off
dst_has "192.168.0.0/16" || fail "the small configuration was not applied again"

# a bad configuration: the last good one stays in force, is still repaired, and the error is
# logged once although the resync keeps reading the file
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.1/8]
ResyncInterval: 1s"
wait_for 5 grep -q "host bits are set" "$WORK/agent.log" || fail "the invalid configuration was not reported"
nft delete table ip ip-masq-agent
wait_for 5 dst_has "192.168.0.0/16" || fail "the last good configuration was not repaired while the file is invalid"
# the defaults hold 192.168.0.0/16 too: what tells the last good configuration from them
dst_lacks "172.16.0.0/12" || fail "the invalid file brought the defaults, not the last good configuration"
kill -HUP "$AGENT"
sleep 0.3
assert_eq "times the same configuration error was logged" 1 "$(grep -c "host bits are set" "$WORK/agent.log")"
# that SIGHUP found the kernel in sync: at --v=2 an in-sync reconcile says nothing
assert_eq "in-sync lines logged at --v=2" 0 "$(grep -c "In sync" "$WORK/agent.log" || true)"

# a file with hundreds of problems: the first 100 are logged, and one line counts the rest (a list
# of 100,000 CIDRs with host bits set would log 100,000 lines at every change)
lines_before=$(wc -l <"$WORK/agent.log")
kubelet_update "$cm" ip-masq-agent "CidrLimit: 300
NonMasqueradeCIDRs: [$(for i in $(seq 0 299); do printf '10.%d.0.1/16,' "$i"; done)]"
wait_for 5 grep -q '"More problems in the configuration, not logged" .* errors=200 warnings=0 ' "$WORK/agent.log" ||
        fail "the problems beyond the first 100 were not counted: $(tail -2 "$WORK/agent.log" | cut -c1-300)"
logged=$(($(wc -l <"$WORK/agent.log") - lines_before))
[ "$logged" -le 110 ] || fail "a file with 300 problems logged $logged lines"

# SIGHUP re-reads a file that inotify cannot see change (written in place behind the symlink)
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"
wait_for 5 dst_lacks "192.168.0.0/16" || fail "fixed configuration not applied"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12]\n' >"$cm/..data/ip-masq-agent"
kill -HUP "$AGENT"
wait_for 5 dst_has "172.16.0.0/12" || fail "SIGHUP did not reload"
# counted after a second valid configuration: the recovery is one event, not every load after it
assert_eq "times the recovery from the invalid configuration was logged" 1 \
        "$(grep -c '"Configuration is valid again"' "$WORK/agent.log")"

# the ConfigMap disappears: defaults
rm "$cm/ip-masq-agent"
rm -rf "${cm:?}/$(readlink "$cm/..data")" "$cm/..data"
kill -HUP "$AGENT"
wait_for 5 dst_has "192.168.0.0/16" || fail "defaults not applied after the file was removed"

# a process fighting the agent: each of its changes is repaired, but with a growing delay
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"
wait_for 5 dst_lacks "192.168.0.0/16" || fail "the configuration before the fight was not applied"
repairs_before=$(grep -c '"Reconciled" trigger="repair"' "$WORK/agent.log" || true)
cpu_before=$(cpu_ms "$AGENT")
changes=0
start=$SECONDS
# at least 4 s, then until the agent reports the fight: where each nft takes half a second (an
# emulated machine), the delay needs more repairs, so more seconds, to reach the second that
# makes it a fight. At most 30 s and 5,000 changes.
while [ $((SECONDS - start)) -lt 30 ] && [ $changes -lt 5000 ]; do
        if [ $((SECONDS - start)) -ge 4 ] && grep -q 'keeps changing table' "$WORK/agent.log"; then
                break
        fi
        nft add element ip ip-masq-agent nomasq-dst "{ 8.8.$((changes % 250)).8 }" 2>/dev/null || true
        changes=$((changes + 1))
done
seconds=$((SECONDS - start))
repairs=$(($(grep -c '"Reconciled" trigger="repair"' "$WORK/agent.log") - repairs_before))
cpu=$(($(cpu_ms "$AGENT") - cpu_before))
note "fighting writer: $changes changes in $seconds s, agent repaired $repairs times using $cpu ms CPU"
[ "$repairs" -ge 3 ] || fail "the agent stopped repairing while being fought ($repairs repairs)"
# back-off 2, 4, 8 ... ms capped at 10 s: at most ~16 repairs fit in 30 s, whatever the writer does
[ "$repairs" -le 20 ] || fail "the agent repaired $repairs times in $seconds s: no back-off"
# a spinning agent would use most of the 4 s or more; this one uses tens of ms (the bound is loose
# on purpose: CPU time, not wall time, and sanitizer builds are slower)
[ "$cpu" -lt 2000 ] || fail "the agent used $cpu ms of CPU in $seconds s of fighting"
grep -q 'keeps changing table ip-masq-agent: .* changedBy="nft\[' "$WORK/agent.log" ||
        fail "the fight was not reported, naming the process"
# one quiet second resets the delay (README): once the fight's last repair is done, a change made
# a second later is repaired at once again, not after the fight's back-off of seconds
wait_for 15 dst_lacks "8\.8\." || fail "the fighting writer's elements were not removed"
sleep 1.2
nft add element ip ip-masq-agent nomasq-dst "{ 9.9.9.9 }"
t0=$(now_ms)
wait_for 15 dst_lacks "9\.9\.9\.9" || fail "a change after a quiet second was not repaired"
note "after a quiet second: repaired in $(($(now_ms) - t0)) ms"
# the check that repaired it came after the first delay, not the fight's (the log says, whatever
# the machine's load did to the wall time)
last_check=$(grep '"Checking the tables' "$WORK/agent.log" | tail -1)
[[ $last_check == *" afterMs=2" ]] ||
        fail "a change after a quiet second was checked after the fight's delay, not 2 ms: $last_check"
# a fight after that quiet second is another fight: reported again (once per fight, README)
changes=0
start=$SECONDS
while [ $((SECONDS - start)) -lt 30 ] && [ $changes -lt 5000 ]; do
        [ "$(grep -c 'keeps changing table' "$WORK/agent.log")" -ge 2 ] && break
        nft add element ip ip-masq-agent nomasq-dst "{ 8.8.$((changes % 250)).8 }" 2>/dev/null || true
        changes=$((changes + 1))
done
# (at least 2: a writer stalled for a second on a slow machine starts a third fight, as it should)
fights=$(grep -c 'keeps changing table' "$WORK/agent.log")
[ "$fights" -ge 2 ] || fail "a fight after a quiet second was not reported again ($fights fight reported)"
wait_for 15 dst_lacks "8\.8\." || fail "the second fighting writer's elements were not removed"
stop_agent
nft list table ip ip-masq-agent >/dev/null || fail "SIGTERM removed the table"
# an agent starting on an invalid file applies nothing, and says that the table the last one left
# still masquerades by that one's configuration, unrepaired
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.1/8]"
: >"$WORK/invalid-start.log"
"$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off >"$WORK/invalid-start.log" 2>&1 &
invalid_agent=$!
wait_for 5 grep -q '"Configuration is invalid"' "$WORK/invalid-start.log" ||
        fail "an invalid file at the start was not reported: $(cat "$WORK/invalid-start.log")"
grep -q 'action="nothing is applied until it is fixed; the tables a previous agent left keep masquerading by its configuration, unrepaired"' \
        "$WORK/invalid-start.log" || fail "the table left behind is not mentioned: $(cat "$WORK/invalid-start.log")"
kill -TERM $invalid_agent
wait $invalid_agent || fail "the agent with an invalid file did not exit 0 on SIGTERM"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"

# --- health and metrics endpoints (a real HTTP client: curl) ---------------------------------------
http() {
        curl -s --max-time 10 -o "$WORK/body" -w '%{http_code}' "http://$1" ||
                fail "no answer from http://$1 within 10 s: $(tail -20 "$WORK/agent.log")"
}
: >"$WORK/agent.log" # this section reads only its own agent's log (kept empty, not removed)
start_agent --table-ownership=off --health-bind-address=127.0.0.1:10254 --metrics-bind-address=:10255
assert_eq "/healthz" 200 "$(http 127.0.0.1:10254/healthz)"
assert_eq "/readyz with a valid configuration" 200 "$(http 127.0.0.1:10254/readyz)"
assert_eq "/metrics on the health address" 404 "$(http 127.0.0.1:10254/metrics)"
nft delete table ip ip-masq-agent
wait_for 5 agent diff --config "$cm/ip-masq-agent" || fail "not repaired"
assert_eq "/metrics" 200 "$(http 127.0.0.1:10255/metrics)"
for series in 'ip_masq_agent_drift_repairs_total{cause="table_missing"} 1' \
        'ip_masq_agent_config_valid 1' 'ip_masq_agent_ownership_mode{mode="event_repair"} 1' \
        'ip_masq_agent_set_elements{family="ip",set="nomasq-dst"} 2' \
        'ip_masq_agent_nat_packets_total{family="ip",action="masqueraded"} 0'; do
        grep -qF "$series" "$WORK/body" || fail "/metrics lacks: $series"
done
grep -q '^ip_masq_agent_reconciles_total{result="changed"} [1-9]' "$WORK/body" || fail "no changed reconcile counted"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.1/8]"
wait_for 5 grep -q "host bits are set: write" "$WORK/agent.log" || fail "invalid configuration not noticed"
assert_eq "/readyz with an invalid configuration" 503 "$(http 127.0.0.1:10254/readyz)"
grep -q "is invalid" "$WORK/body" || fail "/readyz does not say why: $(cat "$WORK/body")"
assert_eq "/healthz with an invalid configuration" 200 "$(http 127.0.0.1:10254/healthz)"
http 127.0.0.1:10255/metrics >/dev/null
grep -qF 'ip_masq_agent_config_valid 0' "$WORK/body" || fail "/metrics does not show the invalid configuration"
# 1ns: the daemon raises it to 100ms (README, Configuration)
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]
ResyncInterval: 1ns"
wait_for 5 sh -c "curl -sf --max-time 2 http://127.0.0.1:10254/readyz" || fail "/readyz did not recover"
wait_for 5 grep -q '"Resync interval set" interval="100ms"' "$WORK/agent.log" ||
        fail "ResyncInterval 1ns not raised to 100ms: $(grep 'Resync interval' "$WORK/agent.log" | tail -1)"
# a file that cannot be read (a directory where the file belongs), resynced 100 ms apart: one
# failed load, not one per resync, as an unchanged invalid file is not counted again either
http 127.0.0.1:10255/metrics >/dev/null
load_errors=$(awk '$1 == "ip_masq_agent_config_load_errors_total" { print $2 }' "$WORK/body")
assert_eq "config load errors after one invalid file" 1 "$load_errors"
stamp="..unreadable"
mkdir -p "$cm/$stamp/ip-masq-agent"
ln -s "$stamp" "$cm/..data_tmp"
mv -T "$cm/..data_tmp" "$cm/..data"
wait_for 5 grep -q "not a regular file" "$WORK/agent.log" || fail "the unreadable file was not reported"
in_sync() { awk '$1 == "ip_masq_agent_reconciles_total{result=\"in_sync\"}" { print $2 }' "$WORK/body"; }
window_start=$(date +%s%N)
http 127.0.0.1:10255/metrics >/dev/null
in_sync_before=$(in_sync)
sleep 1.5 # several resyncs
http 127.0.0.1:10255/metrics >/dev/null
window_ms=$((($(date +%s%N) - window_start) / 1000000))
# each resync reconciles the last valid configuration, in sync: the timer repeats, every 100 ms
# (about 15 here), neither only once nor in a busy loop at the 1ns the file asked for. The bounds
# are counts, not times: more than one, and at most one per 100 ms of the window the two scrapes
# enclose (however slow the machine makes them), plus one at each end: a timer fire just before the
# first scrape whose reconcile ends after it, and the period's phase
resyncs=$(($(in_sync) - in_sync_before))
note "in-sync reconciles in $window_ms ms at ResyncInterval 1ns: $resyncs"
[ "$resyncs" -ge 2 ] || fail "$resyncs resyncs in $window_ms ms at an interval of 100 ms: the timer does not repeat"
[ "$resyncs" -le $((window_ms / 100 + 2)) ] ||
        fail "$resyncs resyncs in $window_ms ms: ResyncInterval 1ns was not raised to 100 ms"
load_errors=$(awk '$1 == "ip_masq_agent_config_load_errors_total" { print $2 }' "$WORK/body")
assert_eq "config load errors while the file stays unreadable" 2 "$load_errors"
assert_eq "times the unreadable file was reported" 1 "$(grep -c "not a regular file" "$WORK/agent.log")"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"
wait_for 5 sh -c "curl -sf --max-time 2 http://127.0.0.1:10254/readyz" || fail "/readyz did not recover"
# the upstream agent's chain, as iptables-nft holds it, found at SIGHUP: logged at each SIGHUP
# while it is there (no line then means it is gone), exported
nft 'add table ip nat; add chain ip nat IP-MASQ-AGENT; add rule ip nat IP-MASQ-AGENT counter masquerade'
kill -HUP "$AGENT"
wait_for 5 grep -q 'chain is still installed' "$WORK/agent.log" || fail "the upstream chain was not reported"
http 127.0.0.1:10255/metrics >/dev/null
grep -qF 'ip_masq_agent_upstream_iptables_chain_present{family="ip"} 1' "$WORK/body" ||
        fail "/metrics does not show the upstream chain: $(grep upstream "$WORK/body")"
bash "$IMA_SRCDIR/helpers/lint-metrics.sh" "$WORK/body" >/dev/null || fail "the scrape does not pass promtool's lint"
kill -HUP "$AGENT"
wait_for 5 sh -c "[ \$(grep -c 'chain is still installed' '$WORK/agent.log') -ge 2 ]" ||
        fail "the upstream chain was not reported again at the second SIGHUP"
nft delete table ip nat
kill -HUP "$AGENT"
wait_for 5 grep -q 'iptables chain is gone' "$WORK/agent.log" || fail "the upstream chain's removal was not noted"
assert_eq "times the upstream chain was reported" 2 "$(grep -c 'chain is still installed' "$WORK/agent.log")"
http 127.0.0.1:10255/metrics >/dev/null
grep -qF 'ip_masq_agent_upstream_iptables_chain_present{family="ip"} 0' "$WORK/body" ||
        fail "/metrics still shows the upstream chain"
stop_agent

# --- a health port someone else holds: the rules do not wait for it --------------------------------
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 10257)); s.listen(); print("ready", flush=True); time.sleep(30)' \
        >"$WORK/holder.out" &
holder=$!
wait_for 5 grep -q ready "$WORK/holder.out" || fail "could not occupy port 10257"
: >"$WORK/agent.log"
start_agent --table-ownership=off --health-bind-address=127.0.0.1:10257
dst_has "10.0.0.0/8" || fail "the rules waited for the health port"
grep -q "health-bind-address=127.0.0.1:10257: .*Address already in use.*retrying" "$WORK/agent.log" ||
        fail "a busy port is not reported clearly: $(grep 10257 "$WORK/agent.log")"
kill "$holder"
wait "$holder" || true
wait_for 10 sh -c "curl -sf --max-time 2 http://127.0.0.1:10257/healthz" ||
        fail "the health endpoint did not come up once the port was free: $(tail -5 "$WORK/agent.log")"
assert_eq "times the busy port was logged" 1 "$(grep -c "Address already in use" "$WORK/agent.log")"
stop_agent

# --- out of file descriptors: a connection that cannot be accepted does not spin the loop ---------
# the agent's steady number of descriptors, measured, is the limit of a second one: it cannot read
# its file (tried again every second, said once) nor accept a connection (paused, said once)
start_agent --table-ownership=off --health-bind-address=127.0.0.1:10259
fds=$(find "/proc/$AGENT/fd" -mindepth 1 | wc -l)
stop_agent
: >"$WORK/agent.log"
(ulimit -n "$fds" && exec "$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off \
        --health-bind-address=127.0.0.1:10259) >>"$WORK/agent.log" 2>&1 &
AGENT=$!
wait_for 10 grep -q "Too many open files: reading it again every 1 s" "$WORK/agent.log" ||
        fail "with $fds descriptors: the unreadable file was not reported: $(tail -5 "$WORK/agent.log")"
timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/10259; printf "GET /healthz HTTP/1.0\r\n\r\n" >&3; cat <&3' >/dev/null 2>&1 || true
wait_for 5 grep -q "out of file descriptors, connections wait" "$WORK/agent.log" ||
        fail "with $fds descriptors: the refused connection was not reported: $(tail -5 "$WORK/agent.log")"
cpu_before=$(cpu_ms "$AGENT")
sleep 2
cpu=$(($(cpu_ms "$AGENT") - cpu_before))
note "out of descriptors ($fds): $cpu ms of CPU in 2 s"
[ "$cpu" -lt 500 ] || fail "out of file descriptors, the agent used $cpu ms of CPU in 2 s"
assert_eq "times the unreadable file was logged" 1 "$(grep -c "Too many open files" "$WORK/agent.log")"
stop_agent

# --- --cleanup-on-exit -----------------------------------------------------------------------------
start_agent --table-ownership=off --cleanup-on-exit
# with another agent running here (the next one of a surge rollout) the tables are left to it:
# deleting them would leave pods without SNAT until it made them again
"$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off >"$WORK/next.log" 2>&1 &
next=$!
wait_for 10 grep -q 'trigger="start"' "$WORK/next.log" || fail "the next agent did not start: $(tail -3 "$WORK/next.log")"
stop_agent
grep -q 'cleanup-on-exit: another ip-masq-agent runs here, the tables are left to it' "$WORK/agent.log" ||
        fail "--cleanup-on-exit beside another agent did not say why it kept the tables: $(tail -3 "$WORK/agent.log")"
nft list table ip ip-masq-agent >/dev/null 2>&1 || fail "--cleanup-on-exit deleted the tables another agent runs beside"
kill -TERM $next
wait $next || fail "the next agent did not exit 0 on SIGTERM"
# alone, it deletes them; an agent in another network namespace (another pod network's, a test's)
# does not count: it cannot see these tables
ip netns add elsewhere
# ip netns exec itself, not in_ns(): $! must be the agent for kill
ip netns exec elsewhere "$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off >"$WORK/elsewhere.log" 2>&1 &
elsewhere=$!
wait_for 10 grep -q 'trigger="start"' "$WORK/elsewhere.log" ||
        fail "the agent in another namespace did not start: $(tail -3 "$WORK/elsewhere.log")"
log_lines=$(wc -l <"$WORK/agent.log")
start_agent --table-ownership=off --cleanup-on-exit
stop_agent
assert_eq "table after --cleanup-on-exit, with an agent only in another namespace" absent "$(readback ip)"
if tail -n +$((log_lines + 1)) "$WORK/agent.log" | grep -q 'another ip-masq-agent runs here'; then
        fail "--cleanup-on-exit took an agent in another network namespace for one beside it"
fi
kill -TERM $elsewhere
wait $elsewhere || fail "the agent in another namespace did not exit 0 on SIGTERM: $(tail -5 "$WORK/elsewhere.log")"
ip netns delete elsewhere

# --- ownership mode (owner+persist, Linux >= 6.9) ----------------------------------------------
start_agent
if ! grep -q 'Table ownership on: .* mode="owner_persist"' "$WORK/agent.log"; then
        # Below 6.9 the default (--table-ownership=auto) must fall back to event repair, say why,
        # and still repair: check that much, then fail, naming the kernel, for what cannot run here.
        IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
        if ((kmaj > 6 || (kmaj == 6 && kmin >= 9))); then
                fail "this kernel ($(uname -r)) should support persistent table ownership: $(grep ownership "$WORK/agent.log")"
        fi
        grep -q 'Table ownership unavailable: .* mode="event_repair" reason="kernel without persistent table ownership' \
                "$WORK/agent.log" || fail "no ownership on $(uname -r), and the fallback is not logged: $(grep -i ownership "$WORK/agent.log")"
        if output_has "flags owner" nft list table ip ip-masq-agent; then fail "event-repair mode made an owned table"; fi
        nft delete table ip ip-masq-agent
        wait_for 5 nft list table ip ip-masq-agent || fail "--table-ownership=auto on $(uname -r): a deleted table was not repaired"
        stop_agent
        fail "table ownership (owner + persist) needs Linux 6.9+, this is $(uname -r): the fallback to event repair" \
                "works; the ownership checks (owned table, rolling update, adoption, --cleanup-on-exit) did not run"
fi
output_has "flags owner" nft list table ip ip-masq-agent || fail "the table is not owned"
if nft delete table ip ip-masq-agent 2>/dev/null; then fail "another process could delete the owned table"; fi
nft flush ruleset
nft list table ip ip-masq-agent >/dev/null 2>&1 || fail "nft flush ruleset removed the owned table"
# one-shot commands take the daemon's ownership for what it is: in sync when the contents are,
# and a change they would make is refused, naming the owner
rc=0
agent diff --config "$cm/ip-masq-agent" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff of the daemon's owned, in-sync table: exit code" 0 "$rc"
assert_eq "diff of the daemon's owned, in-sync table: output" "" "$(cat "$WORK/diff.out")"
agent apply --config "$cm/ip-masq-agent" 2>"$WORK/apply.err" || fail "in-sync apply beside the owning daemon failed: $(cat "$WORK/apply.err")"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 100.64.0.0/10]\n' >"$WORK/other.yaml"
rc=0
agent diff --config "$WORK/other.yaml" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff of the owned table against another config: exit code" 3 "$rc"
assert_eq "diff of the owned table against another config: the contents only" \
        "+ element ip ip-masq-agent nomasq-dst { 100.64.0.0/10 }" "$(cat "$WORK/diff.out")"
rc=0
agent apply --config "$WORK/other.yaml" 2>"$WORK/apply.err" || rc=$?
assert_eq "apply of another config while the daemon owns the table" 1 "$rc"
grep -q "owned by another process" "$WORK/apply.err" || fail "unclear error: $(cat "$WORK/apply.err")"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8, 100.64.0.0/10]"
wait_for 5 dst_has "100.64.0.0/10" || fail "ConfigMap update not applied in ownership mode"
# a rolling update that overlaps (a DaemonSet with maxSurge starts the new pod first): the new
# agent cannot change the table the old one owns, says so once, counts as ready (or the rollout
# would never stop the old pod), and takes the table over as soon as the old one is gone
"$IMA_BIN" run --config "$cm/ip-masq-agent" --health-bind-address=127.0.0.1:10258 --metrics-bind-address=127.0.0.1:10258 \
        --v=2 >"$WORK/agent2.log" 2>&1 &
second=$!
wait_for 10 grep -q 'owned by another process.*tables="hold this configuration already"' "$WORK/agent2.log" ||
        fail "the second agent did not report the owner: $(tail -5 "$WORK/agent2.log")"
wait_for 10 sh -c "curl -sf --max-time 2 http://127.0.0.1:10258/readyz" ||
        fail "/readyz of the agent waiting for the old one is not ready: $(curl -s http://127.0.0.1:10258/readyz)"
# a change while both run: the old agent applies it, the new one cannot and stays quiet about it
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8, 100.64.0.0/10, 198.18.0.0/15]"
wait_for 5 dst_has "198.18.0.0/15" || fail "the owning agent did not apply the change"
sleep 0.5 # several of the new agent's checks of the owner
assert_eq "times the waiting agent reported the owner" 1 "$(grep -c "owned by another process" "$WORK/agent2.log")"
if grep -q '^E' "$WORK/agent2.log"; then fail "waiting for the old agent logged an error: $(grep '^E' "$WORK/agent2.log")"; fi
# nor does it count one: an alert on the error rate would fire at every such rollout
curl -sf --max-time 2 http://127.0.0.1:10258/metrics >"$WORK/agent2.metrics" || fail "no /metrics from the waiting agent"
grep -q '^ip_masq_agent_reconciles_total{result="error"} 0$' "$WORK/agent2.metrics" ||
        fail "the wait counted as errors: $(grep reconciles_total "$WORK/agent2.metrics")"
grep -Eq '^ip_masq_agent_reconciles_total\{result="waiting_for_owner"\} [1-9]' "$WORK/agent2.metrics" ||
        fail "the wait was not counted: $(grep reconciles_total "$WORK/agent2.metrics")"
# the old agent's tables held its configuration when it looked: an alert on the age of the last
# success must not fire through the wait
grep -Eq '^ip_masq_agent_last_successful_reconcile_timestamp_seconds [1-9]' "$WORK/agent2.metrics" ||
        fail "the waiting agent has no last success: $(grep last_successful "$WORK/agent2.metrics")"
# nothing was sent while it waited: no line may say it reconciled
if grep -q '"Reconciled"' "$WORK/agent2.log"; then
        fail "the waiting agent logged a reconcile: $(grep '"Reconciled"' "$WORK/agent2.log")"
fi
# one waiting with --cleanup-on-exit leaves the owner's tables alone when it stops, and exits 0
"$IMA_BIN" run --config "$cm/ip-masq-agent" --cleanup-on-exit >"$WORK/agent3.log" 2>&1 &
third=$!
wait_for 10 grep -q 'owned by another process' "$WORK/agent3.log" ||
        fail "the third agent did not report the owner: $(tail -5 "$WORK/agent3.log")"
kill -TERM "$third"
rc=0
wait "$third" || rc=$?
assert_eq "exit status of a waiting agent with --cleanup-on-exit" 0 "$rc"
grep -q 'cleanup-on-exit: the tables are another process' "$WORK/agent3.log" ||
        fail "the waiting agent did not say why it left the tables: $(tail -3 "$WORK/agent3.log")"
output_has "flags owner" nft list table ip ip-masq-agent || fail "the owner's table is gone"
# one in event-repair mode beside the owner cannot fight it (the table refuses its edits): it
# waits, and does not warn that the two will undo each other's changes
"$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off >"$WORK/agent4.log" 2>&1 &
fourth=$!
wait_for 10 grep -q 'owned by another process' "$WORK/agent4.log" ||
        fail "the event-repair agent beside the owner did not report it: $(tail -5 "$WORK/agent4.log")"
if grep -q 'each will undo the other' "$WORK/agent4.log"; then
        fail "the event-repair agent beside the owner warned of a fight it cannot have"
fi
kill -TERM "$fourth"
wait "$fourth" || fail "the event-repair agent beside the owner did not exit 0 on SIGTERM"
stop_agent
wait_for 5 grep -q 'trigger="previous owner exited" changes="ip: table adopted"' "$WORK/agent2.log" ||
        fail "the second agent did not take over: $(tail -5 "$WORK/agent2.log")"
assert_eq "/readyz after taking over" 200 "$(http 127.0.0.1:10258/readyz)"
if nft delete table ip ip-masq-agent 2>/dev/null; then fail "the table taken over is not owned"; fi
AGENT=$second
stop_agent
nft list table ip ip-masq-agent >/dev/null || fail "the persistent table did not outlive the agent"
agent diff --config "$cm/ip-masq-agent" >"$WORK/diff.out" 2>&1 ||
        fail "diff of the orphaned table, left to be adopted, reports drift: $(cat "$WORK/diff.out")"
# a new agent adopts the orphaned table in place
start_agent
wait_for 5 grep -q 'trigger="start" changes="ip: table adopted"' "$WORK/agent.log" || fail "the orphaned table was not adopted"
output_has "flags owner" nft list table ip ip-masq-agent || fail "the adopted table is not owned"
stop_agent
# ... also by an agent with another --priority, as after a DaemonSet update: the kernel refuses to
# adopt a table and re-create its base chain in one transaction
start_agent --priority=50
wait_for 5 grep -q 'changes="ip: table adopted; ip postrouting: rules rebuilt (chain_incompatible)"' \
        "$WORK/agent.log" || fail "the orphan was not adopted with the new priority: $(tail -3 "$WORK/agent.log")"
output_has "type nat hook postrouting priority security;" nft list table ip ip-masq-agent ||
        fail "the chain's priority did not change: $(nft list chain ip ip-masq-agent postrouting)"
stop_agent
# README "Removing the agent": once no agent runs, the orphaned table can be deleted by anyone
out=$(agent cleanup 2>&1) || fail "cleanup of the orphaned table failed: $out"
assert_eq "table after cleanup of the orphan" absent "$(readback ip)"
if grep -q "Another ip-masq-agent runs" <<<"$out"; then fail "cleanup warned of a daemon with none running: $out"; fi
# --cleanup-on-exit with ownership: the start says the tables go, and the owner deletes them
start_agent --cleanup-on-exit
grep -q 'Table ownership on: .*--cleanup-on-exit deletes them when it exits' "$WORK/agent.log" ||
        fail "the start line does not say the owned tables go at exit: $(grep ownership "$WORK/agent.log")"
output_has "flags owner" nft list table ip ip-masq-agent || fail "the table is not owned"
stop_agent
assert_eq "owned table after --cleanup-on-exit" absent "$(readback ip)"
echo "ok: daemon"
