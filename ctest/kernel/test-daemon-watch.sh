#!/bin/bash
# How the daemon notices config changes beyond kubelet's layout (test-daemon.sh): a config
# directory reached through a symlink (also repointed), a config file that is a symlink to a file
# elsewhere, a directory that is missing at start, deleted, or renamed away and recreated, a file
# written slowly, a file hard-linked into place (also one made with O_TMPFILE), a volume mounted
# over the config's directory, a file bind-mounted over the config file, and inotify limits (no
# instance, or no watch for the file itself). Every case runs with ResyncInterval 1h, so only the
# inotify watch (or the mount table's change) can explain a change being applied (but those that
# only the resync can see: a directory on the path renamed away, and the watches coming back
# after the limits are raised).
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"

agent_pid=
start_agent() {
        "$IMA_BIN" run --config "$1" --table-ownership=off --v=2 >"$WORK/agent.log" 2>&1 &
        agent_pid=$!
        wait_for 10 grep -q 'trigger="start"' "$WORK/agent.log" || fail "the agent did not start: $(tail "$WORK/agent.log")"
}

stop_agent() {
        kill -TERM "$agent_pid"
        wait "$agent_pid" || fail "exit code $? after SIGTERM: $(tail -20 "$WORK/agent.log")"
        nft delete table ip ip-masq-agent
}


# --- the config directory is a symlink to the real one ----------------------------------------
mkdir "$WORK/real"
ln -s real "$WORK/linkdir"
write_config "$WORK/real/config" 192.0.2.0/24
start_agent "$WORK/linkdir/config"
expect_applied "start through a symlinked directory" 192.0.2.0/24
write_config "$WORK/real/config" 198.51.100.0/24
expect_applied "file replaced in a symlinked directory" 198.51.100.0/24
# the directory symlink repointed, renamed over as `ln -sfn real2 tmp && mv -T tmp linkdir` does:
# the symlink's own directory is watched, so that is an event, and the watch moves along
mkdir "$WORK/real2"
write_config "$WORK/real2/config" 192.0.0.0/24
ln -s real2 "$WORK/linkdir.new"
mv -T "$WORK/linkdir.new" "$WORK/linkdir"
expect_applied "directory symlink renamed over" 192.0.0.0/24
write_config "$WORK/real2/config" 203.0.113.0/24
expect_applied "file replaced in the directory the symlink points to now" 203.0.113.0/24
# ...and removed and made again (`ln -sfn`)
ln -sfn real "$WORK/linkdir"
expect_applied "directory symlink made again" 198.51.100.0/24
write_config "$WORK/real/config" 100.64.0.0/10
expect_applied "file replaced after the symlink was made again" 100.64.0.0/10
# ...and removed and made again 2 ms later, by separate calls (two events, which the agent may well
# read apart): changes along the path are read 20 ms after the first event, as one (README), so
# the moment without the file is never read (which would apply the defaults, with a warning)
python3 -c 'import os, sys, time; os.unlink(sys.argv[1]); time.sleep(0.002); os.symlink("real", sys.argv[1])' \
        "$WORK/linkdir"
write_config "$WORK/real/config" 192.0.2.0/24
expect_applied "file replaced after the symlink was removed and made again" 192.0.2.0/24
assert_eq "warnings that the file is gone, after a symlink removed and made again at once" 0 \
        "$(grep -c '"The configuration file is gone' "$WORK/agent.log" || true)"
stop_agent

# --- a directory on the path that is no symlink renamed away and made again: nothing changes in any
# watched directory, so only the resync (1 s here) can notice; it must also move the watch, or
# edits in the new directory would wait for the next resync, an hour away once the new file is read
mkdir -p "$WORK/top/sub"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.2.0/24]\nResyncInterval: 1s\n' >"$WORK/top/sub/config"
start_agent "$WORK/top/sub/config"
wait_for 5 grep -q 'interval="1s"' "$WORK/agent.log" || fail "ResyncInterval 1s not taken"
mv "$WORK/top" "$WORK/top.old"
mkdir -p "$WORK/top/sub"
write_config "$WORK/top/sub/config" 198.51.100.0/24
expect_applied "directory on the path renamed away (seen by the resync)" 198.51.100.0/24
# A resync between the mv and the mkdir (the machine slow, as an emulated VM) finds the path
# missing: the agent then waits on $WORK and logs "appeared" when mkdir makes it. Either way the
# watch must be on the new directory, which the edit below proves (the next resync is an hour off).
grep -qE "(is another one now|the directory of .* appeared): watching it" "$WORK/agent.log" ||
        fail "the new directory was not watched: $(tail -5 "$WORK/agent.log")"
write_config "$WORK/top/sub/config" 203.0.113.0/24
expect_applied "file replaced in the new directory" 203.0.113.0/24
stop_agent

# --- a file system mounted over the config's directory (a volume mounted again): no watched
# directory changes, so inotify says nothing; the mount table's change must move the watch to the
# new file system's directory and read the file there, not leave it for the (hourly) resync
mkdir "$WORK/vol"
mount -t tmpfs vol1 "$WORK/vol" || fail "cannot mount a tmpfs in the test's mount namespace"
write_config "$WORK/vol/config" 192.0.2.0/24
start_agent "$WORK/vol/config"
expect_applied "start on a mounted volume" 192.0.2.0/24
mount -t tmpfs vol2 "$WORK/vol"
write_config "$WORK/vol/config" 198.51.100.0/24
expect_applied "a volume mounted over the config's directory" 198.51.100.0/24
write_config "$WORK/vol/config" 203.0.113.0/24
expect_applied "file replaced on the volume mounted over" 203.0.113.0/24
umount "$WORK/vol"
umount "$WORK/vol"
wait_for 5 dst_has 172.16.0.0/12 || fail "defaults not applied after the volume was unmounted"
mount -t tmpfs vol3 "$WORK/vol"
write_config "$WORK/vol/config" 100.64.0.0/10
expect_applied "the volume unmounted and mounted again" 100.64.0.0/10
stop_agent
umount "$WORK/vol"

# --- a file bind-mounted over the config file (`docker run -v FILE:PATH`, a hostPath file mount).
# Written in place, through either path, it changes its inode and the directory of the mount's
# source (the host's), never the directory the agent watches: only a watch on the file itself
# sees it. Rewritten slowly, it is still not read half-written; another file mounted over it is
# a change of the mount table only (no directory changes), which must move that watch
mkdir "$WORK/host" "$WORK/pod"
write_config "$WORK/host/config" 192.0.2.0/24
: >"$WORK/pod/config"
mount --bind "$WORK/host/config" "$WORK/pod/config" || fail "cannot bind-mount a file in the test's mount namespace"
start_agent "$WORK/pod/config"
expect_applied "start on a bind-mounted file" 192.0.2.0/24
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 198.51.100.0/24]\nResyncInterval: 1h\n' >"$WORK/host/config"
expect_applied "bind-mounted file written in place through the mount's source" 198.51.100.0/24
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 203.0.113.0/24]\nResyncInterval: 1h\n' >"$WORK/pod/config"
expect_applied "bind-mounted file written in place through the config path" 203.0.113.0/24
# truncated by one process and written by another: the empty file (the defaults) is whole when its
# truncation closes it, and read or not; what counts is that the second writer's close is seen
truncate -s 0 "$WORK/host/config"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.0.0/24]\nResyncInterval: 1h\n' >>"$WORK/host/config"
expect_applied "bind-mounted file truncated, then written" 192.0.0.0/24
exec 3>"$WORK/host/config"
printf 'NonMasqueradeCIDRs:\n- 10.0.0.0/8\n' >&3
sleep 0.5 # 25 times the debounce after the truncation
printf -- '- 100.64.0.0/10\nResyncInterval: 1h\n' >&3
exec 3>&-
expect_applied "bind-mounted file truncated and written slowly" 100.64.0.0/10
# the half-written file, [10.0.0.0/8], would have removed 192.0.0.0/24 alone
if grep -q 'changes="ip nomasq-dst -192.0.0.0/24"' "$WORK/agent.log"; then
        fail "a half-written bind-mounted file was applied: $(grep 'trigger="config change"' "$WORK/agent.log")"
fi
write_config "$WORK/host/other" 198.51.100.0/24
mount --bind "$WORK/host/other" "$WORK/pod/config"
expect_applied "another file bind-mounted over the config file" 198.51.100.0/24
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 203.0.113.0/24]\nResyncInterval: 1h\n' >"$WORK/host/other"
expect_applied "the file mounted over written in place" 203.0.113.0/24
umount "$WORK/pod/config"
expect_applied "the file mounted over unmounted" 100.64.0.0/10
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.2.0/24]\nResyncInterval: 1h\n' >"$WORK/host/config"
expect_applied "the first file, mounted again by the unmount, written in place" 192.0.2.0/24
stop_agent
umount "$WORK/pod/config"

# --- the config file is a symlink to a file in another directory --------------------------------
mkdir "$WORK/etc" "$WORK/store"
write_config "$WORK/store/config" 192.0.2.0/24
ln -s ../store/config "$WORK/etc/config"
start_agent "$WORK/etc/config"
expect_applied "start through a symlinked file" 192.0.2.0/24
write_config "$WORK/store/config" 198.51.100.0/24
expect_applied "symlink target replaced" 198.51.100.0/24
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 203.0.113.0/24]\nResyncInterval: 1h\n' >"$WORK/store/config"
expect_applied "symlink target written in place" 203.0.113.0/24
write_config "$WORK/store/other" 100.64.0.0/10
ln -sfn ../store/other "$WORK/etc/config"
expect_applied "symlink pointed at another file" 100.64.0.0/10
write_config "$WORK/store/other" 192.0.0.0/24
expect_applied "new symlink target replaced" 192.0.0.0/24
stop_agent

# --- the directory: missing at start, deleted, renamed away ---------------------------------------
start_agent "$WORK/missing/deeper/config"
wait_for 5 dst_has 172.16.0.0/12 || fail "defaults not applied without a config directory"
grep -q "watching $WORK until it appears" "$WORK/agent.log" ||
        fail "the log does not say what is watched: $(tail -3 "$WORK/agent.log")"
mkdir -p "$WORK/missing/deeper"
write_config "$WORK/missing/deeper/config" 192.0.2.0/24
expect_applied "directory created after start" 192.0.2.0/24
rm -rf "$WORK/missing"
wait_for 5 dst_has 172.16.0.0/12 || fail "defaults not applied after the directory was deleted"
# a file that goes changes every list at once: a warning, not only the new configuration's line
assert_eq "warnings that the file is gone" 1 "$(grep -c '^W.*"The configuration file is gone: the defaults apply now"' "$WORK/agent.log")"
mkdir -p "$WORK/missing/deeper"
write_config "$WORK/missing/deeper/config" 198.51.100.0/24
expect_applied "directory deleted and recreated" 198.51.100.0/24
mv "$WORK/missing/deeper" "$WORK/missing/old"
mkdir "$WORK/missing/deeper"
write_config "$WORK/missing/deeper/config" 203.0.113.0/24
expect_applied "directory renamed away and recreated" 203.0.113.0/24
write_config "$WORK/missing/old/config" 100.64.0.0/10 # the old directory no longer matters
write_config "$WORK/missing/deeper/config" 192.0.0.0/24
expect_applied "recreated directory keeps being watched" 192.0.0.0/24
if dst_has 100.64.0.0/10; then fail "a file in the renamed-away directory was applied"; fi
stop_agent

# --- a file created and written slowly: read once its writer closes it, not half-written --------
mkdir "$WORK/slow"
start_agent "$WORK/slow/config"
wait_for 5 dst_has 172.16.0.0/12 || fail "defaults not applied without a config file"
exec 3>"$WORK/slow/config"
printf 'NonMasqueradeCIDRs:\n- 10.0.0.0/8\n' >&3
sleep 0.5 # 25 times the debounce after the file's creation
printf -- '- 192.0.2.0/24\nResyncInterval: 1h\n' >&3
exec 3>&-
expect_applied "file created and written slowly" 192.0.2.0/24
changes=$(grep -c 'trigger="config change"' "$WORK/agent.log") || true
[ "$changes" = 1 ] || fail "a half-written file was applied: $(grep 'trigger="config change"' "$WORK/agent.log")"
# ...also when the old file's removal, and a chmod meanwhile, would have it read at once
rm "$WORK/slow/config"
exec 3>"$WORK/slow/config"
printf 'NonMasqueradeCIDRs:\n- 10.0.0.0/8\n' >&3
chmod 600 "$WORK/slow/config"
sleep 0.5
printf -- '- 198.51.100.0/24\nResyncInterval: 1h\n' >&3
exec 3>&-
expect_applied "file removed, created again and written slowly" 198.51.100.0/24
# the half-written file, [10.0.0.0/8], would have removed 192.0.2.0/24 alone (the defaults, read
# if the agent looked between rm and the creation, would have added RFC 1918 too)
if grep -q 'changes="ip nomasq-dst -192.0.2.0/24"' "$WORK/agent.log"; then
        fail "a half-written file was applied after a removal: $(grep 'trigger="config change"' "$WORK/agent.log")"
fi
stop_agent
# --- a file hard-linked into place (`rm` and `ln`; coreutils' `ln -f` links a temporary name and
# renames it over): whole already, and no writer will ever close it, so it is read at once rather
# than waited for (until the hourly resync)
mkdir "$WORK/hardlink"
write_config "$WORK/hardlink/config" 192.0.2.0/24
start_agent "$WORK/hardlink/config"
expect_applied "start" 192.0.2.0/24
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 198.51.100.0/24]\nResyncInterval: 1h\n' >"$WORK/hardlink/staged"
rm "$WORK/hardlink/config"
ln "$WORK/hardlink/staged" "$WORK/hardlink/config"
expect_applied "file hard-linked into place" 198.51.100.0/24
write_config "$WORK/hardlink/config" 203.0.113.0/24
expect_applied "file replaced after a hard link" 203.0.113.0/24
stop_agent
# --- a file made with O_TMPFILE, written, and linked into place (linkat(2), as systemd's
# link_tmpfile() does for a new file): its IN_CREATE looks like a file being created, and its
# writer's close is reported under the name the kernel gave the unnamed file ("#INODE"), not under
# the config's: that close must end the wait, or the file waits for the (hourly) resync
mkdir "$WORK/tmpfile"
start_agent "$WORK/tmpfile/config"
wait_for 5 dst_has 172.16.0.0/12 || fail "defaults not applied without a config file"
python3 - "$WORK/tmpfile" <<'PY2' || fail "cannot link an O_TMPFILE file into place"
import ctypes, os, sys
d = sys.argv[1]
fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o644)
os.write(fd, b"NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.2.0/24]\nResyncInterval: 1h\n")
AT_FDCWD, AT_EMPTY_PATH, AT_SYMLINK_FOLLOW = -100, 0x1000, 0x400
libc = ctypes.CDLL(None, use_errno=True)
dest = (d + "/config").encode()
if libc.linkat(fd, b"", AT_FDCWD, dest, AT_EMPTY_PATH) < 0:
    # Before Linux 6.10, AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in the initial user namespace
    # (ENOENT without it, as in this sandbox); the /proc/self/fd path is what systemd's
    # link_tmpfile() falls back to, and links the same inode with the same events.
    if ctypes.get_errno() != 2 or libc.linkat(AT_FDCWD, b"/proc/self/fd/%d" % fd, AT_FDCWD, dest,
                                              AT_SYMLINK_FOLLOW) < 0:
        sys.exit("linkat: " + os.strerror(ctypes.get_errno()))
os.close(fd)
PY2
expect_applied "O_TMPFILE file linked into place" 192.0.2.0/24
write_config "$WORK/tmpfile/config" 198.51.100.0/24
expect_applied "file replaced after an O_TMPFILE link" 198.51.100.0/24
stop_agent
# --- no inotify instance to be had (the per-user limit every container of the user shares): the
# rules go in all the same, the file is read every second, and the watch comes back by itself
mkdir "$WORK/noino"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.2.0/24]\nResyncInterval: 1s\n' >"$WORK/noino/config"
# (in the machine's own user namespace the limit is the machine's: never touched there)
in_own_user_namespace ||
        fail "the inotify-limit checks need the user-namespace sandbox: in the machine's user namespace" \
                "(IMA_SANDBOX_ROOT=1, or root without user namespaces) the limit is the machine's own"
limit=$(cat /proc/sys/user/max_inotify_instances)
echo 0 >/proc/sys/user/max_inotify_instances || fail "cannot lower max_inotify_instances in the test's user namespace"
"$IMA_BIN" run --config "$WORK/noino/config" --table-ownership=off --v=2 >"$WORK/agent.log" 2>&1 &
agent_pid=$!
wait_for 10 dst_has 192.0.2.0/24 || fail "no rules without inotify: $(tail -5 "$WORK/agent.log")"
grep -q "cannot watch .*max_user_instances" "$WORK/agent.log" || fail "the missing watch was not reported: $(tail -5 "$WORK/agent.log")"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 198.51.100.0/24]\nResyncInterval: 1s\n' >"$WORK/noino/config"
expect_applied "without inotify, seen by the read every second" 198.51.100.0/24
echo "$limit" >/proc/sys/user/max_inotify_instances
wait_for 5 grep -q "inotify works again" "$WORK/agent.log" || fail "the watch did not come back: $(tail -5 "$WORK/agent.log")"
# the resync an hour away first (applied by the watch or the 1 s resync, either), then only the
# watch can explain a change
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 203.0.113.0/24]\nResyncInterval: 1h\n' >"$WORK/noino/config"
expect_applied "inotify back: the hourly resync taken" 203.0.113.0/24
wait_for 5 grep -q 'interval="1h0m0s"' "$WORK/agent.log" || fail "ResyncInterval 1h not taken"
write_config "$WORK/noino/config" 192.0.0.0/24
expect_applied "inotify back: a file renamed over" 192.0.0.0/24
stop_agent

# --- no inotify watch left for the file itself (fs.inotify.max_user_watches, shared by the user's
# containers), its directory's one watch had: writes through the config path are still seen at
# their close; the warning says what is missed, and the resync tries the file's watch again, which
# then sees writes through another path (a hard link outside the watched directory)
mkdir "$WORK/nofw"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.2.0/24]\nResyncInterval: 1h\n' >"$WORK/nofw/config"
ln "$WORK/nofw/config" "$WORK/nofw-link"
watches=$(cat /proc/sys/user/max_inotify_watches)
echo 1 >/proc/sys/user/max_inotify_watches || fail "cannot lower max_inotify_watches in the test's user namespace"
start_agent "$WORK/nofw/config"
wait_for 5 grep -q "cannot watch the config file .* itself: .*max_user_watches" "$WORK/agent.log" ||
        fail "the file's missing watch was not reported: $(tail -5 "$WORK/agent.log")"
if grep -q "cannot watch the directory" "$WORK/agent.log"; then
        fail "one watch should do for the directory: $(tail -5 "$WORK/agent.log")"
fi
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 198.51.100.0/24]\nResyncInterval: 1h\n' >"$WORK/nofw/config"
expect_applied "written in place without the file's own watch" 198.51.100.0/24
echo "$watches" >/proc/sys/user/max_inotify_watches
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 203.0.113.0/24]\nResyncInterval: 1s\n' >"$WORK/nofw/config"
expect_applied "written in place, resync 1 s" 203.0.113.0/24
wait_for 5 grep -q "watching the config file .* itself again" "$WORK/agent.log" ||
        fail "the resync did not watch the file again: $(tail -5 "$WORK/agent.log")"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 192.0.0.0/24]\nResyncInterval: 1h\n' >"$WORK/nofw/config"
expect_applied "written in place, resync 1 h" 192.0.0.0/24
wait_for 5 test "$(grep -c 'interval="1h0m0s"' "$WORK/agent.log")" -ge 2 || fail "ResyncInterval 1h not taken again"
printf 'NonMasqueradeCIDRs: [10.0.0.0/8, 100.64.0.0/10]\nResyncInterval: 1h\n' >"$WORK/nofw-link"
expect_applied "written through a hard link, the file's own watch back" 100.64.0.0/10
stop_agent

echo "ok: config watch"
