#!/bin/bash
# The reconcile engine: an in-sync kernel gets no write; a CIDR change is set elements only;
# every kind of drift is healed; a racing editor cannot leave the table inconsistent; reads finish
# while other tables take commit after commit; 100,000 prefixes, IPv4 or IPv6, go in as one
# transaction and read back identical.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

golden="$IMA_SRCDIR/golden/apply/default/expected.ip"
cfg="$WORK/none" # no file: the defaults

# Runs cmd while "nft monitor" records every change; prints the events (no generation lines).
monitored() {
        nft monitor >"$WORK/monitor" 2>&1 &
        local mon=$!
        sleep 0.3 # let the monitor subscribe before the first event
        "$@"
        sleep 0.3
        kill "$mon"
        wait "$mon" 2>/dev/null || true
}

expect_in_sync() {
        local rc=0
        agent diff --config "$cfg" "${@}" >"$WORK/diff.out" 2>&1 || rc=$?
        [ "$rc" = 0 ] || fail "$what: diff after apply exits $rc: $(cat "$WORK/diff.out")"
}

# --- no-op resync -------------------------------------------------------------------------------
agent apply --config "$cfg" 2>"$WORK/apply.log" || fail "initial apply failed"
# its one-line summary: a table made from scratch is one fact, not a list of its sets and rules
grep -q ' changes="ip: table created (table_missing)" ' "$WORK/apply.log" ||
        fail "the initial apply's summary is not the table created alone: $(cat "$WORK/apply.log")"
monitored agent apply --config "$cfg" --v=3 2>"$WORK/apply.log"
[ ! -s "$WORK/monitor" ] || fail "an in-sync apply wrote to the kernel: $(cat "$WORK/monitor")"
grep -q "In sync, nothing sent" "$WORK/apply.log" || fail "in-sync apply did not say so: $(cat "$WORK/apply.log")"
what="no-op" expect_in_sync
note "ok: in-sync apply sends nothing"

# --- drift: every kind is healed, and diff reports it first -------------------------------------
# A set made again with a property we do not give it carries our comment, and auto-merge too
# where the property is another, so that only that property tells it apart (a missing comment
# alone makes the table re-created, a missing auto-merge the set).
dst_comment='comment "destinations not masqueraded: NonMasqueradeCIDRs and link-local unless MasqLinkLocal"'
src_comment='comment "sources not masqueraded: NonMasqueradeSrcCIDRs"'
drifts=(
        "nft delete table ip ip-masq-agent"
        "nft flush ruleset"
        "nft flush chain ip ip-masq-agent postrouting"
        "nft add rule ip ip-masq-agent postrouting counter accept"
        "nft insert rule ip ip-masq-agent postrouting ip daddr 1.1.1.1 accept"
        "nft delete rule ip ip-masq-agent postrouting handle \$(nft -a list chain ip ip-masq-agent postrouting | sed -n 's/.*masquerade fully-random.*# handle //p')"
        "nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }"
        "nft delete element ip ip-masq-agent nomasq-dst { 10.0.0.0/8 }"
        "nft add element ip ip-masq-agent nomasq-dst { 11.0.0.0/8 }"
        "nft add element ip ip-masq-agent nomasq-src { 10.99.0.0/16 }"
        "nft flush set ip ip-masq-agent nomasq-dst"
        "nft add table ip ip-masq-agent { flags dormant\\; }"
        "nft add chain ip ip-masq-agent extra"
        "nft add set ip ip-masq-agent extra { type ipv4_addr\\; }"
        "nft add counter ip ip-masq-agent stray"
        # anonymous chains, which go with their rule: never removed by name
        "nft insert rule ip ip-masq-agent postrouting ip daddr 1.2.3.4 jump { masquerade\\; }"
        "nft 'add chain ip ip-masq-agent mine; add rule ip ip-masq-agent mine jump { counter; }'"
        # anonymous sets, which the table's use count may leave out: not the only trace of a chain
        "nft 'add chain ip ip-masq-agent mine; add rule ip ip-masq-agent mine ip daddr { 192.0.2.1, 192.0.2.2 } accept'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting { type nat hook postrouting priority 50; }'"
        "nft 'chain ip ip-masq-agent postrouting { policy drop; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-dst; add set ip ip-masq-agent nomasq-dst { type ipv4_addr; $dst_comment; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src; add set ip ip-masq-agent nomasq-src { type ipv4_addr; flags interval,timeout; auto-merge; $src_comment; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src; add set ip ip-masq-agent nomasq-src { type ipv4_addr; flags interval; counter; auto-merge; $src_comment; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-dst; add set ip ip-masq-agent nomasq-dst { type ipv4_addr; flags interval; size 2; auto-merge; $dst_comment; }'"
        # what nft shows of a set beside its flags: auto-merge (which also changes what an
        # operator's "nft add element" does), the policy, typeof
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-dst; add set ip ip-masq-agent nomasq-dst { type ipv4_addr; flags interval; $dst_comment; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-dst; add set ip ip-masq-agent nomasq-dst { type ipv4_addr; flags interval; auto-merge; policy memory; $dst_comment; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src; add set ip ip-masq-agent nomasq-src { typeof ip saddr; flags interval; auto-merge; $src_comment; }'"
        "nft add table ip6 ip-masq-agent"
        # made again under our names, without our comments: the hints "nft list" shows operators
        "nft 'delete table ip ip-masq-agent; add table ip ip-masq-agent'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting { type nat hook postrouting priority srcnat; policy accept; }'"
        "nft 'flush chain ip ip-masq-agent postrouting; delete set ip ip-masq-agent nomasq-src; add set ip ip-masq-agent nomasq-src { type ipv4_addr; flags interval; }'"
        # our chain made again as a plain chain that others name: the kernel deletes no chain a
        # jump or a verdict map still names, so those references must go first
        "nft 'delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent foo; add rule ip ip-masq-agent foo jump postrouting'"
        "nft 'delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting; add map ip ip-masq-agent vm { type ipv4_addr : verdict; elements = { 1.2.3.4 : goto postrouting } }'"
        "nft 'delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent foo; add rule ip ip-masq-agent foo ip daddr vmap { 1.2.3.4 : goto postrouting }'"
        # our chain at another priority, its rule using a verdict map that jumps to another's
        # chain: our rules must go before that map can
        "nft 'flush chain ip ip-masq-agent postrouting; delete chain ip ip-masq-agent postrouting; add chain ip ip-masq-agent postrouting { type nat hook postrouting priority 50; }; add chain ip ip-masq-agent foo; add map ip ip-masq-agent vm { type ipv4_addr : verdict; elements = { 1.2.3.4 : jump foo } }; add rule ip ip-masq-agent postrouting ip daddr vmap @vm'"
)
add_catchall_drift drifts
# the comments of table, sets, chain and rules as render writes them (the JSON read back has no
# table or chain comments in nft 1.0.6)
comments() { grep -o 'comment "[^"]*"'; }
agent render --config "$cfg" | comments >"$WORK/comments.want"
for d in "${drifts[@]}"; do
        what="drift [$d]"
        eval "$d" || fail "$what: could not create the drift"
        rc=0
        agent diff --config "$cfg" >"$WORK/diff.out" 2>&1 || rc=$?
        [ "$rc" = 3 ] || fail "$what: diff exits $rc, expected 3 (drift): $(cat "$WORK/diff.out")"
        agent apply --config "$cfg" 2>"$WORK/apply.log" || fail "$what: apply failed: $(cat "$WORK/apply.log")"
        readback ip >"$WORK/got.ip"
        diff -u "$golden" "$WORK/got.ip" >&2 || fail "$what: not healed"
        nft list table ip ip-masq-agent | comments >"$WORK/comments.got"
        diff -u "$WORK/comments.want" "$WORK/comments.got" >&2 || fail "$what: comments not healed"
        # a set's counter and size limit are no part of what nft-readback prints; nft's listing
        # shows them
        assert_eq "$what: sets with auto-merge, no policy, no typeof, no counter, no size" "2 0" \
                "$(nft list table ip ip-masq-agent | grep -c '^[[:space:]]*auto-merge$') $(nft list table ip ip-masq-agent | grep -cE 'policy memory|typeof|^[[:space:]]*(counter|size [0-9]+)$')"
        assert_eq "$what: ip6 table" absent "$(readback ip6)"
        expect_in_sync
done
note "ok: ${#drifts[@]} kinds of drift healed"

# --- diff's text: what goes, as it was -----------------------------------------------------------
# the rules removed one by one (ours in nft syntax, read back from the kernel's; another's as nft
# lists it, through libnftables), the header the chain had, a dormant table's flags alone
ours='fib daddr type local return comment "local destinations are not masqueraded"
ip saddr @nomasq-src counter return comment "source in @nomasq-src: not masqueraded"
ip daddr @nomasq-dst counter return comment "destination in @nomasq-dst: not masqueraded"
counter masquerade fully-random comment "everything else is masqueraded (must be last)"'
chain="ip ip-masq-agent postrouting"
agent apply --config "$cfg" 2>/dev/null || fail "apply failed"
nft "insert rule $chain ip daddr 1.1.1.1 accept comment \"by hand\"; chain $chain { policy drop; }" ||
        fail "could not edit the chain"
{
        echo "- rule $chain ip daddr 1.1.1.1 accept comment \"by hand\""
        sed "s/^/- rule $chain /" <<<"$ours"
        echo "- chain $chain { type nat hook postrouting priority srcnat + 1; policy drop; }"
        echo "+ chain $chain { type nat hook postrouting priority srcnat + 1; policy accept; }"
        sed "s/^/+ rule $chain /" <<<"$ours"
} >"$WORK/diff.want"
rc=0
agent diff --config "$cfg" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff's exit code with the chain edited" 3 "$rc"
diff -u "$WORK/diff.want" "$WORK/diff.out" >&2 || fail "diff's text for an edited chain"
agent apply --config "$cfg" 2>/dev/null || fail "apply failed"
nft "add table ip ip-masq-agent { flags dormant; }" || fail "could not make the table dormant"
printf '%s\n' "- table ip ip-masq-agent { flags dormant; } (flags only)" "+ table ip ip-masq-agent { } (flags only)" \
        >"$WORK/diff.want"
rc=0
agent diff --config "$cfg" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff's exit code with the table dormant" 3 "$rc"
diff -u "$WORK/diff.want" "$WORK/diff.out" >&2 || fail "diff's text for a dormant table"
agent apply --config "$cfg" 2>/dev/null || fail "apply failed"
# names and comments hold what the kernel was given, newlines included: each change stays one
# line, its text escaped (nft -j takes such names; the nft syntax cannot write them, so such a
# rule of another's is shown as libnftnl lists its expressions)
nft -j -f - <<'JSON' || fail "could not add objects with a newline in their name and comment"
{"nftables": [
 {"add": {"chain": {"family": "ip", "table": "ip-masq-agent", "name": "evil\nINJECTED"}}},
 {"add": {"rule": {"family": "ip", "table": "ip-masq-agent", "chain": "postrouting", "comment": "by\nhand",
                   "expr": [{"accept": null}]}}},
 {"add": {"rule": {"family": "ip", "table": "ip-masq-agent", "chain": "postrouting",
                   "comment": "local destinations\nare not masqueraded", "expr": [
                     {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}},
                     {"return": null}]}}}
]}
JSON
rc=0
agent diff --config "$cfg" >"$WORK/diff.out" 2>&1 || rc=$?
assert_eq "diff's exit code with a newline in a chain's name" 3 "$rc"
grep -qvE '^[-+] ' "$WORK/diff.out" && fail "diff printed a line that is no change: $(cat "$WORK/diff.out")"
grep -qxF -- '- chain ip ip-masq-agent evil\nINJECTED (not the agent'"'"'s)' "$WORK/diff.out" ||
        fail "diff does not show the chain's name escaped: $(cat "$WORK/diff.out")"
grep -qxF -- '- rule ip ip-masq-agent postrouting [ immediate reg 0 accept ] comment "by\nhand"' "$WORK/diff.out" ||
        fail "diff does not show the comment escaped: $(cat "$WORK/diff.out")"
grep -qF -- 'comment "local destinations\nare not masqueraded"' "$WORK/diff.out" ||
        fail "diff does not show the comment of a rule like the agent's escaped: $(cat "$WORK/diff.out")"
agent apply --config "$cfg" 2>/dev/null || fail "apply failed"
what="diff's text" expect_in_sync
note "ok: diff shows the rules, chain header and table flags that go"

# --- others' objects in our table go one by one: the table itself stays ----------------------------
# chains that jump to each other, a counter one of them uses, a set and a verdict map our own
# chain was made to use, a quota: all removed in one transaction, our table, sets and chain
# untouched (same handle), in an order the kernel accepts (a used object cannot be deleted)
agent apply --config "$cfg" 2>/dev/null || fail "apply failed"
handle() { nft -a list table ip ip-masq-agent | sed -n '1s/.*# handle //p'; }
before=$(handle)
nft -f - <<'NFT' || fail "could not add the objects"
add chain ip ip-masq-agent stray
add chain ip ip-masq-agent stray2
add rule ip ip-masq-agent stray jump stray2
add set ip ip-masq-agent extra { type ipv4_addr; }
add counter ip ip-masq-agent cnt
add rule ip ip-masq-agent stray2 counter name cnt
add map ip ip-masq-agent vm { type ipv4_addr : verdict; elements = { 192.0.2.4 : jump stray } }
add rule ip ip-masq-agent postrouting ip daddr @extra accept
add rule ip ip-masq-agent postrouting ip daddr vmap @vm
add quota ip ip-masq-agent q { 10 mbytes }
NFT
agent apply --config "$cfg" 2>"$WORK/apply.log" || fail "apply failed: $(cat "$WORK/apply.log")"
grep -q 'changes="ip postrouting: rules rebuilt (rules); ip: set extra removed (table_foreign_objects); ip: map vm removed' \
        "$WORK/apply.log" ||
        fail "not removed one by one: $(cat "$WORK/apply.log")"
assert_eq "the table's handle after the removals (not re-created)" "$before" "$(handle)"
readback ip >"$WORK/got.ip"
diff -u "$golden" "$WORK/got.ip" >&2 || fail "not healed"
what="others' objects" expect_in_sync
note "ok: 6 objects of others removed, the table kept"

# --- a CIDR change on a 10,000-prefix set is a set-element delta only ---------------------------
"$IMA_HELPERS/gen-prefixes" 10000 1 >"$WORK/p10k"
{
        echo "CidrLimit: 10001"
        echo "MasqLinkLocal: true"
        echo "NonMasqueradeCIDRs:"
        sed 's/^/  - /' "$WORK/p10k"
} >"$WORK/big.yaml"
agent apply --config "$WORK/big.yaml" 2>/dev/null || fail "apply of 10,000 prefixes failed"
sed -i "5000s|.*|  - 203.0.113.0/24|" "$WORK/big.yaml" # line 5000 of the list is prefix 4997
old=$(sed -n 4997p "$WORK/p10k")
monitored agent apply --config "$WORK/big.yaml" 2>"$WORK/apply.log"
grep -v '^#' "$WORK/monitor" | sort >"$WORK/events"
printf '%s\n' "add element ip ip-masq-agent nomasq-dst { 203.0.113.0/24 }" \
        "delete element ip ip-masq-agent nomasq-dst { $old }" | sort >"$WORK/expected.events"
diff -u "$WORK/expected.events" "$WORK/events" >&2 || fail "a 1-CIDR change did more than one element delete and add"
grep -q " messages=2 " "$WORK/apply.log" || fail "a 1-CIDR change took other than 2 messages: $(cat "$WORK/apply.log")"
# the summary of a small delta lists its CIDRs, added (+) and deleted (-)
grep -qF " changes=\"ip nomasq-dst +203.0.113.0/24 -$old\" " "$WORK/apply.log" ||
        fail "the 1-CIDR change's summary is not the two CIDRs: $(cat "$WORK/apply.log")"
# elapsed is the whole reconcile: at least its read of the 10,000 elements and its commit
field() { sed -n "s/.* $1=\"\([^\"]*\)\".*/\1/p" "$WORK/apply.log"; }
# the durations as Go writes them ("591µs", "13.298ms"), read by the agent's own parser
read -r -d '' elapsed_ns read_ns commit_ns < <("$IMA_HELPERS/go-duration" "$(field elapsed)" "$(field read)" \
        "$(field commit)") || true
[ -n "$commit_ns" ] && [ "$elapsed_ns" -ge $((read_ns + commit_ns)) ] ||
        fail "elapsed is less than read and commit together: $(cat "$WORK/apply.log")"
cfg="$WORK/big.yaml" what="10k delta" expect_in_sync
note "ok: 1-CIDR change on 10,000 prefixes = 1 delete + 1 add"

# --- options that change rules: the chain rebuilt in one transaction; IPv6 off drops ip6 ----------
agent apply --config "$cfg" 2>"$WORK/apply.log" || fail "apply failed"
# back to the defaults: a big delta is summed up as counts, the defaults' few intervals added and
# the thousands of the big set deleted
read -r added deleted < <(sed -n 's/.* changes="[^"]*ip nomasq-dst +\([0-9]*\) -\([0-9]*\) intervals.*/\1 \2/p' \
        "$WORK/apply.log") || true
[ "${added:-x}" -lt 100 ] 2>/dev/null && [ "${deleted:-0}" -ge 5000 ] ||
        fail "the big delta's summary does not count what was added and deleted: $(cat "$WORK/apply.log")"
# each step: the options, and a pattern the chain must then show (each apply sets the others back)
steps=(
        "--priority=60|json:\"prio\": 60"
        "--to-ports=1024-29999,32768-65535|masquerade to :1024-29999"
        "--random-fully=false|counter packets 0 bytes 0 masquerade comment"
        "--enable-ipv6|masquerade fully-random comment"
        "--priority=srcnat|json:\"prio\": 100"
        "--priority=srcnat+1|json:\"prio\": 101"
)
for step in "${steps[@]}"; do
        opts=${step%%|*} want=${step#*|}
        what="option change [$opts]"
        rc=0
        agent diff --config "$cfg" "$opts" >"$WORK/diff.out" 2>&1 || rc=$?
        [ "$rc" = 3 ] || fail "$what: diff exits $rc, expected 3: $(cat "$WORK/diff.out")"
        # the rules that go are the agent's, with other options: shown in nft syntax
        ! grep -- '^- rule .*\[ ' "$WORK/diff.out" >&2 || fail "$what: diff shows a rule of the agent's as expressions"
        gen_before=$(readback --genid)
        agent apply --config "$cfg" "$opts" 2>"$WORK/apply.log" || fail "$what: apply failed: $(cat "$WORK/apply.log")"
        # the ip6 table, not there yet, is made in two: all of it dormant, then woken
        transactions=1
        [ "$opts" != --enable-ipv6 ] || transactions=2
        assert_eq "$what: transactions" "$transactions" "$(($(readback --genid) - gen_before))"
        # the summary counts the messages of both: the whole table's and the one that wakes it
        messages=$(sed -n 's/.* messages=\([0-9]*\) .*/\1/p' "$WORK/apply.log")
        [ "$transactions" = 1 ] || [ "${messages:-0}" -ge 5 ] ||
                fail "$what: the two transactions' summary counts ${messages:-no} messages: $(cat "$WORK/apply.log")"
        # "json:" patterns are looked for in nft -j (nft names priorities differently across versions)
        listing=(nft list chain ip ip-masq-agent postrouting)
        [ "${want#json:}" = "$want" ] || { listing=(nft -j list chain ip ip-masq-agent postrouting); want=${want#json:}; }
        output_has "$want" "${listing[@]}" || fail "$what: the chain does not show \"$want\": $("${listing[@]}")"
        expect_in_sync "$opts"
done
assert_eq "ip6 table after IPv6 was switched off" absent "$(readback ip6)"
readback ip >"$WORK/got.ip"
diff -u "$golden" "$WORK/got.ip" >&2 || fail "not back to the default table after the option changes"
note "ok: ${#steps[@]} option changes, each one transaction, back to the default table"

# --- a racing editor ---------------------------------------------------------------------------
# Each apply runs while another process adds elements and rules to our table and flushes its
# chain. After each one the editor pauses and the table is read back (libnftables JSON): what is
# not the editor's own kind of change (elements in 8.8.0.0/16, plain counter rules, a flushed
# chain) must be exactly the agent's table, never a mix of two states or a table left broken.
agent apply --config "$WORK/none" 2>/dev/null || fail "apply failed"
rm -f "$WORK/pause" "$WORK/paused" "$WORK/stop"
(
        # bounded by the stop file, a count and a time; the time allows for an emulated VM
        # (ctest/vm), where 30 applies with their checks took longer than a minute
        end=$((SECONDS + 300))
        i=0
        while [ $SECONDS -lt $end ] && [ $i -lt 2000 ] && [ ! -e "$WORK/stop" ]; do
                if [ -e "$WORK/pause" ]; then
                        : >"$WORK/paused"
                        while [ -e "$WORK/pause" ] && [ $SECONDS -lt $end ]; do sleep 0.005; done
                        rm -f "$WORK/paused"
                fi
                i=$((i + 1))
                nft add element ip ip-masq-agent nomasq-dst "{ 8.8.$((i % 250)).0/24 }" 2>/dev/null || true
                nft add rule ip ip-masq-agent postrouting counter 2>/dev/null || true
                [ $((i % 7)) = 0 ] && nft flush chain ip ip-masq-agent postrouting 2>/dev/null || true
                echo "$i" >"$WORK/edits"
        done
) &
editor=$!
grep -v '^rule ' "$golden" >"$WORK/golden.flushed"
# the table as the agent and the editor left it, the editor's changes taken out
agent_part() {
        readback ip | grep -v -e '^  element 8\.8\.' -e '^rule comment "" expr \[{"counter":{"bytes":0,"packets":0}}\]$'
}
ok=0 failed=0
for _ in $(seq 30); do
        if agent apply --config "$WORK/none" 2>>"$WORK/race.log"; then ok=$((ok + 1)); else failed=$((failed + 1)); fi
        : >"$WORK/pause"
        wait_for 10 test -e "$WORK/paused" || fail "the editor did not pause"
        agent_part >"$WORK/race.ip" || fail "no table to read back after a racing apply: $(tail -3 "$WORK/race.log")"
        cmp -s "$golden" "$WORK/race.ip" || cmp -s "$WORK/golden.flushed" "$WORK/race.ip" ||
                fail "after a racing apply the table is neither the agent's nor the editor's doing: $(diff -u "$golden" "$WORK/race.ip")"
        rm -f "$WORK/pause"
        wait_for 10 test ! -e "$WORK/paused" || fail "the editor did not resume"
done
touch "$WORK/stop"
wait "$editor"
edits=$(cat "$WORK/edits")
note "racing editor: $ok applies succeeded, $failed reported a conflict, $edits edits, each apply's table judged"
# what makes this a race: the editor kept editing between the applies
[ "$edits" -ge 30 ] || fail "only $edits edits during 30 applies: nothing raced"
if [ "$failed" -gt 0 ]; then
        grep -q '"Reconcile failed" trigger="apply" reason="' "$WORK/race.log" || fail "a failed apply did not say what failed: $(tail -5 "$WORK/race.log")"
fi
agent apply --config "$WORK/none" 2>/dev/null || fail "apply after the race failed"
readback ip >"$WORK/got.ip"
diff -u "$golden" "$WORK/got.ip" >&2 || fail "inconsistent table after the race"
note "ok: racing editor"

# --- another process's transaction in progress ------------------------------------------------
# A transaction that adds a chain to our table raises the table's use count while the kernel
# works through it, before it commits or (here) aborts; the chain is not part of the ruleset and
# no dump shows it. A read in that window must not take the count for a foreign object (which
# would rebuild the table and zero its counters). The transaction spends its time in the kernel
# on 5,000 elements of a concatenated-range set, then fails on its last command, so nothing
# changes; without the check, 10 to 13 of these 200 reads reported drift in three runs.
agent apply --config "$WORK/none" 2>/dev/null || fail "apply failed"
{
        echo "add chain ip ip-masq-agent pending"
        echo "add table ip busy"
        echo "add set ip busy s { type ipv4_addr . inet_service; flags interval; }"
        "$IMA_HELPERS/gen-prefixes" 5000 5 | awk -F/ '
                { e = e (e == "" ? "" : ", ") $1 " . " NR "-" NR + 1 }
                NR % 500 == 0 { print "add element ip busy s { " e " }"; e = "" }'
        echo "add set ip busy d { type ipv4_addr; }"
        echo "delete element ip busy d { 192.0.2.1 }" # the kernel refuses: the whole batch aborts
} >"$WORK/aborting.nft"
(
        for _ in $(seq 400); do
                [ -e "$WORK/stop" ] && break
                ! nft -f "$WORK/aborting.nft" 2>/dev/null || fail "the aborting batch committed"
        done
) &
writer=$!
# 200 reads, or as many as 90 s allow: older kernels (Linux 6.1) take seconds per such batch (set
# insertion grows with the set), and closing a netlink socket waits for the transaction in progress
drift=0 reads=0 deadline=$((SECONDS + 90))
while [ "$reads" -lt 200 ] && [ "$SECONDS" -lt "$deadline" ]; do
        rc=0
        reads=$((reads + 1))
        agent diff --config "$WORK/none" >"$WORK/diff.out" 2>&1 || rc=$?
        [ "$rc" = 0 ] || { drift=$((drift + 1)); cp "$WORK/diff.out" "$WORK/drift.out"; }
done
touch "$WORK/stop"
wait "$writer" || fail "the aborting writer failed"
[ "$drift" = 0 ] || fail "$drift of $reads reads during another process's aborting transactions reported drift: $(cat "$WORK/drift.out")"
assert_eq "tables after the aborted transactions" "table ip ip-masq-agent" "$(nft list tables)"
note "ok: $reads reads during another process's transactions, no drift reported"

# --- 100,000 prefixes: one transaction, read back identical -------------------------------------
agent cleanup 2>/dev/null
need_large_transactions "one transaction of 100,000 prefixes"
"$IMA_HELPERS/gen-prefixes" 100000 7 >"$WORK/p100k"
{
        echo '{"CidrLimit": 100000, "MasqLinkLocal": true, "NonMasqueradeCIDRs": ['
        sed 's/.*/"&",/; $ s/,$//' "$WORK/p100k"
        echo ']}'
} >"$WORK/huge.json"
gen_before=$(readback --genid)
agent apply --config "$WORK/huge.json" 2>"$WORK/apply.log" || fail "apply of 100,000 prefixes failed: $(cat "$WORK/apply.log")"
gen_after=$(readback --genid)
# all of it in one transaction (the table made dormant), then the one message that wakes it
assert_eq "transactions committed for 100,000 prefixes" 2 "$((gen_after - gen_before))"
grep -q " attempts=1 " "$WORK/apply.log" || fail "not one transaction: $(cat "$WORK/apply.log")"
readback ip | sed -n 's/^  element //p' | sort >"$WORK/got"
sort "$WORK/p100k" >"$WORK/want"
cmp -s "$WORK/want" "$WORK/got" || fail "100,000 prefixes do not read back identical ($(wc -l <"$WORK/got") elements read)"
note "ok: $(cat "$WORK/apply.log")"

# --- other tables committing all the time: reads of a large set still finish --------------------
# The generation is global: every commit to any table (kube-proxy's, a CNI's) moves it, and a read
# of 100,000 elements spans several of them. Such a read counts when the event stream shows that
# those commits left our tables alone. Before, diff, apply and cleanup gave up after 8 torn reads
# ("the ruleset kept changing"), and so did every full read of a daemon.
sed '100s|.*|"198.51.100.0/24",|' "$WORK/huge.json" >"$WORK/huge2.json"
nft add table inet churn
rm -f "$WORK/stop"
(
        for i in $(seq 20000); do
                [ -e "$WORK/stop" ] && break
                nft add chain inet churn c && nft delete chain inet churn c || exit 1
                echo "$((2 * i))" >"$WORK/churned"
        done
) &
churner=$!
churned() { cat "$WORK/churned" 2>/dev/null || echo 0; }
for _ in $(seq 100); do [ "$(churned)" -ge 10 ] && break; sleep 0.1; done
before=$(churned)
rc=0
agent diff --config "$WORK/huge2.json" >"$WORK/diff.out" 2>&1 || rc=$?
[ "$rc" = 3 ] && grep -q "^+ element ip ip-masq-agent nomasq-dst { 198.51.100.0/24 }" "$WORK/diff.out" ||
        fail "diff under other tables' commits exits $rc: $(tail -3 "$WORK/diff.out")"
agent apply --config "$WORK/huge2.json" 2>"$WORK/apply.log" ||
        fail "apply under other tables' commits failed: $(cat "$WORK/apply.log")"
cfg="$WORK/huge2.json" what="under other tables' commits" expect_in_sync
agent cleanup 2>"$WORK/cleanup.log" || fail "cleanup under other tables' commits failed: $(cat "$WORK/cleanup.log")"
after=$(churned)
touch "$WORK/stop"
wait "$churner" || fail "the other table's writer failed"
assert_eq "tables after cleanup" "table inet churn" "$(nft list tables)"
nft delete table inet churn
# what makes this a test: other commits went on throughout (each read of 100,000 elements spans
# some). About 40 on an idle machine; cleanup reads no elements, so the reads are diff's, apply's
# and the check's: 10 leaves room for a loaded one
[ "$((after - before))" -ge 10 ] || fail "only $((after - before)) commits to another table during the reads: nothing was proven"
note "ok: diff, apply and cleanup of 100,000 prefixes while another table took $((after - before)) commits"

# --- 100,000 IPv6 prefixes, and the edges of the space: one transaction, read back identical -----
# Beside the random fd00::/8 prefixes, entries that merge (into a prefix, and into a range that is
# none), the first address (::) and the last (all ones, the one interval without an end element).
agent cleanup 2>/dev/null
"$IMA_HELPERS/gen-prefixes" 100000 7 ipv6 >"$WORK/p100k6"
edges=(::/128 ::1/128 ::2/127 2001:db8::/33 2001:db8:8000::/33 2001:db9::/32 2001:dba::/32
        ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128)
{
        echo '{"CidrLimit": 100009, "MasqLinkLocal": true, "NonMasqueradeCIDRs": ['
        printf '"%s",\n' "${edges[@]}"
        sed 's/.*/"&",/; $ s/,$//' "$WORK/p100k6"
        echo ']}'
} >"$WORK/huge6.json"
gen_before=$(readback --genid)
agent apply --enable-ipv6 --config "$WORK/huge6.json" 2>"$WORK/apply.log" ||
        fail "apply of 100,000 IPv6 prefixes failed: $(cat "$WORK/apply.log")"
gen_after=$(readback --genid)
assert_eq "transactions committed for 100,000 IPv6 prefixes" 2 "$((gen_after - gen_before))"
grep -q " attempts=1 " "$WORK/apply.log" || fail "not one transaction: $(cat "$WORK/apply.log")"
readback ip6 | sed -n 's/^  element //p' | sort >"$WORK/got"
# fe80::/10: link-local, not masqueraded unless MasqLinkLocalIPv6
{
        cat "$WORK/p100k6"
        printf '%s\n' ::/126 2001:db8::-2001:dba:ffff:ffff:ffff:ffff:ffff:ffff fe80::/10 \
                ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127
} | sort >"$WORK/want"
cmp -s "$WORK/want" "$WORK/got" ||
        fail "100,000 IPv6 prefixes do not read back identical ($(wc -l <"$WORK/got") elements read): $(diff "$WORK/want" "$WORK/got" | head -5)"
agent diff --enable-ipv6 --config "$WORK/huge6.json" >"$WORK/diff.out" 2>&1 ||
        fail "diff after the IPv6 apply: $(head -5 "$WORK/diff.out")"
note "ok: $(cat "$WORK/apply.log")"
echo "ok: reconcile engine"
