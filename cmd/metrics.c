#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/metrics.h"
#include "lib/memstream.h"

#define PREFIX "ip_masq_agent_"

/* 50 µs (an in-sync check of a small config) to 10 s (a 100,000-CIDR rebuild on a busy node),
 * roughly 1-2.5-5 per decade. */
const double metrics_duration_buckets[] = {
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        2.5, 5, 10,
};
const size_t metrics_n_duration_buckets = ARRAY_SIZE(metrics_duration_buckets);
#define N_BUCKETS ARRAY_SIZE(metrics_duration_buckets)

struct metrics {
        char *version;
        uint64_t reconciles[METRICS_RECONCILE_RESULT_COUNT];
        uint64_t duration_buckets[N_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
        double duration_sum;
        uint64_t duration_count;
        double last_success;
        bool family_present[IMA_FAMILY_COUNT];
        uint64_t set_elements[IMA_FAMILY_COUNT][IMA_SET_COUNT];
        uint64_t drift_repairs[IMA_REASON_COUNT];
        uint64_t config_loads;
        uint64_t config_load_errors;
        bool config_valid;
        uint64_t kernel_events;
        /* NAT rule counters: the kernel's last reading, rule by rule, and what was exported */
        size_t nat_n_last[IMA_FAMILY_COUNT];
        struct ima_nat_rule_counter nat_last[IMA_FAMILY_COUNT][IMA_NAT_MAX_RULES];
        uint64_t nat_packets[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
        uint64_t nat_bytes[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
        enum metrics_ownership ownership;
        unsigned upstream_chains; /* 1 << family */
};

static const char *const result_name[METRICS_RECONCILE_RESULT_COUNT] = {
        [METRICS_RECONCILE_CHANGED] = "changed",
        [METRICS_RECONCILE_IN_SYNC] = "in_sync",
        [METRICS_RECONCILE_ERROR] = "error",
        [METRICS_RECONCILE_WAITING_FOR_OWNER] = "waiting_for_owner",
};

static const char *const nat_action_name[IMA_NAT_ACTION_COUNT] = {
        [IMA_NAT_MASQUERADED] = "masqueraded",
        [IMA_NAT_EXEMPT_SOURCE] = "exempt_source",
        [IMA_NAT_EXEMPT_DESTINATION] = "exempt_destination",
};

int metrics_new(const char *version, struct metrics **ret)
{
        struct metrics *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        m->version = strdup(version);
        if (!m->version) {
                free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

struct metrics *metrics_free(struct metrics *m)
{
        if (m) {
                free(m->version);
                free(m);
        }
        return NULL;
}

void metrics_reconcile_done(struct metrics *m, enum metrics_reconcile_result result, double seconds, double now)
{
        size_t b = 0;

        m->reconciles[result]++;
        /* the first bucket whose upper bound ("le": less or equal) holds the value; else +Inf */
        while (b < N_BUCKETS && !(seconds <= metrics_duration_buckets[b]))
                b++;
        m->duration_buckets[b]++;
        m->duration_sum += seconds;
        m->duration_count++;
        if (result == METRICS_RECONCILE_CHANGED || result == METRICS_RECONCILE_IN_SYNC)
                m->last_success = now;
}

void metrics_kernel_matches(struct metrics *m, double now)
{
        m->last_success = now;
}

void metrics_set_elements(struct metrics *m, enum ima_family f, enum ima_set_id s, uint64_t n)
{
        m->family_present[f] = true;
        m->set_elements[f][s] = n;
}

void metrics_forget_family(struct metrics *m, enum ima_family f)
{
        m->family_present[f] = false;
        memset(m->set_elements[f], 0, sizeof(m->set_elements[f]));
}

void metrics_drift_repaired(struct metrics *m, enum ima_op_reason reason, uint64_t n)
{
        if (reason != IMA_REASON_CONFIG)
                m->drift_repairs[reason] += n;
}

void metrics_config_loaded(struct metrics *m, bool valid)
{
        m->config_loads++;
        if (!valid)
                m->config_load_errors++;
        m->config_valid = valid;
}

void metrics_kernel_events(struct metrics *m, uint64_t n)
{
        m->kernel_events += n;
}

/* The rule of the last reading with this handle and action, or NULL. */
static const struct ima_nat_rule_counter *last_reading(const struct metrics *m, int f, const struct ima_nat_rule_counter *r)
{
        for (size_t i = 0; i < m->nat_n_last[f]; i++)
                if (m->nat_last[f][i].handle == r->handle && m->nat_last[f][i].action == r->action)
                        return &m->nat_last[f][i];
        return NULL;
}

void metrics_observe_nat(struct metrics *m, const struct ima_nat_counters *kernel, struct ima_nat_counters *ret)
{
        *ret = (struct ima_nat_counters){ 0 };
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                if (!kernel->present[f])
                        continue;
                ret->present[f] = true;
                for (size_t i = 0; i < kernel->n_rules[f]; i++) {
                        const struct ima_nat_rule_counter *r = &kernel->rules[f][i], *last = last_reading(m, f, r);

                        /* a rule read before adds what it counted since; a rule new since the last
                         * reading, or one whose counter fell (packets and bytes live in one counter
                         * expression: they restart together), counted all it holds from 0 */
                        if (last && r->packets >= last->packets && r->bytes >= last->bytes) {
                                m->nat_packets[f][r->action] += r->packets - last->packets;
                                m->nat_bytes[f][r->action] += r->bytes - last->bytes;
                        } else {
                                m->nat_packets[f][r->action] += r->packets;
                                m->nat_bytes[f][r->action] += r->bytes;
                        }
                }
                /* a rule gone since adds nothing more: the others do not start over with it */
                m->nat_n_last[f] = kernel->n_rules[f];
                memcpy(m->nat_last[f], kernel->rules[f], kernel->n_rules[f] * sizeof(kernel->rules[f][0]));
                memcpy(ret->packets[f], m->nat_packets[f], sizeof(ret->packets[f]));
                memcpy(ret->bytes[f], m->nat_bytes[f], sizeof(ret->bytes[f]));
        }
}

void metrics_nat_restarted(struct metrics *m, enum ima_family family)
{
        /* a table made again hands out the same handles again: none of them is the rule read before */
        m->nat_n_last[family] = 0;
}

void metrics_set_upstream_chains(struct metrics *m, unsigned families)
{
        m->upstream_chains = families;
}

void metrics_set_ownership(struct metrics *m, enum metrics_ownership mode)
{
        m->ownership = mode;
}

/* ---- exposition format ------------------------------------------------------------------- */

/* The shortest text that reads back as exactly v, so values print without float noise (0.1,
 * not 0.10000000000000001). Like Go's strconv 'g' with precision -1, except that exponents up
 * to 20 print in full, so timestamps stay readable (1795534282.5, not 1.7955342825e+09). */
static void format_double(double v, char buf[static 32])
{
        int digits, exp;

        if (isnan(v)) {
                strcpy(buf, "NaN");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        for (digits = 1; digits < 17; digits++) {
                snprintf(buf, 32, "%.*e", digits - 1, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        snprintf(buf, 32, "%.*e", digits - 1, v);
        exp = atoi(strchr(buf, 'e') + 1);
        if (exp >= -4 && exp < 21)
                snprintf(buf, 32, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (*s == '"' && quote)
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

static void put_family(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP " PREFIX "%s ", name);
        put_escaped(f, help, false);
        fprintf(f, "\n# TYPE " PREFIX "%s %s\n", name, type);
}

/* name{k1="v1",k2="v2"} value: labels come as NULL-terminated key, value pairs. */
static void put_sample_start(FILE *f, const char *name, const char *const *labels)
{
        fprintf(f, PREFIX "%s", name);
        for (size_t i = 0; labels && labels[i]; i += 2) {
                fprintf(f, "%c%s=\"", i == 0 ? '{' : ',', labels[i]);
                put_escaped(f, labels[i + 1], true);
                fputc('"', f);
        }
        if (labels && labels[0])
                fputc('}', f);
}

static void put_u64(FILE *f, const char *name, const char *const *labels, uint64_t v)
{
        put_sample_start(f, name, labels);
        fprintf(f, " %" PRIu64 "\n", v);
}

static void put_double(FILE *f, const char *name, const char *const *labels, double v)
{
        char buf[32];

        format_double(v, buf);
        put_sample_start(f, name, labels);
        fprintf(f, " %s\n", buf);
}

#define LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void render_config(FILE *f, const struct metrics *m)
{
        put_family(f, "config_load_errors_total", "counter",
                   "Configuration loads that found the file invalid; the last valid configuration stayed in force.");
        put_u64(f, "config_load_errors_total", NULL, m->config_load_errors);
        put_family(f, "config_loads_total", "counter",
                   "Times the configuration was validated: at start and whenever the file's content changed (a resync or SIGHUP that finds the same bytes is not counted).");
        put_u64(f, "config_loads_total", NULL, m->config_loads);
        put_family(f, "config_valid", "gauge", "Whether the latest configuration load was valid (1) or not (0).");
        put_u64(f, "config_valid", NULL, m->config_valid);
}

static void render_drift(FILE *f, const struct metrics *m)
{
        put_family(f, "drift_repairs_total", "counter",
                   "Repairs of the agent's nftables objects after something else changed them, by what had drifted.");
        for (int r = 0; r < IMA_REASON_COUNT; r++)
                if (r != IMA_REASON_CONFIG)
                        put_u64(f, "drift_repairs_total", LABELS("cause", ima_op_reason_name(r)), m->drift_repairs[r]);
        put_family(f, "kernel_events_total", "counter",
                   "nftables transactions committed by other processes, seen on the event stream.");
        put_u64(f, "kernel_events_total", NULL, m->kernel_events);
}

static void render_nat_one(FILE *f, const struct ima_nat_counters *nat, bool bytes)
{
        const char *name = bytes ? "nat_bytes_total" : "nat_packets_total";

        if (bytes)
                put_family(f, name, "counter",
                           "Bytes of the packets counted by ip_masq_agent_nat_packets_total (only the first packet "
                           "of each connection), from the kernel's rule counters.");
        else
                put_family(f, name, "counter",
                           "Packets the agent's postrouting chain masqueraded or exempted (by the source or the "
                           "destination set), by family and action, from the kernel's rule counters; those to the "
                           "node's own addresses are not counted. NAT sees only the first packet of each "
                           "connection, so this counts new connections, not traffic. Carried over when the kernel's "
                           "counters restart at 0 (the chain re-created).");
        for (int fam = 0; nat && fam < IMA_FAMILY_COUNT; fam++) {
                if (!nat->present[fam])
                        continue;
                for (int a = 0; a < IMA_NAT_ACTION_COUNT; a++)
                        put_u64(f, name, LABELS("family", ima_family_nft_name(fam), "action", nat_action_name[a]),
                                bytes ? nat->bytes[fam][a] : nat->packets[fam][a]);
        }
}

static void render_ownership(FILE *f, const struct metrics *m)
{
        put_family(f, "ownership_mode", "gauge",
                   "How the agent keeps its tables, 1 for the active mode: owner_persist (tables owned by the "
                   "agent and persistent, so other writers cannot remove them) or event_repair (repaired on "
                   "nftables events).");
        put_u64(f, "ownership_mode", LABELS("mode", "owner_persist"), m->ownership == METRICS_OWNERSHIP_OWNER_PERSIST);
        put_u64(f, "ownership_mode", LABELS("mode", "event_repair"), m->ownership == METRICS_OWNERSHIP_EVENT_REPAIR);
}

static void render_reconcile(FILE *f, const struct metrics *m)
{
        uint64_t cumulative = 0;
        char le[32];

        put_family(f, "reconcile_duration_seconds", "histogram",
                   "Wall time of one reconcile: reading the kernel state, diffing it against the configuration "
                   "and committing any change.");
        for (size_t b = 0; b <= N_BUCKETS; b++) {
                cumulative += m->duration_buckets[b];
                if (b < N_BUCKETS)
                        format_double(metrics_duration_buckets[b], le);
                else
                        strcpy(le, "+Inf");
                put_u64(f, "reconcile_duration_seconds_bucket", LABELS("le", le), cumulative);
        }
        put_double(f, "reconcile_duration_seconds_sum", NULL, m->duration_sum);
        put_u64(f, "reconcile_duration_seconds_count", NULL, m->duration_count);
        put_family(f, "reconciles_total", "counter",
                   "Reconciles by result: changed (a transaction was committed), in_sync (nothing to change), "
                   "error, waiting_for_owner (the previous agent of a rolling update still holds the tables).");
        for (int r = 0; r < METRICS_RECONCILE_RESULT_COUNT; r++)
                put_u64(f, "reconciles_total", LABELS("result", result_name[r]), m->reconciles[r]);
}

static void render_sets(FILE *f, const struct metrics *m)
{
        put_family(f, "set_elements", "gauge",
                   "Elements (merged address intervals) in each of the agent's nftables sets after the last "
                   "successful reconcile.");
        for (int fam = 0; fam < IMA_FAMILY_COUNT; fam++) {
                if (!m->family_present[fam])
                        continue;
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        put_u64(f, "set_elements", LABELS("family", ima_family_nft_name(fam), "set", ima_set_name(s)),
                                m->set_elements[fam][s]);
        }
}

static void render_upstream(FILE *f, const struct metrics *m)
{
        put_family(f, "upstream_iptables_chain_present", "gauge",
                   "Whether the upstream ip-masq-agent's iptables chain (--masq-chain) is still in table nat "
                   "under iptables-nft (1): it masquerades beside this agent and can undo its exemptions.");
        for (int fam = 0; fam < IMA_FAMILY_COUNT; fam++)
                put_u64(f, "upstream_iptables_chain_present", LABELS("family", ima_family_nft_name(fam)),
                        (m->upstream_chains >> fam) & 1);
}

int metrics_render(const struct metrics *m, const struct ima_nat_counters *nat, char **ret, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        /* families in name order */
        put_family(f, "build_info", "gauge", "A metric with a constant '1' value labeled by the agent's version.");
        put_u64(f, "build_info", LABELS("version", m->version), 1);
        render_config(f, m);
        render_drift(f, m);
        put_family(f, "last_successful_reconcile_timestamp_seconds", "gauge",
                   "Unix time of the last reconcile that left the kernel matching the configuration (0: none yet).");
        put_double(f, "last_successful_reconcile_timestamp_seconds", NULL, m->last_success);
        render_nat_one(f, nat, true);
        render_nat_one(f, nat, false);
        render_ownership(f, m);
        render_reconcile(f, m);
        render_sets(f, m);
        render_upstream(f, m);
        if (!ima_memstream_close(f, &buf))
                return -ENOMEM;
        *ret = buf;
        *ret_len = len;
        return 0;
}
