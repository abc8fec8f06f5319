#!/bin/bash
# Render golden files: for every case under golden/apply/, "ip-masq-agent render" (run in the case
# directory, so the header names "config") must print exactly expected.nft. No kernel, no
# privileges. IMA_REGEN=1 rewrites the expected files for review in git diff.
set -euo pipefail
: "${IMA_BIN:?}" "${IMA_SRCDIR:?}"
failed=0
for dir in "$IMA_SRCDIR"/golden/apply/*/; do
        name=$(basename "$dir")
        args=()
        [ -f "$dir/args" ] && read -r -a args <"$dir/args"
        out=$(mktemp)
        (cd "$dir" && "$IMA_BIN" render --config config "${args[@]}") >"$out" 2>/dev/null || {
                echo "FAIL $name: render exited $?" >&2
                failed=1
                rm -f "$out"
                continue
        }
        if [ "${IMA_REGEN:-}" = 1 ]; then
                cp "$out" "$dir/expected.nft"
        elif ! diff -u "$dir/expected.nft" "$out" >&2; then
                echo "FAIL $name: render output differs from expected.nft" >&2
                failed=1
        else
                echo "ok   $name" >&2
        fi
        rm -f "$out"
done
exit $failed
