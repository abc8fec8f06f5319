#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/watch.h"

/* The directories watched are reached through no symlink: walk_dir() resolves the path itself, so
 * that the directory holding each symlink on it is watched too. No IN_MODIFY: writes are the file's
 * own watch's to report (WATCH_FILE_MASK). */
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | \
                    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* The config file itself, where the path leads: written in place through any path (the config
 * path, the source of a file bind-mounted over it, a hard link elsewhere), it reports the writes.
 * IN_MODIFY starts no read: it only says the file is being written, so that no other event reads
 * it half-written; its writer's IN_CLOSE_WRITE does. Only this watch asks for IN_MODIFY: inotify
 * merges a repeated event only with the one queued last, so two watches reporting every write in
 * turn would queue two events per write() (1,028 for 2 MB written 4 KB at a time, against one).
 * IN_MASK_ADD: should a directory take the file's place between the look and the watch, that
 * directory's watch, if it is one of ours, keeps its events. */
#define WATCH_FILE_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_MASK_ADD)
/* Symlinks followed from the config path, the file's and those of directories on its way
 * together: as many as kubelet's layout needs (two) and then some. */
#define WATCH_MAX_HOPS 8
/* One per symlink followed, one per file's directory, one for a missing directory, and now and
 * then one for a directory that appeared (or could not be looked at) while arm() looked; more than
 * this fails with -ELOOP. */
#define WATCH_MAX_TARGETS (2 * (WATCH_MAX_HOPS + 1) + 2)
/* arm() starts over when a directory it walked through went away before it could be watched;
 * this many times at most (then the watches of the last attempt stay, and their events or the
 * resync try again). */
#define WATCH_MAX_ATTEMPTS 8

enum watch_kind {
        WATCH_KIND_FILE,     /* dir holds the config file, or a symlink on the way to it */
        WATCH_KIND_STEP,     /* dir holds name, a symlink to a directory on the path (or a directory) */
        WATCH_KIND_ANCESTOR, /* dir holds name, the first component of the path that is missing */
};

struct watch_target {
        int wd;
        char *dir;       /* through no symlink */
        char *name;      /* the entry in dir that matters */
        char *link;      /* WATCH_KIND_STEP: what the symlink name held when it was followed */
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
        /* a file created under a watched name and not closed yet: the inode, and whether any */
        bool being_written;
        dev_t written_dev;
        ino_t written_ino;
        /* the regular file the config path led to when arm() last looked (file_known), its
         * watch (file_wd, -1 when none), and why it has none when it should (file_error) */
        bool file_known;
        dev_t file_dev;
        ino_t file_ino;
        int file_wd;
        int file_error;
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
                free(v[i].link);
        }
}

/* The target already added for dir in this arming, if any: its watch is dir's (were dir replaced
 * since, that watch would have said so), and no second inotify_add_watch() and stat() are needed,
 * as for kubelet's "..data" beside the config file. */
static const struct watch_target *target_find(const struct watch *w, const char *dir)
{
        for (size_t i = 0; i < w->n_targets; i++)
                if (strcmp(w->targets[i].dir, dir) == 0)
                        return &w->targets[i];
        return NULL;
}

static int target_add(struct watch *w, const char *dir, const char *name, enum watch_kind kind)
{
        const struct watch_target *same = target_find(w, dir);
        struct watch_target *t;
        struct stat st;
        int wd;

        if (w->n_targets == ARRAY_SIZE(w->targets))
                return -ELOOP;
        if (same) {
                t = &w->targets[w->n_targets];
                *t = (struct watch_target){ .wd = same->wd, .dir = strdup(dir), .name = strdup(name),
                                            .kind = kind, .dev = same->dev, .ino = same->ino };
                if (!t->dir || !t->name) {
                        free(t->dir);
                        free(t->name);
                        return -ENOMEM;
                }
                w->n_targets++;
                return 0;
        }
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
        t->link = NULL;
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

/* What the symlink at path holds, in *ret. -EINVAL when path is not a symlink. */
static int read_link(const char *path, char **ret)
{
        char buf[PATH_MAX];
        ssize_t n = readlink(path, buf, sizeof(buf) - 1);

        if (n < 0)
                return -errno;
        buf[n] = '\0';
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* The first component of rest, which is cut from it; NULL at the end, or with errno ENOMEM. */
static char *next_component(char *rest)
{
        char *p = rest + strspn(rest, "/");
        size_t len = strcspn(p, "/");
        char *name;

        errno = 0;
        if (!*p)
                return NULL;
        name = strndup(p, len);
        memmove(rest, p + len, strlen(p + len) + 1);
        return name;
}

/* name in dir, whose path is path, is not a plain directory at the first look (a symlink: where
 * it points decides where the path goes; missing: the path goes nowhere yet). It is looked at
 * again once dir is watched for it, so that nothing can change it unseen between the look and the
 * watch. 0 when it is a directory now (it appeared meanwhile), 0 and *ret_link (owned by the
 * target) for a symlink, -ENOENT when it is missing or no directory: dir stays watched as the
 * ancestor. */
static int look_again(struct watch *w, const char *dir, const char *name, const char *path,
                      const char **ret_link)
{
        struct watch_target *t;
        struct stat st;
        int r;

        *ret_link = NULL;
        r = target_add(w, dir[0] ? dir : "/", name, WATCH_KIND_ANCESTOR);
        if (r < 0)
                return r == -ENOENT || r == -ENOTDIR ? -EAGAIN : r; /* dir went away */
        t = &w->targets[w->n_targets - 1];
        r = read_link(path, &t->link);
        if (r == -EINVAL) /* no symlink: what is it? */
                r = lstat(path, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (r == -ENOENT || r == -ENOTDIR)
                return -ENOENT;
        /* a symlink, a directory now, or what cannot be looked at (-EACCES): either way a change
         * of it is worth an event */
        t->kind = WATCH_KIND_STEP;
        *ret_link = t->link;
        return r;
}

/* Resolves dir, when relative from base (a directory through no symlink; NULL: the working
 * directory), one component at a time, as the kernel does, to the directory it leads to (*ret,
 * through no symlink), watching the directory of every component that is not a plain directory
 * for it (look_again()). -ENOENT when one is missing, -EAGAIN when the path changed while it was
 * walked. *links counts the symlinks followed. */
static int walk_dir(struct watch *w, const char *base, const char *dir, unsigned *links, char **ret)
{
        _cleanup_free_ char *cur = dir[0] == '/' ? strdup("") : base ? strdup(base) : getcwd(NULL, 0);
        _cleanup_free_ char *rest = strdup(dir);

        if (!cur)
                return dir[0] == '/' || base ? -ENOMEM : -errno;
        if (!rest)
                return -ENOMEM;
        if (strcmp(cur, "/") == 0)
                cur[0] = '\0'; /* the root, as cur is kept: each component adds "/name" */
        for (;;) {
                _cleanup_free_ char *name = next_component(rest), *next = NULL;
                const char *link;
                struct stat st;
                int r;

                if (!name && errno)
                        return -ENOMEM;
                if (!name)
                        break;
                if (strcmp(name, ".") == 0)
                        continue;
                if (strcmp(name, "..") == 0) {
                        *(strrchr(cur, '/') ?: cur) = '\0'; /* cur is absolute: "" is the root */
                        continue;
                }
                if (asprintf(&next, "%s/%s", cur, name) < 0)
                        return -ENOMEM;
                if (lstat(next, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        r = look_again(w, cur, name, next, &link);
                        if (r < 0)
                                return r;
                        if (link && ++*links > WATCH_MAX_HOPS)
                                return -ELOOP;
                        if (link) {
                                /* asprintf() leaves next as it was when it fails: not dangling */
                                free(next);
                                next = NULL;
                                if (asprintf(&next, "%s/%s", link, rest) < 0)
                                        return -ENOMEM;
                                free(rest);
                                rest = TAKE_PTR(next);
                                if (link[0] == '/')
                                        cur[0] = '\0';
                                continue;
                        }
                }
                free(cur);
                cur = TAKE_PTR(next);
        }
        if (!cur[0] && !(cur = strdup("/")))
                return -ENOMEM;
        *ret = TAKE_PTR(cur);
        return 0;
}

/* One attempt at watching the directory of every step of the symlink chain from the config path
 * to the file, and the directory of every symlink on the way to those. -EAGAIN when the path
 * changed under it. */
static int arm_once(struct watch *w)
{
        _cleanup_free_ char *path = strdup(w->config_path), *base = NULL;
        unsigned links = 0;

        if (!path)
                return -ENOMEM;
        for (unsigned hop = 0;; hop++) {
                _cleanup_free_ char *dir = NULL, *name = NULL, *real = NULL, *file = NULL;
                int r;

                r = split_path(path, &dir, &name);
                if (r < 0)
                        return r;
                /* a symlink's relative target starts from its own directory, resolved already */
                r = walk_dir(w, base, dir, &links, &real);
                /* beyond the first hop, the config's own directory stays watched */
                if ((r == -ENOENT || r == -ELOOP) && hop > 0)
                        return 0;
                if (r < 0)
                        return r;
                r = target_add(w, real, name, WATCH_KIND_FILE);
                if (r == -ENOENT || r == -ENOTDIR)
                        return -EAGAIN; /* the directory went away since walk_dir() */
                if (r < 0)
                        return r;
                if (asprintf(&file, "%s/%s", strcmp(real, "/") == 0 ? "" : real, name) < 0)
                        return -ENOMEM;
                free(path);
                path = NULL;
                r = read_link(file, &path);
                if (r < 0 || ++links > WATCH_MAX_HOPS)
                        return 0; /* the file (or what cannot be followed: the kernel says so too) */
                free(base);
                base = TAKE_PTR(real);
        }
}

/* Watches the file the config path leads to now, and drops the watch of the one it led to before
 * (the same file gives back the same wd, which stays). The file is looked at before it is watched:
 * replaced in between, the older one is taken for the one watched, and the event of the
 * replacement, or the next refresh, arms again. A file that cannot be watched (max_user_watches)
 * is tried again when it is another one, or at the next refresh: meanwhile the directories'
 * watches see what they can. */
static void file_arm(struct watch *w)
{
        struct stat st;
        int wd = -1;

        w->file_error = 0;
        w->file_known = stat(w->config_path, &st) == 0 && S_ISREG(st.st_mode);
        if (w->file_known) {
                w->file_dev = st.st_dev;
                w->file_ino = st.st_ino;
                wd = inotify_add_watch(w->fd, w->config_path, WATCH_FILE_MASK);
                if (wd < 0)
                        w->file_error = -errno;
                else if (holds_wd(w->targets, w->n_targets, wd))
                        wd = -1; /* a directory of ours after all: its target reads its events */
        }
        if (w->file_wd >= 0 && w->file_wd != wd && !holds_wd(w->targets, w->n_targets, w->file_wd))
                (void)inotify_rm_watch(w->fd, w->file_wd);
        w->file_wd = wd;
}

/* Watches what the config path resolves through now, and the file it leads to, keeping the
 * watches that stay. */
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
        file_arm(w);
        w->error = r < 0 ? r : 0;
        return r;
}

int watch_new(const char *config_path, struct watch **ret)
{
        _cleanup_(watch_freep) struct watch *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->fd = -1;
        w->file_wd = -1;
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

int watch_file_error(const struct watch *w)
{
        return w->file_error;
}

bool watch_file_being_written(const struct watch *w)
{
        struct stat st;

        /* only while the path leads to that file: a writer elsewhere is no reason to wait */
        return w->being_written && stat(w->config_path, &st) == 0 && st.st_dev == w->written_dev &&
               st.st_ino == w->written_ino;
}

void watch_forget_writer(struct watch *w)
{
        w->being_written = false;
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

/* Whether the symlink name in dir still holds link. */
static bool link_holds(const char *dir, const char *name, const char *link)
{
        _cleanup_free_ char *path = NULL, *now = NULL;

        return asprintf(&path, "%s/%s", dir, name) >= 0 && read_link(path, &now) == 0 &&
               strcmp(now, link) == 0;
}

/* Whether the path leads to the file watched (or to no regular file, and none is). A file
 * mounted over the config path, or unmounted from it, changes no directory: the mount table's
 * change has the daemon refresh, and this tells that the file is another one. */
static bool file_current(const struct watch *w)
{
        struct stat st;

        if (stat(w->config_path, &st) < 0 || !S_ISREG(st.st_mode))
                return !w->file_known;
        return w->file_known && st.st_dev == w->file_dev && st.st_ino == w->file_ino;
}

/* Whether every watched directory is still the one its path leads to, every symlink followed still
 * points where it did, the missing directory an ancestor waits for is still missing, and the file
 * watched is still the one the path leads to. Their changes are events, but an event can be lost,
 * and a directory on the path that is no symlink can be renamed away unseen, as can a file be
 * mounted over: only this notices them. */
static bool targets_current(const struct watch *w)
{
        if (!file_current(w))
                return false;
        for (size_t i = 0; i < w->n_targets; i++) {
                const struct watch_target *t = &w->targets[i];
                struct stat st;

                if (stat(t->dir, &st) < 0 || st.st_dev != t->dev || st.st_ino != t->ino)
                        return false;
                if (t->kind == WATCH_KIND_ANCESTOR && is_directory(t->dir, t->name))
                        return false;
                if (t->link && !link_holds(t->dir, t->name, t->link))
                        return false;
        }
        return true;
}

int watch_refresh(struct watch *w, bool *ret_rearmed)
{
        int r;

        *ret_rearmed = false;
        if ((watch_active(w) || watch_ancestor(w)) && targets_current(w)) {
                if (w->file_error < 0)
                        file_arm(w); /* the same file: the limit may have been raised since */
                return watch_active(w) ? 0 : -ENOENT;
        }
        r = arm(w);
        *ret_rearmed = true;
        return r < 0 ? r : watch_active(w) ? 0 : -ENOENT;
}

/* name was created in dir. A regular file created by open(2) is being written: its writer's
 * IN_CLOSE_WRITE tells when it is whole, and until then it is not read. One linked into place
 * (link(2), as `rm` and `ln` do) was whole before it got the name and no close will come: it has
 * another name yet (st_nlink > 1; a file being written has one name, unless its writer links it
 * elsewhere too, whose close then brings a read again). A link whose other name was removed before
 * this looks is taken for a file being written, until the resync (watch_forget_writer()). A
 * symlink, or what is gone again, matters now. */
static enum watch_change file_created(struct watch *w, const char *dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return WATCH_CHANGED;
        w->being_written = st.st_nlink == 1;
        w->written_dev = st.st_dev;
        w->written_ino = st.st_ino;
        return w->being_written ? WATCH_UNCHANGED : WATCH_COMPLETE;
}

/* Whether name, in the directory of target t, is the one the kernel gives a file made with
 * O_TMPFILE ("#INODE", d_tmpfile()), and that file is the one being written: linked into place
 * (linkat(2), whose IN_CREATE made it the file being written), its writer's close is reported
 * under that name, never under the config file's. */
static bool tmpfile_name_of_written(const struct watch *w, const struct watch_target *t, const char *name)
{
        char expected[32];

        if (!w->being_written || name[0] != '#' || t->dev != w->written_dev)
                return false;
        snprintf(expected, sizeof(expected), "#%ju", (uintmax_t)w->written_ino);
        return strcmp(name, expected) == 0;
}

/* An event of the config file's own inode: written through any path, hard link or bind mount
 * (through the config path, its directory's watch says so too). It speaks for the config only
 * while the path still leads to that file: the writer of a file a rename replaced, before the
 * watch moved to the new one, is no reason to wait, nor to read. Its removal or rename moves the
 * watch (moves_path()). */
static enum watch_change file_event(struct watch *w, const struct inotify_event *e)
{
        struct stat st;

        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                return WATCH_CHANGED;
        if (stat(w->config_path, &st) < 0 || st.st_dev != w->file_dev || st.st_ino != w->file_ino)
                return WATCH_UNCHANGED;
        if (e->mask & IN_CLOSE_WRITE) {
                w->being_written = false;
                return WATCH_COMPLETE;
        }
        if (e->mask & IN_MODIFY) {
                w->being_written = true;
                w->written_dev = st.st_dev;
                w->written_ino = st.st_ino;
                return WATCH_UNCHANGED;
        }
        return WATCH_CHANGED; /* IN_ATTRIB: its mode, owner, times or links */
}

/* What an event says about the config path: the entry of a watched directory that matters,
 * kubelet's "..data" and "..<timestamp>" entries beside it, the directory itself going away, or
 * the file itself. Events of watches replaced since are stale. */
static enum watch_change classify(struct watch *w, const struct inotify_event *e)
{
        enum watch_change change = WATCH_UNCHANGED;

        /* the close of the file being written may be among the events lost: a read that comes
         * early, while it is still open, is followed by its close's */
        if (e->mask & IN_Q_OVERFLOW) {
                w->being_written = false;
                return WATCH_CHANGED;
        }
        if (w->file_wd >= 0 && e->wd == w->file_wd)
                return file_event(w, e);
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
                if (t->kind != WATCH_KIND_FILE && !own_name)
                        continue;
                /* a directory symlink renamed over (`ln -sfn T tmp && mv -T tmp LINK`): what it
                 * points to now is whole, as after kubelet's "..data" swap */
                if (t->kind == WATCH_KIND_STEP && (e->mask & IN_MOVED_TO))
                        return WATCH_COMPLETE;
                /* one created, removed, renamed away, or the missing directory changed */
                if (t->kind != WATCH_KIND_FILE) {
                        change = WATCH_CHANGED;
                        continue;
                }
                if (!own_name && (e->mask & IN_CLOSE_WRITE) && tmpfile_name_of_written(w, t, e->name)) {
                        w->being_written = false;
                        return WATCH_COMPLETE;
                }
                if (own_name && (e->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
                        w->being_written = false;
                if ((e->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) && (own_name || strcmp(e->name, "..data") == 0))
                        return WATCH_COMPLETE;
                if (own_name && (e->mask & IN_CREATE) && !(e->mask & IN_ISDIR)) {
                        enum watch_change c = file_created(w, t->dir, e->name);

                        if (c == WATCH_COMPLETE)
                                return c;
                        if (c > change)
                                change = c;
                        continue;
                }
                if (own_name || strncmp(e->name, "..", 2) == 0)
                        change = WATCH_CHANGED;
        }
        return change;
}

/* Whether e is about a name the config path resolves through, a watched directory itself, or the
 * file gone or renamed: then the path may lead elsewhere now. kubelet's other entries
 * ("..<timestamp>" made and removed around each "..data" swap) are worth a read, but move
 * nothing, and neither does a write to the file. */
static bool moves_path(const struct watch *w, const struct inotify_event *e)
{
        if (e->mask & IN_Q_OVERFLOW)
                return true;
        if (w->file_wd >= 0 && e->wd == w->file_wd)
                return e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED);
        for (size_t i = 0; i < w->n_targets; i++) {
                const struct watch_target *t = &w->targets[i];

                if (t->wd != e->wd)
                        continue;
                if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) ||
                    (e->len > 0 && strcmp(e->name, t->name) == 0))
                        return true;
        }
        return false;
}

int watch_read(struct watch *w, enum watch_change *ret)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        enum watch_change change = WATCH_UNCHANGED;
        bool moved = false;

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
                        /* a file created (and being written: no read yet) is the one to watch */
                        if ((c != WATCH_UNCHANGED || (e->mask & IN_CREATE)) && moves_path(w, e))
                                moved = true;
                        p += sizeof(*e) + e->len;
                }
        }
        /* what the path resolves through may have changed: follow it again; the events of the
         * old watches that are still queued no longer match any target */
        if (moved)
                (void)arm(w);
        *ret = change;
        return 0;
}
