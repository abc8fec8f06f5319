#!/bin/bash
# Sets everything up and runs the test suite: installs missing packages, builds with meson, runs
# "meson test", and ends with the line "N passed, N failed".
#
#   bash ctest/run-tests.sh                      # everything, in ./build
#   bash ctest/run-tests.sh --sanitize --suite lib --suite golden   # ASan+UBSan build in ./build-asan
#   bash ctest/run-tests.sh --build build-vm --timeout-multiplier 4 --suite kernel
#   bash ctest/run-tests.sh kernel-reconcile kernel-daemon                 # some tests
#
# Kernel tests create their own user+network namespaces; they need root or unprivileged user
# namespaces, and fail (never skip) when the kernel lacks what they need.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
setup=()
selection=()
timeouts=()
while [ $# -gt 0 ]; do
        case $1 in
        --sanitize)
                build=build-asan
                setup+=(-Db_sanitize=address,undefined -Db_lundef=false)
                # Each differential case starts the agent once; under ASan 2,000 of them take
                # two minutes. The plain build runs them all, the fuzzers cover the parser's memory.
                export IMA_DIFF_COUNT=${IMA_DIFF_COUNT:-300}
                ;;
        --suite)
                selection+=(--suite "$2")
                shift
                ;;
        --build)
                build=$2
                shift
                ;;
        --timeout-multiplier)
                timeouts=(--timeout-multiplier "$2")
                shift
                ;;
        -*)
                echo "usage: run-tests.sh [--sanitize] [--build DIR] [--timeout-multiplier N] [--suite NAME]... [TEST]..." >&2
                exit 2
                ;;
        *)
                selection+=("$1") # a test's name, as meson test takes it
                ;;
        esac
        shift
done

bash ctest/install-deps.sh
if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "${setup[@]}" >&2
fi
ninja -C "$build" >&2

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
# ASan's leak checker needs ptrace-like access that namespaces and some sandboxes deny; UBSan
# must abort so a finding fails the test.
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        meson test -C "$build" --print-errorlogs "${timeouts[@]}" "${selection[@]}" 2>&1 | tee "$log" >&2 || rc=$?
count() {
        awk -v key="$1" '$1 == key":" { n = $2 } $1" "$2 == key":" { n = $3 } END { print n + 0 }' "$log"
}
passed=$(( $(count Ok) + $(count "Expected Fail") ))
failed=$(( $(count Fail) + $(count Timeout) + $(count "Unexpected Pass") + $(count Skipped) ))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
        failed=1 # meson itself failed (e.g. a build error inside the test step)
fi
if [ "$((passed + failed))" -eq 0 ]; then
        # a selection that names no test (a typo): meson says "No suitable tests defined", exit 0
        echo "run-tests.sh: no test ran: ${selection[*]:-(all)} matched nothing" >&2
        failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
