#!/bin/bash
# Runs the already built libFuzzer harnesses for a bounded time each: fuzz-config (the config
# parser, seeded with the golden configs) and fuzz-elements (kernel set elements -> intervals ->
# delta -> elements). Builds nothing. Exits non-zero if a fuzzer finds a crash, a leak or a
# failed check; the input that caused it is kept in BUILD_DIR/fuzz-artifacts/.
# Usage: run-fuzz.sh BUILD_DIR SECONDS_EACH
# Build first, with clang:
#   CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
#   ninja -C build-fuzz ctest/fuzz/fuzz-config ctest/fuzz/fuzz-elements
set -u
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS_EACH}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS_EACH}
here=$(cd "$(dirname "$0")" && pwd)
for name in fuzz-config fuzz-elements; do
        if [ ! -x "$build/ctest/fuzz/$name" ]; then
                echo "no fuzzer at $build/ctest/fuzz/$name: configure with CC=clang -Dfuzz=true and build it first" >&2
                exit 2
        fi
done
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir "$corpus/config" "$corpus/elements"
i=0
for f in "$here"/../golden/validate/*/config; do
        cp "$f" "$corpus/config/seed-$i"
        i=$((i + 1))
done
mkdir -p "$build/fuzz-artifacts"
rc=0
# -timeout: one input must not take seconds; -rss_limit_mb: the bounded expansion must hold
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
"$build/ctest/fuzz/fuzz-config" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -dict="$here/config.dict" -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 \
        "$corpus/config" || rc=$?
if [ $rc = 0 ]; then
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$build/ctest/fuzz/fuzz-elements" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1024 \
                -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 "$corpus/elements" || rc=$?
fi
if [ $rc != 0 ]; then
        echo "fuzzing failed (exit $rc); reproducer(s) in $build/fuzz-artifacts/" >&2
fi
exit $rc
