#!/bin/bash
# Golden files for "ip-masq-agent validate": each directory under ctest/golden/validate/ holds
# "config" (absent: the missing-file case), optional "args" (extra flags, one line) and the
# expected stdout, stderr and exit code. IMA_REGEN=1 rewrites the expected files instead of
# comparing; review them with "git diff" before committing.
# Usage: run-validate.sh AGENT GOLDEN_DIR
set -u
agent=$1
root=$2
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for dir in "$root"/*/; do
        name=$(basename "$dir")
        args=()
        if [ -f "$dir/args" ]; then
                read -r -a args < "$dir/args"
        fi
        # run inside the case directory so messages say "config:LINE:COL", not a build path
        (cd "$dir" && "$agent" validate --config config "${args[@]}") > "$tmp/out" 2> "$tmp/err"
        echo $? > "$tmp/rc"
        if [ "${IMA_REGEN:-}" = 1 ]; then
                cp "$tmp/out" "$dir/expected.out"
                cp "$tmp/rc" "$dir/expected.rc"
                if [ -s "$tmp/err" ]; then cp "$tmp/err" "$dir/expected.err"; else rm -f "$dir/expected.err"; fi
                echo "regenerated $name"
                continue
        fi
        ok=1
        for f in out rc; do
                if ! diff -u "$dir/expected.$f" "$tmp/$f" > "$tmp/diff"; then
                        echo "FAIL $name: $f differs"; cat "$tmp/diff"; ok=0
                fi
        done
        if [ -f "$dir/expected.err" ]; then
                if ! diff -u "$dir/expected.err" "$tmp/err" > "$tmp/diff"; then
                        echo "FAIL $name: err differs"; cat "$tmp/diff"; ok=0
                fi
        elif [ -s "$tmp/err" ]; then
                echo "FAIL $name: unexpected stderr:"; cat "$tmp/err"; ok=0
        fi
        if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 -o "${IMA_REGEN:-}" = 1 ]
