#!/bin/bash
# Reads random config files with this agent's `validate` and with decode.go, which decodes them
# as the upstream Go agent does (go-yaml v2, sigs.k8s.io/yaml, encoding/json); every file must
# be accepted with the same values by both, or refused by both. The oracle is built here from
# Debian's Go packages (ctest/install-deps.sh installs them). IMA_DIFF_SEED repeats a run.
set -euo pipefail
: "${IMA_BIN:?}" "${IMA_SRCDIR:?}"
command -v go >/dev/null || { echo "FAIL: go is not installed (Debian package golang-go)" >&2; exit 1; }
for d in /usr/share/gocode/src/sigs.k8s.io/yaml /usr/share/gocode/src/gopkg.in/yaml.v2; do
        [ -d "$d" ] || { echo "FAIL: $d is missing (Debian packages golang-k8s-sigs-yaml-dev, golang-gopkg-yaml.v2-dev)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/cases"
# GOPATH mode: Debian's packaged sources, no network
GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE="$work/gocache" GOFLAGS= \
        go build -o "$work/decode" "$IMA_SRCDIR/upstream/decode.go"
python3 "$IMA_SRCDIR/upstream/differential.py" "$IMA_BIN" "$work/decode" "$work/cases" \
        "${IMA_DIFF_COUNT:-2000}" ${IMA_DIFF_SEED:+"$IMA_DIFF_SEED"}
