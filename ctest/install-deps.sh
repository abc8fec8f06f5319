#!/bin/bash
# Installs the Debian 12 packages needed to build and test, if any is missing. Needs root.
# Extra package names on the command line are installed too (e.g. the fuzzer runtime for CI).
set -euo pipefail
packages=(
        "$@"
        gcc clang meson ninja-build pkg-config
        libnftnl-dev libmnl-dev libnftables-dev libjansson-dev libyaml-dev libmicrohttpd-dev
        nftables iproute2 util-linux procps valgrind curl python3
        # the manifests checked against the Kubernetes API's object models
        python3-kubernetes python3-yaml
        # the upstream agent's decoder, as a test oracle (ctest/upstream)
        golang-go golang-k8s-sigs-yaml-dev golang-gopkg-yaml.v2-dev
)
missing=()
for p in "${packages[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
