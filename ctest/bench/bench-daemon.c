/* bench-daemon: the running agent's reaction times and footprint, measured from the outside.
 *
 *   bench-daemon AGENT GEN_PREFIXES WORKDIR [--ipv6]
 *
 * - ConfigMap change -> kernel updated: 200 kubelet-style updates (new timestamped directory,
 *   "..data" symlink renamed over); each timed from the rename to the agent's commit, seen as
 *   its NEWGEN on the nf_tables event stream. p50/p90/p99/max.
 * - foreign change -> repaired: an element added to nomasq-dst by this program (one
 *   transaction), an element deleted, the table deleted; each timed from its commit to the
 *   agent's repair commit; 20 samples of each, spaced more than a second so that each one is a
 *   first repair, not a fight (which is backed off on purpose).
 * Each latency is followed by where the time went, from the agent's own "Reconciled" log lines:
 * the kernel's commit, the rest of the reconcile (reading the kernel state, diff, building the
 * batch) and, for a config change, reading and parsing the file. What remains of the latency is
 * noticing the change, and the agent's short wait for the end of a burst.
 * - RSS (VmRSS, and the peak VmHWM) of an agent holding 64 and 100,000 CIDRs, just after its
 *   start and idle (once it has given freed memory back), split into anonymous memory (heap,
 *   stacks, written pages: the agent's own) and pages of files (the program and its libraries,
 *   clean, which other processes mapping them share); at 64 CIDRs also with the health and
 *   metrics endpoints on, as the DaemonSet runs it (libmicrohttpd, and what it links).
 * - CPU per idle resync: sum_exec_runtime from /proc/PID/schedstat over a stretch of resyncs
 *   with ResyncInterval 100ms, for 64 and 100,000 CIDRs; and the CPU of a full state check
 *   (SIGHUP, and the 10-minute backstop), which reads every element back.
 * - --ipv6: only the footprint at 100,000 CIDRs, of IPv4 prefixes and then of IPv6 ones (the
 *   agent runs with --enable-ipv6; the config change toggles MasqLinkLocalIPv6, so fe80::/10
 *   leaves or joins the ip6 set), the two side by side in one run.
 * Runs inside the private namespace bench-daemon.sh creates. */
#include <errno.h>
#include <fcntl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/duration.h"
#include "lib/ipset.h"
#include "lib/plan.h"
#include "nft/batch.h"
#include "nft/build.h"
#include "nft/events.h"
#include "nft/sock.h"

static const char *agent_bin, *gen_bin, *workdir;
static bool ipv6; /* the prefixes are IPv6 ones, the agent runs with --enable-ipv6 */

/* A row's label, marked as IPv6 in --ipv6 runs (two may be in use at once). */
static const char *label(const char *text)
{
        static char bufs[2][96];
        static unsigned next;
        char *b = bufs[next++ % 2];

        snprintf(b, sizeof(bufs[0]), "%s%s", text, ipv6 ? ", IPv6" : "");
        return b;
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
        fprintf(stderr, "bench-daemon: %s: %s\n", what, strerror(errno));
        exit(1);
}

/* kubelet's atomic update of one file of a ConfigMap volume: the new content written in a new
 * timestamped directory, "..data" renamed over to point at it, the old directory removed (in
 * this process, as kubelet does it: a shell's fork and exec would add milliseconds to every
 * sample). Returns the time of the rename, the moment the new content becomes the file. */
static double kubelet_update(const char *dir, const char *content, unsigned serial)
{
        char stamp[512], file[600], tmp[512], data[512], old[512] = "";
        ssize_t n;
        double t;
        FILE *f;

        snprintf(stamp, sizeof(stamp), "%s/..bench_%u", dir, serial);
        snprintf(file, sizeof(file), "%s/ip-masq-agent", stamp);
        snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
        snprintf(data, sizeof(data), "%s/..data", dir);
        if (mkdir(stamp, 0755) < 0 || !(f = fopen(file, "w")) || fputs(content, f) < 0 || fclose(f) != 0)
                die("writing the config");
        n = readlink(data, old, sizeof(old) - 1);
        if (n > 0)
                old[n] = '\0';
        if (symlink(strrchr(stamp, '/') + 1, tmp) < 0)
                die("symlink");
        t = now_ms();
        if (rename(tmp, data) < 0)
                die("rename");
        snprintf(file, sizeof(file), "%s/ip-masq-agent", dir);
        if (access(file, F_OK) < 0 && symlink("..data/ip-masq-agent", file) < 0)
                die("symlink");
        if (n > 0) {
                char old_dir[1100], old_file[1200];

                snprintf(old_dir, sizeof(old_dir), "%s/%s", dir, old);
                snprintf(old_file, sizeof(old_file), "%s/ip-masq-agent", old_dir);
                if (unlink(old_file) < 0 || rmdir(old_dir) < 0)
                        die("removing the previous version");
        }
        return t;
}

/* Waits for a transaction committed by the agent; returns the time it was seen, or -1 on
 * timeout. The kernel reports the committer's pid as the initial PID namespace sees it, not as
 * ours does (the benchmark runs in its own), so the agent is recognized by its name. */
static double wait_commit(struct ima_events *ev, pid_t pid, double timeout_ms)
{
        double deadline = now_ms() + timeout_ms;

        while (now_ms() < deadline) {
                struct ima_event_batch b = { 0 };
                bool found = false;

                if (ima_events_read(ev, &b) < 0)
                        die("reading events");
                (void)pid;
                for (size_t i = 0; i < b.n_txns; i++)
                        found = found || strcmp(b.txns[i].comm, "ip-masq-agent") == 0;
                ima_event_batch_clear(&b);
                if (found)
                        return now_ms();
                usleep(100);
        }
        return -1;
}

static void drain(struct ima_events *ev)
{
        struct ima_event_batch b = { 0 };

        ima_events_read(ev, &b);
        ima_event_batch_clear(&b);
}

/* Sizes of the paths under WORKDIR. */
#define DIR_SIZE 512
#define FILE_SIZE 600

/* The DaemonSet's endpoints, on loopback in the bench's namespace. */
#define HEALTH_ADDRESS "127.0.0.1:10266"
#define METRICS_ADDRESS "127.0.0.1:10267"

static pid_t start_agent_with(const char *config, const char *log, bool endpoints)
{
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

                dup2(fd, 2);
                if (endpoints)
                        execl(agent_bin, agent_bin, "run", "--config", config, "--table-ownership=off",
                              "--health-bind-address=" HEALTH_ADDRESS, "--metrics-bind-address=" METRICS_ADDRESS,
                              NULL);
                else
                        execl(agent_bin, agent_bin, "run", "--config", config, "--table-ownership=off",
                              ipv6 ? "--enable-ipv6" : NULL, NULL);
                _exit(127);
        }
        if (pid < 0)
                die("fork");
        return pid;
}

static pid_t start_agent(const char *config, const char *log)
{
        return start_agent_with(config, log, false);
}

static void stop_agent(pid_t pid)
{
        int status;

        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample that at least pct percent of the samples do not exceed. */
static double percentile(const double *sorted, size_t n, unsigned pct)
{
        size_t rank = (n * pct + 99) / 100;

        return sorted[rank ? rank - 1 : 0];
}

/* Below 100 samples a p99 is only the maximum again: it is left out rather than shown as one. */
static void print_percentiles(const char *what, double *v, size_t n)
{
        char p99[32] = "      -";

        qsort(v, n, sizeof(*v), cmp_double);
        if (n >= 100)
                snprintf(p99, sizeof(p99), "%7.2f", percentile(v, n, 99));
        printf("  %-44s p50 %7.2f ms   p90 %7.2f ms   p99 %s ms   max %7.2f ms   (n=%zu)\n", what,
               percentile(v, n, 50), percentile(v, n, 90), p99, v[n - 1], n);
}

/* The duration in a log field such as commit="1.2ms", in milliseconds. */
static int log_field_ms(const char *line, const char *key, double *ret)
{
        const char *v = strstr(line, key), *end;
        const char *reason;
        int64_t nsec;

        if (!v)
                return -ENOENT;
        v += strlen(key);
        end = strchr(v, '"');
        if (!end || ima_duration_parse(v, (size_t)(end - v), &nsec, &reason) < 0)
                return -EINVAL;
        *ret = (double)nsec / 1e6;
        return 0;
}

/* The agent's log lines that hold msg, so far. */
static size_t log_count(const char *log, const char *msg)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, n = 0;
        FILE *f = fopen(log, "r");

        if (!f)
                die("reading the agent's log");
        while (getline(&line, &cap, f) > 0)
                n += strstr(line, msg) != NULL;
        fclose(f);
        return n;
}

/* A duration field of the n log lines that hold msg after the first skip of them, minus the
 * line's field minus_key if not NULL; sorted. The agent writes its line after the commit the
 * benchmark saw, so the last ones are waited for (5 s at most). */
static void log_durations(const char *log, const char *msg, size_t skip, size_t n, const char *key,
                          const char *minus_key, double *v)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, seen = 0;

        for (int tries = 0; seen < n && tries < 500; tries++) {
                FILE *f = fopen(log, "r");
                size_t i = 0;

                if (!f)
                        die("reading the agent's log");
                if (tries)
                        usleep(10000);
                seen = 0;
                while (seen < n && getline(&line, &cap, f) > 0) {
                        double ms, minus = 0;

                        if (!strstr(line, msg) || i++ < skip)
                                continue;
                        if (log_field_ms(line, key, &ms) < 0 || (minus_key && log_field_ms(line, minus_key, &minus) < 0)) {
                                fprintf(stderr, "bench-daemon: no %s in the agent's line: %s", key, line);
                                exit(1);
                        }
                        v[seen++] = ms - minus;
                }
                fclose(f);
        }
        if (seen < n) {
                fprintf(stderr, "bench-daemon: %zu of the agent's %s lines, not %zu\n", seen, msg, n);
                exit(1);
        }
        qsort(v, n, sizeof(*v), cmp_double);
}

/* Marks where a series starts in the agent's log, for print_split(). */
struct log_mark {
        size_t reconciled, configured;
};

static struct log_mark log_mark(const char *log)
{
        return (struct log_mark){ log_count(log, "\"Reconciled\""), log_count(log, "\"New configuration\"") };
}

/* Where the time of the n commits since the mark went, from the agent's log: the kernel's commit,
 * the agent's own part of the reconcile around it and, for config changes, reading and parsing
 * the file (and building the desired state from it). */
static void print_split(const char *log, struct log_mark mark, size_t n, bool config_change)
{
        _cleanup_free_ double *commit = calloc(n, sizeof(double)), *own = calloc(n, sizeof(double));
        _cleanup_free_ double *load = calloc(n, sizeof(double));

        if (!commit || !own || !load)
                die("calloc");
        log_durations(log, "\"Reconciled\"", mark.reconciled, n, " commit=\"", NULL, commit);
        log_durations(log, "\"Reconciled\"", mark.reconciled, n, " elapsed=\"", " commit=\"", own);
        printf("  %-44s p50 %7.2f ms   max %7.2f ms;   the agent's reconcile p50 %6.2f ms   max %6.2f ms\n",
               "    of which the kernel's commit", percentile(commit, n, 50), commit[n - 1], percentile(own, n, 50),
               own[n - 1]);
        if (!config_change)
                return;
        log_durations(log, "\"New configuration\"", mark.configured, n, " loadTime=\"", NULL, load);
        printf("  %-44s p50 %7.2f ms   max %7.2f ms\n", "    and reading and parsing the file", percentile(load, n, 50),
               load[n - 1]);
}

static char *config_text(size_t n_cidrs, const char *extra, bool masq_link_local)
{
        char cmd[512], line[128];
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len), *p;

        fprintf(out, "CidrLimit: %zu\n%s: %s\n%sNonMasqueradeCIDRs:\n", n_cidrs + 1,
                ipv6 ? "MasqLinkLocalIPv6" : "MasqLinkLocal", masq_link_local ? "true" : "false", extra);
        snprintf(cmd, sizeof(cmd), "%s %zu 11 %s", gen_bin, n_cidrs, ipv6 ? "ipv6" : "ipv4");
        p = popen(cmd, "r");
        while (p && fgets(line, sizeof(line), p))
                fprintf(out, "  - %s", line);
        if (!p || pclose(p) != 0)
                die("gen-prefixes");
        fclose(out);
        return text;
}

/* WORKDIR/cm-NAME: a ConfigMap directory holding content as kubelet writes it; config the file
 * the agent reads there, log the agent's log beside it (WORKDIR/agent-NAME.log). */
static void make_configmap(const char *name, const char *content, char dir[static DIR_SIZE],
                           char config[static FILE_SIZE], char log[static FILE_SIZE])
{
        snprintf(dir, DIR_SIZE, "%s/cm-%s", workdir, name);
        snprintf(config, FILE_SIZE, "%s/ip-masq-agent", dir);
        snprintf(log, FILE_SIZE, "%s/agent-%s.log", workdir, name);
        if (mkdir(dir, 0755) < 0)
                die("mkdir");
        kubelet_update(dir, content, 0);
}

static void bench_config_latency(struct ima_events *ev)
{
        char dir[DIR_SIZE], config[FILE_SIZE], log[FILE_SIZE];
        struct log_mark mark = { 0 };
        double lat[200];
        pid_t pid;

        make_configmap("latency", "NonMasqueradeCIDRs: [10.0.0.0/8]\n", dir, config, log);
        pid = start_agent(config, log);
        if (wait_commit(ev, pid, 5000) < 0)
                die("the agent did not start");
        for (unsigned i = 0; i < 200; i++) {
                char text[128];
                double t0;

                snprintf(text, sizeof(text), "NonMasqueradeCIDRs: [10.0.0.0/8, 192.168.%u.0/24]\n", i % 250);
                usleep(30000); /* let the previous update settle */
                if (i == 0)
                        mark = log_mark(log); /* the start's lines are written by now */
                drain(ev);
                t0 = kubelet_update(dir, text, i + 1);
                lat[i] = wait_commit(ev, pid, 5000) - t0;
                if (lat[i] < 0)
                        die("a config change was not applied within 5 s");
        }
        stop_agent(pid);
        print_percentiles("ConfigMap update -> kernel updated", lat, 200);
        print_split(log, mark, 200, true);
}

enum foreign_kind {
        FOREIGN_ADD_ELEMENT,    /* a stray element in nomasq-dst */
        FOREIGN_DELETE_ELEMENT, /* 10.0.0.0/8 taken out of nomasq-dst */
        FOREIGN_DELETE_TABLE,   /* "nft delete table ip ip-masq-agent" */
};

/* One transaction by another process (ours, through its own socket) changing the agent's table. */
static double foreign_change(struct ima_nl *nl, enum foreign_kind kind, unsigned i)
{
        _cleanup_(ima_batch_freep) struct ima_batch *b = NULL;
        struct ima_ipset *elems = NULL;
        struct ima_op op = { .family = IMA_FAMILY_IPV4, .set = IMA_SET_DST };
        double t;
        int r;

        if (kind == FOREIGN_DELETE_TABLE) {
                op.kind = IMA_OP_DEL_TABLE;
        } else {
                uint32_t first = kind == FOREIGN_ADD_ELEMENT ? 0x08080000 + (i << 8) : 0x0a000000;
                uint32_t last = kind == FOREIGN_ADD_ELEMENT ? first + 255 : 0x0affffff;

                if (ima_ipset_new(IMA_FAMILY_IPV4, &elems) < 0 || ima_ipset_add(elems, first, last) < 0)
                        die("ipset");
                op.kind = kind == FOREIGN_ADD_ELEMENT ? IMA_OP_ADD_ELEMS : IMA_OP_DEL_ELEMS;
                op.elems = elems;
        }
        if (ima_batch_new(nl, 0, &b) < 0 || ima_build_op(b, &op) < 0)
                die("batch");
        r = ima_batch_commit(b, IMA_BATCH_COMMIT);
        t = now_ms();
        ima_ipset_free(elems);
        if (r < 0) {
                errno = -r;
                die("foreign change");
        }
        return t;
}

#define REPAIR_SAMPLES 20

static void bench_repair_latency(struct ima_events *ev)
{
        static const struct {
                enum foreign_kind kind;
                const char *what;
        } kinds[] = {
                { FOREIGN_ADD_ELEMENT, "foreign element added -> repaired" },
                { FOREIGN_DELETE_ELEMENT, "element deleted by another -> repaired" },
                { FOREIGN_DELETE_TABLE, "table deleted by another -> repaired" },
        };
        char config[FILE_SIZE], log[FILE_SIZE];
        struct ima_nl *nl = NULL;
        pid_t pid;

        snprintf(config, sizeof(config), "%s/cm-latency/ip-masq-agent", workdir);
        snprintf(log, sizeof(log), "%s/agent-repair.log", workdir);
        if (ima_nl_open(&nl) < 0)
                die("netlink");
        pid = start_agent(config, log);
        usleep(300000);
        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
                double lat[REPAIR_SAMPLES];
                struct log_mark mark = { 0 };

                for (unsigned i = 0; i < REPAIR_SAMPLES; i++) {
                        double t0;

                        usleep(1100000); /* longer than the agent's quiet period: a first repair each time */
                        if (i == 0)
                                mark = log_mark(log);
                        drain(ev);
                        t0 = foreign_change(nl, kinds[k].kind, i);
                        lat[i] = wait_commit(ev, pid, 5000) - t0;
                        if (lat[i] < 0)
                                die("a foreign change was not repaired within 5 s");
                }
                print_percentiles(kinds[k].what, lat, REPAIR_SAMPLES);
                print_split(log, mark, REPAIR_SAMPLES, false);
        }
        stop_agent(pid);
        ima_nl_free(nl);
}

static long status_kb(pid_t pid, const char *key)
{
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", pid);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0)
                        v = atol(line + strlen(key) + 1);
        if (f)
                fclose(f);
        return v;
}

static void print_idle_rss(const char *what, pid_t pid)
{
        printf("  %-44s RSS %6ld kB   peak (VmHWM) %6ld kB   (anonymous %ld kB, files %ld kB)\n", what,
               status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:"), status_kb(pid, "RssAnon:"),
               status_kb(pid, "RssFile:"));
}

static double cpu_ns(pid_t pid)
{
        char path[64];
        double v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
        f = fopen(path, "r");
        if (!f || fscanf(f, "%lf", &v) != 1)
                die("schedstat");
        fclose(f);
        return v;
}

static unsigned count_in_file(const char *path, const char *needle)
{
        char line[4096];
        unsigned n = 0;
        FILE *f = fopen(path, "r");

        while (f && fgets(line, sizeof(line), f))
                n += strstr(line, needle) != NULL;
        if (f)
                fclose(f);
        return n;
}

/* The log, not the event stream, says when the start is done: the previous agent's events may
 * still be queued, and this agent's own may overflow the queue. */
static void wait_started(const char *log)
{
        double t0 = now_ms();

        while (count_in_file(log, "trigger=\"start\"") == 0 && now_ms() < t0 + 60000)
                usleep(10000);
        if (count_in_file(log, "trigger=\"start\"") == 0)
                die("the agent did not apply");
}

/* The memory high-water mark: everything re-created at once after "nft flush ruleset". The
 * agent's log tells when (its own event burst may overflow a listener's queue at this size). */
static void bench_rebuild(pid_t pid, const char *log, size_t n_cidrs)
{
        unsigned before = count_in_file(log, "\"Reconciled\"");
        double t0 = now_ms(), deadline = t0 + 60000;

        if (system("nft flush ruleset") != 0)
                die("nft flush ruleset");
        while (count_in_file(log, "\"Reconciled\"") == before && now_ms() < deadline)
                usleep(10000);
        if (now_ms() >= deadline)
                die("no rebuild after nft flush ruleset");
        printf("  %-44s %8.1f ms   peak (VmHWM) %6ld kB\n",
               label(n_cidrs == 64 ? "rebuild after flush ruleset, 64 CIDRs" : "rebuild after flush, 100,000 CIDRs"),
               now_ms() - t0, status_kb(pid, "VmHWM:"));
}

/* One commit to another table, as kube-proxy (nftables mode) makes them all day: creates or
 * deletes table ip churn. Made here, not by nft, which reads the whole ruleset first (a third of
 * a second with the agent's 100,000 elements in it) and would measure itself. */
static void churn_commit(struct ima_nl *nl, bool create)
{
        struct nftnl_table *t = nftnl_table_alloc();
        struct ima_batch *b = NULL;
        struct nlmsghdr *nlh;

        if (!t || ima_batch_new(nl, 0, &b) < 0)
                die("churn batch");
        nftnl_table_set_str(t, NFTNL_TABLE_NAME, "churn");
        nlh = ima_batch_msg(b, create ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, NFPROTO_IPV4,
                            create ? NLM_F_CREATE : 0, "table ip churn");
        nftnl_table_nlmsg_build_payload(nlh, t);
        ima_batch_msg_done(b);
        if (ima_batch_commit(b, IMA_BATCH_COMMIT) < 0)
                die("churn commit");
        ima_batch_free(b);
        nftnl_table_free(t);
}

/* What that churn costs the agent: every commit anywhere wakes it; one that does not touch its
 * tables should cost a parse of the notification and no read of the kernel state. */
static void bench_foreign_churn(pid_t pid, size_t n_cidrs)
{
        const int commits = 400;
        struct ima_nl *nl = NULL;
        double c0, c1, t0, t1;

        if (ima_nl_open(&nl) < 0)
                die("netlink");
        c0 = cpu_ns(pid);
        t0 = now_ms();
        /* 1,000 commits a second: far above kube-proxy's pace, below what overflows the agent's
         * event queue (then it must read everything back, by design) */
        for (int i = 0; i < commits; i++) {
                churn_commit(nl, i % 2 == 0);
                usleep(1000);
        }
        t1 = now_ms();
        usleep(50000);
        c1 = cpu_ns(pid);
        printf("  %-44s %8.1f us CPU each   (%d commits in %.0f ms, resyncs included)\n",
               label(n_cidrs == 64 ? "another table's commit, 64 CIDRs" : "another table's commit, 100,000 CIDRs"),
               (c1 - c0) / 1e3 / commits, commits, t1 - t0);
        ima_nl_free(nl);
}

/* A kubelet-style update of a large file that changes one thing (MasqLinkLocal, so 169.254.0.0/16
 * leaves or joins the set): the whole file is read and parsed again, the set diffed, one delta
 * committed. The agent runs on config_text(n_cidrs, extra, true). */
static void bench_big_config_latency(const char *dir, const char *log, size_t n_cidrs, const char *extra)
{
        _cleanup_free_ char *on = config_text(n_cidrs, extra, true), *off = config_text(n_cidrs, extra, false);
        _cleanup_(ima_events_freep) struct ima_events *ev = NULL;
        struct log_mark mark = { 0 };
        char what[64];
        double lat[200]; /* enough for a p99 that is not just the slowest one */

        /* listening only here: a listener makes the kernel build a notification per element of
         * every commit, the agent's rebuilds of 100,000 included */
        if (ima_events_open(0, &ev) < 0)
                die("subscribing to nftables events");
        for (unsigned i = 0; i < ARRAY_SIZE(lat); i++) {
                double t0;

                usleep(100000); /* let the previous update settle */
                if (i == 0)
                        mark = log_mark(log);
                drain(ev);
                t0 = kubelet_update(dir, i % 2 ? on : off, i + 1);
                lat[i] = wait_commit(ev, 0, 10000) - t0;
                if (lat[i] < 0)
                        die("a config change was not applied within 10 s");
        }
        snprintf(what, sizeof(what), "ConfigMap update -> kernel, %zu CIDRs%s", n_cidrs, ipv6 ? ", IPv6" : "");
        print_percentiles(what, lat, ARRAY_SIZE(lat));
        print_split(log, mark, ARRAY_SIZE(lat), true);
}

static void bench_footprint(size_t n_cidrs)
{
        char dir[DIR_SIZE], config[FILE_SIZE], log[FILE_SIZE], name[32], line[128];
        _cleanup_free_ char *text = config_text(n_cidrs, "ResyncInterval: 100ms\n", true);
        double c0, c1, t0, t1;
        unsigned resyncs = 0;
        pid_t pid;
        FILE *f;

        snprintf(name, sizeof(name), "%zu%s", n_cidrs, ipv6 ? "-ipv6" : "");
        make_configmap(name, text, dir, config, log);
        pid = start_agent(config, log);
        wait_started(log);
        usleep(500000);
        printf("  %-44s RSS %6ld kB   peak (VmHWM) %6ld kB\n",
               label(n_cidrs == 64 ? "agent 0.5 s after start, 64 CIDRs" : "agent 0.5 s after start, 100,000 CIDRs"),
               status_kb(pid, "VmRSS:"), status_kb(pid, "VmHWM:"));
        /* past the agent's quiet period (TRIM_QUIET_MS, 2 s), after which it gives freed memory back */
        sleep(3);
        print_idle_rss(label(n_cidrs == 64 ? "idle agent, 64 CIDRs" : "idle agent, 100,000 CIDRs"), pid);
        /* resyncs are counted from the agent's log (v=0 logs nothing per resync, so use time) */
        c0 = cpu_ns(pid);
        t0 = now_ms();
        sleep(5);
        c1 = cpu_ns(pid);
        t1 = now_ms();
        resyncs = (unsigned)((t1 - t0) / 100.0);
        printf("  %-44s %8.1f us CPU each   (%u resyncs in %.1f s, %.2f%% of one CPU)\n",
               label(n_cidrs == 64 ? "idle resync (re-read file, reconcile), 64" : "idle resync, 100,000 CIDRs"),
               (c1 - c0) / 1e3 / resyncs, resyncs, (t1 - t0) / 1e3, (c1 - c0) / 1e6 / (t1 - t0) * 100.0);
        /* SIGHUP reads the whole kernel state, like the 10-minute backstop check */
        c0 = cpu_ns(pid);
        kill(pid, SIGHUP);
        usleep(n_cidrs >= 100000 ? 3000000 : 300000);
        c1 = cpu_ns(pid);
        printf("  %-44s %8.1f ms CPU   (SIGHUP; also every 10 min)\n",
               label(n_cidrs == 64 ? "full state check, 64 CIDRs" : "full state check, 100,000 CIDRs"), (c1 - c0) / 1e6);
        bench_big_config_latency(dir, log, n_cidrs, "ResyncInterval: 100ms\n");
        bench_foreign_churn(pid, n_cidrs);
        bench_rebuild(pid, log, n_cidrs);
        stop_agent(pid);
        f = fopen(log, "r");
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, "] E") || line[0] == 'E')
                        fprintf(stderr, "agent: %s", line);
        if (f)
                fclose(f);
}

/* 64 CIDRs as the DaemonSet runs the agent: with /healthz, /readyz and /metrics, each asked once
 * before the agent is left idle. */
static void bench_footprint_endpoints(void)
{
        char dir[DIR_SIZE], config[FILE_SIZE], log[FILE_SIZE];
        _cleanup_free_ char *text = config_text(64, "", true);
        pid_t pid;

        make_configmap("endpoints", text, dir, config, log);
        pid = start_agent_with(config, log, true);
        wait_started(log);
        if (system("curl -sf --max-time 5 -o /dev/null http://" HEALTH_ADDRESS "/healthz"
                   " -o /dev/null http://" HEALTH_ADDRESS "/readyz"
                   " -o /dev/null http://" METRICS_ADDRESS "/metrics") != 0)
                die("the agent's endpoints did not answer");
        sleep(3);
        print_idle_rss("idle agent, 64 CIDRs, health+metrics on", pid);
        stop_agent(pid);
}

int main(int argc, char **argv)
{
        struct ima_events *ev = NULL;

        if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--ipv6") != 0)) {
                fprintf(stderr, "usage: bench-daemon AGENT GEN_PREFIXES WORKDIR [--ipv6]\n");
                return 2;
        }
        agent_bin = argv[1];
        gen_bin = argv[2];
        workdir = argv[3];
        if (argc == 5) {
                /* the IPv4 figures of the same run to compare with */
                printf("footprint, IPv4 prefixes\n");
                bench_footprint(100000);
                ipv6 = true;
                /* the agent leaves its tables when it stops: the next one would start by taking
                 * 100,000 elements out of the ip table, a cost the IPv4 rows do not carry */
                if (system("nft flush ruleset") != 0)
                        die("nft flush ruleset");
                printf("footprint, IPv6 prefixes (--enable-ipv6)\n");
                bench_footprint(100000);
                return 0;
        }
        if (ima_events_open(0, &ev) < 0)
                die("subscribing to nftables events");
        printf("daemon reaction times (event-repair mode)\n");
        bench_config_latency(ev);
        bench_repair_latency(ev);
        ima_events_free(ev); /* see bench_big_config_latency() */
        printf("footprint\n");
        bench_footprint(64);
        bench_footprint_endpoints();
        bench_footprint(100000);
        return 0;
}
