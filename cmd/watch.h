/* watch.h: notices changes of the configuration file through inotify on the directories that
 * decide what the path resolves to, and on the file it leads to. That sees kubelet's ConfigMap
 * updates (a new timestamped directory, then the "..data" symlink renamed over), editors'
 * write-to-temp-then-rename and in-place writes (on close: a half-written file is never read on
 * purpose), also through another path (a hard link elsewhere, the source of a file bind-mounted
 * over the config path: only the file's own watch hears of those), a config path that is
 * a symlink to a file elsewhere (the target's directory is watched too, and the chain is
 * followed again after every change), a directory reached through symlinks (the directory holding
 * each symlink is watched for it, so repointing one is seen), and a directory that is missing,
 * deleted or renamed away (its nearest existing ancestor is watched until it is back). */
#pragma once

#include <stdbool.h>

#include "lib/macro.h"

struct watch;

/* Watches what config_path resolves through. A directory that does not exist yet is not an
 * error (its ancestor is watched); -errno for inotify failures. */
int watch_new(const char *config_path, struct watch **ret);
struct watch *watch_free(struct watch *w);
DEFINE_FREEP(struct watch, watch_free)
int watch_fd(const struct watch *w);
/* Whether the config file's own directory is being watched right now. */
bool watch_active(const struct watch *w);
/* While !watch_active(): the existing ancestor being watched for the directory to appear, or
 * NULL when not even that could be watched; watch_error() then says why. */
const char *watch_ancestor(const struct watch *w);
/* The last failure to add a watch (0 when none): -ENOSPC when fs.inotify.max_user_watches is
 * exhausted, -EACCES, ... */
int watch_error(const struct watch *w);
/* Why the config file itself is not watched (0 when it is, or when the path leads to no regular
 * file): -ENOSPC when fs.inotify.max_user_watches is exhausted, ... Without that watch, writes
 * through the config path are still seen when their writer closes the file, through its
 * directory's watch, but writes through another path (the source of a file bind-mounted over it,
 * a hard link elsewhere) are not. watch_refresh() tries it again. */
int watch_file_error(const struct watch *w);

enum watch_change {
        WATCH_UNCHANGED,
        /* what config_path resolves to may have changed, and may still be changing (an entry
         * created, deleted, its attributes changed): worth reading once things are quiet */
        WATCH_CHANGED,
        /* a writer closed the file, or something was renamed into its place (kubelet's "..data"
         * swap, an editor's write-and-rename): what the path leads to is whole now */
        WATCH_COMPLETE,
};

/* Whether a file created under the watched name has not been closed by its writer yet, and the
 * config path still leads to it: reading it now could find it half-written. The close (or its
 * removal) ends this, and reads as WATCH_COMPLETE (or WATCH_CHANGED). A file hard-linked into place
 * is whole at once, unless its other name is gone before the watch looks: then it cannot be told
 * from a file being written. */
bool watch_file_being_written(const struct watch *w);
/* The file is read whatever state it is in (the resync, SIGHUP): a writer that has not closed it by
 * now, or a file linked into place taken for one, is not waited for any longer. */
void watch_forget_writer(struct watch *w);

/* Reads all queued events; *ret tells the most any of them says about config_path. When it may
 * have changed, the watches are re-established along the path as it resolves now. Returns 0 or
 * -errno. */
int watch_read(struct watch *w, enum watch_change *ret);
/* The backstop of the resync timer, of SIGHUP and of mount changes: re-establishes the watches
 * from scratch when the config file's directory is not watched, when a watched directory is no
 * longer the one its path leads to (a directory on the path that is not a symlink renamed away: no
 * event says so), when the file watched is not the one the path leads to (a file mounted over it,
 * or unmounted), or when an event was lost (a symlink followed points elsewhere, the directory an ancestor is
 * watched for exists). *ret_rearmed tells whether it did. Returns 0 when the config file's
 * directory is watched, else the reason as -errno (-ENOENT while it is missing). */
int watch_refresh(struct watch *w, bool *ret_rearmed);
