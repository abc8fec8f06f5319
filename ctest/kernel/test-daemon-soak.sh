#!/bin/bash
# The daemon, with --enable-ipv6, under a seeded random storm: ConfigMap updates in quick
# succession (some of 1,500 prefixes, sent while the agent is out of the event group), other
# processes editing, flushing and deleting its ip and ip6 tables, and commits to unrelated tables,
# interleaved without waiting; now and then the agent is killed (SIGKILL) or stopped (SIGTERM),
# its tables edited while no agent runs, and a new agent started, with other rule options as in a
# DaemonSet update (--to-ports, --random-fully=false, --priority, IPv6 switched off or on again),
# which must take the tables over and repair them. One ConfigMap update in eight is invalid, and
# leaves the last valid one in force. At every checkpoint the agent must converge, and both its
# tables must read back (through libnftables) exactly as a fresh "apply" of the last valid
# configuration, with the same options, builds them in a namespace of their own. IMA_SOAK_SEED
# repeats a run; the seed is printed.
#
# "test-daemon-soak.sh owned" runs the same storm with the tables owned (owner + persist, Linux
# 6.9+): edits by others are refused while an agent runs, and each new agent must adopt the
# orphaned tables. Without that kernel feature the test fails, saying so.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
mode=${1:-events}
case $mode in
events) ownership=(--table-ownership=off) ;;
owned) ownership=(--table-ownership=auto) ;;
*) fail "usage: test-daemon-soak.sh [owned]" ;;
esac

seed=${IMA_SOAK_SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$seed
steps=120
note "soak ($mode): $steps steps, IMA_SOAK_SEED=$seed"
# the same flags for the daemon, its diff and the reference apply, so they build the same tables;
# each new agent draws its rule options from option_sets
ipv6=true
flags=(--enable-ipv6)
option_sets=("" "--to-ports=1024-29999,32768-65535" "--random-fully=false" "--priority=50"
        "--to-ports=2000-3000 --random-fully=false")

cm="$WORK/configmap"
mkdir "$cm"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8, fd00::/8]"
ip netns add reference
in_ns reference ip link set lo up

# Prefixes from a small space, so that updates overlap, nest, split and merge each other.
pool=(10.0.0.0/8 10.0.0.0/16 10.1.0.0/16 10.0.1.0/24 10.0.0.0/24 10.0.0.128/25 10.0.0.1/32
        11.0.0.0/8 10.0.0.0/7 172.16.0.0/12 192.168.0.0/16 192.168.1.0/24 0.0.0.0/1 128.0.0.0/1
        255.255.255.255/32 0.0.0.0/32 169.254.0.0/16 169.254.1.0/24 198.51.100.0/24 203.0.113.0/25)
# The same for IPv6: nested (2001:db8::/32 > /47 > /48, fc00::/7 > fd00::/8 > fd00::/16 > ...),
# adjacent so they merge into a prefix (2001:db8::/48 + 2001:db8:1::/48, ::/1 + 8000::/1,
# fe80::/10 + fec0::/10) or only into a range (2001:db8:1::/48 + 2001:db8:2::/48, fec0::/10 +
# ff00::/8, up to the last address), both ends of the address space (::/128, ::1/128,
# ffff:...:ffff/128), and fe80::/10 itself, which the link-local exemption adds unless
# MasqLinkLocalIPv6. ::/0 swallows everything, so random_config adds it only rarely. In a YAML
# flow list a plain scalar cannot start with ":", so those are quoted (in the pool itself: the
# others stay plain, as people write them).
pool6=(2001:db8::/32 2001:db8::/47 2001:db8::/48 2001:db8:1::/48 2001:db8:2::/48 2001:db8:3::/48
        2001:db8:ffff:ffff::/64 fc00::/7 fd00::/8 fd00::/16 fd00:0:0:1::/64 fe80::/10 fe80::/64
        fec0::/10 ff00::/8 '"::/1"' 8000::/1 '"::/128"' '"::1/128"'
        ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128)
# Now and then a list of 1,500 prefixes: the agent sends such a change while out of the event group.
# The IPv6 list lies in fd00::/8, so fd00::/8, fd00::/16 and fc00::/7 of the pool swallow it.
mapfile -t big < <("$IMA_HELPERS/gen-prefixes" 1500 "$seed")
mapfile -t big6 < <("$IMA_HELPERS/gen-prefixes" 1500 "$seed" ipv6)
config=
# One config in eight is invalid (one bad entry among the rest): the agent must keep the last valid
# one in force and go on repairing it, so the checkpoints compare against valid_config.
invalid=("10.0.0.1/8" not-a-cidr '"::ffff:10.0.0.0/104"' 10.0.0.0/33 "10.0.0.0 /8")
config_valid=true
invalid_configs=0
random_config() {
        local dst=() src=() v4=() i n ll=false ll6=false
        n=$((RANDOM % 6))
        for ((i = 0; i < n; i++)); do dst+=("${pool[RANDOM % ${#pool[@]}]}"); done
        n=$((RANDOM % 6))
        for ((i = 0; i < n; i++)); do dst+=("${pool6[RANDOM % ${#pool6[@]}]}"); done
        [ $((RANDOM % 16)) != 0 ] || dst+=('"::/0"')
        # a big list half the time, as before: of one family or, less often, of both
        case $((RANDOM % 10)) in
        0 | 1) dst+=("${big[@]}") ;;
        2 | 3) dst+=("${big6[@]}") ;;
        4) dst+=("${big[@]}" "${big6[@]}") ;;
        esac
        n=$((RANDOM % 3))
        for ((i = 0; i < n; i++)); do src+=("${pool[RANDOM % ${#pool[@]}]}"); done
        n=$((RANDOM % 3))
        for ((i = 0; i < n; i++)); do src+=("${pool6[RANDOM % ${#pool6[@]}]}"); done
        [ $((RANDOM % 16)) != 0 ] || src+=('"::/0"')
        if [ "$ipv6" = false ]; then # an agent without --enable-ipv6 refuses IPv6 prefixes
                for i in "${dst[@]}"; do [[ $i == *:* ]] || v4+=("$i"); done
                dst=("${v4[@]}")
                v4=()
                for i in "${src[@]}"; do [[ $i == *:* ]] || v4+=("$i"); done
                src=("${v4[@]}")
        fi
        config_valid=true
        if [ $((RANDOM % 8)) = 0 ]; then
                dst+=("${invalid[RANDOM % ${#invalid[@]}]}")
                config_valid=false
        fi
        # drawn here, not in $(...): a subshell reseeds RANDOM, so the seed would not repeat them
        [ $((RANDOM % 2)) != 0 ] || ll=true
        [ $((RANDOM % 2)) != 0 ] || ll6=true
        # CidrLimit counts NonMasqueradeCIDRs of both families together: 3,000 + pool picks
        config="NonMasqueradeCIDRs: [$(IFS=,; echo "${dst[*]}")]
NonMasqueradeSrcCIDRs: [$(IFS=,; echo "${src[*]}")]
MasqLinkLocal: $ll
MasqLinkLocalIPv6: $ll6
CidrLimit: 4000
ResyncInterval: 1h"
        [ "$config_valid" = false ] || valid_config=$config
}

# an edit by another process, to the ip or the ip6 table (stray elements outside every pool, so
# they never merge with a configured prefix), or to both in one transaction. All but two reach
# the kernel as edits of the agent's tables by name: "flush ruleset" (tamper_kind 4) passes over
# owned tables, and nft sends nothing for an element a configured prefix already covers (0).
tamper_kind=
tamper() {
        local fam=ip addr_type=ipv4_addr elem="198.18.$((RANDOM % 256)).0/24"
        if [ $((RANDOM % 2)) = 0 ]; then
                fam=ip6 addr_type=ipv6_addr
                printf -v elem '3fff:%x::/32' $((RANDOM % 4096)) # not $(...): see random_config
        fi
        tamper_kind=$((RANDOM % 11))
        case $tamper_kind in
        0) nft add element $fam ip-masq-agent nomasq-dst "{ $elem }" ;;
        1) nft flush set $fam ip-masq-agent nomasq-dst ;;
        2) nft flush set $fam ip-masq-agent nomasq-src ;;
        3) nft delete table $fam ip-masq-agent ;;
        4) nft flush ruleset ;;
        5) nft add rule $fam ip-masq-agent postrouting counter accept ;;
        6) nft flush chain $fam ip-masq-agent postrouting ;;
        7) nft add chain $fam ip-masq-agent stray ;;
        8) nft "flush set ip ip-masq-agent nomasq-dst; delete table ip6 ip-masq-agent" ;;
        # objects of others that our chain or theirs use: removed one by one, in the right order
        9) nft "add set $fam ip-masq-agent extra { type $addr_type; }
                add rule $fam ip-masq-agent postrouting $fam daddr @extra accept" ;;
        10) nft "add counter $fam ip-masq-agent cnt; add chain $fam ip-masq-agent stray2
                add rule $fam ip-masq-agent stray2 counter name cnt
                add map $fam ip-masq-agent vm { type mark : verdict; elements = { 7 : jump stray2 } }" ;;
        esac
}

unrelated() {
        local fam=ip
        [ $((RANDOM % 2)) = 0 ] || fam=ip6
        if nft list table $fam unrelated >/dev/null 2>&1; then
                nft delete table $fam unrelated
        else
                nft add table $fam unrelated
        fi
}

# checkpoint N: the agent converges, and its tables equal a fresh apply of the last config
checkpoint() {
        local t0 got want fam listing
        t0=$(now_ms)
        printf '%s\n' "$valid_config" >"$WORK/last.yaml"
        # a bound, not a timing: after a fast fight the repair may wait out a back-off of up
        # to 10 s (HEAL_MAX_DELAY_MS)
        wait_for 30 agent diff "${flags[@]}" --config "$WORK/last.yaml" ||
                fail "step $1: not converged within 30 s: $(agent diff "${flags[@]}" --config "$WORK/last.yaml" 2>&1 | head -20)
last valid config:
$valid_config
agent log: $(tail -5 "$log")"
        in_ns reference "$IMA_BIN" apply "${flags[@]}" --config "$WORK/last.yaml" 2>/dev/null ||
                fail "step $1: reference apply failed"
        for fam in ip ip6; do
                want=$(in_ns reference "$IMA_HELPERS/nft-readback" $fam)
                got=$(readback $fam)
                # "absent" on both sides would pass too: the ip6 table exists exactly with IPv6
                if [ $fam = ip ] || [ "$ipv6" = true ]; then
                        [ "$want" != absent ] || fail "step $1: the reference apply made no $fam table"
                else
                        assert_eq "step $1: the reference's $fam table without IPv6" absent "$want"
                fi
                assert_eq "step $1: the agent's $fam table equals a fresh apply of the last config" "$want" "$got"
                if [ "$mode" = owned ] && [ "$want" != absent ]; then
                        listing=$(nft list table $fam ip-masq-agent)
                        [[ $listing == *"flags owner"* ]] ||
                                fail "step $1: the $fam table is not owned: $(head -3 <<<"$listing")"
                fi
        done
        converged_ms=$((converged_ms + $(now_ms) - t0))
        checkpoints=$((checkpoints + 1))
}

instances=0
start_agent() {
        instances=$((instances + 1))
        log="$WORK/agent.$instances.log"
        "$IMA_BIN" run "${flags[@]}" "${ownership[@]}" --config "$cm/ip-masq-agent" --v=2 >"$log" 2>&1 &
        agent_pid=$!
        wait_for 10 grep -q 'trigger="start"' "$log" || fail "agent $instances did not start: $(tail "$log")"
        if [ "$mode" = owned ] && ! grep -q 'mode="owner_persist"' "$log"; then
                fail "table ownership is not active (it needs Linux 6.9+, this is $(uname -r)): $(grep -m1 'Table ownership' "$log")"
        fi
}

# the agent goes (killed, or stopped as in a rolling update), another process edits the tables it
# left (orphaned when owned, so anyone may), a config update may land meanwhile, and a new agent,
# perhaps with other rule options, takes the tables over (adopts them when owned) and repairs them
restart_agent() {
        local opts i toggled
        crash_or_stop "$agent_pid" "$log"
        tamper 2>/dev/null && orphan_edits=$((orphan_edits + 1))
        # one new agent in five switches IPv6 on or off, which drops the ip6 table
        toggled=false
        if [ $((RANDOM % 5)) = 0 ]; then
                toggled=true
                if [ "$ipv6" = true ]; then ipv6=false; else ipv6=true; fi
        fi
        # a new agent with an invalid file applies nothing and is not ready (test-daemon covers
        # that): the agent that comes up here finds a valid one, and one without IPv6 prefixes
        # when it runs without IPv6
        if [ $((RANDOM % 2)) = 0 ] || [ "$config_valid" = false ] || [ "$toggled" = true ]; then
                for ((i = 0; i < 20; i++)); do
                        random_config
                        [ "$config_valid" = false ] || break
                done
                [ "$config_valid" = true ] || fail "no valid config in 20 draws"
                kubelet_update "$cm" ip-masq-agent "$config"
        fi
        opts=${option_sets[RANDOM % ${#option_sets[@]}]}
        [ "$ipv6" = false ] || opts="--enable-ipv6${opts:+ $opts}"
        read -ra flags <<<"$opts"
        option_changes+=("[${opts:-defaults}]")
        start_agent
}

orphan_edits=0
option_changes=()
refused=0
start_agent
config="NonMasqueradeCIDRs: [10.0.0.0/8, fd00::/8]"
valid_config=$config
converged_ms=0
checkpoints=0
counts=(0 0 0)
for ((step = 1; step <= steps; step++)); do
        kind=$((RANDOM % 3))
        counts[kind]=$((counts[kind] + 1))
        case $kind in
        0)
                random_config
                if [ "$config_valid" = false ]; then
                        # the agent reads a file about a millisecond after the swap, so a valid
                        # file replaced at once by an invalid one may never be read: let it
                        # take in the last valid one first, or no one knows which one is in force
                        printf '%s\n' "$valid_config" >"$WORK/valid.yaml"
                        wait_for 30 agent diff "${flags[@]}" --config "$WORK/valid.yaml" ||
                                fail "step $step: the last valid config was not applied within 30 s"
                        invalid_configs=$((invalid_configs + 1))
                fi
                kubelet_update "$cm" ip-masq-agent "$config"
                ;;
        # an edit may find nothing to edit (the table just went), or, owned, must be refused
        1)
                if tamper 2>/dev/null; then
                        [ "$mode" != owned ] || [ "$tamper_kind" = 0 ] || [ "$tamper_kind" = 4 ] ||
                                fail "step $step: edit $tamper_kind of a table owned by a running agent succeeded: $(tail -3 "$log")"
                else
                        refused=$((refused + 1))
                fi
                ;;
        2) unrelated ;;
        esac
        [ $((RANDOM % 4)) = 0 ] && sleep 0.0$((RANDOM % 3))
        if [ $((RANDOM % 10)) = 0 ]; then
                restart_agent
        fi
        if [ $((step % 20)) = 0 ]; then
                checkpoint "$step"
        fi
done
kill -0 "$agent_pid" || fail "the agent died: $(tail -20 "$log")"
errors=$(cat "$WORK"/agent.*.log | grep -c '^E' || true)
unheard=$(cat "$WORK"/agent.*.log | grep -c 'not listening during our own commit' || true)
note "config updates ${counts[0]} ($invalid_configs invalid), edits by others ${counts[1]} ($refused failed or refused), unrelated commits ${counts[2]}; $unheard commits sent out of the event group; $checkpoints checkpoints, converged in $((converged_ms / checkpoints)) ms on average; $errors error lines"
note "agents started: $instances, edits of their tables while none ran: $orphan_edits, options of each new agent: ${option_changes[*]:-none}"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "exit code $? after SIGTERM: $(tail -20 "$log")"
ip netns del reference
echo "ok: the daemon converged to a fresh apply at every checkpoint"
