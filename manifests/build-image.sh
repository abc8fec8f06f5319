#!/bin/bash
# Builds the container image manifests/daemonset.yaml runs, with no container engine and no base
# image: the agent binary, the shared libraries it links, the libmicrohttpd it loads for
# --health-bind-address/--metrics-bind-address and the libnftables its diff command loads to show
# others' rules in nft syntax (with theirs), in one layer. The result is an OCI
# image layout in a tar file that also carries Docker's manifest.json, so any of these loads it:
#   docker load -i ip-masq-agent-image.tar
#   podman load -i ip-masq-agent-image.tar
#   ctr -n k8s.io images import ip-masq-agent-image.tar     (containerd, on a node)
# Usage: manifests/build-image.sh [-b AGENT_BINARY] [-t NAME:TAG] [OUTPUT.tar]
# Without -b it builds a release binary in build-release/ first (meson, ninja).
set -euo pipefail

binary=
tag=
while getopts "b:t:" opt; do
        case $opt in
        b) binary=$OPTARG ;;
        t) tag=$OPTARG ;;
        *) echo "usage: $0 [-b AGENT_BINARY] [-t NAME:TAG] [OUTPUT.tar]" >&2; exit 2 ;;
        esac
done
shift $((OPTIND - 1))
# paths as the caller gave them, before moving to the source tree
out=$(realpath -m "${1:-ip-masq-agent-image.tar}")
[ -z "$binary" ] || binary=$(realpath "$binary")
cd "$(dirname "$0")/.."
version=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build)
version=${version%%$'\n'*}
tag=${tag:-ip-masq-agent-nft:$version}
# the reference's tag: what follows the last ':' unless that is a registry port ("reg:5000/name")
ref=${tag##*:}
case $ref in */* | "$tag") ref=latest; tag=$tag:latest ;; esac
# containerd keeps an OCI layout's io.containerd.image.name as written (newer ones drop a name
# that is not in full), while the kubelet looks a pod's image up by its full name: "name:tag"
# means docker.io/library/name:tag. So the annotation carries the full name, as "docker save"
# writes it.
full_name=$tag
case ${tag%%/*} in
"$tag") full_name=docker.io/library/$tag ;;
docker.io | index.docker.io)
        full_name=docker.io/${tag#*/}
        case ${full_name#docker.io/} in */*) ;; *) full_name=docker.io/library/${tag#*/} ;; esac
        ;;
*.* | *:* | localhost) ;;
*) full_name=docker.io/$tag ;;
esac

if [ -z "$binary" ]; then
        bash ctest/install-deps.sh >&2
        [ -f build-release/build.ninja ] || meson setup build-release --buildtype=release >&2
        ninja -C build-release cmd/ip-masq-agent >&2
        binary=build-release/cmd/ip-masq-agent
fi
# awk reads to the end: an early exit would kill ldconfig with SIGPIPE, and pipefail would end
# this script there, silently, whenever ldconfig had not finished writing (a loaded machine)
mhd=$(ldconfig -p | awk '$1 == "libmicrohttpd.so.12" && !found { print $NF; found = 1 }')
if [ -z "$mhd" ]; then
        echo "libmicrohttpd.so.12 not found: apt-get install libmicrohttpd12" >&2
        exit 1
fi
nftables=$(ldconfig -p | awk '$1 == "libnftables.so.1" && !found { print $NF; found = 1 }')
if [ -z "$nftables" ]; then
        echo "libnftables.so.1 not found: apt-get install libnftables1" >&2
        exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/usr/bin" "$root/etc/config" "$work/oci/blobs/sha256"
install -m 0755 "$binary" "$root/usr/bin/ip-masq-agent"
# every library at the path the dynamic loader looks it up at, resolved from symlinks
for lib in $( (ldd "$binary"; ldd "$mhd"; echo "$mhd"; ldd "$nftables"; echo "$nftables") | grep -o '/[^ ]*' | sort -u); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
done
# the agent runs as root (CAP_NET_ADMIN); a passwd entry gives its log files a user name
echo 'root:x:0:0:root:/:/usr/bin/ip-masq-agent' > "$root/etc/passwd"

# one layer, reproducible: sorted names, fixed owner and time, gzip without a timestamp
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$work/layer.tar" .
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"
diff_id=$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)
layer=$(sha256sum < "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$work/oci/blobs/sha256/$layer"

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
printf '{"architecture":"%s","os":"linux","config":{"Entrypoint":["/usr/bin/ip-masq-agent"],"Env":["PATH=/usr/bin"],"Labels":{"org.opencontainers.image.title":"ip-masq-agent (nftables)","org.opencontainers.image.version":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"manifests/build-image.sh"}]}' \
        "$arch" "$version" "$diff_id" > "$work/config.json"
config=$(sha256sum < "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$work/oci/blobs/sha256/$config"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
manifest=$(sha256sum < "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$work/oci/blobs/sha256/$manifest"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest" "$manifest_size" "$full_name" "$ref" > "$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/oci/oci-layout"
# what "docker load" reads when it does not read OCI layouts
printf '[{"Config":"blobs/sha256/%s","RepoTags":["%s"],"Layers":["blobs/sha256/%s"]}]' \
        "$config" "$tag" "$layer" > "$work/oci/manifest.json"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/oci" -cf "$out" .
echo "$out: $full_name, $(du -h "$out" | cut -f1), layer sha256:$layer" >&2
