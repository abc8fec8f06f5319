#!/bin/bash
# The container image of manifests/build-image.sh: a well-formed OCI layout (every digest and
# size right, Docker's manifest.json beside it), and a root filesystem in which the agent runs
# on its own: it applies the table, loads libmicrohttpd and answers /readyz, chrooted into the
# image inside this test's private namespaces.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

bash "$IMA_SRCDIR/../manifests/build-image.sh" -b "$IMA_BIN" -t test/ip-masq-agent:ci "$WORK/image.tar" \
        2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; fail "build-image.sh failed"; }
mkdir "$WORK/oci" "$WORK/rootfs"
tar -xf "$WORK/image.tar" -C "$WORK/oci"

# the layout, checked the way a registry or "ctr import" checks it
python3 - "$WORK/oci" <<'PY' || fail "the OCI layout is not consistent"
import hashlib, json, os, sys
root = sys.argv[1]
def blob(desc, media_type):
    assert desc["mediaType"] == media_type, desc
    algo, digest = desc["digest"].split(":")
    path = os.path.join(root, "blobs", algo, digest)
    data = open(path, "rb").read()
    assert hashlib.sha256(data).hexdigest() == digest, "digest of " + path
    assert len(data) == desc["size"], "size of " + path
    return data
assert json.load(open(os.path.join(root, "oci-layout")))["imageLayoutVersion"] == "1.0.0"
index = json.load(open(os.path.join(root, "index.json")))
(entry,) = index["manifests"]
# the full name: containerd takes it as written, the kubelet asks for the full name
assert entry["annotations"]["io.containerd.image.name"] == "docker.io/test/ip-masq-agent:ci"
assert entry["annotations"]["org.opencontainers.image.ref.name"] == "ci"
manifest = json.loads(blob(entry, "application/vnd.oci.image.manifest.v1+json"))
config = json.loads(blob(manifest["config"], "application/vnd.oci.image.config.v1+json"))
(layer,) = manifest["layers"]
import gzip
diff_id = hashlib.sha256(gzip.decompress(blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip"))).hexdigest()
assert config["rootfs"]["diff_ids"] == ["sha256:" + diff_id], "diff_id"
assert config["config"]["Entrypoint"] == ["/usr/bin/ip-masq-agent"]
(docker,) = json.load(open(os.path.join(root, "manifest.json")))
assert docker["RepoTags"] == ["test/ip-masq-agent:ci"]
assert docker["Config"] == "blobs/sha256/" + manifest["config"]["digest"].split(":")[1]
assert docker["Layers"] == ["blobs/sha256/" + layer["digest"].split(":")[1]]
PY
# without -t: the name manifests/daemonset.yaml runs, in the full form the kubelet looks up
bash "$IMA_SRCDIR/../manifests/build-image.sh" -b "$IMA_BIN" "$WORK/default.tar" 2>"$WORK/build.log" ||
        { cat "$WORK/build.log" >&2; fail "build-image.sh without -t failed"; }
daemonset_image=$(sed -n 's/^ *image: *\([^ ]*\).*/\1/p' "$IMA_SRCDIR/../manifests/daemonset.yaml")
assert_eq "containerd's name of the default image" "docker.io/library/$daemonset_image" \
        "$(tar -xOf "$WORK/default.tar" ./index.json | python3 -c 'import json, sys
print(json.load(sys.stdin)["manifests"][0]["annotations"]["io.containerd.image.name"])')"
rm "$WORK/default.tar"

layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][0])' "$WORK/oci/manifest.json")
tar -xzf "$WORK/oci/$layer" -C "$WORK/rootfs"
[ -x "$WORK/rootfs/usr/bin/ip-masq-agent" ] || fail "no /usr/bin/ip-masq-agent in the image"
note "image: $(du -h "$WORK/image.tar" | cut -f1), $(find "$WORK/rootfs" -type f | wc -l) files"

# /proc as a container runtime provides it (the sanitizer build reads /proc/self/maps)
mkdir -p "$WORK/rootfs/proc"
mount -t proc proc "$WORK/rootfs/proc" || fail "cannot mount /proc for the image"
trap 'umount "$WORK/rootfs/proc" 2>/dev/null; rm -rf "$WORK"' EXIT
# only the image's own files: no shell, no host library
in_image() {
        chroot "$WORK/rootfs" /usr/bin/ip-masq-agent "$@"
}
output_has "ip-masq-agent " in_image version || fail "the agent does not start in the image"

printf 'nonMasqueradeCIDRs: [10.0.0.0/8]\nmasqLinkLocal: true\n' > "$WORK/rootfs/etc/config/ip-masq-agent"
in_image apply 2>"$WORK/apply.log" || { cat "$WORK/apply.log" >&2; fail "apply in the image failed"; }
output_has "10.0.0.0/8" nft list set ip ip-masq-agent nomasq-dst || fail "apply in the image did not program the set"
# diff loads libnftables to show another's rule as nft writes it
nft insert rule ip ip-masq-agent postrouting ip daddr 192.0.2.1 accept || fail "cannot add a rule"
rc=0
in_image diff >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff's exit code in the image" 3 "$rc"
grep -qx -- "- rule ip ip-masq-agent postrouting ip daddr 192.0.2.1 accept" "$WORK/diff.out" ||
        fail "diff in the image does not show the rule in nft syntax: $(cat "$WORK/diff.out")"
in_image apply 2>"$WORK/apply.log" || { cat "$WORK/apply.log" >&2; fail "apply in the image failed"; }

# the DaemonSet's invocation: flags alone, the HTTP endpoints (libmicrohttpd, loaded on demand)
chroot "$WORK/rootfs" /usr/bin/ip-masq-agent --config=/etc/config/ip-masq-agent \
        --health-bind-address=127.0.0.1:10266 --metrics-bind-address=127.0.0.1:10266 2>"$WORK/run.log" &
pid=$!
ready() {
        [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:10266/readyz)" = 200 ]
}
wait_for 10 ready || { cat "$WORK/run.log" >&2; fail "the agent in the image never became ready"; }
output_has "ip_masq_agent_set_elements" curl -s http://127.0.0.1:10266/metrics ||
        fail "no metrics from the agent in the image"
kill -TERM "$pid"
wait "$pid" || fail "the agent in the image did not exit 0 on SIGTERM"
echo "ok: container image"
