#!/usr/bin/env python3
"""Differential check of the config reader against the upstream agent's decoding.

Generates random config files in the shapes ConfigMaps take (both syntaxes, every key spelling,
YAML 1.1 scalars, anchors, merges, repeated keys, documents, tags) and reads each twice: with
`ip-masq-agent validate`, and with ctest/upstream/decode.go, which decodes the way the upstream
Go agent does (go-yaml v2 -> sigs.k8s.io/yaml -> encoding/json over its defaults). Both must
accept a file with the same effective values, or both refuse it.

Inputs where this agent deliberately differs (README: "Where this agent deliberately differs
from upstream") are not generated: zero or negative intervals, null list items, host bits,
NonMasqueradeSrcCIDRs, keys folded by Unicode rules, libyaml's flow-scalar corners.

  differential.py AGENT DECODE WORKDIR [COUNT] [SEED]
"""
import json
import os
import random
import subprocess
import sys

CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "192.0.2.0/24",
         "198.51.100.0/24", "203.0.113.7/32", "11.0.0.0/8", "0.0.0.0/0", "10.1.0.0/16"]
KEYS = {
    "nonMasqueradeCIDRs": "cidrs",
    "cidrLimit": "int",
    "masqLinkLocal": "bool",
    "masqLinkLocalIPv6": "bool",
    "resyncInterval": "duration",
}
BOOLS = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
         "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "yEs", "oN", "tRUE", "1", "0",
         '"true"', "'yes'", "~", "null", "", "!!bool yes", "!!bool \"true\"", "!!str yes"]
INTS = ["64", "100", "0x64", "0o144", "0144", "1_00", "100.0", "1e2", "6.4e1", '"64"', "~", "",
        "-1", "0", "5", "+100", "0b1100100", "!!int \"64\"", "!!float 64", "1.5", "99999999999999999999"]
DURATIONS = ["90s", "1m", "1h30m", "1.5h", "300ms", "2h45m30.5s", "1m0s", '"1m"', "'45s'", "60",
             '"60"', "~", "", "1µs", "5us", "1d", "10s", "1h1m1s1ms1us1ns",
             "!!str 2m", ".5h", "1.h"]


def spelling(rng, key):
    choice = rng.randrange(7)
    if choice == 0:
        return key
    if choice == 6:  # the letters Go folds into ASCII s and k (the Go here predates 1.21's i folds)
        return "".join({"s": "\u017f", "S": "\u017f", "k": "\u212a", "K": "\u212a"}.get(c, c)
                       if rng.random() < 0.5 else c for c in key)
    if choice == 1:
        return key[0].upper() + key[1:]
    if choice == 2:
        return key.upper()
    if choice == 3:
        return key.lower()
    if choice == 4:
        return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in key)
    return key.replace("CIDRs", "Cidrs") if "CIDRs" in key else key[0].upper() + key[1:]


def yaml_scalar_cidr(rng, c):
    return rng.choice([c, '"%s"' % c, "'%s'" % c, "!!str %s" % c])


def yaml_cidrs(rng, indent):
    n = rng.randrange(5)
    items = [rng.choice(CIDRS) for _ in range(n)]
    style = rng.randrange(7)
    if style == 0 and n:
        return "\n" + "".join("%s- %s\n" % (indent, yaml_scalar_cidr(rng, c)) for c in items).rstrip("\n")
    if style == 1:
        return "[" + ", ".join(yaml_scalar_cidr(rng, c) for c in items) + "]"
    if style == 2:
        return rng.choice(["[]", "~", "", "null"])
    if style == 3:
        return rng.choice(CIDRS)  # a scalar where a list belongs
    if style == 4:
        return "[%s, 10]" % rng.choice(CIDRS)  # a number in the list
    if style == 5:
        return "{a: b}"
    return "[" + ", ".join('"%s"' % c for c in items) + "]"


def yaml_value(rng, kind, indent):
    if kind == "cidrs":
        return yaml_cidrs(rng, indent)
    if kind == "bool":
        return rng.choice(BOOLS)
    if kind == "int":
        return rng.choice(INTS)
    return rng.choice(DURATIONS)


def gen_yaml(rng):
    lines = []
    if rng.random() < 0.2:
        lines.append("# ip-masq-agent config")
    if rng.random() < 0.2:
        lines.append("---")
    entries = []
    for key, kind in KEYS.items():
        if rng.random() < 0.6:
            entries.append((spelling(rng, key), kind))
    if rng.random() < 0.3:  # the same key again, maybe spelled otherwise
        key, kind = rng.choice(list(KEYS.items()))
        entries.append((spelling(rng, key), kind))
    if rng.random() < 0.2:
        entries.append((rng.choice(["foo", "non_masquerade_cidrs", "masqlinklocal6", "enableIPv6", "true", "y",
                                    "1", "1.5", "0x10", "~", "18446744073709551615", ".inf", "'~'"]), "bool"))
    rng.shuffle(entries)
    anchor_used = False
    for key, kind in entries:
        value = yaml_value(rng, kind, "  ")
        if kind == "cidrs" and not anchor_used and rng.random() < 0.15 and value.startswith("["):
            lines.append("base: &cidrs %s" % value)
            value = "*cidrs"
            anchor_used = True
        lines.append("%s: %s" % (key, value) if value else "%s:" % key)
    if rng.random() < 0.15:
        key, kind = rng.choice(list(KEYS.items()))
        lines.append("<<: {%s: %s}" % (spelling(rng, key), yaml_value(rng, kind, "").replace("\n", " ")))
    if rng.random() < 0.1:
        lines.append("---\nmasqLinkLocal: true")
    if rng.random() < 0.1:
        lines.append("...")
    return "\n".join(lines) + "\n"


def aliased(rng):
    """Unknown keys holding an anchored list and aliases of it (maybe of a list of aliases): near
    the share of alias-made values past which go-yaml v2 refuses a file ("excessive aliasing")."""
    k = rng.randrange(1, 600)
    lines = ["aliasBase: &ab [%s]" % ", ".join(["0"] * k)]
    name, size = "ab", k + 1
    if rng.random() < 0.5:
        j = rng.randrange(1, 30)
        lines.append("aliasMid: &am [%s]" % ", ".join(["*ab"] * j))
        name, size = "am", 1 + j * (1 + size)
    m = rng.randrange(1, max(2, min(400, 150000 // size)))
    lines.append("aliasUse: [%s]" % ", ".join(["*" + name] * m))
    return "\n".join(lines) + "\n"


def wild(rng, text):
    """Reshapes a YAML file the ways editors and tools do: CRLF, a BOM, a %YAML 1.1 directive,
    explicit keys, block scalars, !!binary items, trailing comments."""
    r = rng.randrange(8)
    if r == 0:
        return text.replace("\n", "\r\n")
    if r == 1:
        return "\ufeff" + text
    if r == 2:
        return "%YAML 1.1\n---\n" + text
    if r == 3:
        return "? masqLinkLocal\n: %s\n" % rng.choice(BOOLS[:22]) + text
    if r == 4:
        return text + "resyncInterval: %s\n" % rng.choice(["|\n  90s", ">-\n  2m", "|-\n  1h"])
    if r == 5:
        cidr = rng.choice(CIDRS)
        return text + "nonMasqueradeCIDRs: [!!binary %s]\n" % __import__("base64").b64encode(cidr.encode()).decode()
    if r == 6:
        return "".join(line + ("  # note\n" if line and not line.startswith(("-", " ", "#")) else "\n")
                       for line in text.split("\n")[:-1])
    return text


def json_value(rng, kind):
    if kind == "cidrs":
        r = rng.randrange(6)
        if r == 0:
            return "null"
        if r == 1:
            return json.dumps(rng.choice(CIDRS))
        if r == 2:
            return "[%s, 10]" % json.dumps(rng.choice(CIDRS))
        return json.dumps([rng.choice(CIDRS) for _ in range(rng.randrange(5))])
    if kind == "bool":
        return rng.choice(["true", "false", "null", '"true"', "1", "0"])
    if kind == "int":
        return rng.choice(["64", "100", "0", "5", "-1", "64.0", "6.4e1", '"64"', "null", "1e2", "100000000000000000000"])
    return rng.choice(['"90s"', '"1m"', '"1h30m"', '"300ms"', "60", '"60"', "null", '"1\\u0073"', '"1.5h"'])


def gen_json(rng):
    members = []
    for key, kind in KEYS.items():
        if rng.random() < 0.6:
            members.append('"%s": %s' % (spelling(rng, key), json_value(rng, kind)))
    if rng.random() < 0.3:
        key, kind = rng.choice(list(KEYS.items()))
        members.append('"%s": %s' % (spelling(rng, key), json_value(rng, kind)))
    rng.shuffle(members)
    return rng.choice(["", " ", "\n"]) + "{" + ", ".join(members) + "}\n"


def ours(agent, path):
    p = subprocess.run([agent, "validate", "--config=" + path], capture_output=True, text=True)
    if p.returncode == 2:
        return None, p.stderr.strip()
    if p.returncode != 0:
        raise SystemExit("validate exited %d on %s: %s" % (p.returncode, path, p.stderr))
    doc = json.loads(p.stdout)
    return {k: doc[k] for k in KEYS}, ""


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    agent, decode, work = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else random.randrange(1 << 30)
    rng = random.Random(seed)
    paths = []
    for i in range(count):
        path = os.path.join(work, "case-%05d" % i)
        with open(path, "w") as f:
            f.write(gen_json(rng) if rng.random() < 0.25 else wild(rng, gen_yaml(rng)) if rng.random() < 0.3
                    else aliased(rng) + gen_yaml(rng) if rng.random() < 0.05 else gen_yaml(rng))
        paths.append(path)
    up = subprocess.run([decode] + paths, capture_output=True, text=True, check=True).stdout.splitlines()
    differ = accepted = 0
    for path, line in zip(paths, up):
        want = None if line.startswith("error: ") else json.loads(line)
        got, why = ours(agent, path)
        if want is not None:
            accepted += 1
        if got == want:
            continue
        differ += 1
        if differ <= 20:
            print("--- %s\n%s" % (path, open(path).read()), end="")
            print("  upstream: %s\n  here:     %s" % (line, json.dumps(got) if got else "error: " + why))
    print("%d files (seed %d): upstream accepts %d; %d read differently" % (count, seed, accepted, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
