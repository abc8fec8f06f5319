#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cmd/watch.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | \
                    IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR)

struct watch {
        int fd;
        int wd;        /* -1 while the directory is not watched */
        char *dir;
        char *name;    /* the config file's name in dir */
};

int watch_new(const char *config_path, struct watch **ret)
{
        _cleanup_(watch_freep) struct watch *w = calloc(1, sizeof(*w));
        _cleanup_free_ char *a = strdup(config_path), *b = strdup(config_path);

        if (!w || !a || !b)
                return -ENOMEM;
        w->wd = -1;
        w->dir = strdup(dirname(a));
        w->name = strdup(basename(b));
        if (!w->dir || !w->name)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        (void)watch_retry(w);
        *ret = TAKE_PTR(w);
        return 0;
}

struct watch *watch_free(struct watch *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0)
                close(w->fd);
        free(w->dir);
        free(w->name);
        free(w);
        return NULL;
}

int watch_fd(const struct watch *w)
{
        return w->fd;
}

bool watch_active(const struct watch *w)
{
        return w->wd >= 0;
}

int watch_retry(struct watch *w)
{
        if (w->wd >= 0)
                return 0;
        w->wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);
        return w->wd < 0 ? -errno : 0;
}

/* The file itself, or kubelet's "..data" and "..<timestamp>" entries behind its symlink. */
static bool relevant(const struct watch *w, const struct inotify_event *e)
{
        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_Q_OVERFLOW))
                return true;
        if (e->len == 0)
                return false;
        return strcmp(e->name, w->name) == 0 || strncmp(e->name, "..", 2) == 0;
}

int watch_read(struct watch *w, bool *ret_changed)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool changed = false;

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

                        if (relevant(w, e))
                                changed = true;
                        /* the directory itself went away: watch it again once it is back */
                        if (e->mask & IN_IGNORED && e->wd == w->wd)
                                w->wd = -1;
                        p += sizeof(*e) + e->len;
                }
        }
        *ret_changed = changed;
        return 0;
}
