#!/bin/bash
# The shipped manifests work with this agent: the ConfigMap's "config" block validates, and the
# DaemonSet's args are flags the agent accepts (render with them, no kernel needed).
set -euo pipefail
: "${IMA_BIN:?}" "${IMA_SRCDIR:?}"
root="$IMA_SRCDIR/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# the literal block after "config: |", de-indented
awk '/^  config: \|/ { inblock = 1; next }
     inblock && /^    / { sub(/^    /, ""); print; next }
     inblock { exit }' "$root/manifests/configmap.yaml" >"$work/config"
[ -s "$work/config" ] || { echo "FAIL: no config block found in manifests/configmap.yaml" >&2; exit 1; }
"$IMA_BIN" validate --config "$work/config" >/dev/null || {
        echo "FAIL: the ConfigMap's config does not validate" >&2
        exit 1
}

mapfile -t args < <(sed -n 's/^            - \(--[^ ]*\).*/\1/p' "$root/manifests/daemonset.yaml")
[ ${#args[@]} -gt 0 ] || { echo "FAIL: no args found in manifests/daemonset.yaml" >&2; exit 1; }
# the DaemonSet points at the mounted path; render with the ConfigMap's content instead
args=("${args[@]/--config=\/etc\/config\/ip-masq-agent/--config=$work/config}")
"$IMA_BIN" render "${args[@]}" >/dev/null || {
        echo "FAIL: the DaemonSet's args are not accepted: ${args[*]}" >&2
        exit 1
}
echo "ok: manifests"
