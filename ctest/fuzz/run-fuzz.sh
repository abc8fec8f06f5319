#!/bin/bash
# Runs the already built config fuzzer for a bounded time, seeded with the golden configs.
# Builds nothing. Exits non-zero if the fuzzer finds a crash, a leak or a failed check; the
# input that caused it is kept in BUILD_DIR/fuzz-artifacts/.
# Usage: run-fuzz.sh BUILD_DIR SECONDS
# Build first, with clang:
#   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
#   ninja -C build-fuzz ctest/fuzz/fuzz-config
set -u
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS}
here=$(cd "$(dirname "$0")" && pwd)
fuzzer=$build/ctest/fuzz/fuzz-config
if [ ! -x "$fuzzer" ]; then
        echo "no fuzzer at $fuzzer: configure with CC=clang -Dfuzz=true and build it first" >&2
        exit 2
fi
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
i=0
for f in "$here"/../golden/validate/*/config; do
        cp "$f" "$corpus/seed-$i"
        i=$((i + 1))
done
mkdir -p "$build/fuzz-artifacts"
# -timeout: one input must not take seconds; -rss_limit_mb: the bounded expansion must hold
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -dict="$here/config.dict" -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 "$corpus"
rc=$?
if [ $rc != 0 ]; then
        echo "fuzz-config failed (exit $rc); reproducer(s) in $build/fuzz-artifacts/" >&2
fi
exit $rc
