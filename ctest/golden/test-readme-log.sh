#!/bin/bash
# The README's sample log lines name the source line that logs them (klog's "daemon.c:267]"): each
# must still be the line that writes that message, or the manual points readers at the wrong code.
# IMA_REGEN=1 rewrites the line numbers that moved, to the nearest line logging the message.
set -euo pipefail
: "${IMA_SRCDIR:?}"
root="$IMA_SRCDIR/.."
checked=0 failed=0 readme_line=0
fixes=()

# The line of src that logs msg (of several, the nearest to where it was), or nothing.
find_logging_line() {
        local src=$1 msg=$2 was=$3 hits
        hits=$(grep -nF -- "\"$msg" "$src" | grep -E 'log_(info|warning|error|v|write)[a-z_]*\(' | cut -d: -f1) || true
        [ -n "$hits" ] || hits=$(grep -nE 'log_[a-z_]+\(what,' "$src" | cut -d: -f1) || true
        [ -n "$hits" ] || return 1
        for n in $hits; do echo "$(( n > was ? n - was : was - n )) $n"; done | sort -n | head -1 | cut -d' ' -f2
}

while IFS= read -r line; do
        readme_line=$((readme_line + 1))
        # a klog text line, or the JSON example's "caller" (the same source line, in the other format)
        [[ $line =~ ^[IWE][0-9]{4}\ [0-9:.]+\ +[0-9]+\ ([a-z-]+\.c):([0-9]+)\]\ \"?([^\"]{1,24}) ]] ||
                [[ $line =~ \"caller\":\"cmd/([a-z-]+\.c):([0-9]+)\",\"msg\":\"([^\"]{1,24}) ]] || continue
        file=${BASH_REMATCH[1]} at=${BASH_REMATCH[2]} msg=${BASH_REMATCH[3]}
        checked=$((checked + 1))
        src="$root/cmd/$file"
        code=$(sed -n "${at}p" "$src" 2>/dev/null) || true
        # the line holds the message, or logs one its caller passes (log_info_kv(what, ...))
        if ! [[ $code == *"$msg"* ]] && ! { [[ $code =~ log_[a-z_]+\(what, ]] && grep -qF -- "\"$msg\"" "$src"; }; then
                if [ "${IMA_REGEN:-}" = 1 ] && now=$(find_logging_line "$src" "$msg" "$at"); then
                        fixes+=("${readme_line}s/$file:$at\\([]\"]\\)/$file:$now\\1/")
                        continue
                fi
                echo "FAIL README: $file:$at does not log \"$msg\" (it holds: $code)" >&2
                failed=1
        fi
done <"$root/README.md"
if [ ${#fixes[@]} -gt 0 ]; then
        sed -i "$(printf '%s;' "${fixes[@]}")" "$root/README.md"
        echo "README.md: ${#fixes[@]} line numbers rewritten; review with git diff" >&2
fi
[ "$checked" -gt 0 ] || { echo "FAIL no sample log line found in README.md" >&2; exit 1; }
[ "$failed" = 0 ] && echo "ok: $checked sample log lines name the code that writes them"
exit $failed
