/* watch.h: notices changes of the configuration file through inotify on its directory, which is
 * what sees kubelet's ConfigMap updates (a new timestamped directory, then the "..data" symlink
 * renamed over) and editors' write-to-temp-then-rename as well as in-place writes. */
#pragma once

#include <stdbool.h>

#include "lib/macro.h"

struct watch;

/* Watches the directory of config_path. A directory that does not exist yet is not an error:
 * watch_retry() tries again later. -errno for inotify failures. */
int watch_new(const char *config_path, struct watch **ret);
struct watch *watch_free(struct watch *w);
DEFINE_FREEP(struct watch, watch_free)
int watch_fd(const struct watch *w);
/* Whether the directory is being watched right now. */
bool watch_active(const struct watch *w);

/* Reads all queued events; *ret_changed tells whether any could have changed what config_path
 * resolves to. Returns 0 or -errno. */
int watch_read(struct watch *w, bool *ret_changed);
/* Re-establishes the watch when the directory (re)appeared. Returns 0, or -errno when it still
 * cannot be watched. */
int watch_retry(struct watch *w);
