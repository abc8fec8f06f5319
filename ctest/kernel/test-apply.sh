#!/bin/bash
# apply in a private namespace, read back independently (libnftables JSON), for every golden
# case: the kernel holds exactly the expected table; the nft script from "render" loads with
# nft -c/-f and lists identically to what apply built through libnftnl; applying again changes
# nothing; applying the next case over the previous one (a config change, IPv6 on and off)
# yields exactly the next case's table.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

case_args() {
        args=()
        if [ -f "$1/args" ]; then read -r -a args <"$1/args"; fi
}

check_case() {
        local dir=$1 name
        name=$(basename "$dir")
        case_args "$dir"
        (cd "$dir" && agent apply --config config "${args[@]}") 2>"$WORK/apply.err" ||
                fail "$name: apply failed: $(cat "$WORK/apply.err")"
        readback ip >"$WORK/got.ip"
        readback ip6 >"$WORK/got.ip6"
        assert_file_eq "$name: ip table" "$dir/expected.ip" "$WORK/got.ip"
        assert_file_eq "$name: ip6 table" "$dir/expected.ip6" "$WORK/got.ip6"
}

for dir in "$IMA_SRCDIR"/golden/apply/*/; do
        name=$(basename "$dir")
        case_args "$dir"
        (cd "$dir" && agent render --config config "${args[@]}") >"$WORK/render.nft" 2>/dev/null
        nft -c -f "$WORK/render.nft" || fail "$name: render output does not pass nft -c -f"

        # render, loaded by nft itself, and apply, built with libnftnl, list the same
        ip netns add "r-$name"
        in_ns "r-$name" nft -f "$WORK/render.nft" || fail "$name: nft -f of the render output failed"
        in_ns "r-$name" nft list ruleset >"$WORK/by-nft.txt"
        # ...down to the netlink attributes the agent compares: what nft loaded is in sync for it
        rc=0
        (cd "$dir" && in_ns "r-$name" "$IMA_BIN" diff --config config "${args[@]}") >"$WORK/render.diff" 2>&1 || rc=$?
        [ "$rc" = 0 ] || fail "$name: diff after nft -f of the render output exits $rc: $(cat "$WORK/render.diff")"
        ip netns add "a-$name"
        (cd "$dir" && in_ns "a-$name" "$IMA_BIN" apply --config config "${args[@]}") 2>/dev/null ||
                fail "$name: apply failed"
        in_ns "a-$name" nft list ruleset >"$WORK/by-agent.txt"
        diff -u "$WORK/by-nft.txt" "$WORK/by-agent.txt" >&2 ||
                fail "$name: nft -f of render and apply built different rulesets"
        # the same again in the same namespace: identical result
        (cd "$dir" && in_ns "a-$name" "$IMA_BIN" apply --config config "${args[@]}") 2>/dev/null ||
                fail "$name: second apply failed"
        in_ns "a-$name" nft list ruleset >"$WORK/again.txt"
        diff -u "$WORK/by-agent.txt" "$WORK/again.txt" >&2 || fail "$name: re-applying changed the ruleset"
        ip netns del "r-$name"
        ip netns del "a-$name"

        # sequentially in this namespace: each case replaces the previous one
        check_case "$dir"
        note "ok $name"
done

# and back to the first case after the last one (IPv6 and ports switched off again)
cases=("$IMA_SRCDIR"/golden/apply/*/)
check_case "${cases[0]}"
echo "ok: apply golden cases, render equivalence, idempotence, config changes"
