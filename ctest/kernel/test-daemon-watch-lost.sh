#!/bin/bash
# A lost inotify event must not leave the config watch on an ancestor for good: the config
# directory is created while the agent is deaf to creations (helpers/inotify-deaf.c), as when its
# event is lost or the directory appeared while the watch was being set up. SIGHUP (as the resync
# does) reads the file and moves the watch to the directory, and later changes are then seen by
# the watch. ResyncInterval 1h: only the watch can explain them.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"


deaf=$WORK/deaf
touch "$deaf"
IMA_INOTIFY_DEAF=$deaf LD_PRELOAD=$IMA_HELPERS/inotify-deaf.so \
        "$IMA_BIN" run --config "$WORK/late/config" --table-ownership=off --v=2 >"$WORK/agent.log" 2>&1 &
agent_pid=$!
wait_for 10 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"
grep -q "watching $WORK until it appears" "$WORK/agent.log" ||
        fail "the log does not say what is watched: $(tail -3 "$WORK/agent.log")"
mkdir "$WORK/late"
write_config "$WORK/late/config" 192.0.2.0/24
sleep 0.5 # 25 times the debounce
if dst_has 192.0.2.0/24; then fail "the directory's creation was seen: the helper did not hide it"; fi
rm "$deaf"
kill -HUP "$agent_pid"
expect_applied "SIGHUP reads the file" 192.0.2.0/24
grep -q "the directory of $WORK/late/config appeared: watching it" "$WORK/agent.log" ||
        fail "SIGHUP did not move the watch: $(tail -5 "$WORK/agent.log")"
write_config "$WORK/late/config" 198.51.100.0/24
expect_applied "a change after SIGHUP, seen by the watch" 198.51.100.0/24
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "exit code $? after SIGTERM: $(tail -20 "$WORK/agent.log")"

echo "ok: a lost creation event"
