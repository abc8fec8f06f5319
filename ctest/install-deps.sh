#!/bin/bash
# Installs the Debian 12 packages needed to build and test, if any is missing. Needs root.
# Extra package names on the command line are installed too (e.g. the fuzzer runtime for CI).
set -euo pipefail
packages=(
        "$@"
        gcc clang meson ninja-build pkg-config
        libnftnl-dev libmnl-dev libnftables-dev libjansson-dev libyaml-dev libmicrohttpd-dev
        nftables iproute2 util-linux procps valgrind curl python3
        # the upstream agent's rules, loaded as it loads them (kernel-datapath-upstream)
        iptables
        # the manifests checked against the Kubernetes API's object models
        python3-kubernetes python3-yaml
        # the upstream agent's decoder, as a test oracle (ctest/upstream)
        golang-go golang-k8s-sigs-yaml-dev golang-gopkg-yaml.v2-dev
)
missing=()
for p in "${packages[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
        echo "installing: ${missing[*]}" >&2
        if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
                apt-get update >&2
                apt-get install -y --no-install-recommends "${missing[@]}" >&2
        fi
fi

# promtool, Prometheus' own checker of the exposition format and its naming rules, lints what
# /metrics serves. Debian ships it only in package prometheus, whose installation would also start
# a Prometheus server: the binary alone is taken out of the package.
if ! command -v promtool >/dev/null; then
        echo "installing: promtool (from Debian's package prometheus)" >&2
        deb_dir=$(mktemp -d)
        trap 'rm -rf "$deb_dir"' EXIT
        chown _apt "$deb_dir" 2>/dev/null || true # apt downloads as user _apt where it exists
        (cd "$deb_dir" && { apt-get download prometheus >&2 || { apt-get update >&2 && apt-get download prometheus >&2; }; })
        dpkg-deb --fsys-tarfile "$deb_dir"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$deb_dir/promtool"
        install -m 755 "$deb_dir/promtool" /usr/local/bin/promtool
fi
