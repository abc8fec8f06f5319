#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/watch.h"

/* No IN_DONT_FOLLOW: a config directory reached through a symlink is watched where it lives.
 * No IN_MODIFY: a file is read when its writer closes it, never half-written. */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | \
                    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* Symlinks followed from the config path: as many as kubelet's layout needs and then some. */
#define WATCH_MAX_HOPS 8
/* Per hop the file's directory, and now and then one whose directory on the path appeared (or
 * could not be looked at) while arm() looked; more than this fails with -ELOOP. */
#define WATCH_MAX_TARGETS (2 * (WATCH_MAX_HOPS + 1))
/* arm() starts over when a directory it walked through went away before it could be watched;
 * this many times at most (then the watches of the last attempt stay, and their events or the
 * resync try again). */
#define WATCH_MAX_ATTEMPTS 8

enum watch_kind {
        WATCH_KIND_FILE,     /* dir holds the config file, or a symlink on the way to it */
        WATCH_KIND_STEP,     /* dir holds a directory on the path, name */
        WATCH_KIND_ANCESTOR, /* dir holds name, the first component of the path that is missing */
};

struct watch_target {
        int wd;
        char *dir;
        char *name;      /* the entry in dir that matters */
        enum watch_kind kind;
        dev_t dev;       /* the directory dir led to when the watch was added */
        ino_t ino;
};

struct watch {
        int fd;
        char *config_path;
        struct watch_target targets[WATCH_MAX_TARGETS];
        size_t n_targets;
        int error;
        bool being_written;  /* a file was created under a watched name and not closed yet */
        /* while arm() replaces them: the targets before, whose watches it keeps where it can */
        const struct watch_target *replaced;
        size_t n_replaced;
};

static bool holds_wd(const struct watch_target *v, size_t n, int wd)
{
        for (size_t i = 0; i < n; i++)
                if (v[i].wd == wd)
                        return true;
        return false;
}

/* Drops the targets v; the watch of a directory that keep (what replaces them) still watches
 * stays: adding a watch for a directory already watched gives back its wd, and removing it would
 * turn the events still queued for that directory into stale ones nobody reads. */
static void targets_release(int fd, struct watch_target *v, size_t n, const struct watch_target *keep,
                            size_t n_keep)
{
        for (size_t i = 0; i < n; i++) {
                /* two targets in one directory share a wd: the second removal fails, harmlessly */
                if (!holds_wd(keep, n_keep, v[i].wd))
                        (void)inotify_rm_watch(fd, v[i].wd);
                free(v[i].dir);
                free(v[i].name);
        }
}

static int target_add(struct watch *w, const char *dir, const char *name, enum watch_kind kind)
{
        struct watch_target *t;
        struct stat st;
        int wd;

        if (w->n_targets == ARRAY_SIZE(w->targets))
                return -ELOOP;
        wd = inotify_add_watch(w->fd, dir, WATCH_MASK);
        if (wd < 0)
                return -errno;
        t = &w->targets[w->n_targets];
        t->dir = strdup(dir);
        t->name = strdup(name);
        if (!t->dir || !t->name || stat(dir, &st) < 0) {
                /* stat failing means dir changed right after the watch was added: start over */
                int r = t->dir && t->name ? -errno : -ENOMEM;

                if (!holds_wd(w->targets, w->n_targets, wd) && !holds_wd(w->replaced, w->n_replaced, wd))
                        (void)inotify_rm_watch(w->fd, wd);
                free(t->dir);
                free(t->name);
                return r;
        }
        t->dev = st.st_dev;
        t->ino = st.st_ino;
        t->wd = wd;
        t->kind = kind;
        w->n_targets++;
        return 0;
}

static int split_path(const char *path, char **ret_dir, char **ret_name)
{
        _cleanup_free_ char *a = strdup(path), *b = strdup(path);

        if (!a || !b)
                return -ENOMEM;
        *ret_dir = strdup(dirname(a));
        *ret_name = strdup(basename(b));
        if (!*ret_dir || !*ret_name) {
                free(*ret_dir);
                free(*ret_name);
                *ret_dir = *ret_name = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Walks dir one component at a time, as the kernel resolves it, to the directory it leads to
 * (*ret, dir without "." components). A component that is not a directory is looked at again only
 * once the directory holding it is watched for it, so it cannot appear unseen between the look and
 * the watch. -ENOENT when one is missing (or no directory): that parent stays watched as the
 * ancestor until it appears. -EAGAIN when a directory walked through went away meanwhile. */
static int walk_dir(struct watch *w, const char *dir, char **ret)
{
        _cleanup_free_ char *cur = strdup(dir[0] == '/' ? "" : ".");
        const char *p = dir;

        if (!cur)
                return -ENOMEM;
        for (;;) {
                _cleanup_free_ char *name = NULL, *next = NULL;
                struct stat st;
                size_t len;
                int r;

                p += strspn(p, "/");
                if (!*p)
                        break;
                len = strcspn(p, "/");
                name = strndup(p, len);
                p += len;
                if (!name || asprintf(&next, "%s/%s", cur, name) < 0)
                        return -ENOMEM;
                if (strcmp(name, ".") == 0)
                        continue;
                if (stat(next, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        r = target_add(w, cur[0] ? cur : "/", name, WATCH_KIND_ANCESTOR);
                        if (r < 0)
                                return r == -ENOENT || r == -ENOTDIR ? -EAGAIN : r;
                        r = stat(next, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
                        if (r == -ENOENT || r == -ENOTDIR)
                                return -ENOENT;
                        /* there now (it appeared since the first look), or it cannot be looked at
                         * (-EACCES): either way a change of it is worth an event */
                        w->targets[w->n_targets - 1].kind = WATCH_KIND_STEP;
                        if (r < 0)
                                return r;
                }
                free(cur);
                cur = TAKE_PTR(next);
        }
        if (!cur[0] && !(cur = strdup("/")))
                return -ENOMEM;
        *ret = TAKE_PTR(cur);
        return 0;
}

/* The target of the symlink at path, resolved against path's directory; NULL with errno set
 * when path is not a symlink. */
static char *link_target(const char *path, const char *dir)
{
        char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);
        char *ret;

        if (n < 0)
                return NULL;
        buf[n] = '\0';
        if (buf[0] == '/')
                return strdup(buf);
        if (asprintf(&ret, "%s/%s", dir, buf) < 0)
                return NULL;
        return ret;
}

/* One attempt at watching the directory of every step of the symlink chain from the config path
 * to the file. -EAGAIN when the path changed under it. */
static int arm_once(struct watch *w)
{
        _cleanup_free_ char *path = strdup(w->config_path);

        if (!path)
                return -ENOMEM;
        for (unsigned hop = 0; hop <= WATCH_MAX_HOPS; hop++) {
                _cleanup_free_ char *dir = NULL, *name = NULL, *real = NULL;
                char *next;
                int r;

                r = split_path(path, &dir, &name);
                if (r < 0)
                        return r;
                r = walk_dir(w, dir, &real);
                /* a symlink's target directory missing: the config's own directory stays watched */
                if (r == -ENOENT)
                        return hop == 0 ? -ENOENT : 0;
                if (r < 0)
                        return r;
                r = target_add(w, real, name, WATCH_KIND_FILE);
                if (r == -ENOENT || r == -ENOTDIR)
                        return -EAGAIN; /* the directory went away since walk_dir() */
                if (r < 0)
                        return r;
                next = link_target(path, dir);
                if (!next)
                        return 0;
                free(path);
                path = next;
        }
        return 0;
}

/* Watches what the config path resolves through now, keeping the watches that stay. */
static int arm(struct watch *w)
{
        struct watch_target old[ARRAY_SIZE(w->targets)];
        size_t n_old = w->n_targets;
        int r = -EAGAIN;

        memcpy(old, w->targets, n_old * sizeof(*old));
        w->n_targets = 0;
        w->replaced = old;
        w->n_replaced = n_old;
        for (unsigned attempt = 0; r == -EAGAIN && attempt < WATCH_MAX_ATTEMPTS; attempt++) {
                targets_release(w->fd, w->targets, w->n_targets, old, n_old);
                w->n_targets = 0;
                r = arm_once(w);
        }
        if (r == -EAGAIN)
                r = -ENOENT;
        w->replaced = NULL;
        w->n_replaced = 0;
        targets_release(w->fd, old, n_old, w->targets, w->n_targets);
        w->error = r < 0 ? r : 0;
        return r;
}

int watch_new(const char *config_path, struct watch **ret)
{
        _cleanup_(watch_freep) struct watch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->fd = -1;
        w->config_path = strdup(config_path);
        if (!w->config_path)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        (void)arm(w);
        *ret = TAKE_PTR(w);
        return 0;
}

struct watch *watch_free(struct watch *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0) {
                targets_release(w->fd, w->targets, w->n_targets, NULL, 0);
                close(w->fd);
        }
        free(w->config_path);
        free(w);
        return NULL;
}

int watch_fd(const struct watch *w)
{
        return w->fd;
}

/* Targets come in the order arm() adds them: for each hop, those of directories on the way, then
 * the one of the file's directory. A missing component ends them. */
bool watch_active(const struct watch *w)
{
        for (size_t i = 0; i < w->n_targets; i++)
                if (w->targets[i].kind == WATCH_KIND_FILE)
                        return true;
        return false;
}

const char *watch_ancestor(const struct watch *w)
{
        const struct watch_target *last = w->n_targets > 0 ? &w->targets[w->n_targets - 1] : NULL;

        return last && last->kind == WATCH_KIND_ANCESTOR && !watch_active(w) ? last->dir : NULL;
}

int watch_error(const struct watch *w)
{
        return w->error;
}

bool watch_file_being_written(const struct watch *w)
{
        return w->being_written;
}

/* Whether name is a directory in dir (or leads to one). */
static bool is_directory(const char *dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return false;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether every watched directory is still the one its path leads to, and the missing directory
 * an ancestor waits for is still missing. A directory symlink repointed elsewhere changes nothing
 * in any watched directory, and an event can be lost (an overflow is one, but not every loss says
 * so): only this notices them. */
static bool targets_current(const struct watch *w)
{
        for (size_t i = 0; i < w->n_targets; i++) {
                const struct watch_target *t = &w->targets[i];
                struct stat st;

                if (stat(t->dir, &st) < 0 || st.st_dev != t->dev || st.st_ino != t->ino)
                        return false;
                if (t->kind == WATCH_KIND_ANCESTOR && is_directory(t->dir, t->name))
                        return false;
        }
        return true;
}

int watch_refresh(struct watch *w, bool *ret_rearmed)
{
        int r;

        *ret_rearmed = false;
        if ((watch_active(w) || watch_ancestor(w)) && targets_current(w))
                return watch_active(w) ? 0 : -ENOENT;
        r = arm(w);
        *ret_rearmed = true;
        return r < 0 ? r : watch_active(w) ? 0 : -ENOENT;
}

/* Whether the entry name of dir is a regular file. */
static bool is_regular_file(const char *dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return false;
        return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* What an event says about the config path: the entry of a watched directory that matters,
 * kubelet's "..data" and "..<timestamp>" entries beside it, or the directory itself going away.
 * Events of watches replaced since are stale. */
static enum watch_change classify(struct watch *w, const struct inotify_event *e)
{
        enum watch_change change = WATCH_UNCHANGED;

        if (e->mask & IN_Q_OVERFLOW)
                return WATCH_CHANGED;
        for (size_t i = 0; i < w->n_targets; i++) {
                const struct watch_target *t = &w->targets[i];
                bool own_name;

                if (t->wd != e->wd)
                        continue;
                if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                        return WATCH_CHANGED;
                if (e->len == 0)
                        continue;
                own_name = strcmp(e->name, t->name) == 0;
                if (t->kind != WATCH_KIND_FILE) {
                        /* a directory on the path, or the missing one, changed */
                        if (own_name)
                                change = WATCH_CHANGED;
                        continue;
                }
                if (own_name && (e->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
                        w->being_written = false;
                if ((e->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) && (own_name || strcmp(e->name, "..data") == 0))
                        return WATCH_COMPLETE;
                /* a file just created is being written: its IN_CLOSE_WRITE tells when it is whole
                 * (a symlink or a directory created there has none, and matters now; a hard link
                 * made there has none either, and waits for the next resync) */
                if (own_name && (e->mask & IN_CREATE) && !(e->mask & IN_ISDIR) && is_regular_file(t->dir, e->name)) {
                        w->being_written = true;
                        continue;
                }
                if (own_name || strncmp(e->name, "..", 2) == 0)
                        change = WATCH_CHANGED;
        }
        return change;
}

int watch_read(struct watch *w, enum watch_change *ret)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        enum watch_change change = WATCH_UNCHANGED;

        for (;;) {
                ssize_t n = read(w->fd, buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0)
                        return -errno;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *)p;
                        enum watch_change c = classify(w, e);

                        if (c > change)
                                change = c;
                        p += sizeof(*e) + e->len;
                }
        }
        /* what the path resolves through may have changed: follow it again; the events of the
         * old watches that are still queued no longer match any target */
        if (change != WATCH_UNCHANGED)
                (void)arm(w);
        *ret = change;
        return 0;
}
