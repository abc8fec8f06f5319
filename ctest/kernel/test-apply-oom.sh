#!/bin/bash
# One-shot commands with each of their allocations failing in turn (ctest/helpers/failmalloc.c,
# nth mode): "apply" of a configuration that changes elements of both sets and every rule, and
# "cleanup". Whatever allocation fails, the command exits 0 or 1 (never a crash, never the exit
# code of an invalid configuration), and the kernel holds exactly the old table or exactly the
# new one, never a mix: a failure before the commit sends nothing, and the commit is one
# transaction. A command that exits 0 has done its job.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

preload="$IMA_HELPERS/failmalloc.so"
[ -f "$preload" ] || fail "$preload is not built"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]\n' >"$WORK/old.yaml"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 100.64.0.0/10]\nNonMasqueradeSrcCIDRs: [198.51.100.0/24]\nMasqLinkLocal: true\n' \
        >"$WORK/new.yaml"
new_args=(apply --config "$WORK/new.yaml" --random-fully=false --to-ports=20000-29999)

agent apply --config "$WORK/new.yaml" --random-fully=false --to-ports=20000-29999 || fail "apply of the new config"
readback ip >"$WORK/new.state"
agent apply --config "$WORK/old.yaml" || fail "apply of the old config"
readback ip >"$WORK/old.state"
cmp -s "$WORK/old.state" "$WORK/new.state" && fail "the two configurations make the same table"

# Runs the agent with allocation $1 failing; the rest of the arguments are the command.
agent_failing() {
        local n=$1
        shift
        IMA_FAILMALLOC="nth:$n${count:+:$count}" LD_PRELOAD="$preload" "$IMA_BIN" "$@"
}

# how many allocations a full run makes, none failing
count="$WORK/count"
agent_failing 0 "${new_args[@]}" 2>/dev/null || fail "apply with the preloaded allocator failed"
total=$(cat "$WORK/count")
unset count
[ "$total" -gt 100 ] || fail "only $total allocations counted: is the allocator preloaded?"
cmp -s <(readback ip) "$WORK/new.state" || fail "apply with the preloaded allocator built another table"

failed=0 succeeded=0
for ((n = 1; n <= total; n++)); do
        agent apply --config "$WORK/old.yaml" 2>/dev/null || fail "apply of the old config (before run $n)"
        rc=0
        agent_failing "$n" "${new_args[@]}" 2>"$WORK/err" || rc=$?
        readback ip >"$WORK/state"
        case $rc in
        0)
                succeeded=$((succeeded + 1))
                cmp -s "$WORK/state" "$WORK/new.state" ||
                        fail "allocation $n of $total failed, apply exited 0, and the table is not the new one: $(diff "$WORK/new.state" "$WORK/state" | head -5)"
                ;;
        1)
                failed=$((failed + 1))
                cmp -s "$WORK/state" "$WORK/old.state" || cmp -s "$WORK/state" "$WORK/new.state" ||
                        fail "allocation $n of $total failed and left a mix of the two tables: $(diff "$WORK/old.state" "$WORK/state" | head -5)"
                ;;
        *)
                fail "allocation $n of $total failed and apply exited $rc: $(tail -3 "$WORK/err")"
                ;;
        esac
done
note "apply: $total allocations, each failing in turn: $failed runs exited 1, $succeeded absorbed the failure"

# cleanup: the table stays whole or goes
agent apply --config "$WORK/old.yaml" 2>/dev/null || fail "apply of the old config (before cleanup)"
count="$WORK/count"
agent_failing 0 cleanup 2>/dev/null || fail "cleanup with the preloaded allocator failed"
total=$(cat "$WORK/count")
unset count
for ((n = 1; n <= total; n++)); do
        agent apply --config "$WORK/old.yaml" 2>/dev/null || fail "apply of the old config (before cleanup run $n)"
        rc=0
        agent_failing "$n" cleanup 2>"$WORK/err" || rc=$?
        readback ip >"$WORK/state"
        case $rc in
        0) [ "$(cat "$WORK/state")" = absent ] || fail "allocation $n of $total failed, cleanup exited 0, and the table is still there" ;;
        1) [ "$(cat "$WORK/state")" = absent ] || cmp -s "$WORK/state" "$WORK/old.state" ||
                fail "allocation $n of $total failed and cleanup left part of the table: $(head -5 "$WORK/state")" ;;
        *) fail "allocation $n of $total failed and cleanup exited $rc: $(tail -3 "$WORK/err")" ;;
        esac
done
note "cleanup: $total allocations, each failing in turn"
echo "ok: one-shot commands never half-apply, whichever allocation fails"
