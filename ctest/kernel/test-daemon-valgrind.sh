#!/bin/bash
# The daemon under valgrind's memcheck through a config change, repairs (a deleted table, others'
# objects removed by name, a replaced set that makes it re-create the table in two transactions),
# a reload, an invalid configuration, HTTP scrapes and SIGTERM: no memory error, no leak.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
command -v valgrind >/dev/null || fail "valgrind is not installed"

cm="$WORK/configmap"
mkdir "$cm"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]
NonMasqueradeSrcCIDRs: [172.16.0.0/16]"
valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 --log-file="$WORK/valgrind.log" \
        "$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off --v=4 \
        --health-bind-address=127.0.0.1:10254 --metrics-bind-address=127.0.0.1:10254 >"$WORK/agent.log" 2>&1 &
agent_pid=$!
wait_for 60 nft list table ip ip-masq-agent || fail "no table under valgrind: $(tail "$WORK/agent.log")"

kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]"
wait_for 30 dst_has 192.168.0.0/16 || fail "config change not applied"
nft delete table ip ip-masq-agent
wait_for 30 dst_has 192.168.0.0/16 || fail "not repaired"
nft "add chain ip ip-masq-agent stray; add counter ip ip-masq-agent cnt"
wait_for 30 grep -q "chain stray removed" "$WORK/agent.log" || fail "others' objects not removed"
nft "flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src
        add set ip ip-masq-agent nomasq-src { type ipv4_addr; }"
wait_for 30 grep -q "table created (set_incompatible)" "$WORK/agent.log" || fail "not re-created"
wait_for 30 dst_has 192.168.0.0/16 || fail "not repaired after the re-creation"
curl -sf --max-time 30 http://127.0.0.1:10254/metrics >/dev/null || fail "/metrics failed"
curl -sf --max-time 30 http://127.0.0.1:10254/healthz >/dev/null || fail "/healthz failed"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.1/8]"
wait_for 30 grep -q "is invalid" "$WORK/agent.log" || fail "invalid configuration not noticed"
curl -s --max-time 30 http://127.0.0.1:10254/readyz >/dev/null
kill -HUP "$agent_pid"
rm -rf "$cm"/* "$cm"/..?* # the ConfigMap disappears: defaults
kill -HUP "$agent_pid"
wait_for 30 dst_has 172.16.0.0/12 || fail "defaults not applied"
kill -TERM "$agent_pid"
rc=0
wait "$agent_pid" || rc=$?
if [ "$rc" != 0 ]; then
        cat "$WORK/valgrind.log" >&2
        fail "valgrind reported errors or leaks (exit $rc)"
fi
[ ! -s "$WORK/valgrind.log" ] || { cat "$WORK/valgrind.log" >&2; fail "valgrind printed findings"; }
echo "ok: daemon clean under valgrind"
