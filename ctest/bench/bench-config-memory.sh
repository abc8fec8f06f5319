#!/bin/bash
# Peak memory of reading a configuration file (`validate`, which parses as the daemon does at
# every reload) for the files that cost most: the largest lists, a ConfigMap's 1 MiB of values
# the agent does not use, alias-heavy YAML on both sides of go-yaml's "excessive aliasing"
# rule, a long string aliased up to the bound on the text aliases copy and past it, that bound
# together with the bound on values, and anchors nested in anchors (each keeps a copy). Prints
# each file's size, validate's exit code and its peak RSS. No privileges, no kernel.
# Usage: bash ctest/bench/bench-config-memory.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
agent=${1:-build}/cmd/ip-masq-agent
[ -x "$agent" ] || { echo "no $agent: build first (meson setup build && ninja -C build)" >&2; exit 1; }
# GNU time: its own few hundred kB are all that stands between it and the agent's exec, where a
# Python parent's high-water mark would carry over into the child's
[ -x /usr/bin/time ] || bash ctest/install-deps.sh time >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$agent" "$work" <<'EOF'
import os, subprocess, sys

agent, work = sys.argv[1:3]
MiB = 1 << 20


def v4(i, first):
    return "%d.%d.%d.0/24" % (first + i // 65536, i // 256 % 256, i % 256)


def aliased(k, m):
    return "base: &a [%s]\nx: [%s]\n" % (", ".join(["0"] * k), ", ".join(["*a"] * m))


def long_aliased(n, m, prefix=""):
    return prefix + "a: &a %s\nx: [%s]\n" % ("b" * n, ", ".join(["*a"] * m))


files = [
    ("64 CIDRs (a typical ConfigMap)",
     "nonMasqueradeCIDRs:\n" + "".join("  - %s\n" % v4(i, 10) for i in range(64))),
    ("100,000 CIDRs, block list",
     "cidrLimit: 100000\nnonMasqueradeCIDRs:\n" + "".join("  - %s\n" % v4(i, 10) for i in range(100000))),
    ("100,000 destination + 100,000 source CIDRs",
     "cidrLimit: 100000\nnonMasqueradeCIDRs:\n" + "".join("  - %s\n" % v4(i, 10) for i in range(100000)) +
     "nonMasqueradeSrcCIDRs:\n" + "".join("  - %s\n" % v4(i, 120) for i in range(100000))),
    ("1 MiB YAML, an unknown key holding 0s", "x: [" + ",".join(["0"] * (MiB // 2 - 4)) + "]\n"),
    ("1 MiB JSON, an unknown key holding 0s", '{"x": [' + ",".join(["0"] * (MiB // 2 - 6)) + "]}\n"),
    ("1 MiB YAML, 249,000 values (just under the bound)", "x: [" + ",".join(["0"] * 249000) + "]\n"),
    ("aliases, 98.4% of 244,000 values (go-yaml reads it)", aliased(4000, 60)),
    ("aliases, a 230-byte nested bomb (go-yaml refuses it)",
     "a: &a [%s]\nb: &b [%s]\nc: &c [%s]\nd: &d [%s]\ne: &e [%s]\ng: [%s]\n" % (
         ",".join(["0"] * 10), ",".join(["*a"] * 10), ",".join(["*b"] * 10), ",".join(["*c"] * 10),
         ",".join(["*d"] * 10), ",".join(["*e"] * 15))),
    ("aliases, a 100 KiB string 162 times (16.7 MB, read)", long_aliased(100 * 1024, 162)),
    ("aliases, a 100 KiB string 100,000 times (refused)", long_aliased(100 * 1024, 100000)),
    ("249,000 values and 16.7 MB of aliased text (read)",
     long_aliased(100 * 1024, 162, "y: [" + ",".join(["0"] * 248500) + "]\n")),
    ("990 anchors nested around a 1 MB string (refused)",
     "foo: " + "".join("&a%d [" % i for i in range(990)) + "x" * 1000000 + "]" * 990 + "\n"),
    ("anchors nested around 1,000 values to the bound (read)",
     "foo: " + "".join("&a%d [" % i for i in range(220)) + ",".join(["0"] * 1000) + "]" * 220 + "\n"),
    ("the same and 16.5 MB of aliased text (read)",
     long_aliased(100 * 1024, 160,
                  "foo: " + "".join("&a%d [" % i for i in range(220)) + ",".join(["0"] * 1000) + "]" * 220 + "\n")),
]

print("%-56s %10s %5s %12s" % ("file", "size", "exit", "peak RSS"))
for i, (name, text) in enumerate(files):
    path = os.path.join(work, "config-%d" % i)
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run(["/usr/bin/time", "-f", "%x %M", "-o", path + ".out", agent, "validate", "--config", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc, peak_kb = map(int, open(path + ".out").read().split()[-2:])
    print("%-56s %8.2f MB %5d %9.1f MB" % (name, len(text) / 1e6, rc, peak_kb / 1024))
EOF
