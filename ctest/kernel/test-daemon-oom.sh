#!/bin/bash
# The daemon while allocations fail at random (ctest/helpers/failmalloc.c, one in 40 for about
# five seconds) through ConfigMap updates (some invalid), drift and SIGHUP: it must not crash or
# exit, and once memory is plentiful again it must converge to the last valid configuration.
# Out of memory a reload has no verdict and is retried, a reconcile fails and is retried: the
# last good state is never given up for a partial one.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

fault_test_setup failmalloc.so IMA_OOM_SEED "NonMasqueradeCIDRs: [10.0.0.1/8]"
kubelet_update "$cm" ip-masq-agent "${configs[0]}"

IMA_FAILMALLOC="40:$seed:$switch" LD_PRELOAD="$preload" \
        "$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off --v=2 \
        --health-bind-address=127.0.0.1:10266 --metrics-bind-address=127.0.0.1:10266 >"$WORK/agent.log" 2>&1 &
AGENT=$!
wait_for 10 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"

touch "$switch"
for ((step = 0; step < 25; step++)); do
        case $((RANDOM % 5)) in
        0 | 1) kubelet_update "$cm" ip-masq-agent "${configs[RANDOM % ${#configs[@]}]}" ;;
        2) nft delete table ip ip-masq-agent 2>/dev/null || true ;;
        3) nft add element ip ip-masq-agent nomasq-dst '{ 203.0.113.0/24 }' 2>/dev/null || true ;;
        4) kill -HUP "$AGENT" ;;
        esac
        curl -s --max-time 2 http://127.0.0.1:10266/metrics >/dev/null || true
        sleep 0.2
        kill -0 "$AGENT" 2>/dev/null || fail "the agent died at step $step: $(tail -20 "$WORK/agent.log")"
done
rm -f "$switch"
[ -s "$switch.failures" ] || fail "no allocation failed: the helper did not take"
note "$(wc -c <"$switch.failures") allocations failed"

# memory is plentiful again: the last valid configuration, in force and repaired
kubelet_update "$cm" ip-masq-agent "${configs[1]}"
wait_for 15 agent diff --config "$cm/ip-masq-agent" >/dev/null ||
        fail "not converged after the failures stopped: $(agent diff --config "$cm/ip-masq-agent" 2>&1 | head -5)
$(tail -20 "$WORK/agent.log")"
wait_for 10 sh -c "curl -sf --max-time 2 http://127.0.0.1:10266/readyz >/dev/null" ||
        fail "not ready after the failures stopped: $(curl -s http://127.0.0.1:10266/readyz)"
nft delete table ip ip-masq-agent
wait_for 5 agent diff --config "$cm/ip-masq-agent" >/dev/null || fail "a deletion after the failures was not repaired"
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
[ "$rc" = 0 ] || fail "exit code $rc after SIGTERM: $(tail -20 "$WORK/agent.log")"
note "$(grep -c 'Reconciled' "$WORK/agent.log") reconciles, $(grep -c '^E' "$WORK/agent.log") error lines while allocations failed"
echo "ok: daemon survives allocation failures and converges after them"
