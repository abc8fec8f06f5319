/* bench-reconcile: what a full apply, a 1-CIDR delta and an in-sync resync cost the agent, next
 * to "nft -f" of the same table and "iptables-restore" of the payload the upstream agent writes
 * (one RETURN rule per CIDR). Runs inside the private namespace bench-reconcile.sh creates.
 *
 *   bench-reconcile GEN_PREFIXES WORKDIR FAMILIES N...
 *
 * FAMILIES is "ipv4", or a comma-separated list of "ipv4", "ipv6" (the ip6 table, with
 * --enable-ipv6) and "mixed" (N/2 IPv4 and N/2 IPv6 prefixes, both tables): each N is measured
 * for each, in that order, and a table of the main figures side by side ends the run.
 *
 * Every figure is the median of several runs. "wall" is elapsed time; "cpu" is CPU time of the
 * process, kernel work on its behalf included (the commit runs inside sendmsg); for the agent
 * "commit" is the kernel's part (sendmsg until the last ACK) and "own" everything else (reading
 * or checking the kernel state, diff, building the batch, bookkeeping). Prints one block per N
 * and ratios against the agent. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/render.h"
#include "nft/dump.h"
#include "nft/events.h"
#include "nft/reconcile.h"
#include "nft/sock.h"

#define MAX_RUNS 64

enum bench_family {
        BENCH_IPV4,
        BENCH_IPV6,
        BENCH_MIXED,
};

static const char *const family_names[] = { "ipv4", "ipv6", "mixed" };

/* Where the scripts fed to nft and iptables-restore are written (the caller removes it). */
static const char *workdir;

static const char *work_path(const char *name)
{
        static char paths[4][512];
        static int next;
        char *p = paths[next++ % 4];

        snprintf(p, sizeof(paths[0]), "%s/%s", workdir, name);
        return p;
}

struct cost {
        double wall_ms;
        double cpu_ms;
        double own_ms;    /* agent only: wall minus commit */
        double commit_ms; /* agent only: sendmsg + ACKs */
};

struct sample {
        struct cost v[MAX_RUNS];
        size_t n;
};

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval tv)
{
        return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static double cpu_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static double median_of(const struct sample *s, size_t offset)
{
        double v[MAX_RUNS];

        for (size_t i = 0; i < s->n; i++)
                v[i] = *(const double *)((const char *)&s->v[i] + offset);
        qsort(v, s->n, sizeof(double), cmp_double);
        return v[s->n / 2];
}

static struct cost median(const struct sample *s)
{
        return (struct cost){
                median_of(s, offsetof(struct cost, wall_ms)),
                median_of(s, offsetof(struct cost, cpu_ms)),
                median_of(s, offsetof(struct cost, own_ms)),
                median_of(s, offsetof(struct cost, commit_ms)),
        };
}

static void add(struct sample *s, struct cost c)
{
        if (s->n < MAX_RUNS)
                s->v[s->n++] = c;
}

/* ---- the agent, in process -------------------------------------------------------------------- */

struct meter {
        double wall;
        double cpu;
};

static void meter_start(struct meter *m)
{
        m->cpu = cpu_ms();
        m->wall = now_ms();
}

static struct cost meter_stop(const struct meter *m)
{
        return (struct cost){ .wall_ms = now_ms() - m->wall, .cpu_ms = cpu_ms() - m->cpu };
}

static struct ima_model *model_from(char **prefixes, size_t n, enum bench_family fam)
{
        struct ima_config_options copts = { .enable_ipv6 = fam != BENCH_IPV4 };
        struct ima_model_options mopts;
        struct ima_config *c = NULL;
        struct ima_model *m = NULL;
        struct ima_diag *d = NULL;
        char *yaml = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&yaml, &len);

        fprintf(f, "CidrLimit: %zu\nMasqLinkLocal: false\nNonMasqueradeCIDRs:\n", n);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "  - %s\n", prefixes[i]);
        fclose(f);
        ima_model_options_init(&mopts);
        mopts.enable_ipv6 = copts.enable_ipv6;
        if (ima_diag_new("bench", &d) < 0 || ima_config_parse(yaml, len, &copts, d, &c) < 0 ||
            ima_model_build(c, &mopts, &m) < 0) {
                fprintf(stderr, "bench: config of %zu prefixes rejected\n", n);
                exit(1);
        }
        ima_config_free(c);
        ima_diag_free(d);
        free(yaml);
        return m;
}

static struct cost reconcile(struct ima_reconciler *rc, const struct ima_model *m, enum ima_trust trust,
                             size_t *ret_msgs)
{
        struct ima_reconcile_report rep = { 0 };
        struct meter mt;
        struct cost c;

        meter_start(&mt);
        if (ima_reconcile(rc, m, trust, IMA_RECONCILE_APPLY, &rep) < 0) {
                for (size_t i = 0; i < rep.n_errors; i++)
                        fprintf(stderr, "bench: %s\n", rep.errors[i]);
                exit(1);
        }
        c = meter_stop(&mt);
        c.commit_ms = (double)rep.commit_usec / 1e3;
        c.own_ms = c.wall_ms - c.commit_ms;
        if (ret_msgs)
                *ret_msgs = rep.n_msgs;
        ima_reconcile_report_clear(&rep);
        return c;
}

static void remove_tables(struct ima_nl *nl)
{
        struct ima_reconciler *rc = NULL;
        struct ima_model *none = NULL;

        ima_model_new_empty(&none);
        ima_reconciler_new(nl, &rc);
        reconcile(rc, none, IMA_TRUST_NOTHING, NULL);
        ima_reconciler_free(rc);
        ima_model_free(none);
}

/* ---- other tools, as child processes ------------------------------------------------------------ */

static struct cost run_tool(char *const argv[], const char *input)
{
        struct rusage ru;
        double start = now_ms();
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                int fd = open(input, O_RDONLY);
                int null = open("/dev/null", O_WRONLY);

                dup2(fd, 0);
                dup2(null, 1);
                execvp(argv[0], argv);
                _exit(127);
        }
        if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "bench: %s failed\n", argv[0]);
                exit(1);
        }
        return (struct cost){ .wall_ms = now_ms() - start, .cpu_ms = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime) };
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "bench: cannot write %s\n", path);
                exit(1);
        }
}

static void write_render(const char *path, const struct ima_model *m)
{
        FILE *f = fopen(path, "w");

        if (!f || ima_render_model(m, NULL, f) < 0 || fclose(f) != 0)
                exit(1);
}

static bool is_ipv6(const char *prefix)
{
        return strchr(prefix, ':') != NULL;
}

/* The upstream agent's iptables-restore payload for one family (ip6tables-restore's for IPv6):
 * one RETURN per CIDR, link-local first. Returns the number of CIDRs written. */
static size_t write_upstream_payload(const char *path, char **prefixes, size_t n, bool v6)
{
        FILE *f = fopen(path, "w");
        size_t k = 0;

        if (!f)
                exit(1);
        fputs("*nat\n:IP-MASQ-AGENT - [0:0]\n", f);
        fprintf(f, "-A IP-MASQ-AGENT -m comment --comment \"ip-masq-agent: local traffic is not subject to MASQUERADE\" -d %s -j RETURN\n",
                v6 ? "fe80::/10" : "169.254.0.0/16");
        for (size_t i = 0; i < n; i++) {
                if (is_ipv6(prefixes[i]) != v6)
                        continue;
                fprintf(f, "-A IP-MASQ-AGENT -m comment --comment \"ip-masq-agent: local traffic is not subject to MASQUERADE\" -d %s -j RETURN\n",
                        prefixes[i]);
                k++;
        }
        fputs("-A IP-MASQ-AGENT -m comment --comment \"ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)\" -j MASQUERADE --random-fully\nCOMMIT\n", f);
        fclose(f);
        return k;
}

/* ---- the benchmark -------------------------------------------------------------------------------- */

/* Appends n prefixes of one family to v from *k on (seeded with the total, as before). */
static void gen_some(const char *tool, size_t n, size_t seed, const char *family, char **v, size_t *k)
{
        char cmd[512], line[128];
        size_t end = *k + n;
        FILE *p;

        snprintf(cmd, sizeof(cmd), "%s %zu %zu %s", tool, n, seed, family);
        p = popen(cmd, "r");
        while (p && *k < end && fgets(line, sizeof(line), p)) {
                line[strcspn(line, "\n")] = '\0';
                v[(*k)++] = strdup(line);
        }
        if (!p || pclose(p) != 0 || *k != end) {
                fprintf(stderr, "bench: %s failed\n", cmd);
                exit(1);
        }
}

/* Mixed: the IPv4 half first, then the IPv6 one, so that prefixes[n / 2] (the one the 1-CIDR
 * change narrows) is an IPv6 prefix. */
static char **gen_prefixes(const char *tool, size_t n, enum bench_family fam)
{
        char **v = calloc(n, sizeof(*v));
        size_t k = 0;

        if (!v)
                exit(1);
        if (fam == BENCH_MIXED) {
                gen_some(tool, n / 2, n, "ipv4", v, &k);
                gen_some(tool, n - n / 2, n, "ipv6", v, &k);
        } else {
                gen_some(tool, n, n, fam == BENCH_IPV6 ? "ipv6" : "ipv4", v, &k);
        }
        return v;
}

/* The same prefix one bit longer: still disjoint from all others, one interval changes. */
static char *narrowed(const char *prefix)
{
        char *out = NULL;
        const char *slash = strchr(prefix, '/');

        if (asprintf(&out, "%.*s/%d", (int)(slash - prefix), prefix, atoi(slash + 1) + 1) < 0)
                exit(1);
        return out;
}

static void print_cost(const char *what, struct cost c, const char *extra)
{
        printf("  %-46s wall %9.3f ms  cpu %9.3f ms", what, c.wall_ms, c.cpu_ms);
        if (c.own_ms > 0 || c.commit_ms > 0)
                printf("  (own %7.3f ms, commit %8.3f ms)", c.own_ms, c.commit_ms);
        printf("%s\n", extra ? extra : "");
}

/* The figures of one block that the closing table puts side by side. */
struct summary {
        size_t n;
        enum bench_family fam;
        double parse_ms;
        struct cost full;
        size_t full_msgs;
        struct cost delta;
        size_t delta_msgs;
        struct cost oneshot;
        double read_user_ms, read_sys_ms;
        double insync_us;
};

#define MAX_SUMMARIES 64
static struct summary summaries[MAX_SUMMARIES];
static size_t n_summaries;

/* The upstream agent's restore of every family present: iptables-restore and ip6tables-restore
 * (the upstream agent runs both with --enable-ipv6), one after the other. */
static struct cost upstream_restore(char **prefixes, size_t n)
{
        char *ipt_argv[] = { "iptables-restore", "--noflush", NULL };
        char *ip6t_argv[] = { "ip6tables-restore", "--noflush", NULL };
        struct cost total = { 0 }, c;

        if (write_upstream_payload(work_path("bench-upstream.txt"), prefixes, n, false) > 0) {
                c = run_tool(ipt_argv, work_path("bench-upstream.txt"));
                total.wall_ms += c.wall_ms;
                total.cpu_ms += c.cpu_ms;
        }
        if (write_upstream_payload(work_path("bench-upstream6.txt"), prefixes, n, true) > 0) {
                c = run_tool(ip6t_argv, work_path("bench-upstream6.txt"));
                total.wall_ms += c.wall_ms;
                total.cpu_ms += c.cpu_ms;
        }
        return total;
}

static void bench_n(const char *gen_tool, size_t n, enum bench_family fam)
{
        char **prefixes = gen_prefixes(gen_tool, n, fam);
        size_t mid = n / 2, msgs = 0, delta_msgs = 0;
        char *orig = prefixes[mid], *narrow = narrowed(orig), text[256];
        struct ima_model *want, *want2;
        struct sample full = { 0 }, delta_cache = { 0 }, delta_genid = { 0 }, oneshot = { 0 }, insync = { 0 };
        struct sample nft_full = { 0 }, nft_delta = { 0 }, ipt_full = { 0 }, parse = { 0 }, read_user = { 0 },
                      read_sys = { 0 }, full_heard = { 0 }, cleanup = { 0 };
        struct ima_events *listener = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_nl *nl = NULL;
        struct cost agent_full, agent_delta, c;
        const int runs = n >= 100000 ? 3 : 5, deltas = 21, resyncs = n >= 10000 ? 200 : 2000;
        char *nft_argv[] = { "nft", "-f", "-", NULL };
        const char *nft_family = is_ipv6(orig) ? "ip6" : "ip";
        struct summary *sum = n_summaries < MAX_SUMMARIES ? &summaries[n_summaries++] : NULL;
        struct meter mt;

        for (int i = 0; i < runs; i++) {
                meter_start(&mt);
                want = model_from(prefixes, n, fam);
                add(&parse, meter_stop(&mt));
                ima_model_free(want);
        }
        want = model_from(prefixes, n, fam);
        prefixes[mid] = narrow;
        want2 = model_from(prefixes, n, fam);
        prefixes[mid] = orig;
        if (ima_nl_open(&nl) < 0)
                exit(1);

        /* full apply on a clean kernel */
        for (int i = 0; i < runs; i++) {
                remove_tables(nl);
                ima_reconciler_free(rc);
                ima_reconciler_new(nl, &rc);
                add(&full, reconcile(rc, want, IMA_TRUST_NOTHING, &msgs));
        }
        /* the same with someone subscribed to nftables events (never reading them): the kernel
         * builds a notification per element for each listener, in the committing process */
        if (ima_events_open(0, &listener) < 0)
                exit(1);
        for (int i = 0; i < (n >= 100000 ? 1 : runs); i++) {
                remove_tables(nl);
                ima_reconciler_free(rc);
                ima_reconciler_new(nl, &rc);
                add(&full_heard, reconcile(rc, want, IMA_TRUST_NOTHING, NULL));
        }
        ima_events_free(listener);
        /* 1-CIDR deltas, back and forth */
        for (int i = 0; i < deltas; i++)
                add(&delta_cache, reconcile(rc, i % 2 ? want : want2, IMA_TRUST_CACHE, &delta_msgs));
        for (int i = 0; i < deltas; i++)
                add(&delta_genid, reconcile(rc, i % 2 ? want : want2, IMA_TRUST_GENID, NULL));
        /* what "ip-masq-agent apply" pays for a delta: the kernel state is read first */
        for (int i = 0; i < runs; i++) {
                struct ima_reconciler *fresh = NULL;

                ima_reconciler_new(nl, &fresh);
                add(&oneshot, reconcile(fresh, i % 2 ? want : want2, IMA_TRUST_NOTHING, NULL));
                ima_reconciler_free(fresh);
        }
        /* the state read alone, split into the agent's time and the kernel's (producing the dump) */
        for (int i = 0; i < runs; i++) {
                struct ima_observed *o = NULL;
                struct rusage r0, r1;

                getrusage(RUSAGE_SELF, &r0);
                if (ima_dump_observe(nl, &o) < 0)
                        exit(1);
                getrusage(RUSAGE_SELF, &r1);
                ima_observed_free(o);
                add(&read_user, (struct cost){ .wall_ms = tv_ms(r1.ru_utime) - tv_ms(r0.ru_utime) });
                add(&read_sys, (struct cost){ .wall_ms = tv_ms(r1.ru_stime) - tv_ms(r0.ru_stime) });
        }
        reconcile(rc, want, IMA_TRUST_NOTHING, NULL);
        /* in-sync resyncs: averaged over many, they are too short to time one by one */
        for (int k = 0; k < 5; k++) {
                meter_start(&mt);
                for (int i = 0; i < resyncs; i++)
                        reconcile(rc, want, IMA_TRUST_GENID, NULL);
                c = meter_stop(&mt);
                add(&insync, (struct cost){ .wall_ms = c.wall_ms / resyncs, .cpu_ms = c.cpu_ms / resyncs });
        }

        /* nft -f of the same table (the render script replaces it atomically); what deleting the
         * full table costs ("ip-masq-agent cleanup") is timed on the way */
        write_render(work_path("bench-full.nft"), want);
        for (int i = 0; i < runs; i++) {
                meter_start(&mt);
                remove_tables(nl);
                add(&cleanup, meter_stop(&mt));
                add(&nft_full, run_tool(nft_argv, work_path("bench-full.nft")));
        }
        for (int i = 0; i < deltas; i++) {
                snprintf(text, sizeof(text),
                         "delete element %s ip-masq-agent nomasq-dst { %s }\nadd element %s ip-masq-agent nomasq-dst { %s }\n",
                         nft_family, i % 2 ? narrow : orig, nft_family, i % 2 ? orig : narrow);
                write_file(work_path("bench-delta.nft"), text);
                add(&nft_delta, run_tool(nft_argv, work_path("bench-delta.nft")));
        }
        remove_tables(nl);

        /* upstream: the whole chain through iptables-restore, for any change */
        for (int i = 0; i < (n >= 10000 ? 1 : runs); i++)
                add(&ipt_full, upstream_restore(prefixes, n));
        if (fam != BENCH_IPV6)
                system("iptables -t nat -F IP-MASQ-AGENT && iptables -t nat -X IP-MASQ-AGENT");
        if (fam != BENCH_IPV4)
                system("ip6tables -t nat -F IP-MASQ-AGENT && ip6tables -t nat -X IP-MASQ-AGENT");

        agent_full = median(&full);
        agent_delta = median(&delta_cache);
        if (fam == BENCH_IPV4)
                printf("N = %zu CIDRs\n", n);
        else if (fam == BENCH_IPV6)
                printf("N = %zu CIDRs, IPv6 (--enable-ipv6; the ip table holds only 169.254.0.0/16)\n", n);
        else
                printf("N = %zu CIDRs, mixed: %zu IPv4 + %zu IPv6 (--enable-ipv6; the change is an IPv6 one)\n", n,
                       n / 2, n - n / 2);
        print_cost("config parse + model (not part of a resync)", median(&parse), NULL);
        snprintf(text, sizeof(text), "   %zu messages", msgs);
        print_cost("agent: full apply", agent_full, text);
        print_cost("agent: full apply, an event listener present", median(&full_heard), NULL);
        snprintf(text, sizeof(text), "   %zu messages", delta_msgs);
        print_cost("agent: 1-CIDR delta (daemon, cache)", agent_delta, text);
        print_cost("agent: 1-CIDR delta (cache checked by GETGEN)", median(&delta_genid), NULL);
        print_cost("agent: 1-CIDR delta as one-shot apply (reads)", median(&oneshot), NULL);
        printf("  %-46s user %8.3f ms  sys %8.3f ms  (sys: the kernel producing the dump)\n",
               "agent: the state read alone", median(&read_user).wall_ms, median(&read_sys).wall_ms);
        c = median(&insync);
        printf("  %-46s wall %9.1f us  cpu %9.1f us  (mean of %d)\n",
               "agent: in-sync resync (GETGEN, nothing sent)", c.wall_ms * 1e3, c.cpu_ms * 1e3, resyncs);
        print_cost("agent: cleanup (the full table deleted)", median(&cleanup), NULL);
        print_cost("nft -f: full table", median(&nft_full), NULL);
        print_cost("nft -f: 1-CIDR delete+add", median(&nft_delta), NULL);
        print_cost(fam == BENCH_IPV4   ? "iptables-restore: upstream payload"
                   : fam == BENCH_IPV6 ? "ip6tables-restore: upstream payload"
                                       : "ip(6)tables-restore: upstream payloads",
                   median(&ipt_full), "   (any change rewrites it all)");
        printf("  ratios: full apply nft -f / agent = %.1fx wall; iptables-restore / agent = %.1fx wall\n",
               median(&nft_full).wall_ms / agent_full.wall_ms, median(&ipt_full).wall_ms / agent_full.wall_ms);
        printf("          1-CIDR change nft -f / agent = %.1fx wall; iptables-restore / agent = %.1fx wall\n\n",
               median(&nft_delta).wall_ms / agent_delta.wall_ms, median(&ipt_full).wall_ms / agent_delta.wall_ms);
        fflush(stdout);
        if (sum)
                *sum = (struct summary){
                        .n = n,
                        .fam = fam,
                        .parse_ms = median(&parse).wall_ms,
                        .full = agent_full,
                        .full_msgs = msgs,
                        .delta = agent_delta,
                        .delta_msgs = delta_msgs,
                        .oneshot = median(&oneshot),
                        .read_user_ms = median(&read_user).wall_ms,
                        .read_sys_ms = median(&read_sys).wall_ms,
                        .insync_us = median(&insync).wall_ms * 1e3,
                };

        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(want);
        ima_model_free(want2);
        for (size_t i = 0; i < n; i++)
                free(prefixes[i]);
        free(prefixes);
        free(narrow);
}

/* kube-proxy in nftables mode keeps a chain per service and per endpoint in its own table of
 * the same family: reading ours must not cost in proportion to them. */
#define FOREIGN_CHAINS 20000

static struct cost median_read(struct ima_nl *nl, const struct ima_model *want, int runs)
{
        struct sample s = { 0 };

        for (int i = 0; i < runs; i++) {
                struct ima_reconciler *fresh = NULL;

                ima_reconciler_new(nl, &fresh);
                add(&s, reconcile(fresh, want, IMA_TRUST_NOTHING, NULL));
                ima_reconciler_free(fresh);
        }
        return median(&s);
}

static void bench_beside_kube_proxy(const char *gen_tool)
{
        char **prefixes = gen_prefixes(gen_tool, 64, BENCH_IPV4);
        char *nft_argv[] = { "nft", "-f", "-", NULL };
        struct ima_model *want = model_from(prefixes, 64, BENCH_IPV4);
        struct ima_nl *nl = NULL;
        struct cost alone, beside;
        FILE *f;

        if (ima_nl_open(&nl) < 0)
                exit(1);
        median_read(nl, want, 1); /* creates the table */
        alone = median_read(nl, want, 21);
        /* in slices: one transaction of 20,000 chains exceeds what nft -f may send */
        for (int part = 0; part < FOREIGN_CHAINS / 500; part++) {
                f = fopen(work_path("bench-kube-proxy.nft"), "w");
                if (!f)
                        exit(1);
                fputs("table ip kube-proxy-bench {\n", f);
                for (int i = part * 500; i < (part + 1) * 500; i++)
                        fprintf(f, "  chain service-%d { ip daddr 10.96.%d.%d tcp dport 80 counter accept; }\n", i,
                                i / 250, i % 250);
                fputs("}\n", f);
                fclose(f);
                run_tool(nft_argv, work_path("bench-kube-proxy.nft"));
        }
        beside = median_read(nl, want, 21);
        system("nft delete table ip kube-proxy-bench");
        remove_tables(nl);
        printf("Beside another table of %d chains (kube-proxy's nftables mode), 64 CIDRs\n", FOREIGN_CHAINS);
        print_cost("agent: in-sync one-shot apply, alone", alone, NULL);
        print_cost("agent: in-sync one-shot apply, beside", beside, NULL);
        printf("  ratio: beside / alone = %.2fx wall\n\n", beside.wall_ms / alone.wall_ms);
        ima_nl_free(nl);
        ima_model_free(want);
        for (size_t i = 0; i < 64; i++)
                free(prefixes[i]);
        free(prefixes);
}

/* The main figures of every family side by side, with the agent's own time per CIDR, so that
 * what one family costs more than another shows without arithmetic. */
static void print_summary(void)
{
        printf("Side by side (medians; own = the agent's time outside the kernel's commit)\n");
        printf("  %-6s %7s %9s %6s %10s %10s %6s %10s %10s %11s %10s %10s\n", "family", "N", "parse ms", "msgs",
               "full ms", "own us/N", "msgs", "chg own ms", "chg kern ms", "in-sync us", "1shot ms", "read sys ms");
        for (size_t i = 0; i < n_summaries; i++) {
                const struct summary *s = &summaries[i];

                printf("  %-6s %7zu %9.2f %6zu %10.3f %10.3f %6zu %10.3f %11.3f %11.1f %10.3f %10.3f\n",
                       family_names[s->fam], s->n, s->parse_ms, s->full_msgs, s->full.wall_ms,
                       s->full.own_ms * 1e3 / (double)s->n, s->delta_msgs, s->delta.own_ms, s->delta.commit_ms,
                       s->insync_us, s->oneshot.wall_ms, s->read_sys_ms);
        }
        printf("\n");
}

int main(int argc, char **argv)
{
        bool fams[ARRAY_SIZE(family_names)] = { false };
        char *list, *tok, *save = NULL;

        if (argc < 5) {
                fprintf(stderr, "usage: bench-reconcile GEN_PREFIXES WORKDIR FAMILIES N...\n");
                return 2;
        }
        workdir = argv[2];
        list = strdup(argv[3]);
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                size_t f = 0;

                while (f < ARRAY_SIZE(family_names) && strcmp(tok, family_names[f]) != 0)
                        f++;
                if (f == ARRAY_SIZE(family_names)) {
                        fprintf(stderr, "bench-reconcile: unknown family \"%s\" (ipv4, ipv6, mixed)\n", tok);
                        return 2;
                }
                fams[f] = true;
        }
        free(list);
        for (int i = 4; i < argc; i++)
                for (size_t f = 0; f < ARRAY_SIZE(family_names); f++)
                        if (fams[f])
                                bench_n(argv[1], strtoul(argv[i], NULL, 10), (enum bench_family)f);
        if (n_summaries > 1)
                print_summary();
        bench_beside_kube_proxy(argv[1]);
        return 0;
}
