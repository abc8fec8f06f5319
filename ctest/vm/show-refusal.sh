#!/bin/bash
# Run in the guest by run-on-kernel.sh --run: what the agent says when the kernel refuses its
# tables, typically with modules refused by the kernel command line, e.g.
#   bash ctest/vm/run-on-kernel.sh --append module_blacklist=nft_fib_ipv4 --run ctest/vm/show-refusal.sh
# In a namespace of its own: "apply" and "apply --enable-ipv6" (output, exit status), then
# "run --enable-ipv6" until its first reconcile has failed or succeeded (its log, /readyz).
set -u
agent=$vm_project/build-vm/cmd/ip-masq-agent
echo "== Linux $(uname -r), $(tr ' ' '\n' </proc/cmdline | grep '^module_blacklist=' || echo 'no module_blacklist')"
export agent
timeout 300 unshare -rn bash -c '
set -u
ip link set lo up
cd "$(mktemp -d)"
for flags in "" --enable-ipv6; do
        echo "== ip-masq-agent apply $flags"
        $agent apply $flags
        echo "== exit status $?"
done
echo "== ip-masq-agent run --enable-ipv6 --health-bind-address=127.0.0.1:10266"
$agent run --enable-ipv6 --health-bind-address=127.0.0.1:10266 >run.log 2>&1 &
pid=$!
for i in $(seq 1 120); do
        sleep 1
        grep -q "\"Reconcile failed\"\|\"Reconciled\"\|cannot" run.log && break
done
sleep 1 # /readyz follows the log line
cat run.log
echo "== /readyz"
curl -s -m 10 -w "HTTP %{http_code}\n" http://127.0.0.1:10266/readyz
kill $pid
wait $pid
echo "== run: exit status $? after SIGTERM"
echo "== nf_tables modules loaded: $(grep -oE "^nft?_[a-z0-9_]+" /proc/modules | sort | tr "\n" " ")"
'
