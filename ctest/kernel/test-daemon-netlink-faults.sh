#!/bin/bash
# The daemon and one-shot apply while netlink calls fail at random (ctest/helpers/nl-fault.c, one
# call in 6 on any netlink socket: ENOBUFS, EINTR, EAGAIN when non-blocking, on receiving and
# sending): events lost, ACKs of a batch lost (its outcome unknown), dumps and requests cut off by
# an error. Through ConfigMap updates and drift (the table deleted, an element added, the ruleset
# flushed), in event-repair mode and then owning its table, the daemon must not crash or spin;
# once the faults stop it must converge to the last configuration, as read back through
# libnftables. With every call failing, its retries back off. apply under the same faults either succeeds with
# the new state or exits 1 saying why, leaving the previous state whole: never half-applied. With
# every batch's answers lost, apply finds its change applied and says so. With the kernel refusing
# one family's rules, the other family's are applied alone, by apply and by the daemon.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

fault_test_setup nl-fault.so IMA_NLFAULT_SEED
faults="$WORK/faults"

# the kernel's state, read independently of the agent's netlink code
state() {
        readback ip 2>&1
}
# the state `apply` of config file $1 leaves, read back, computed without faults on a scratch netns
expected_state() {
        ip netns add ref 2>/dev/null || true
        in_ns ref "$IMA_BIN" apply --config "$1" --table-ownership=off >/dev/null 2>&1 ||
                fail "apply of $1 without faults failed"
        in_ns ref "$IMA_HELPERS/nft-readback" ip 2>&1
        in_ns ref nft flush ruleset
}

# ---- the daemon ------------------------------------------------------------------------------
# start_faulty_agent SPEC MODE LOG SECONDS: the daemon on the ConfigMap with nl-fault preloaded
# (IMA_NLFAULT=SPEC: faults only while $switch exists), --table-ownership=MODE, its log in LOG,
# killed after SECONDS. Sets runner (timeout(1) around it) and AGENT (the agent itself: signals, CPU
# time and liveness are its own), once it has applied its first configuration.
start_faulty_agent() {
        local log=$3
        IMA_NLFAULT="$1" IMA_NLFAULT_LOG="$faults" LD_PRELOAD="$preload" \
                timeout "$4" "$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership="$2" --v=2 \
                --health-bind-address=127.0.0.1:10266 --metrics-bind-address=127.0.0.1:10266 >"$log" 2>&1 &
        runner=$!
        wait_for 5 pgrep -P $runner || fail "the agent did not start"
        AGENT=$(pgrep -P $runner)
        wait_for 10 grep -q 'trigger="start"' "$log" || fail "the agent did not start: $(tail "$log")"
        wait_for 10 agent diff --config "$cm/ip-masq-agent" || fail "the agent did not apply its first config"
}

# daemon_under_faults MODE: the daemon with --table-ownership=MODE through the seeded steps. With
# "off" drift is repaired from events, which faults lose; with "auto" (owner + persist on this
# kernel) others' edits are refused, and faults hit the daemon's own reads and commits.
daemon_under_faults() {
        local mode=$1 log="$WORK/agent-$1.log" runner cpu0 cpu last want rc
        rm -f "$faults"
        kubelet_update "$cm" ip-masq-agent "${configs[0]}"
        start_faulty_agent "6:$seed:$switch" "$mode" "$log" 200

        touch "$switch"
        cpu0=$(cpu_ms "$AGENT")
        last=0
        for ((step = 0; step < 30; step++)); do
                case $((RANDOM % 6)) in
                0 | 1)
                        last=$((RANDOM % ${#configs[@]}))
                        kubelet_update "$cm" ip-masq-agent "${configs[last]}"
                        ;;
                2) nft delete table ip ip-masq-agent 2>/dev/null || true ;;
                3) nft add element ip ip-masq-agent nomasq-dst '{ 203.0.113.0/24 }' 2>/dev/null || true ;;
                4) nft flush ruleset ;;
                5) kill -HUP "$AGENT" ;;
                esac
                sleep 0.2
                kill -0 "$AGENT" 2>/dev/null || fail "the agent died at step $step: $(tail -20 "$log")"
        done
        [ -s "$faults" ] || fail "no fault was injected: the helper did not take"
        note "$(wc -l <"$faults") faults injected into the daemon ($mode): $(sort "$faults" | uniq -c | awk '{ printf "%s %s %s; ", $1, $2, $3 }')"
        rm -f "$switch"
        cpu=$(($(cpu_ms "$AGENT") - cpu0))
        note "$mode: daemon CPU during the faults: $cpu ms over 30 steps"
        # about 6 s of wall time: a loop retrying without waiting would burn all of it
        [ "$cpu" -lt 5000 ] || fail "the daemon spun: $cpu ms of CPU in about 6 s"

        # faults over: the last configuration, in force and repaired
        kill -HUP "$AGENT"
        want=$(expected_state "$cm/ip-masq-agent")
        wait_for 20 sh -c '[ "$("$IMA_HELPERS/nft-readback" ip 2>&1)" = "$1" ]' _ "$want" ||
                fail "not converged after the faults stopped:
$(diff <(echo "$want") <(state) | head -20)
$(tail -20 "$log")"
        agent diff --config "$cm/ip-masq-agent" >/dev/null || fail "diff still sees drift after convergence"
        nft flush ruleset
        wait_for 10 sh -c '[ "$("$IMA_HELPERS/nft-readback" ip 2>&1)" = "$1" ]' _ "$want" ||
                fail "a flush after the faults was not repaired: $(tail -10 "$log")"
        grep -q 'nftables events were lost' "$log" ||
                note "$mode: no lost events were logged (at --v=1 the daemon says when they are)"
        grep -E '^[EF]' "$log" | grep -vqE 'netlink|No buffer space|Interrupted|Resource temporarily|transaction|kernel|events|generation|observ|reconcile|Reconcile keeps failing' &&
                fail "an error line not about netlink: $(grep -E '^[EF]' "$log" | head -5)"
        kill -TERM "$AGENT"
        rc=0
        wait "$runner" || rc=$? # timeout(1) exits with the agent's status
        [ "$rc" = 0 ] || fail "exit code $rc after SIGTERM: $(tail -20 "$log")"
        note "$mode: $(grep -c 'Reconciled' "$log") reconciles, $(grep -c '^E' "$log") error lines"
}
daemon_under_faults off
daemon_under_faults auto

# ---- retries back off --------------------------------------------------------------------------
# Every netlink call failing (rate 1): a reconcile that fails is retried after 0.5 s, then 1 s,
# 2 s ... (README), not every half second. Each retry logs (at --v=2) the delay it waited, so the
# back-off is judged from the log, whatever the machine's load does to the wall time.
backoff_log="$WORK/agent-backoff.log"
nft flush ruleset
rm -f "$switch"
kubelet_update "$cm" ip-masq-agent "${configs[0]}"
start_faulty_agent "1:$seed:$switch" off "$backoff_log" 60
touch "$switch"
kubelet_update "$cm" ip-masq-agent "${configs[1]}"
three_retries() {
        [ "$(grep -c '"Retrying the reconcile"' "$backoff_log")" -ge 3 ]
}
wait_for 20 three_retries || fail "fewer than 3 retries in 20 s of failures: $(grep Retrying "$backoff_log")"
rm -f "$switch"
delays=$(grep '"Retrying the reconcile"' "$backoff_log" | head -3 | sed 's/.* afterMs=\([0-9]*\).*/\1/' | paste -sd' ')
assert_eq "the first three retries' delays (ms)" "500 1000 2000" "$delays"
# each retry failed, and logged it (at --v=2 or more, a new reason) naming its trigger
[ "$(grep -c 'trigger="retry"' "$backoff_log")" -ge 3 ] ||
        fail "the retries did not log their failures: $(grep Reconcile "$backoff_log" | tail -12)"
kill -HUP "$AGENT"
wait_for 20 agent diff --config "$cm/ip-masq-agent" || fail "not applied once the faults stopped: $(tail -5 "$backoff_log")"
kill -TERM "$AGENT"
wait "$runner" || fail "exit code $? after SIGTERM: $(tail -20 "$backoff_log")"
nft flush ruleset

# ---- one-shot apply ----------------------------------------------------------------------------
# Each apply moves from one config to another under faults: exit 0 with the new state, or exit 1
# with a message and the previous state untouched.
nft flush ruleset
for i in 0 1 2; do
        printf '%s\n' "${configs[i]}" >"$WORK/c$i.yaml"
        expected[i]=$(expected_state "$WORK/c$i.yaml")
done
agent apply --config "$WORK/c0.yaml" --table-ownership=off >/dev/null 2>&1 || fail "apply without faults failed"
cur=0 ok=0 failed=0
touch "$switch"
for ((run = 0; run < 40; run++)); do
        next=$((RANDOM % 3))
        rc=0
        IMA_NLFAULT="16:$((seed + run)):$switch" LD_PRELOAD="$preload" \
                timeout 30 "$IMA_BIN" apply --config "$WORK/c$next.yaml" --table-ownership=off >"$WORK/apply.log" 2>&1 || rc=$?
        now=$(state)
        case $rc in
        0)
                [ "$now" = "${expected[next]}" ] ||
                        fail "apply run $run exited 0, state is not config $next:
$(diff <(echo "${expected[next]}") <(echo "$now") | head -20)"
                cur=$next ok=$((ok + 1))
                ;;
        1)
                [ -s "$WORK/apply.log" ] || fail "apply run $run exited 1 without saying why"
                if [ "$now" = "${expected[cur]}" ]; then
                        :
                elif [ "$now" = "${expected[next]}" ]; then
                        # the commit went through and its ACKs were lost: the outcome is unknown
                        # to apply, which says so; the state is whole, never half
                        cur=$next
                else
                        fail "apply run $run (config $cur -> $next) exited 1 and left a state that is neither:
$(cat "$WORK/apply.log")
$(diff <(echo "${expected[cur]}") <(echo "$now") | head -20)"
                fi
                failed=$((failed + 1))
                ;;
        *) fail "apply run $run exited $rc: $(cat "$WORK/apply.log")" ;;
        esac
done
rm -f "$switch"
note "apply under faults: $ok succeeded, $failed failed cleanly; last message: $(tail -1 "$WORK/apply.log")"

# ---- lost answers ------------------------------------------------------------------------------
# Every batch's answers lost after the kernel took it (IMA_NLFAULT=acks:FILE, as when they
# overflow the receive buffer): apply reads the state back, finds its change applied, exits 0 and
# logs the change, saying the answers were lost. Creating the table, then a delta.
nft flush ruleset
rm -f "$faults"
touch "$switch"
for i in 0 1; do
        rc=0
        IMA_NLFAULT="acks:$switch" IMA_NLFAULT_LOG="$faults" LD_PRELOAD="$preload" \
                timeout 30 "$IMA_BIN" apply --config "$WORK/c$i.yaml" >"$WORK/apply.log" 2>&1 || rc=$?
        [ "$rc" = 0 ] || fail "apply of config $i with its answers lost exited $rc: $(cat "$WORK/apply.log")"
        [ "$(state)" = "${expected[i]}" ] || fail "apply of config $i with its answers lost left another state"
        grep -q '"Reconciled" .*answers="lost, the change read back from the kernel"' "$WORK/apply.log" ||
                fail "apply of config $i did not log its change as applied with lost answers: $(cat "$WORK/apply.log")"
done
rm -f "$switch"
[ "$(grep -c 'ENOBUFS' "$faults")" -ge 2 ] || fail "the answers were not lost: $(cat "$faults")"

# ---- one family refused -------------------------------------------------------------------------
# The kernel refuses the rules of one family only (IMA_NLFAULT=expr:FAMILY:fib:FILE: as on a node
# without nft_fib_ipv6): the other family's part is applied on its own, as upstream's separate
# iptables and ip6tables runs would, and the failure still fails apply (exit 1) and /readyz.
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, "fd00::/8"]\n' >"$WORK/dual.yaml"
# the table of family $1 that apply --enable-ipv6 of dual.yaml builds, computed without faults
ip netns add dual 2>/dev/null || true
in_ns dual "$IMA_BIN" apply --enable-ipv6 --config "$WORK/dual.yaml" >/dev/null 2>&1 || fail "apply of dual.yaml failed"
want_ip=$(in_ns dual "$IMA_HELPERS/nft-readback" ip 2>&1)
want_ip6=$(in_ns dual "$IMA_HELPERS/nft-readback" ip6 2>&1)
ip netns del dual
# apply_refusing SPEC: apply --enable-ipv6 of dual.yaml on an empty ruleset, with the kernel
# refusing what the nl-fault spec SPEC names; its exit status in rc, its log in apply.log
apply_refusing() {
        nft flush ruleset
        touch "$switch"
        rc=0
        IMA_NLFAULT="$1" LD_PRELOAD="$preload" \
                timeout 30 "$IMA_BIN" apply --enable-ipv6 --config "$WORK/dual.yaml" >"$WORK/apply.log" 2>&1 || rc=$?
        rm -f "$switch"
}
for refused in ip6 ip; do
        other=$([ $refused = ip6 ] && echo ip || echo ip6)
        apply_refusing "expr:$refused:fib:$switch"
        assert_eq "apply with the $refused rules refused: exit code" 1 "$rc"
        assert_eq "the $refused table after apply with its rules refused" absent "$(readback $refused 2>&1)"
        want=want_$other
        [ "$(readback $other 2>&1)" = "${!want}" ] ||
                fail "apply with the $refused rules refused did not apply the $other part alone: $(cat "$WORK/apply.log")"
        grep -q "the kernel lacks the fib expression for $refused" "$WORK/apply.log" ||
                fail "apply did not say what the kernel lacks: $(cat "$WORK/apply.log")"
        grep -q "applied on their own\" trigger=\"apply\" refused=\"$refused\" applied=\"$other: table created" "$WORK/apply.log" ||
                fail "apply did not say what it applied alone: $(cat "$WORK/apply.log")"
done
note "apply: the family the kernel accepts is applied alone, either way round"
# the nat chain type refused (expr:ip6:nat: a kernel without nft_chain_nat): the chain's hint names
# the modules of its rules too, and the rules refused with their chain give no hint of their own
apply_refusing "expr:ip6:nat:$switch"
assert_eq "apply with the ip6 nat chain type refused: exit code" 1 "$rc"
assert_eq "the ip6 table after apply with its chain type refused" absent "$(readback ip6 2>&1)"
grep -q "the kernel lacks the nat chain type" "$WORK/apply.log" ||
        fail "apply did not say that the kernel lacks the nat chain type: $(cat "$WORK/apply.log")"
! grep -q "the kernel lacks the \(fib\|masq\)" "$WORK/apply.log" ||
        fail "the rules refused with their chain were given hints of their own: $(cat "$WORK/apply.log")"

# the daemon: the ip part in force and kept (repaired: event-repair mode, so that nft can delete
# it) while ip6 is refused, not ready; the ip6 part as soon as the kernel takes it
nft flush ruleset
kubelet_update "$cm" ip-masq-agent "$(cat "$WORK/dual.yaml")"
touch "$switch"
IMA_NLFAULT="expr:ip6:fib:$switch" LD_PRELOAD="$preload" timeout 60 "$IMA_BIN" run --config "$cm/ip-masq-agent" \
        --enable-ipv6 --table-ownership=off --health-bind-address=127.0.0.1:10266 --v=2 >"$WORK/dual-agent.log" 2>&1 &
runner=$!
ip_applied() { [ "$(readback ip 2>&1)" = "$want_ip" ]; }
wait_for 10 ip_applied || fail "the daemon did not apply the ip part alone: $(tail -5 "$WORK/dual-agent.log")"
assert_eq "the ip6 table of a daemon whose ip6 rules are refused" absent "$(readback ip6 2>&1)"
readyz() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:10266/readyz; }
wait_for 5 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:10266/readyz)\" = 503 ]" ||
        fail "/readyz with the ip6 part refused: $(readyz)"
nft delete table ip ip-masq-agent
wait_for 10 ip_applied || fail "the daemon did not repair the ip part while the ip6 part was refused: $(tail -5 "$WORK/dual-agent.log")"
rm -f "$switch"
# the retries back off (0.5 s, 1 s, 2 s, ...): a few of them
ip6_applied() { [ "$(readback ip6 2>&1)" = "$want_ip6" ]; }
wait_for 20 ip6_applied || fail "the daemon did not apply the ip6 part once the kernel took it: $(tail -5 "$WORK/dual-agent.log")"
wait_for 5 sh -c "curl -sf --max-time 2 http://127.0.0.1:10266/readyz" || fail "/readyz once both parts are applied: $(readyz)"
ip_applied || fail "the ip part changed when the ip6 part came"
kill -TERM $runner 2>/dev/null || true
wait $runner 2>/dev/null || true
note "daemon: the ip part applied and repaired alone while the ip6 part was refused; both once the kernel took it"
echo "ok: daemon and apply survive netlink faults and converge after them"
