#!/bin/bash
# The command line as the upstream DaemonSets and operators use it, without kernel access:
# validate / render / version, the flags upstream's manifests pass, and usage errors.
# Usage: test-cli.sh AGENT
set -u
# Nothing here needs the kernel, but with a regression a command line could start the daemon, the
# default command, as root: the whole test runs in a network namespace of its own
if [ -z "${IMA_CLI_NETNS:-}" ]; then
        export IMA_CLI_NETNS=1
        unshare -rn true 2>/dev/null && exec unshare -rn bash "$0" "$@"
        [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && exec unshare -n bash "$0" "$@"
        echo "FAIL: cannot create a network namespace (unshare -rn, or unshare -n as root) to run the command lines in"
        exit 1
fi
agent=$1
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# run NAME WANT_RC [ARGS...]: runs the agent, keeps stdout in out, stderr in err
run() {
        local name=$1 want=$2
        shift 2
        $agent "$@" > out 2> err
        local rc=$?
        if [ $rc = "$want" ]; then
                pass=$((pass + 1))
        else
                fail=$((fail + 1))
                echo "FAIL $name: exit $rc, want $want ($*)"; sed 's/^/  stderr: /' err
        fi
}

# expect NAME FILE PATTERN: FILE (out or err) must contain the fixed string PATTERN
expect() {
        if grep -qF -- "$3" "$2"; then
                pass=$((pass + 1))
        else
                fail=$((fail + 1))
                echo "FAIL $1: $2 lacks \"$3\""; sed "s/^/  $2: /" "$2"
        fi
}

# expect_not NAME FILE PATTERN
expect_not() {
        if grep -qF -- "$3" "$2"; then
                fail=$((fail + 1))
                echo "FAIL $1: $2 has \"$3\""; sed "s/^/  $2: /" "$2"
        else
                pass=$((pass + 1))
        fi
}

printf 'NonMasqueradeCIDRs: [192.168.0.0/16]\nNonMasqueradeSrcCIDRs: [10.0.0.0/12]\nMasqLinkLocal: true\n' > good.yaml
printf 'nonMasqueradeCIDRs: [10.0.0.1/8, fd00::/8]\nresyncInterval: 0s\n' > bad.yaml
printf 'nonMasqueradeCIDRs: []\ntypoKey: 1\n' > warn.yaml

run version 0 version
expect version out "ip-masq-agent "
run version-flag 0 --version
expect version-flag out "ip-masq-agent "
run help 0 --help
expect help out "Usage: ip-masq-agent"
expect help out "--masq-chain"

# validate: one JSON document on stdout, nothing on stderr
run validate-good 0 validate --config good.yaml
expect validate-good out '"nonMasqueradeSrcCIDRs": ['
expect validate-good out '"resyncInterval": "1m0s"'
expect validate-good out '"nomasq-src": ['
expect_not validate-good out '"ip6"'
if python3 -c 'import json,sys; json.load(open("out"))' 2> /dev/null; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL validate-good: stdout is not one JSON document"; fi
[ -s err ] && { fail=$((fail + 1)); echo "FAIL validate-good: stderr not empty"; } || pass=$((pass + 1))
# flags after or before the verb, Go style
run validate-flags-before 0 --config=good.yaml -enable-ipv6 validate
expect validate-flags-before out '"ip6": {'
run validate-flags-go-style 0 validate -config good.yaml --enable-ipv6=true --random-fully=false
expect validate-flags-go-style out '"ip6": {'
run validate-ipv6-false 0 validate --config good.yaml --enable-ipv6=false
expect_not validate-ipv6-false out '"ip6"'
# every spelling of Go's strconv.ParseBool
for b in 1 t T TRUE true True; do
        run "bool-true $b" 0 validate --config good.yaml --enable-ipv6="$b"
        expect "bool-true $b" out '"ip6": {'
done
for b in 0 f F FALSE false False; do
        run "bool-false $b" 0 validate --config good.yaml --enable-ipv6=true --enable-ipv6="$b"
        expect_not "bool-false $b" out '"ip6"'
done

# validate: every error, exit 2, nothing on stdout
run validate-bad 2 validate --config bad.yaml
expect validate-bad err "bad.yaml:1:22: nonMasqueradeCIDRs[0]: host bits are set: write 10.0.0.0/8"
expect validate-bad err "pass --enable-ipv6"
expect validate-bad err "bad.yaml:2:17: resyncInterval: must be positive"
[ -s out ] && { fail=$((fail + 1)); echo "FAIL validate-bad: stdout not empty"; } || pass=$((pass + 1))
# warnings never change the exit code
run validate-warn 0 validate --config warn.yaml
expect validate-warn err "warning: nonMasqueradeCIDRs: empty list"
expect validate-warn err "warning: typoKey: unknown key ignored"
# missing file: defaults; a directory: error
run validate-missing 0 validate --config does-not-exist
expect validate-missing out '"10.0.0.0/8"'
expect validate-missing err "does-not-exist: file not found; showing the built-in defaults"
mkdir adir
run validate-dir 2 validate --config adir
expect validate-dir err "adir: not a regular file"
run validate-reserved 0 validate --config does-not-exist --nomasq-all-reserved-ranges
expect validate-reserved out '"240.0.0.0/4"'

# the flags upstream's DaemonSets pass are accepted
run upstream-flags 0 validate --config good.yaml --masq-chain=IP-MASQ-AGENT --nomasq-all-reserved-ranges \
        --enable-ipv6 --random-fully --to-ports=1024-29999,32768-65535 --v=2 --logtostderr --alsologtostderr
run upstream-flags-separate 0 validate --config good.yaml --masq-chain IP-MASQ-AGENT --to-ports 1024-29999 -v 4 \
        --logtostderr=false --random-fully=true
# help whatever its value, as Go's flag package: never the daemon, the default command (which the
# timeout would end)
for help in --help=false -h=x; do
        rc=0
        timeout 10 "$agent" "$help" >out 2>err || rc=$?
        if [ "$rc" = 0 ] && grep -q "^Usage: ip-masq-agent" out; then
                pass=$((pass + 1))
        else
                fail=$((fail + 1))
                echo "FAIL help-value $help: exit $rc, not the usage: $(head -3 err)"
        fi
done
# Go stops at the help flag: a bad flag or command after it is not read; before it, it is
run help-then-bad-flag 0 -h --bogus
expect help-then-bad-flag out "Usage: ip-masq-agent"
run help-then-bad-command 0 --help bogus
run bad-flag-then-help 2 --bogus -h
expect bad-flag-then-help err "flag provided but not defined: -bogus"
# an empty chain name would quietly stop the check for upstream's leftover chain
run masq-chain-empty 2 render --config good.yaml --masq-chain=
expect masq-chain-empty err "--masq-chain: the chain name is empty"
# every flag klog.InitFlags() registers, as the upstream agent has them
run klog-flags 0 validate --config good.yaml --v=-1 --vmodule=daemon=4,watch=2 --stderrthreshold=warning \
        --log_file_max_size=10 --one_output --skip_log_headers --skip_headers --add_dir_header \
        --log_backtrace_at=main.c:1 --log_dir=/nonexistent --log_file=/nonexistent/x.log \
        --alsologtostderrthreshold=WARNING --legacy_stderr_threshold_behavior=false
# ...with their values as Go's strconv reads them (klog v2.140)
run klog-go-numbers 0 validate --config good.yaml --v=+2 --vmodule=daemon=+4,watch=0 --stderrthreshold=4 \
        --alsologtostderrthreshold=-1 --log_file_max_size=0x10 --log_file_max_size=1_000 \
        --log_file_max_size=18446744073709551615 --log_backtrace_at=main.c:+1 --legacy_stderr_threshold_behavior
for bad in "--v= 3" "--v=-2147483649" "--vmodule=daemon= 1" "--log_file_max_size=+5" "--log_file_max_size=-5" \
        "--log_file_max_size= 5" "--log_file_max_size=18446744073709551616" "--stderrthreshold=2147483648" \
        "--log_backtrace_at=main:1" "--log_backtrace_at=main.c:1:2" "--alsologtostderrthreshold=LOUD"; do
        flag=${bad%%=*}
        run "klog-bad $bad" 2 validate --config good.yaml "$bad"
        expect "klog-bad $bad" err "invalid value \"${bad#*=}\" for flag -${flag#--}"
done
run klog-bad-vmodule 2 validate --vmodule=daemon
expect klog-bad-vmodule err "invalid value \"daemon\" for flag -vmodule"
run klog-bad-threshold 2 validate --stderrthreshold=LOUD
expect klog-bad-threshold err "for flag -stderrthreshold: expected INFO, WARNING, ERROR, FATAL or a number"
run klog-bad-backtrace 2 validate --log_backtrace_at=main.c
expect klog-bad-backtrace err "for flag -log_backtrace_at"
# with --logtostderr=false the log file is used, and must be writable
run klog-bad-log-file 1 validate --config good.yaml --logtostderr=false --log_file=/nonexistent/x.log
expect klog-bad-log-file err "cannot open the log file /nonexistent/x.log: No such file or directory"
run klog-log-file 0 validate --config does-not-exist --masq-chain=X --logtostderr=false --log_file=agent.log \
        --skip_log_headers
expect klog-log-file err "file not found; showing the built-in defaults"
rm -f agent.log # made by validate above: render must make its own
run klog-log-file-render 0 render --config good.yaml --logtostderr=false --log_file=agent.log
[ -e agent.log ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL klog-log-file-render: agent.log not created"; }
run bad-to-ports 2 validate --config good.yaml --to-ports=0-100
expect bad-to-ports err "invalid value \"0-100\" for flag -to-ports"
run bad-to-ports-overlap 2 validate --to-ports=1000-2000,1500-2500
expect bad-to-ports-overlap err "overlap"
run bad-health-address 2 run --health-bind-address=localhost.example:10266
expect bad-health-address err "invalid value \"localhost.example:10266\" for flag -health-bind-address"
run bad-metrics-address 2 run --metrics-bind-address=::1:10266
expect bad-metrics-address err "for flag -metrics-bind-address: IPv6 addresses must be in brackets"
run bad-v 2 validate --v=x
expect bad-v err "flag -v"
run bad-priority-conntrack 2 render --priority=srcnat-300
expect bad-priority-conntrack err "a NAT chain must come after conntrack, above -200"
# nft's forms (spaces as nft lists them) and plain integers, none with a sign strtoll alone takes
for bad in "--priority= 5" "--priority=+5" "--priority=srcnat+2147483647"; do
        run "bad-priority $bad" 2 render "$bad"
        expect "bad-priority $bad" err "invalid value \"${bad#*=}\" for flag -priority: expected an integer"
done
run priority-srcnat-minus 0 render --config good.yaml --priority=srcnat-5
expect priority-srcnat-minus out "type nat hook postrouting priority srcnat - 5;"
run priority-srcnat-spaced 0 render --config good.yaml "--priority=srcnat + 5"
expect priority-srcnat-spaced out "type nat hook postrouting priority srcnat + 5;"
run priority-srcnat 0 render --config good.yaml --priority=srcnat
expect priority-srcnat out "type nat hook postrouting priority srcnat;"
# an empty --to-ports is upstream's default, no port restriction: it undoes an earlier one
run to-ports-empty 0 render --config good.yaml --to-ports=1024-2000 --to-ports=
expect_not to-ports-empty out "masquerade to"
run run-only-flags 0 render --config good.yaml --cleanup-on-exit --table-ownership=off \
        --health-bind-address=:10266 --metrics-bind-address=127.0.0.1:10267
expect run-only-flags err 'warning: --cleanup-on-exit is for "run" only: "render" ignores it'
expect run-only-flags err 'warning: --table-ownership is for "run" only'
expect run-only-flags err 'warning: --health-bind-address is for "run" only'
expect run-only-flags err 'warning: --metrics-bind-address is for "run" only'
# an empty bind address (a template's unset variable) means off, as the default
run empty-bind-addresses 0 validate --config good.yaml --health-bind-address= --metrics-bind-address=
run empty-config-path 2 validate --config ""
expect empty-config-path err "--config: the path is empty"
# output that cannot be written (a full disk, a closed pipe) fails the command, and says why
for args in version "validate --config good.yaml" "render --config good.yaml" --help; do
        # shellcheck disable=SC2086 # the words of args are the arguments
        $agent $args >/dev/full 2>err
        rc=$?
        if [ "$rc" = 1 ] && grep -q 'No space left on device' err; then
                pass=$((pass + 1))
        else
                fail=$((fail + 1))
                echo "FAIL $args to /dev/full: exit $rc, want 1 and the reason"; sed 's/^/  stderr: /' err
        fi
done
run bad-log-format 2 validate --logging-format=xml
expect bad-log-format err "invalid value \"xml\" for flag -logging-format: expected text or json"
run logging-format 0 validate --config good.yaml --logging-format=json
run bad-bool 2 validate --enable-ipv6=maybe
expect bad-bool err "invalid boolean value \"maybe\" for flag -enable-ipv6"
# a bool flag's value as a separate argument (upstream's README says "set this flag to false"):
# Go would keep the flag true and ignore the rest; a usage error that says how to write it
run bool-spaced-value 2 validate --random-fully false
expect bool-spaced-value err "write --random-fully=false"
run bool-spaced-value-first 2 --enable-ipv6 T validate
expect bool-spaced-value-first err "write --enable-ipv6=T"
run bool-then-command 0 --config good.yaml --enable-ipv6 validate
expect bool-then-command out '"ip6": {'

# usage errors: exit 2, naming the problem
run unknown-flag 2 validate --no-such-flag
expect unknown-flag err "flag provided but not defined: -no-such-flag"
run unknown-flag-value 2 --masq-chian=X
expect unknown-flag-value err "flag provided but not defined: -masq-chian"
run unknown-verb 2 frobnicate
expect unknown-verb err "unknown command \"frobnicate\""
run missing-value 2 validate --config
expect missing-value err "flag needs an argument: -config"
run bad-syntax 2 ---config=x validate
expect bad-syntax err "bad flag syntax: ---config=x"
# "--" ends the flags, as in Go, and a command may follow it; but what follows is not ignored, as
# Go would ignore it: a flag there is a usage error that names it
run dashdash-end 0 validate --config good.yaml --
run dashdash-then-command 0 --config good.yaml -- validate
expect dashdash-then-command out '"nonMasqueradeCIDRs": ['
run dashdash-then-flag 2 validate --config good.yaml -- --enable-ipv6
expect dashdash-then-flag err 'unexpected argument "--enable-ipv6" after command "validate"'
run dashdash-flags-only 2 --config good.yaml -- --enable-ipv6
expect dashdash-flags-only err 'unknown command "--enable-ipv6"'

# render needs no privileges and no kernel, and refuses an invalid config with exit 2
run render-good 0 render --config good.yaml --enable-ipv6
expect render-good out "table ip ip-masq-agent"
expect render-good out "table ip6 ip-masq-agent"
expect render-good out "192.168.0.0/16"
expect render-good out "10.0.0.0/12"
run render-bad 2 render --config bad.yaml
[ -s out ] && { fail=$((fail + 1)); echo "FAIL render-bad: stdout not empty"; } || pass=$((pass + 1))
expect render-bad err "host bits are set"
# apply on an invalid config stops before the kernel: exit 2, and no netlink error. It runs in a
# network namespace of its own, so that a regression cannot touch this machine's ruleset.
# (root where user namespaces are refused, as in a chroot: a root-owned one, as kernel/lib.sh does)
if unshare -rn true 2> /dev/null; then
        own_netns="unshare -rn"
elif [ "$(id -u)" = 0 ] && unshare -n true 2> /dev/null; then
        own_netns="unshare -n"
else
        own_netns="unshare -rn"
        fail=$((fail + 1)); echo "FAIL apply-bad: cannot create a network namespace (unshare -rn) to run apply in"
fi
agent_real=$agent
agent="$own_netns $agent_real"
run apply-bad 2 apply --config bad.yaml --masq-chain=IP-MASQ-AGENT
agent=$agent_real
expect apply-bad err "nothing was changed"
expect apply-bad err "--masq-chain=IP-MASQ-AGENT names the upstream agent's iptables chain, looked for and reported if present; with nftables this agent's rules live in table ip ip-masq-agent, chain postrouting"
expect_not apply-bad err "netlink"
# 2^44 MB is more than a file can hold: no limit, not a product wrapped to 0 that starts the
# file over at every line (it would keep only the last of the two lines apply logs here)
agent="$own_netns $agent_real"
run log-file-max-size-huge 2 apply --config bad.yaml --masq-chain=X --logtostderr=false --log_file=huge.log \
        --log_file_max_size=17592186044416
agent=$agent_real
expect log-file-max-size-huge huge.log "--masq-chain=X names the upstream agent's iptables chain"
expect log-file-max-size-huge huge.log "nothing was changed"
# a command taken as --config's value would leave flags alone, which means "run": refused instead
# (in a namespace of its own all the same, and bounded, in case that regresses)
agent="timeout 10 $own_netns $agent_real"
run config-is-a-command 2 --config validate
agent=$agent_real
expect config-is-a-command err '--config validate: no such file, and "validate" is a command'
touch apply
run config-file-named-like-a-command 0 validate --config apply

echo "$pass passed, $fail failed"
[ $fail = 0 ]
