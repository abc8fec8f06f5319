#!/bin/bash
# lint-metrics.sh FILE...: each file, a scrape of /metrics, passes Prometheus' own linter
# ("promtool check metrics"): the text exposition format parses, and every metric has HELP and
# TYPE and follows Prometheus' naming rules (base units, _total only on counters, ...).
# Prints what promtool found and exits 1 when it found anything; prints "ok: lint-metrics" else.
set -uo pipefail
command -v promtool >/dev/null || {
        echo "FAIL: promtool is not installed (bash ctest/install-deps.sh takes it from Debian's package prometheus)" >&2
        exit 1
}
status=0
for file in "$@"; do
        if ! [ -s "$file" ]; then
                echo "FAIL: $file: no scrape to lint" >&2
                status=1
                continue
        fi
        # exit 1: the text does not parse; 3: lint problems, listed on stdout
        problems=$(promtool check metrics <"$file" 2>&1)
        rc=$?
        if [ "$rc" != 0 ] || [ -n "$problems" ]; then
                echo "FAIL: promtool check metrics $file (exit $rc):" >&2
                printf '%s\n' "$problems" | sed 's/^/  /' >&2
                status=1
        fi
done
[ "$status" = 0 ] && echo "ok: lint-metrics $*"
exit "$status"
