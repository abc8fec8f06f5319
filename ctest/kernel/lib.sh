# lib.sh: sourced by every kernel test (bash).
#
# A kernel test runs inside a private user + network + mount namespace that it creates itself
# (ima_enter_sandbox). Nothing it does can reach the machine's own netfilter, addresses or routes,
# and everything it made vanishes with its process tree, also when it fails or is killed.
# Named namespaces ("ip netns add") live in a private tmpfs /run, so they never show up in the
# machine's "ip netns list" either.
#
# Environment (set by ctest/meson.build): IMA_BIN (the agent), IMA_HELPERS (nft-readback,
# udp-probe), IMA_SRCDIR (the ctest/ source directory).

set -euo pipefail

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

note() {
        echo "# $*" >&2
}

# Whether the running kernel is Linux MAJOR.MINOR or later: for a drift an older kernel cannot
# have (so not a feature the agent needs; those fail with the reason instead).
kernel_at_least() {
        local release major minor
        release=$(uname -r)
        major=${release%%.*}
        minor=${release#*.}
        minor=${minor%%[!0-9]*}
        [ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}

# add_catchall_drift ARRAY: appends to the drift list named ARRAY the command that adds a
# catch-all element ("*") to nomasq-dst, where the kernel can hold one (5.13+); before, that drift
# cannot happen, and the test says so.
add_catchall_drift() {
        local -n list=$1
        if kernel_at_least 5 13; then
                list+=("\"\$IMA_HELPERS/nft-catchall\" ip ip-masq-agent nomasq-dst")
        else
                note "Linux $(uname -r) has no catch-all set elements (5.13+): that drift cannot happen here"
        fi
}

ima_enter_sandbox() {
        : "${IMA_BIN:?}" "${IMA_HELPERS:?}" "${IMA_SRCDIR:?}"
        if [ "${IMA_SANDBOX:-}" != 1 ]; then
                command -v unshare >/dev/null || fail "unshare (util-linux) is not installed"
                command -v nft >/dev/null || fail "nft (package nftables) is not installed"
                command -v ip >/dev/null || fail "ip (package iproute2) is not installed"
                # On older kernels (6.1, not 6.18) net.core.wmem_max and rmem_max are global and shown
                # only in the initial network namespace: need_large_transactions reads them here.
                IMA_OUTER_WMEM_MAX=$(cat /proc/sys/net/core/wmem_max 2>/dev/null) || true
                IMA_OUTER_RMEM_MAX=$(cat /proc/sys/net/core/rmem_max 2>/dev/null) || true
                export IMA_OUTER_WMEM_MAX IMA_OUTER_RMEM_MAX
                # --kill-child: a timeout that kills unshare takes the whole test with it.
                # IMA_SANDBOX_ROOT=1 (benchmarks): a root-owned namespace, where CAP_NET_ADMIN
                # counts in the initial user namespace as in a DaemonSet (large socket buffers).
                # A PID namespace too: when the test's shell (its init) exits, also after a failure,
                # the kernel kills whatever it left running there (agents, receivers).
                if [ "${IMA_SANDBOX_ROOT:-}" = 1 ] && [ "$(id -u)" = 0 ]; then
                        exec unshare --net --mount --pid --mount-proc --fork --kill-child \
                                env IMA_SANDBOX=1 bash "$0" "$@"
                fi
                local userns_error rootns_error="not root"
                if userns_error=$(unshare --user --map-root-user --net --mount --pid --fork true 2>&1); then
                        exec unshare --user --map-root-user --net --mount --pid --mount-proc --fork --kill-child \
                                env IMA_SANDBOX=1 bash "$0" "$@"
                elif [ "$(id -u)" = 0 ] && rootns_error=$(unshare --net --mount --pid --fork true 2>&1); then
                        note "user namespaces unavailable: using a root-owned private network namespace"
                        exec unshare --net --mount --pid --mount-proc --fork --kill-child \
                                env IMA_SANDBOX=1 bash "$0" "$@"
                fi
                # a chroot, for one, refuses both: user namespaces, and (its / being no mount
                # point) a private mount namespace; unshare says which
                fail "cannot create a private network namespace (need user namespaces or root):
  with a user namespace: ${userns_error:-failed}
  as root: ${rootns_error:-failed}"
        fi
        mount -t tmpfs ima-run /run || fail "cannot mount a private /run"
        mkdir -p /run/netns
        ip link set lo up
        nft list ruleset >/dev/null || fail "nftables is not usable in a network namespace on this kernel"
        WORK=$(mktemp -d)
        trap 'rm -rf "$WORK"' EXIT
}

# The socket buffers the tests' largest transaction (100,000 prefixes: 4.0 MB) and its answers
# need. In the user-namespace sandbox the agent cannot go beyond net.core.wmem_max and rmem_max
# (SO_SNDBUFFORCE needs CAP_NET_ADMIN in the initial user namespace; a DaemonSet has it): 4 MiB is
# their default on recent kernels (6.18 here), 212992 on older ones (Debian 12's 6.1).
LARGE_TRANSACTION_BUFFER=4194304

# in_own_user_namespace: the sandbox is a user namespace of the test's own, not the machine's
# (IMA_SANDBOX_ROOT=1, or root where user namespaces are refused): only then may a test change
# what is per user namespace, such as the /proc/sys/user limits.
in_own_user_namespace() {
        [ "$(awk '{ print $3 }' /proc/self/uid_map)" != 4294967295 ]
}

# need_large_transactions WHAT: fails, saying why and what to do, when the agent cannot send WHAT
# (a transaction of megabytes) from this sandbox. The agent says so too, but only in its log,
# where a later check would hide it.
need_large_transactions() {
        local wmem rmem
        in_own_user_namespace || return 0
        wmem=$(cat /proc/sys/net/core/wmem_max 2>/dev/null) || wmem=${IMA_OUTER_WMEM_MAX:-}
        rmem=$(cat /proc/sys/net/core/rmem_max 2>/dev/null) || rmem=${IMA_OUTER_RMEM_MAX:-}
        # neither here nor where the test started (itself in a namespace): the agent will tell
        [ -n "$wmem" ] && [ -n "$rmem" ] || return 0
        ((wmem >= LARGE_TRANSACTION_BUFFER && rmem >= LARGE_TRANSACTION_BUFFER)) ||
                fail "$1 needs net.core.wmem_max and rmem_max of at least $LARGE_TRANSACTION_BUFFER (recent" \
                        "kernels' default; here $wmem and $rmem): sysctl -w net.core.wmem_max=$LARGE_TRANSACTION_BUFFER" \
                        "net.core.rmem_max=$LARGE_TRANSACTION_BUFFER"
}

# output_has PATTERN CMD...: CMD succeeds and its output contains PATTERN. Not "CMD | grep -q":
# under pipefail, grep -q quitting at the first match can kill CMD with SIGPIPE and fail the
# pipeline although the pattern was there.
output_has() {
        local pattern=$1 out
        shift
        out=$("$@" 2>/dev/null) || return 1
        grep -q -- "$pattern" <<<"$out"
}

# dst_has PATTERN: set nomasq-dst of table ip ip-masq-agent holds PATTERN
dst_has() {
        output_has "$1" nft list set ip ip-masq-agent nomasq-dst
}

# write_config FILE CIDR: a config exempting 10.0.0.0/8 and CIDR, resyncing only hourly, so that
# only the config watch can explain its being applied. Written to a temporary file and renamed
# over, as editors and config tools do.
write_config() {
        printf 'NonMasqueradeCIDRs: [10.0.0.0/8, %s]\nResyncInterval: 1h\n' "$2" >"$1.tmp"
        mv -f "$1.tmp" "$1"
}

# expect_applied CASE CIDR: the agent (logging to $WORK/agent.log) applies CIDR within 5 s
expect_applied() {
        local t0
        t0=$(now_ms)
        wait_for 5 dst_has "$2" || fail "$1: not applied: $(tail -5 "$WORK/agent.log")"
        note "$1: applied after $(($(now_ms) - t0)) ms"
}

# Runs the agent (in the current namespace, or in netns NS with "in_ns NS agent ...").
agent() {
        "$IMA_BIN" "$@"
}

readback() {
        "$IMA_HELPERS/nft-readback" "$@"
}

in_ns() {
        local ns=$1
        shift
        ip netns exec "$ns" "$@"
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
        if [ "$2" != "$3" ]; then
                echo "FAIL: $1" >&2
                diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") >&2 || true
                exit 1
        fi
}

# assert_file_eq WHAT EXPECTED_FILE ACTUAL_FILE (IMA_REGEN=1 rewrites the expected file)
assert_file_eq() {
        if [ "${IMA_REGEN:-}" = 1 ]; then
                cp "$3" "$2"
                note "regenerated $2"
                return 0
        fi
        [ -f "$2" ] || fail "$1: missing golden file $2 (run with IMA_REGEN=1 to create it)"
        if ! diff -u "$2" "$3" >&2; then
                fail "$1: differs from $2"
        fi
}

# ---- topology: netns hosts joined by veth pairs -------------------------------------------------
# Grown by later tests (IPv6, live updates, benchmarks); keep it generic.

# topo_host NAME: a new namespace with loopback up and forwarding on (it may route).
topo_host() {
        ip netns add "$1"
        in_ns "$1" ip link set lo up
        in_ns "$1" sysctl -qw net.ipv4.ip_forward=1
        in_ns "$1" sysctl -qw net.ipv6.conf.all.forwarding=1
}

# topo_link A IFA ADDR_A B IFB ADDR_B: a veth pair A:IFA <-> B:IFB with the given addresses
# (CIDR form, IPv4 or IPv6; "-" for none), both ends up.
topo_link() {
        local a=$1 ifa=$2 addr_a=$3 b=$4 ifb=$5 addr_b=$6
        ip link add "tmp-$ifa" netns "$a" type veth peer name "tmp-$ifb" netns "$b"
        in_ns "$a" ip link set "tmp-$ifa" name "$ifa"
        in_ns "$b" ip link set "tmp-$ifb" name "$ifb"
        [ "$addr_a" = - ] || topo_addr "$a" "$ifa" "$addr_a"
        [ "$addr_b" = - ] || topo_addr "$b" "$ifb" "$addr_b"
        in_ns "$a" ip link set "$ifa" up
        in_ns "$b" ip link set "$ifb" up
}

# topo_mixed_mode GR_POD GR_NODE VPC_POD VPC_NODE NODE_EXT EXT: the shape of the TKE mixed-mode
# scenario: namespaces pod-gr and pod-vpc linked to node (interfaces gr0 and vpc0), node linked
# to ext (eth0 on both). Each argument is the address, CIDR form, of that end of a link; routes
# and extra addresses are the caller's (they differ between IPv4 and IPv6).
topo_mixed_mode() {
        topo_host node
        topo_host ext
        topo_host pod-gr
        topo_host pod-vpc
        topo_link pod-gr eth0 "$1" node gr0 "$2"
        topo_link pod-vpc eth0 "$3" node vpc0 "$4"
        topo_link node eth0 "$5" ext eth0 "$6"
}

# topo_route NS DEST VIA
topo_route() {
        in_ns "$1" ip route add "$2" via "$3"
}

# topo_addr NS DEV ADDR: an address, e.g. an extra "internet" host on ext's loopback. IPv6
# addresses skip duplicate address detection so they are usable at once.
topo_addr() {
        case $3 in
        *:*) in_ns "$1" ip addr add "$3" dev "$2" nodad ;;
        *) in_ns "$1" ip addr add "$3" dev "$2" ;;
        esac
}

# topo_neigh NS DEV ADDR PEER_NS PEER_DEV: a permanent neighbour entry in NS for ADDR, the address
# of PEER_NS's PEER_DEV. For IPv6 bursts: while neighbour discovery re-probes a stale entry it
# drops what it cannot queue (144 of 400 datagrams in a burst, in one run), which is not NAT's doing.
topo_neigh() {
        local mac
        mac=$(in_ns "$4" cat "/sys/class/net/$5/address")
        in_ns "$1" ip neigh replace "$3" lladdr "$mac" dev "$2" nud permanent
}

# probe_recv_start NS_RECV PORT COUNT OUT [TIMEOUT_MS]: starts a receiver in NS_RECV for COUNT
# datagrams (at most TIMEOUT_MS, 5 s unless given), writing "SOURCE SPORT PAYLOAD" lines to OUT;
# returns once it listens. Its pid is in PROBE_PID.
probe_recv_start() {
        local recv_ns=$1 port=$2 count=$3 out=$4 timeout_ms=${5:-5000}
        in_ns "$recv_ns" "$IMA_HELPERS/udp-probe" recv "$port" "$count" "$timeout_ms" >"$out" &
        PROBE_PID=$!
        wait_for 5 grep -q '^ready$' "$out" || fail "udp-probe receiver in $recv_ns did not start"
}

# probe_matrix NS_RECV PORT "POD DEST" ...: sends one datagram from each POD namespace to DEST
# (payload "POD->DEST") and prints "POD->DEST SOURCE" lines, sorted: the source address the
# receiver in NS_RECV saw for each flow. A datagram that did not arrive (a veth backlog overflows
# on a loaded machine) is sent once more, from a new socket: a new flow, NATed as the first
# would have been. Bounded: two rounds of 5 s, at most two datagrams each.
probe_matrix() {
        local recv_ns=$1 port=$2 out="$WORK/probe.$$" pair pod round seen=""
        local -a pending=()
        shift 2
        pending=("$@")
        for round in 1 2; do
                probe_recv_start "$recv_ns" "$port" "${#pending[@]}" "$out"
                # one sender per pod, each datagram from a new socket
                for pod in $(printf '%s\n' "${pending[@]}" | awk '{ print $1 }' | sort -u); do
                        printf '%s\n' "${pending[@]}" | awk -v pod="$pod" '$1 == pod { print $2, pod "->" $2 }' |
                                in_ns "$pod" "$IMA_HELPERS/udp-probe" send-lines "$port" ||
                                fail "udp-probe could not send from $pod"
                done
                wait "$PROBE_PID" || true
                seen+=$(grep -v '^ready$' "$out")$'\n'
                local -a missing=()
                for pair in "${pending[@]}"; do
                        awk -v p="${pair% *}->${pair#* }" '$3 == p { found = 1 } END { exit !found }' \
                                <<<"$seen" || missing+=("$pair")
                done
                [ ${#missing[@]} -gt 0 ] && [ "$round" = 1 ] || break
                note "probe_matrix: no datagram arrived for ${missing[*]}; sending once more"
                pending=("${missing[@]}")
        done
        grep -v '^$' <<<"$seen" | awk '{ print $3, $1 }' | sort
}

# probe_sources NS_RECV PORT POD DEST COUNT: sends COUNT datagrams from POD to DEST, each from a
# new socket (so a new connection with its own source port), and prints the "SOURCE SPORT" the
# receiver saw for each, in arrival order. Bounded: 5 s plus 1 s a datagram, COUNT datagrams.
probe_sources() {
        local recv_ns=$1 port=$2 pod=$3 dest=$4 count=$5 out="$WORK/probe.$$" i
        # The receiver stops at COUNT, so a deadline that leaves room for an emulated VM's slow
        # sends costs nothing.
        probe_recv_start "$recv_ns" "$port" "$count" "$out" $((5000 + count * 1000))
        # one sender; each datagram from a new socket (a new flow)
        for ((i = 0; i < count; i++)); do
                echo "$dest $pod-$i"
        done | in_ns "$pod" "$IMA_HELPERS/udp-probe" send-lines "$port" || fail "udp-probe could not send from $pod"
        wait "$PROBE_PID" || true
        grep -v '^ready$' "$out" | awk '{ print $1, $2 }'
}

# rule_counters NS FAMILY: "PACKETS COMMENT" for each counted rule of the agent's chain in NS,
# read back through libnftables JSON.
rule_counters() {
        in_ns "$1" "$IMA_HELPERS/nft-readback" "$2" --counters |
                sed -n 's/^rule comment "\([^"]*\)".*"counter":{"bytes":[0-9]*,"packets":\([0-9]*\)}.*/\2 \1/p'
}

# ---- waiting and daemons -------------------------------------------------------------------------

# wait_for SECONDS CMD...: polls CMD every 10 ms until it succeeds; fails once SECONDS of wall
# time have passed. The deadline is read from the clock, not counted in polls: a CMD that takes
# 50 ms on a loaded machine would otherwise stretch "5 s" to 30. (EPOCHREALTIME is bash's clock
# in seconds with 6 decimals; its decimal separator follows the locale, so only digits are kept.)
wait_for() {
        local deadline=$((${EPOCHREALTIME//[!0-9]/} + $1 * 1000000))
        shift
        until "$@" >/dev/null 2>&1; do
                ((${EPOCHREALTIME//[!0-9]/} < deadline)) || return 1
                sleep 0.01
        done
}

# now_ms: monotonic-enough wall clock in milliseconds, for printed latencies.
now_ms() {
        date +%s%3N
}

# cpu_ms PID: user+system CPU time the process has used, in milliseconds.
cpu_ms() {
        local ticks
        ticks=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
        echo $((ticks * 1000 / $(getconf CLK_TCK)))
}

# crash_or_stop PID LOG: ends the agent PID (a child of this shell) with SIGKILL, as a crash, or
# SIGTERM, as a rolling update, at random; after SIGTERM it must exit 0 (LOG says why not).
crash_or_stop() {
        if [ $((RANDOM % 2)) = 0 ]; then
                kill -KILL "$1"
                wait "$1" 2>/dev/null || true
        else
                kill -TERM "$1"
                wait "$1" || fail "agent $1: exit code $? after SIGTERM: $(tail -5 "$2")"
        fi
}

# fault_test_setup LIBRARY SEED_VARIABLE [CONFIG...]: for the tests that preload a fault injector
# (helpers/LIBRARY) into the daemon. Sets preload to its path (built, or the test fails), seed to
# the variable named SEED_VARIABLE or a random one (printed, and seeding $RANDOM), cm to an empty
# ConfigMap directory, switch to the control file the injector watches (absent: no faults), and
# configs to two small configurations, the CONFIGs given, and one of 300 seeded prefixes.
fault_test_setup() {
        local var=$2
        preload="$IMA_HELPERS/$1"
        [ -f "$preload" ] || fail "$preload is not built"
        seed=${!var:-$RANDOM}
        note "seed $seed ($var=$seed repeats it)"
        RANDOM=$seed
        cm="$WORK/configmap"
        switch="$WORK/failing"
        mkdir "$cm"
        configs=("NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.0.0/16]"
                "NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12, 100.64.0.0/10]
NonMasqueradeSrcCIDRs: [198.51.100.0/24]
MasqLinkLocal: true"
                "${@:3}"
                "NonMasqueradeCIDRs: [$(IFS=,; "$IMA_HELPERS/gen-prefixes" 300 "$seed" | paste -sd, -)]
CidrLimit: 300")
}

# kubelet_update DIR FILE CONTENT: replaces FILE of a ConfigMap volume DIR the way kubelet does:
# a new timestamped directory, a "..data_tmp" symlink renamed over "..data", the old one removed.
kubelet_update() {
        local dir=$1 file=$2 content=$3 stamp old
        stamp="..$(date +%Y_%m_%d_%H_%M_%S.%N)"
        mkdir "$dir/$stamp"
        printf '%s\n' "$content" >"$dir/$stamp/$file"
        old=$(readlink "$dir/..data" 2>/dev/null || true)
        ln -s "$stamp" "$dir/..data_tmp"
        mv -T "$dir/..data_tmp" "$dir/..data"
        [ -e "$dir/$file" ] || ln -s "..data/$file" "$dir/$file"
        [ -z "$old" ] || rm -rf "${dir:?}/$old"
}
