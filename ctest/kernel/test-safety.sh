#!/bin/bash
# The agent touches only its own tables, and an invalid configuration touches nothing.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

# what iptables-nft (with the chain the upstream agent leaves behind) and kube-proxy (nftables
# mode) would have created
nft -f - <<'NFT'
table ip nat {
        chain IP-MASQ-AGENT {
                ip daddr 10.0.0.0/8 counter return
                counter masquerade
        }
        chain POSTROUTING {
                type nat hook postrouting priority srcnat; policy accept;
                oifname "eth9" counter masquerade
                counter jump IP-MASQ-AGENT
        }
}
table ip kube-proxy {
        set cluster-ips { type ipv4_addr; elements = { 10.96.0.1 } }
        chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; }
}
table inet filter {
        chain forward { type filter hook forward priority filter; policy accept; }
}
table ip other {
        set nomasq-dst { type ipv4_addr; flags interval; elements = { 192.0.2.0/24 } }
        chain postrouting {
                type filter hook postrouting priority filter; policy accept;
                ip daddr @nomasq-dst counter
        }
}
table ip6 other {
        chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
}
NFT
nft list table ip nat >"$WORK/nat.before"
nft list table ip kube-proxy >"$WORK/kp.before"
nft list table inet filter >"$WORK/filter.before"
nft list table ip other >"$WORK/other.before"
nft list table ip6 other >"$WORK/other6.before"

cleanup_rc=0
agent cleanup 2>/dev/null || cleanup_rc=$?
assert_eq "cleanup with nothing to clean exits 0" 0 "$cleanup_rc"

agent apply --config "$WORK/none" --enable-ipv6 2>"$WORK/apply1.err" || fail "apply failed"
# the upstream agent's leftover chain is reported (and, below, left alone: not our table)
grep -q "iptables chain is still installed: .* table=\"ip nat\" chain=\"IP-MASQ-AGENT\" fix=\"iptables -t nat -F IP-MASQ-AGENT " \
        "$WORK/apply1.err" || { cat "$WORK/apply1.err" >&2; fail "the upstream agent's leftover chain was not reported"; }
assert_eq "leftover chains reported" 1 "$(grep -c "still installed" "$WORK/apply1.err")"
agent apply --config "$WORK/none" --masq-chain=OTHER-CHAIN 2>"$WORK/apply-other.err" || fail "apply failed"
if grep -q "still installed" "$WORK/apply-other.err"; then
        fail "a chain that is not --masq-chain was reported: $(cat "$WORK/apply-other.err")"
fi
agent apply --config "$WORK/none" --enable-ipv6 2>/dev/null || fail "apply failed"
readback ip >"$WORK/good.ip"
readback ip6 >"$WORK/good.ip6"
[ "$(head -n 1 "$WORK/good.ip")" = "table ip ip-masq-agent" ] || fail "ip table missing after apply"

# other tables' objects, even those with our names, are not ours: the agent is in sync at once
# (the kernel's chain dump does not filter by table) and a second apply sends nothing
rc=0
agent diff --config "$WORK/none" --enable-ipv6 >"$WORK/diff.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/diff.out" >&2; fail "diff beside foreign tables exits $rc, want 0 (in sync)"; }
agent apply --config "$WORK/none" --enable-ipv6 --v=3 2>"$WORK/apply2.err" || fail "second apply failed"
grep -q '"In sync, nothing sent"' "$WORK/apply2.err" ||
        { cat "$WORK/apply2.err" >&2; fail "a second apply beside foreign tables was not in sync"; }

# invalid configurations: exit 2, kernel untouched
printf 'NonMasqueradeCIDRs:\n  - 10.0.0.1/8\n' >"$WORK/bad.yaml"
printf '{"NonMasqueradeCIDRs": ["10.0.0.0/8",]}\n' >"$WORK/bad.json"
printf 'NonMasqueradeCIDRs: [fd00::/8]\n' >"$WORK/bad-v6.yaml"
for bad in bad.yaml bad.json bad-v6.yaml; do
        rc=0
        agent apply --config "$WORK/$bad" 2>"$WORK/err" || rc=$?
        assert_eq "apply of invalid $bad exits 2" 2 "$rc"
        grep -q "$bad" "$WORK/err" || fail "the error for $bad does not name the file: $(cat "$WORK/err")"
        readback ip >"$WORK/now.ip"
        readback ip6 >"$WORK/now.ip6"
        diff -u "$WORK/good.ip" "$WORK/now.ip" >&2 || fail "invalid $bad changed table ip"
        diff -u "$WORK/good.ip6" "$WORK/now.ip6" >&2 || fail "invalid $bad changed table ip6"
done

agent cleanup 2>/dev/null || fail "cleanup failed"
assert_eq "ip table removed by cleanup" absent "$(readback ip)"
assert_eq "ip6 table removed by cleanup" absent "$(readback ip6)"

# foreign tables are exactly as before
nft list table ip nat >"$WORK/nat.after"
nft list table ip kube-proxy >"$WORK/kp.after"
nft list table inet filter >"$WORK/filter.after"
nft list table ip other >"$WORK/other.after"
nft list table ip6 other >"$WORK/other6.after"
for t in nat kp filter other other6; do
        diff -u "$WORK/$t.before" "$WORK/$t.after" >&2 || fail "foreign table $t was changed"
done
# without CAP_NET_ADMIN over this namespace (a nested user namespace has none; where user
# namespaces are refused, root without it in its bounding set): exit 1, and the message says what
# is missing
without_net_admin=(unshare --user)
unshare --user true 2>/dev/null || without_net_admin=(setpriv --bounding-set=-net_admin --inh-caps=-net_admin)
for verb in diff apply cleanup run; do
        rc=0
        timeout 10 "${without_net_admin[@]}" "$IMA_BIN" "$verb" --config "$WORK/none" 2>"$WORK/noperm.err" || rc=$?
        assert_eq "$verb without CAP_NET_ADMIN exits 1" 1 "$rc"
        grep -q "needs CAP_NET_ADMIN in this network namespace" "$WORK/noperm.err" ||
                { cat "$WORK/noperm.err" >&2; fail "$verb without CAP_NET_ADMIN does not say what is missing"; }
done
echo "ok: only our tables are touched; invalid config changes nothing; cleanup is idempotent; no privilege, clear error"
