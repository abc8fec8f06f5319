/* log-output.c: where finished log lines go, as klog decides it: stderr only (--logtostderr,
 * the default; filtered by --stderrthreshold only with --legacy_stderr_threshold_behavior=false),
 * or files (--log_file, or per-severity files in --log_dir) plus stderr for lines at or above
 * --stderrthreshold, or with --alsologtostderr at or above --alsologtostderrthreshold (INFO,
 * so every line, by default). Files are rotated at
 * --log_file_max_size. A line is written with one write(2), so lines from the agent never
 * interleave with each other mid-line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd/log.h"

#define N_SEVERITIES 3 /* INFO, WARNING, ERROR: klog's files; the agent has no FATAL lines */

static const char *const severity_names[N_SEVERITIES] = { "INFO", "WARNING", "ERROR" };

struct log_file {
        int fd; /* -1: not opened yet */
        uint64_t size;
};

static struct log_output_options out_opts = { .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
static struct log_file files[N_SEVERITIES] = { { -1, 0 }, { -1, 0 }, { -1, 0 } };
static bool files_failed; /* reported once; lines then go to stderr */

static void write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t k = write(fd, buf, len);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return;
                buf += k;
                len -= (size_t)k;
        }
}

static const char *user_name(void)
{
        struct passwd *pw = getpwuid(getuid());

        return pw ? pw->pw_name : "unknownuser";
}

/* The host name up to its first dot, as klog's shortHostname() puts it in file names and headers:
 * "ip-10-0-1-2" for "ip-10-0-1-2.ec2.internal", so that what collects upstream's files finds ours. */
static void short_host_name(char buf[static HOST_NAME_MAX + 1])
{
        if (gethostname(buf, HOST_NAME_MAX) < 0 || !buf[0]) {
                strcpy(buf, "unknownhost");
                return;
        }
        buf[HOST_NAME_MAX] = '\0';
        buf[strcspn(buf, ".")] = '\0';
}

static void write_file_header(int fd)
{
        char host[HOST_NAME_MAX + 1], *text = NULL;
        struct timeval tv;
        struct tm tm;
        int n;

        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        short_host_name(host);
        n = asprintf(&text,
                     "Log file created at: %04d/%02d/%02d %02d:%02d:%02d\n"
                     "Running on machine: %s\n"
                     "Binary: %s\n"
                     "Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, host,
                     out_opts.program_description ? out_opts.program_description : "ip-masq-agent");
        if (n > 0)
                write_all(fd, text, (size_t)n);
        free(text);
}

/* --log_file: one file for every severity, appended to at start and truncated on rotation
 * (klog's os.Create). --log_dir: PROGRAM.HOST.USER.log.SEVERITY.YYYYMMDD-HHMMSS.PID, a new
 * one on each rotation, with the symlink PROGRAM.SEVERITY pointing at the newest. */
static int open_file(enum log_level severity, bool startup)
{
        struct log_file *f = &files[severity];
        _cleanup_free_ char *path = NULL, *link = NULL, *name = NULL;
        char host[HOST_NAME_MAX + 1];
        struct stat st;
        struct tm tm;
        time_t now;
        int fd;

        if (out_opts.file) {
                fd = open(out_opts.file, O_WRONLY | O_CREAT | O_CLOEXEC | (startup ? O_APPEND : O_TRUNC), 0644);
        } else {
                now = time(NULL);
                localtime_r(&now, &tm);
                short_host_name(host);
                if (asprintf(&name, "ip-masq-agent.%s.%s.log.%s.%04d%02d%02d-%02d%02d%02d.%d", host, user_name(),
                             severity_names[severity], tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                             tm.tm_min, tm.tm_sec, (int)getpid()) < 0 ||
                    asprintf(&path, "%s/%s", out_opts.dir, name) < 0 ||
                    asprintf(&link, "%s/ip-masq-agent.%s", out_opts.dir, severity_names[severity]) < 0)
                        return -ENOMEM;
                fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        (void)unlink(link); /* a stale link is replaced; failing to is harmless */
                        (void)symlink(name, link);
                }
        }
        if (fd < 0)
                return -errno;
        if (f->fd >= 0)
                close(f->fd);
        f->fd = fd;
        if (fstat(fd, &st) < 0)
                st.st_size = 0;
        /* A --log_dir rotation within the second of the previous one opens the same name again:
         * counted from zero, that file grows to twice the bound at most, instead of being reopened
         * for every line until the clock turns. */
        f->size = startup ? (uint64_t)st.st_size : 0;
        if (!out_opts.skip_log_headers && st.st_size == 0)
                write_file_header(fd);
        return 0;
}

int log_set_output(const struct log_output_options *o)
{
        int r;

        for (int s = 0; s < N_SEVERITIES; s++)
                if (files[s].fd >= 0) {
                        close(files[s].fd);
                        files[s].fd = -1;
                }
        out_opts = *o;
        files_failed = false;
        if (o->to_stderr || (!o->file && !o->dir))
                return 0;
        /* open now, so that a bad path is an error at start rather than a silent loss later */
        r = open_file(LOG_LEVEL_INFO, true);
        if (r < 0)
                out_opts.to_stderr = true;
        return r;
}

static bool to_files(void)
{
        return !out_opts.to_stderr && (out_opts.file || out_opts.dir) && !files_failed;
}

static void write_file(enum log_level severity, const char *line, size_t len)
{
        struct log_file *f;
        int r = 0;

        if (out_opts.file) /* one file takes every line */
                severity = LOG_LEVEL_INFO;
        f = &files[severity];
        if (f->fd < 0)
                r = open_file(severity, true);
        else if (out_opts.max_size_mb && f->size + len > out_opts.max_size_mb * 1024 * 1024)
                r = open_file(severity, false);
        if (r < 0) {
                char msg[256];
                int n = snprintf(msg, sizeof(msg), "ip-masq-agent: cannot write the log file (%s); logging to "
                                 "stderr from now on\n", strerror(-r));

                files_failed = true;
                write_all(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
                write_all(STDERR_FILENO, line, len);
                return;
        }
        write_all(f->fd, line, len);
        f->size += len;
}

void log_output_write(enum log_level level, const char *line, size_t len)
{
        if (!to_files()) {
                if (out_opts.to_stderr && out_opts.stderr_threshold_always && (int)level < out_opts.stderr_threshold)
                        return;
                write_all(STDERR_FILENO, line, len);
                return;
        }
        /* INFO's file holds every line, WARNING's warnings and errors, ERROR's errors: klog's
         * fallthrough. --one_output: each line only in its own severity's file. */
        for (int s = (int)level; s >= 0; s--) {
                write_file((enum log_level)s, line, len);
                if (out_opts.one_output || out_opts.file || !to_files())
                        break;
        }
        if (to_files() && (int)level >= (out_opts.also_to_stderr ? out_opts.also_stderr_threshold
                                                                 : out_opts.stderr_threshold))
                write_all(STDERR_FILENO, line, len);
}
