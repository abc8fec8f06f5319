#!/bin/bash
# The shipped manifests work with this agent: the ConfigMap's "config" block validates, and the
# DaemonSet's args are flags the agent accepts (render with them, no kernel needed), and its probes
# and scrape port point where those flags serve them.
set -euo pipefail
: "${IMA_BIN:?}" "${IMA_SRCDIR:?}"
root="$IMA_SRCDIR/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# both objects as strictly as the API server takes them: no unknown field, every value of its
# field's type, the required fields there (Debian's python3 and its Kubernetes models)
/usr/bin/python3 -c 'import kubernetes, yaml' 2>/dev/null || {
        echo "FAIL: /usr/bin/python3 with Debian's python3-kubernetes and python3-yaml is needed (ctest/install-deps.sh installs them)" >&2
        exit 1
}
/usr/bin/python3 "$IMA_SRCDIR/golden/check-manifest-schema.py" "$root/manifests/daemonset.yaml" \
        "$root/manifests/configmap.yaml" >&2 || {
        echo "FAIL: the manifests do not fit the Kubernetes API's objects (above)" >&2
        exit 1
}

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
# the probes ask where the agent serves them, and Prometheus scrapes where /metrics is
flag_value() { sed -n "s/^            - --$1=\(.*\)/\1/p" "$root/manifests/daemonset.yaml"; }
health=$(flag_value health-bind-address)
metrics=$(flag_value metrics-bind-address)
probes=$(awk 'probe && /^          [a-zA-Z]/ { printf "\n"; probe = 0 }
              /^          (liveness|readiness)Probe:/ { probe = 1; next }
              probe && /^              (host|port|path):/ { printf "%s ", $2 }' "$root/manifests/daemonset.yaml")
health_host=${health%:*}
[ "$(grep -c . <<<"$probes")" = 2 ] && grep -qx -- "${health_host:+$health_host }/healthz ${health##*:} " <<<"$probes" &&
        grep -qx -- "${health_host:+$health_host }/readyz ${health##*:} " <<<"$probes" || {
        echo "FAIL: the probes (host path port: $(tr '\n' ';' <<<"$probes")) do not match --health-bind-address=$health" >&2
        exit 1
}
grep -q "^        prometheus.io/port: \"${metrics##*:}\"$" "$root/manifests/daemonset.yaml" &&
        grep -q "^              containerPort: ${metrics##*:}$" "$root/manifests/daemonset.yaml" || {
        echo "FAIL: prometheus.io/port or the containerPort is not the port of --metrics-bind-address=$metrics" >&2
        exit 1
}
echo "ok: manifests"
