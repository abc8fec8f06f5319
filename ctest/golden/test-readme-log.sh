#!/bin/bash
# The README's sample log lines name the source line that logs them (klog's "daemon.c:267]"): each
# must still be the line that writes that message, or the manual points readers at the wrong code.
set -euo pipefail
: "${IMA_SRCDIR:?}"
root="$IMA_SRCDIR/.."
checked=0 failed=0
while IFS= read -r line; do
        [[ $line =~ ^[IWE][0-9]{4}\ [0-9:.]+\ +[0-9]+\ ([a-z-]+\.c):([0-9]+)\]\ \"?([^\"]{1,24}) ]] || continue
        file=${BASH_REMATCH[1]} at=${BASH_REMATCH[2]} msg=${BASH_REMATCH[3]}
        checked=$((checked + 1))
        src="$root/cmd/$file"
        code=$(sed -n "${at}p" "$src" 2>/dev/null) || true
        # the line holds the message, or logs one its caller passes (log_info_kv(what, ...))
        if ! [[ $code == *"$msg"* ]] && ! { [[ $code =~ log_[a-z_]+\(what, ]] && grep -qF -- "\"$msg\"" "$src"; }; then
                echo "FAIL README: $file:$at does not log \"$msg\" (it holds: $code)" >&2
                failed=1
        fi
done <"$root/README.md"
[ "$checked" -gt 0 ] || { echo "FAIL no sample log line found in README.md" >&2; exit 1; }
[ "$failed" = 0 ] && echo "ok: $checked sample log lines name the code that writes them"
exit $failed
