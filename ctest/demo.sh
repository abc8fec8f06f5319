#!/bin/bash
# Sets everything up, then runs the agent on its built-in default configuration inside a
# throwaway network namespace and prints the table it programmed. Nothing outside that namespace
# is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ctest/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
nowhere=$(mktemp -u /tmp/ip-masq-agent-demo.XXXXXX) # no file there: the defaults apply
if unshare --user --map-root-user --net true 2>/dev/null; then
        sandbox=(unshare --user --map-root-user --net)
else
        sandbox=(unshare --net)
fi
"${sandbox[@]}" sh -c "build/cmd/ip-masq-agent apply --config $nowhere && nft list table ip ip-masq-agent"
