/* The config watch (cmd/watch.c) against real inotify in a temporary directory: what each change
 * of the file, of its directory and of the symlinks on its path reads as. inotify queues an event
 * before the system call that causes it returns, so each case reads the queue right after its
 * change, without waiting. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/watch.h"
#include "tests.h"

static char root[] = "/tmp/test-watch.XXXXXX";

/* Linked with -Wl,--wrap=inotify_add_watch: watch.c's calls come here, so a case can change the
 * file system at a chosen point of arming, as another process racing the agent would. */
int __real_inotify_add_watch(int fd, const char *path, uint32_t mask);
int __wrap_inotify_add_watch(int fd, const char *path, uint32_t mask);

static void (*race_action)(void);
static unsigned race_call;   /* the call (counted from 0) that the action comes before or after */
static bool race_after;
static unsigned add_calls;

int __wrap_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
        void (*action)(void) = race_action && add_calls++ == race_call ? race_action : NULL;
        int r, saved;

        if (action)
                race_action = NULL; /* once */
        if (action && !race_after)
                action();
        r = __real_inotify_add_watch(fd, path, mask);
        saved = errno;
        if (action && race_after)
                action();
        errno = saved;
        return r;
}

/* root/REL, in one of a few rotating buffers (a call may use several) */
static const char *at(const char *rel)
{
        static char bufs[4][PATH_MAX];
        static unsigned next;
        char *buf = bufs[next++ % ARRAY_SIZE(bufs)];

        snprintf(buf, PATH_MAX, "%s/%s", root, rel);
        return buf;
}

static void must(bool ok, const char *what)
{
        if (!ok) {
                perror(what);
                exit(2);
        }
}

/* write-and-rename, as editors and config tools replace a file */
static void replace_file(const char *path, const char *text)
{
        char tmp[PATH_MAX];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        must((f = fopen(tmp, "w")) && fputs(text, f) >= 0 && fclose(f) == 0, tmp);
        must(rename(tmp, path) == 0, path);
}

/* what the queued events say */
static enum watch_change changes(struct watch *w)
{
        enum watch_change c = WATCH_UNCHANGED;

        CHECK_INT(watch_read(w, &c), 0);
        return c;
}

/* How many watches the inotify instance holds (/proc/self/fdinfo lists them): one the path no
 * longer leads through must be gone, not left to pile up across updates. */
static unsigned n_watches(const struct watch *w)
{
        char path[64], line[512];
        unsigned n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", watch_fd(w));
        must((f = fopen(path, "r")) != NULL, path);
        while (fgets(line, sizeof(line), f))
                n += strncmp(line, "inotify wd:", strlen("inotify wd:")) == 0;
        fclose(f);
        return n;
}

/* Empties root for the next case (through rm: the cases leave symlinks and directories). */
static void clean_root(void)
{
        char cmd[2 * sizeof(root) + 32];

        snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir %s", root, root);
        must(system(cmd) == 0, cmd);
}

/* kubelet's layout: the file a symlink into "..data", itself a symlink renamed over to the new
 * timestamped directory */
static void test_kubelet_swap(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        unsigned n;
        FILE *f;

        must(mkdir(at("cm"), 0755) == 0 && mkdir(at("cm/..1"), 0755) == 0, "mkdir");
        replace_file(at("cm/..1/config"), "a");
        must(symlink("..1", at("cm/..data")) == 0 && symlink("..data/config", at("cm/config")) == 0, "symlink");
        CHECK_INT(watch_new(at("cm/config"), &w), 0);
        CHECK(watch_active(w));
        n = n_watches(w);
        CHECK_INT(n, 3); /* cm, cm/..1 and the file in it */
        must(mkdir(at("cm/..2"), 0755) == 0, "mkdir");
        replace_file(at("cm/..2/config"), "b");
        must(symlink("..2", at("cm/..data_tmp")) == 0 && rename(at("cm/..data_tmp"), at("cm/..data")) == 0, "swap");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        /* the old directory's watch and its file's are gone (the file is still there) */
        CHECK_INT(n_watches(w), n);
        must((f = fopen(at("cm/..1/config"), "w")) != NULL && fputs("old", f) >= 0 && fclose(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(!watch_file_being_written(w));
        /* the new timestamped directory is the one watched now */
        replace_file(at("cm/..2/config"), "c");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("cm/..1/config"), "old");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        clean_root();
}

/* a file written in place is whole when its writer closes it */
static void test_written_in_place(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        bool rearmed = true;
        FILE *f;

        must(mkdir(at("d"), 0755) == 0, "mkdir");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        must((f = fopen(at("d/config"), "w")) != NULL, "fopen");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        /* the new file is watched from its creation: the resync finds nothing to move */
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(!rearmed);
        must(fputs("x", f) >= 0 && fclose(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* an existing file written in place (truncated and written, as `>` does) is being written from
 * its first write on: another change meanwhile (its mode here) must not read it half-written */
static void test_rewritten_in_place(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        FILE *f;

        must(mkdir(at("d"), 0755) == 0, "mkdir");
        replace_file(at("d/config"), "old");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        must((f = fopen(at("d/config"), "r+")) != NULL && fputs("new, ", f) >= 0 && fflush(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        must(chmod(at("d/config"), 0600) == 0, "chmod");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_file_being_written(w));
        must(fputs("whole", f) >= 0 && fclose(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* A file written in place in many write() calls queues a few events, not one or two per call:
 * inotify merges a repeated event only with the one queued last, which it no longer is when two
 * watches (the file's and its directory's) take turns reporting each write. Counted in bytes
 * queued on the watch's descriptor, before any is read. */
static void test_written_in_chunks(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        char chunk[4096];
        int queued = -1, fd;

        memset(chunk, 'x', sizeof(chunk));
        must(mkdir(at("d"), 0755) == 0, "mkdir");
        replace_file(at("d/config"), "old");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        must((fd = open(at("d/config"), O_WRONLY | O_TRUNC)) >= 0, "open");
        for (int i = 0; i < 64; i++)
                must(write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk), "write");
        must(ioctl(watch_fd(w), FIONREAD, &queued) == 0, "FIONREAD");
        /* one IN_MODIFY, merged; one or two per write was 64 to 128 events, 1 KB to 3 KB */
        CHECK(queued >= 0 && queued <= 4 * (int)(sizeof(struct inotify_event) + 16));
        if (queued > 4 * (int)(sizeof(struct inotify_event) + 16))
                fprintf(stderr, "  %d bytes of events queued for 64 writes\n", queued);
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        must(close(fd) == 0, "close");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* A process still writing to the file a rename replaced: its writes are reported under the
 * config's name, but the new file is whole and must not wait for that process. A write to the new
 * file itself (reported by its own watch) still makes it one being written. */
static void test_writer_of_the_replaced_file(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        FILE *old, *f;

        must(mkdir(at("d"), 0755) == 0, "mkdir");
        replace_file(at("d/config"), "a");
        must((old = fopen(at("d/config"), "r+")) != NULL, "fopen");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        replace_file(at("d/config"), "b");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        must(fputs("stale", old) >= 0 && fflush(old) == 0, "write");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(!watch_file_being_written(w));
        must((f = fopen(at("d/config"), "r+")) != NULL && fputs("new, ", f) >= 0 && fflush(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        must(fclose(f) == 0 && fclose(old) == 0, "fclose");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* A file hard-linked into place (link(2), as `rm` and `ln` do) was whole before it got the name:
 * no writer will close it, so it is read at once and not waited for. */
static void test_hard_link(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;

        must(mkdir(at("d"), 0755) == 0, "mkdir");
        replace_file(at("d/config"), "a");
        replace_file(at("d/staged"), "b");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        must(unlink(at("d/config")) == 0 && link(at("d/staged"), at("d/config")) == 0, "rm, ln");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        /* a later change in the directory is read, not held up for a close that never comes */
        must(chmod(at("d/config"), 0600) == 0, "chmod");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(!watch_file_being_written(w));
        /* linked, and its other name gone before the watch looks: indistinguishable from a file
         * being written, so waited for, until the resync (or SIGHUP) reads it whatever its state */
        replace_file(at("d/staged2"), "c");
        must(unlink(at("d/config")) == 0 && link(at("d/staged2"), at("d/config")) == 0 &&
             unlink(at("d/staged2")) == 0, "ln, rm");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_file_being_written(w));
        watch_forget_writer(w);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* A file being written in a directory the path no longer leads to (a directory symlink repointed
 * meanwhile) is no reason to wait: the path leads to a whole file now. */
static void test_writer_left_behind(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        FILE *f;

        must(mkdir(at("r1"), 0755) == 0 && mkdir(at("r2"), 0755) == 0 && symlink("r1", at("cfg")) == 0, "mkdir");
        replace_file(at("r2/config"), "2");
        CHECK_INT(watch_new(at("cfg/config"), &w), 0);
        must((f = fopen(at("r1/config"), "w")) != NULL, "fopen");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        must(symlink("r2", at("cfg.new")) == 0 && rename(at("cfg.new"), at("cfg")) == 0, "repoint");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        fclose(f);
        clean_root();
}

/* a directory missing at start: its nearest existing ancestor is watched until it appears */
static void test_missing_directory(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;

        CHECK_INT(watch_new(at("a/b/config"), &w), 0);
        CHECK(!watch_active(w));
        CHECK_STR(watch_ancestor(w), root);
        must(mkdir(at("a"), 0755) == 0, "mkdir");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK_STR(watch_ancestor(w), at("a"));
        must(mkdir(at("a/b"), 0755) == 0, "mkdir");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_active(w));
        replace_file(at("a/b/config"), "x");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        clean_root();
}

static void make_late(void)
{
        must(mkdir(at("late"), 0755) == 0, "mkdir");
}

static void make_late_deep(void)
{
        must(mkdir(at("late"), 0755) == 0 && mkdir(at("late/deeper"), 0755) == 0, "mkdir");
}

/* The missing directory created at any point while the watch is being set up, before or after
 * each inotify_add_watch() (the one that fails for it, the ancestor's...): the watch ends up on
 * the directory, at once or through the creation's event, never on the ancestor for good. */
static void race_creation(const char *config, void (*action)(void))
{
        for (unsigned call = 0; call < 6; call++) {
                for (int after = 0; after <= 1; after++) {
                        _cleanup_(watch_freep) struct watch *w = NULL;

                        add_calls = 0;
                        race_call = call;
                        race_after = after;
                        race_action = action;
                        CHECK_INT(watch_new(at(config), &w), 0);
                        if (race_action) {
                                /* the path was watched in fewer calls: nothing raced */
                                race_action = NULL;
                                action();
                        }
                        (void)changes(w);
                        if (!watch_active(w))
                                fprintf(stderr, "created %s call %u: watching %s\n", after ? "after" : "before",
                                        call, watch_ancestor(w) ? watch_ancestor(w) : "nothing");
                        CHECK(watch_active(w));
                        replace_file(at(config), "x");
                        CHECK_INT(changes(w), WATCH_COMPLETE);
                        clean_root();
                }
        }
}

static void test_directory_created_while_arming(void)
{
        race_creation("late/config", make_late);
        race_creation("late/deeper/config", make_late_deep);
}

/* Reads the queued events without looking at them, as if they had been lost. */
static void lose_events(struct watch *w)
{
        char buf[4096];

        while (read(watch_fd(w), buf, sizeof(buf)) > 0)
                ;
}

/* The backstop of the resync and SIGHUP: an ancestor watch stays while the directory is missing,
 * and moves to the directory once it is there, also when its creation's event was lost. */
static void test_refresh_lost_creation(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        bool rearmed = true;

        CHECK_INT(watch_new(at("late/config"), &w), 0);
        CHECK_INT(watch_refresh(w, &rearmed), -ENOENT);
        CHECK(!rearmed);
        CHECK_STR(watch_ancestor(w), root);
        make_late();
        lose_events(w);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(rearmed);
        CHECK(watch_active(w));
        replace_file(at("late/config"), "x");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(!rearmed);
        clean_root();
}

/* Writes one line to path in place, through open(2) without O_TRUNC and one write. */
static void write_in_place(const char *path, const char *text)
{
        FILE *f;

        must((f = fopen(path, "r+")) != NULL && fputs(text, f) >= 0 && fclose(f) == 0, path);
}

/* The config file written in place through another name: a hard link in a directory that is not
 * watched, as the source of a file bind-mounted over the config path is (docker's `-v FILE:PATH`).
 * No watched directory hears of it; the file's own watch does: being written from its first write,
 * whole at its writer's close. Replaced (renamed over), or replaced unseen (its event lost, as a
 * file mounted over the config path is), the watch moves to the new file and the old one's goes. */
static void test_written_through_another_name(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        bool rearmed = true;
        unsigned n;
        FILE *f;

        must(mkdir(at("d"), 0755) == 0 && mkdir(at("src"), 0755) == 0, "mkdir");
        replace_file(at("src/config"), "a");
        must(link(at("src/config"), at("d/config")) == 0, "link");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        n = n_watches(w);
        CHECK_INT(n, 2); /* d and the file */
        must((f = fopen(at("src/config"), "r+")) != NULL && fputs("b, ", f) >= 0 && fflush(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(watch_file_being_written(w));
        must(fputs("whole", f) >= 0 && fclose(f) == 0, "write");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        must(chmod(at("src/config"), 0600) == 0, "chmod");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(!rearmed);

        replace_file(at("d/config"), "c");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK_INT(n_watches(w), n);
        write_in_place(at("src/config"), "stale");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        CHECK(!watch_file_being_written(w));
        must(link(at("d/config"), at("src/new")) == 0, "link");
        write_in_place(at("src/new"), "new");
        CHECK_INT(changes(w), WATCH_COMPLETE);

        replace_file(at("d/config"), "d");
        lose_events(w);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(rearmed);
        CHECK_INT(n_watches(w), n);
        must(link(at("d/config"), at("src/newer")) == 0, "link");
        lose_events(w); /* the link's own event: a change of the file's link count */
        write_in_place(at("src/newer"), "newer");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(!rearmed);

        /* removed, and a new file created and being written, while the old one, still linked
         * elsewhere and watched until these events are read, is written too: its writes and close
         * are no longer the config's, and the new file is still waited for */
        must(unlink(at("d/config")) == 0, "unlink");
        must((f = fopen(at("d/config"), "w")) != NULL && fputs("half", f) >= 0 && fflush(f) == 0, "create");
        write_in_place(at("src/newer"), "old");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_file_being_written(w));
        must(fclose(f) == 0, "fclose");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

/* Points the symlink at path to target by renaming a new one over it, atomically, as kubelet
 * swaps "..data" and as `ln -sfn T tmp && mv -T tmp LINK` does. */
static void repoint(const char *path, const char *target)
{
        char tmp[PATH_MAX];

        snprintf(tmp, sizeof(tmp), "%s.new", path);
        must(symlink(target, tmp) == 0 && rename(tmp, path) == 0, path);
}

/* etc/config repointed to etc/TARGET with the event lost: the resync's refresh moves the watch,
 * and a file then written there is read. */
static void repoint_unseen(struct watch *w, const char *target, const char *content)
{
        char file[PATH_MAX];
        bool rearmed = false;

        snprintf(file, sizeof(file), "etc/%s/ip-masq-agent", target);
        repoint(at("etc/config"), target);
        lose_events(w);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(rearmed);
        replace_file(at(file), content);
        CHECK_INT(changes(w), WATCH_COMPLETE);
}

/* The config directory a symlink, repointed: seen at once (the symlink's own directory is
 * watched for it), and the watch moves to the directory it points to now. */
static void test_directory_symlink_repointed(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        bool rearmed = true;

        must(mkdir(at("etc"), 0755) == 0 && mkdir(at("etc/r1"), 0755) == 0 && mkdir(at("etc/r2"), 0755) == 0,
             "mkdir");
        replace_file(at("etc/r1/ip-masq-agent"), "1");
        replace_file(at("etc/r2/ip-masq-agent"), "2");
        must(symlink("r1", at("etc/config")) == 0, "symlink");
        CHECK_INT(watch_new(at("etc/config/ip-masq-agent"), &w), 0);
        CHECK(watch_active(w));
        replace_file(at("etc/r1/ip-masq-agent"), "1a");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        /* renamed over: the new directory is whole, read at once */
        repoint(at("etc/config"), "r2");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("etc/r2/ip-masq-agent"), "2a");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("etc/r1/ip-masq-agent"), "1b");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        /* removed and made again (`ln -sfn r1 etc/config`): a change, read after the debounce */
        must(unlink(at("etc/config")) == 0 && symlink("r1", at("etc/config")) == 0, "ln -sfn");
        CHECK_INT(changes(w), WATCH_CHANGED);
        replace_file(at("etc/r1/ip-masq-agent"), "1c");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK_INT(watch_refresh(w, &rearmed), 0);
        CHECK(!rearmed);
        /* a repointing whose event was lost: the resync's refresh moves the watch */
        repoint_unseen(w, "r2", "2b");
        /* the same where neither the old target nor the new one holds the file: no file's identity
         * tells the move, only what the symlink holds */
        must(mkdir(at("etc/r3"), 0755) == 0 && mkdir(at("etc/r4"), 0755) == 0, "mkdir");
        repoint(at("etc/config"), "r3");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        CHECK(watch_active(w));
        repoint_unseen(w, "r4", "4");
        clean_root();
}

/* A symlink inside another symlink's target, and an absolute one, on the config directory's path:
 * each is watched where it lives. */
static void test_nested_directory_symlinks(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        char abs_target[PATH_MAX];

        must(mkdir(at("etc"), 0755) == 0 && mkdir(at("links"), 0755) == 0 && mkdir(at("store"), 0755) == 0 &&
             mkdir(at("store/a"), 0755) == 0 && mkdir(at("store/b"), 0755) == 0, "mkdir");
        replace_file(at("store/a/config"), "a");
        replace_file(at("store/b/config"), "b");
        snprintf(abs_target, sizeof(abs_target), "%s", at("links/current"));
        must(symlink(abs_target, at("etc/cfg")) == 0 && symlink("../store/a", at("links/current")) == 0,
             "symlink");
        CHECK_INT(watch_new(at("etc/cfg/config"), &w), 0);
        CHECK(watch_active(w));
        repoint(at("links/current"), "../store/b");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("store/b/config"), "b2");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("store/a/config"), "a2");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        repoint(at("etc/cfg"), "../store/a");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("store/a/config"), "a3");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        clean_root();
}

/* A directory symlink pointing at a directory that does not exist yet: the directory it points to
 * is waited for, not the symlink's name, which is there. */
static void test_dangling_directory_symlink(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;

        must(symlink("real", at("cfg")) == 0, "symlink");
        CHECK_INT(watch_new(at("cfg/config"), &w), 0);
        CHECK(!watch_active(w));
        CHECK_STR(watch_ancestor(w), root);
        must(mkdir(at("real"), 0755) == 0, "mkdir");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_active(w));
        replace_file(at("real/config"), "x");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        clean_root();
}

/* a relative config path, with "." and ".." in it, resolved from the working directory */
static void test_relative_path(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;

        must(mkdir(at("d"), 0755) == 0 && symlink("d", at("link")) == 0 && chdir(at("link")) == 0, "chdir");
        CHECK_INT(watch_new("./../e/config", &w), 0);
        CHECK_STR(watch_ancestor(w), root);
        must(mkdir(at("e"), 0755) == 0, "mkdir");
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(watch_active(w));
        replace_file(at("e/config"), "x");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        must(chdir("/") == 0, "chdir");
        clean_root();
}

/* the config file a symlink to a file in another directory */
static void test_file_symlink(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;

        must(mkdir(at("etc"), 0755) == 0 && mkdir(at("store"), 0755) == 0, "mkdir");
        replace_file(at("store/config"), "a");
        must(symlink("../store/config", at("etc/config")) == 0, "symlink");
        CHECK_INT(watch_new(at("etc/config"), &w), 0);
        replace_file(at("store/config"), "b");
        CHECK_INT(changes(w), WATCH_COMPLETE);
        replace_file(at("store/other"), "c");
        CHECK_INT(changes(w), WATCH_UNCHANGED);
        clean_root();
}

/* More events than inotify queues (fs.inotify.max_queued_events): the kernel drops the rest and
 * queues IN_Q_OVERFLOW instead, so the config's own event may be among those lost. An overflow
 * reads as a change, and the file is read again. */
static void test_queue_overflow(void)
{
        _cleanup_(watch_freep) struct watch *w = NULL;
        unsigned long max = 16384;
        FILE *f;

        if ((f = fopen("/proc/sys/fs/inotify/max_queued_events", "r"))) {
                if (fscanf(f, "%lu", &max) != 1)
                        max = 16384;
                fclose(f);
        }
        must(max < 1000000, "max_queued_events too large for this test");
        must(mkdir(at("d"), 0755) == 0, "mkdir");
        replace_file(at("d/config"), "a");
        replace_file(at("d/x"), "x");
        replace_file(at("d/y"), "y");
        CHECK_INT(watch_new(at("d/config"), &w), 0);
        /* other names' events, alternating so that inotify cannot merge them */
        for (unsigned long i = 0; i <= max; i++)
                must(chmod(at(i % 2 ? "d/x" : "d/y"), i % 4 < 2 ? 0644 : 0600) == 0, "chmod");
        replace_file(at("d/config"), "b"); /* its event lost */
        CHECK_INT(changes(w), WATCH_CHANGED);

        /* a file being written whose close is lost: no longer waited for */
        must(unlink(at("d/config")) == 0, "unlink");
        must((f = fopen(at("d/config"), "w")) != NULL, "fopen");
        CHECK_INT(changes(w), WATCH_CHANGED); /* the removal */
        CHECK(watch_file_being_written(w));
        for (unsigned long i = 0; i <= max; i++)
                must(chmod(at(i % 2 ? "d/x" : "d/y"), i % 4 < 2 ? 0644 : 0600) == 0, "chmod");
        must(fputs("c", f) >= 0 && fclose(f) == 0, "write"); /* its close lost */
        CHECK_INT(changes(w), WATCH_CHANGED);
        CHECK(!watch_file_being_written(w));
        clean_root();
}

int main(void)
{
        must(mkdtemp(root) != NULL, "mkdtemp");
        TEST_RUN(test_kubelet_swap);
        TEST_RUN(test_written_in_place);
        TEST_RUN(test_rewritten_in_place);
        TEST_RUN(test_written_in_chunks);
        TEST_RUN(test_writer_of_the_replaced_file);
        TEST_RUN(test_hard_link);
        TEST_RUN(test_writer_left_behind);
        TEST_RUN(test_missing_directory);
        TEST_RUN(test_directory_created_while_arming);
        TEST_RUN(test_refresh_lost_creation);
        TEST_RUN(test_written_through_another_name);
        TEST_RUN(test_file_symlink);
        TEST_RUN(test_directory_symlink_repointed);
        TEST_RUN(test_nested_directory_symlinks);
        TEST_RUN(test_dangling_directory_symlink);
        TEST_RUN(test_relative_path);
        TEST_RUN(test_queue_overflow);
        rmdir(root);
        TEST_EXIT();
}
