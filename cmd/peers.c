#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/log.h"
#include "cmd/peers.h"
#include "cmd/verbs.h"
#include "lib/macro.h"

/* The executable's name as the kernel keeps it (comm: at most 15 characters, which it fits). */
#define AGENT_COMM "ip-masq-agent"

/* Reads a small /proc file relative to dir; returns its length, or -errno. */
static ssize_t read_small(int dir, const char *name, char *buf, size_t size)
{
        int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                n = -errno;
        close(fd);
        if (n >= 0)
                buf[n] = '\0';
        return n;
}

/* Whether a command line (arguments NUL-separated, as /proc keeps it) starts the daemon. One cut by
 * the buffer (4 kB, 255 arguments) can only lose arguments written after that many flags. */
static bool runs_daemon(char *cmdline, size_t len)
{
        char *argv[256];
        int argc = 0;

        for (char *arg = cmdline; arg < cmdline + len && argc < (int)ARRAY_SIZE(argv) - 1; arg += strlen(arg) + 1)
                argv[argc++] = arg;
        argv[argc] = NULL;
        return argc > 0 && args_run_daemon(argc, argv);
}

static bool is_daemon_here(int pid_dir, const struct stat *our_netns)
{
        char comm[32], cmdline[4096];
        struct stat netns;
        ssize_t n;

        if (read_small(pid_dir, "comm", comm, sizeof(comm)) < 0 || strcmp(comm, AGENT_COMM "\n") != 0)
                return false;
        /* another namespace's agent (a test's, a second pod network's) does not see our tables */
        if (fstatat(pid_dir, "ns/net", &netns, 0) < 0 || netns.st_dev != our_netns->st_dev ||
            netns.st_ino != our_netns->st_ino)
                return false;
        n = read_small(pid_dir, "cmdline", cmdline, sizeof(cmdline));
        return n > 0 && runs_daemon(cmdline, (size_t)n);
}

int find_running_daemon(pid_t *ret_pid)
{
        struct stat our_netns;
        struct dirent *e;
        pid_t self = getpid();
        int found = 0;
        DIR *proc;

        if (stat("/proc/self/ns/net", &our_netns) < 0)
                return 0;
        proc = opendir("/proc");
        if (!proc)
                return errno == ENOMEM ? -ENOMEM : 0;
        while (!found && (e = readdir(proc))) {
                char *end;
                long pid = strtol(e->d_name, &end, 10);
                int pid_dir;

                if (*end || pid <= 0 || pid == self)
                        continue;
                pid_dir = openat(dirfd(proc), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pid_dir < 0)
                        continue; /* exited meanwhile */
                if (is_daemon_here(pid_dir, &our_netns)) {
                        *ret_pid = (pid_t)pid;
                        found = 1;
                }
                close(pid_dir);
        }
        closedir(proc);
        return found;
}

void warn_if_daemon_undoes(const char *verb)
{
        pid_t pid;

        if (find_running_daemon(&pid) <= 0)
                return;
        log_warning_kv("Another ip-masq-agent runs in this network namespace: it will undo this change",
                       LOG_STR("command", verb), LOG_INT("pid", (int64_t)pid),
                       LOG_STR("fix", "stop that agent first (on Kubernetes: its DaemonSet's pod on this node)"));
}
