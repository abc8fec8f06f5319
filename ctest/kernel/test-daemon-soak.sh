#!/bin/bash
# The daemon under a seeded random storm: ConfigMap updates in quick succession (some of 1,500
# prefixes, sent while the agent is out of the event group), other processes
# editing, flushing and deleting its tables, and commits to unrelated tables, interleaved without
# waiting. At every checkpoint the agent must converge, and its tables must read back (through
# libnftables) exactly as a fresh "apply" of the last configuration builds them in a namespace of
# their own. IMA_SOAK_SEED repeats a run; the seed is printed.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

seed=${IMA_SOAK_SEED:-$(( $(date +%s%N) % 32768 ))}
RANDOM=$seed
steps=120
note "soak: $steps steps, IMA_SOAK_SEED=$seed"

cm="$WORK/configmap"
mkdir "$cm"
kubelet_update "$cm" ip-masq-agent "NonMasqueradeCIDRs: [10.0.0.0/8]"
ip netns add reference
in_ns reference ip link set lo up

# Prefixes from a small space, so that updates overlap, nest, split and merge each other.
pool=(10.0.0.0/8 10.0.0.0/16 10.1.0.0/16 10.0.1.0/24 10.0.0.0/24 10.0.0.128/25 10.0.0.1/32
        11.0.0.0/8 10.0.0.0/7 172.16.0.0/12 192.168.0.0/16 192.168.1.0/24 0.0.0.0/1 128.0.0.0/1
        255.255.255.255/32 0.0.0.0/32 169.254.0.0/16 169.254.1.0/24 198.51.100.0/24 203.0.113.0/25)
# Now and then a list of 1,500 prefixes: the agent sends such a change while out of the event group.
mapfile -t big < <("$IMA_HELPERS/gen-prefixes" 1500 "$seed")
config=
random_config() {
        local dst=() src=() i n
        n=$((RANDOM % 6))
        for ((i = 0; i < n; i++)); do dst+=("${pool[RANDOM % ${#pool[@]}]}"); done
        [ $((RANDOM % 2)) != 0 ] || dst+=("${big[@]}")
        n=$((RANDOM % 3))
        for ((i = 0; i < n; i++)); do src+=("${pool[RANDOM % ${#pool[@]}]}"); done
        config="NonMasqueradeCIDRs: [$(IFS=,; echo "${dst[*]}")]
NonMasqueradeSrcCIDRs: [$(IFS=,; echo "${src[*]}")]
MasqLinkLocal: $([ $((RANDOM % 2)) = 0 ] && echo true || echo false)
CidrLimit: 2000
ResyncInterval: 1h"
}

tamper() {
        case $((RANDOM % 8)) in
        0) nft add element ip ip-masq-agent nomasq-dst "{ 198.18.$((RANDOM % 256)).0/24 }" ;;
        1) nft flush set ip ip-masq-agent nomasq-dst ;;
        2) nft flush set ip ip-masq-agent nomasq-src ;;
        3) nft delete table ip ip-masq-agent ;;
        4) nft flush ruleset ;;
        5) nft add rule ip ip-masq-agent postrouting counter accept ;;
        6) nft flush chain ip ip-masq-agent postrouting ;;
        7) nft add chain ip ip-masq-agent stray ;;
        esac
}

unrelated() {
        if nft list table ip unrelated >/dev/null 2>&1; then
                nft delete table ip unrelated
        else
                nft add table ip unrelated
        fi
}

# checkpoint N: the agent converges, and its table equals a fresh apply of the last config
checkpoint() {
        local t0 got want
        t0=$(now_ms)
        # a bound, not a timing: after a fast fight the repair may wait out a back-off of up
        # to 10 s (HEAL_MAX_DELAY_MS)
        wait_for 30 agent diff --config "$cm/ip-masq-agent" ||
                fail "step $1: not converged within 30 s: $(agent diff --config "$cm/ip-masq-agent" 2>&1 | head -20)
config:
$config
agent log: $(tail -5 "$WORK/agent.log")"
        printf '%s\n' "$config" >"$WORK/last.yaml"
        in_ns reference "$IMA_BIN" apply --config "$WORK/last.yaml" 2>/dev/null ||
                fail "step $1: reference apply failed"
        want=$(in_ns reference "$IMA_HELPERS/nft-readback" ip)
        got=$(readback ip)
        assert_eq "step $1: the agent's table equals a fresh apply of the last config" "$want" "$got"
        converged_ms=$((converged_ms + $(now_ms) - t0))
        checkpoints=$((checkpoints + 1))
}

"$IMA_BIN" run --config "$cm/ip-masq-agent" --table-ownership=off --v=2 >"$WORK/agent.log" 2>&1 &
agent_pid=$!
wait_for 10 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"
config="NonMasqueradeCIDRs: [10.0.0.0/8]"
converged_ms=0
checkpoints=0
counts=(0 0 0)
for ((step = 1; step <= steps; step++)); do
        kind=$((RANDOM % 3))
        counts[kind]=$((counts[kind] + 1))
        case $kind in
        0)
                random_config
                kubelet_update "$cm" ip-masq-agent "$config"
                ;;
        1) tamper 2>/dev/null || true ;; # an edit may find nothing to edit (the table just went)
        2) unrelated ;;
        esac
        [ $((RANDOM % 4)) = 0 ] && sleep 0.0$((RANDOM % 3))
        if [ $((step % 20)) = 0 ]; then
                checkpoint "$step"
        fi
done
kill -0 "$agent_pid" || fail "the agent died: $(tail -20 "$WORK/agent.log")"
errors=$(grep -c '^E' "$WORK/agent.log" || true)
unheard=$(grep -c 'not listening during our own commit' "$WORK/agent.log" || true)
note "config updates ${counts[0]}, edits by others ${counts[1]}, unrelated commits ${counts[2]}; $unheard commits sent out of the event group; $checkpoints checkpoints, converged in $((converged_ms / checkpoints)) ms on average; $errors error lines"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "exit code $? after SIGTERM: $(tail -20 "$WORK/agent.log")"
ip netns del reference
echo "ok: the daemon converged to a fresh apply at every checkpoint"
