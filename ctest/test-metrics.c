/* The metrics registry: the exact text for a known sequence of updates (a golden file), the
 * histogram's bucket arithmetic, label escaping, and a validator for the text exposition format
 * 0.0.4 that every rendering in this file must pass.
 *
 * Usage: test-metrics GOLDEN_FILE (IMA_REGEN=1 rewrites it). */
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>

#include "cmd/metrics.h"
#include "tests.h"

static const char *golden_path;

/* ---- a validator for the exposition format --------------------------------------------------- */

struct family_state {
        char name[128];
        char type[16];
        bool help, typed;
        /* histogram checks */
        double last_le;
        double last_bucket;
        double inf_bucket;
        bool saw_inf;
};

static bool full_match(const char *pattern, const char *s)
{
        regex_t re;
        bool ok;

        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        return ok;
}

static bool parse_value(const char *s, double *ret)
{
        char *end;

        if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0) {
                *ret = strcmp(s, "NaN") == 0 ? NAN : (s[0] == '+' ? INFINITY : -INFINITY);
                return true;
        }
        errno = 0;
        *ret = strtod(s, &end);
        return *s && !*end && errno == 0 && full_match("^-?[0-9]+(\\.[0-9]+)?(e[-+][0-9]+)?$", s);
}

/* Parses {k="v",...} at *p; returns the value of label `want` (malloc'd) or an empty string. */
static bool parse_labels(const char **p, const char *want, char **ret_want_value)
{
        const char *s = *p;

        *ret_want_value = strdup("");
        if (*s != '{')
                return true;
        s++;
        while (*s != '}') {
                char name[64], value[256];
                size_t n = 0, v = 0;

                while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
                       (n > 0 && *s >= '0' && *s <= '9')) {
                        if (n < sizeof(name) - 1) /* longer: kept cut, and not "le" */
                                name[n++] = *s;
                        s++;
                }
                name[n] = '\0';
                if (n == 0 || s[0] != '=' || s[1] != '"')
                        return false;
                for (s += 2; *s != '"'; s++) {
                        if (!*s || v >= sizeof(value) - 1)
                                return false;
                        if (*s == '\\') {
                                s++;
                                if (*s != '\\' && *s != '"' && *s != 'n')
                                        return false; /* the only escapes the format has */
                                value[v++] = *s == 'n' ? '\n' : *s;
                        } else if (*s == '\n') {
                                return false;
                        } else {
                                value[v++] = *s;
                        }
                }
                value[v] = '\0';
                s++;
                if (strcmp(name, want) == 0) {
                        free(*ret_want_value);
                        *ret_want_value = strdup(value);
                }
                if (*s == ',')
                        s++;
                else if (*s != '}')
                        return false;
        }
        *p = s + 1;
        return true;
}

static bool check_histogram_sample(struct family_state *fs, const char *suffix, const char *le, double value)
{
        double bound;

        if (strcmp(suffix, "_bucket") == 0) {
                if (!parse_value(le, &bound) || bound <= fs->last_le || value < fs->last_bucket || fs->saw_inf)
                        return false;
                fs->last_le = bound;
                fs->last_bucket = value;
                if (isinf(bound)) {
                        fs->saw_inf = true;
                        fs->inf_bucket = value;
                }
                return true;
        }
        if (strcmp(suffix, "_count") == 0)
                return fs->saw_inf && value == fs->inf_bucket;
        return strcmp(suffix, "_sum") == 0 && fs->saw_inf;
}

/* A sample line: a name of the current family (or its histogram series), labels, one value. */
static bool check_sample(struct family_state *fs, const char *line)
{
        _cleanup_free_ char *le = NULL;
        const char *p = line, *suffix;
        char name[128];
        size_t n = 0;
        double value;

        while (*p && *p != '{' && *p != ' ' && n < sizeof(name) - 1)
                name[n++] = *p++;
        name[n] = '\0';
        if (!full_match("^[a-zA-Z_:][a-zA-Z0-9_:]*$", name) || !fs->typed)
                return false;
        if (!parse_labels(&p, "le", &le) || *p != ' ' || !parse_value(p + 1, &value))
                return false;
        if (strncmp(name, fs->name, strlen(fs->name)) != 0)
                return false;
        suffix = name + strlen(fs->name);
        if (strcmp(fs->type, "histogram") == 0)
                return check_histogram_sample(fs, suffix, le, value);
        return *suffix == '\0' && (strcmp(fs->type, "counter") != 0 || value >= 0);
}

/* "# HELP name text" then "# TYPE name type", once per family, names ascending. */
static bool check_comment(struct family_state *fs, const char *line)
{
        char name[128], type[16];

        if (strncmp(line, "# HELP ", 7) == 0) {
                if (sscanf(line + 7, "%127s", name) != 1 || strcmp(name, fs->name) <= 0)
                        return false;
                if (fs->name[0] && !fs->typed)
                        return false;
                if (fs->name[0] && strcmp(fs->type, "histogram") == 0 && !fs->saw_inf)
                        return false;
                *fs = (struct family_state){ .help = true, .last_le = -INFINITY };
                strcpy(fs->name, name);
                return strlen(line) > 8 + strlen(name); /* a non-empty text */
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
                if (sscanf(line + 7, "%127s %15s", name, type) != 2 || strcmp(name, fs->name) != 0 || fs->typed)
                        return false;
                strcpy(fs->type, type);
                fs->typed = true;
                return strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 || strcmp(type, "histogram") == 0;
        }
        return false;
}

/* Prometheus' naming rules for this agent: the prefix, counters end in _total and only they do,
 * base units only. */
static bool check_name_rules(const struct family_state *fs)
{
        bool total = full_match("_total$", fs->name);

        return strncmp(fs->name, "ip_masq_agent_", 14) == 0 && total == (strcmp(fs->type, "counter") == 0) &&
               !full_match("_(milliseconds|microseconds|ms|us|kilobytes|megabytes)(_|$)", fs->name);
}

/* Validates a whole rendering; prints the first bad line. */
static bool valid_exposition(const char *text, size_t len)
{
        struct family_state fs = { .last_le = -INFINITY };
        _cleanup_free_ char *copy = strndup(text, len);
        char *save = NULL;

        if (len == 0 || text[len - 1] != '\n' || strlen(text) != len)
                return false;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                bool ok = line[0] == '#' ? check_comment(&fs, line) : check_sample(&fs, line);

                if (ok && fs.typed && !check_name_rules(&fs))
                        ok = false;
                if (!ok) {
                        fprintf(stderr, "invalid exposition line: %s\n", line);
                        return false;
                }
        }
        return fs.typed && (strcmp(fs.type, "histogram") != 0 || fs.saw_inf);
}

/* The validator itself must reject what it is there to catch. */
static void test_validator_rejects(void)
{
        static const char *const bad[] = {
                "ip_masq_agent_x_total 1\n", /* no HELP/TYPE */
                "# HELP ip_masq_agent_x_total h\nip_masq_agent_x_total 1\n",
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\nip_masq_agent_y_total 1\n",
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\nip_masq_agent_x_total{a=\"b} 1\n",
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\nip_masq_agent_x_total{a=\"\\t\"} 1\n",
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\nip_masq_agent_x_total one\n",
                "# HELP ip_masq_agent_x h\n# TYPE ip_masq_agent_x counter\nip_masq_agent_x 1\n",
                "# HELP ip_masq_agent_x_ms h\n# TYPE ip_masq_agent_x_ms gauge\nip_masq_agent_x_ms 1\n",
                "# HELP x_total h\n# TYPE x_total counter\nx_total 1\n",
                "# HELP ip_masq_agent_b h\n# TYPE ip_masq_agent_b gauge\nip_masq_agent_b 1\n"
                "# HELP ip_masq_agent_a h\n# TYPE ip_masq_agent_a gauge\nip_masq_agent_a 1\n",
                "# HELP ip_masq_agent_h_seconds h\n# TYPE ip_masq_agent_h_seconds histogram\n"
                "ip_masq_agent_h_seconds_bucket{le=\"1\"} 2\nip_masq_agent_h_seconds_bucket{le=\"0.5\"} 2\n"
                "ip_masq_agent_h_seconds_bucket{le=\"+Inf\"} 2\nip_masq_agent_h_seconds_sum 1\n"
                "ip_masq_agent_h_seconds_count 2\n",
                "# HELP ip_masq_agent_h_seconds h\n# TYPE ip_masq_agent_h_seconds histogram\n"
                "ip_masq_agent_h_seconds_bucket{le=\"1\"} 2\nip_masq_agent_h_seconds_bucket{le=\"+Inf\"} 3\n"
                "ip_masq_agent_h_seconds_sum 1\nip_masq_agent_h_seconds_count 2\n",
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\nip_masq_agent_x_total 1",
        };
        static const char good[] =
                "# HELP ip_masq_agent_h_seconds h\n# TYPE ip_masq_agent_h_seconds histogram\n"
                "ip_masq_agent_h_seconds_bucket{le=\"1\"} 2\nip_masq_agent_h_seconds_bucket{le=\"+Inf\"} 3\n"
                "ip_masq_agent_h_seconds_sum 1.5\nip_masq_agent_h_seconds_count 3\n"
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\n"
                "ip_masq_agent_x_total{a=\"q\\\"\\\\\\n\",b=\"\"} 1e+21\n";
        static const char long_label[] =
                "# HELP ip_masq_agent_x_total h\n# TYPE ip_masq_agent_x_total counter\n"
                "ip_masq_agent_x_total{a_label_name_longer_than_the_sixty_three_bytes_the_validator_keeps=\"v\"} 1\n";

        fprintf(stderr, "(the invalid lines printed next are expected)\n");
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                bool v = valid_exposition(bad[i], strlen(bad[i]));

                if (v)
                        fprintf(stderr, "accepted bad[%zu]\n", i);
                CHECK(!v);
        }
        CHECK(valid_exposition(good, strlen(good)));
        /* a label name longer than the validator keeps is still a name, read to its end */
        CHECK(valid_exposition(long_label, strlen(long_label)));
}

/* ---- the registry ------------------------------------------------------------------------- */

static char *render(const struct metrics *m, const struct ima_nat_counters *nat)
{
        char *text = NULL;
        size_t len = 0;

        CHECK_INT(metrics_render(m, nat, &text, &len), 0);
        if (!text)
                exit(2);
        CHECK_INT(len, strlen(text));
        CHECK(valid_exposition(text, len));
        return text;
}

/* Number of lines of text that start with prefix (a sample name plus labels). */
static size_t count_lines(const char *text, const char *prefix)
{
        size_t n = 0;

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, prefix, strlen(prefix)) == 0)
                        n++;
        return n;
}

/* The value of the sample line that starts with prefix + " ", or NAN. */
static double sample(const char *text, const char *prefix)
{
        size_t n = strlen(prefix);

        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
                        return strtod(p + n + 1, NULL);
        return NAN;
}

static void test_fresh_registry_declares_every_series(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        text = render(m, NULL);
        /* every cause but "config" (not drift), at 0 */
        CHECK_INT(count_lines(text, "ip_masq_agent_drift_repairs_total{"), IMA_REASON_COUNT - 1);
        CHECK(!strstr(text, "cause=\"config\""));
        for (int r = 0; r < IMA_REASON_COUNT; r++) {
                char prefix[128];

                if (r == IMA_REASON_CONFIG)
                        continue;
                snprintf(prefix, sizeof(prefix), "ip_masq_agent_drift_repairs_total{cause=\"%s\"}", ima_op_reason_name(r));
                CHECK(sample(text, prefix) == 0);
        }
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"changed\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"in_sync\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"error\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"waiting_for_owner\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_ownership_mode{mode=\"owner_persist\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_ownership_mode{mode=\"event_repair\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_upstream_iptables_chain_present{family=\"ip\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_upstream_iptables_chain_present{family=\"ip6\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_build_info{version=\"0.1.0\"}") == 1);
        CHECK(sample(text, "ip_masq_agent_reconcile_duration_seconds_bucket{le=\"+Inf\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_last_successful_reconcile_timestamp_seconds") == 0);
        /* no family reported yet: HELP/TYPE only */
        CHECK_INT(count_lines(text, "ip_masq_agent_set_elements{"), 0);
        CHECK_INT(count_lines(text, "ip_masq_agent_nat_packets_total{"), 0);
        CHECK_INT(count_lines(text, "# TYPE ip_masq_agent_set_elements gauge"), 1);
        CHECK_INT(count_lines(text, "# TYPE ip_masq_agent_nat_packets_total counter"), 1);
}

/* Waiting for the previous agent's tables is neither an error nor a success: the timestamp of
 * the last success stays where it was, unless those tables hold the configuration already. */
static void test_waiting_for_owner(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        metrics_reconcile_done(m, METRICS_RECONCILE_IN_SYNC, 0.001, 1000);
        metrics_reconcile_done(m, METRICS_RECONCILE_WAITING_FOR_OWNER, 0.001, 2000);
        metrics_reconcile_done(m, METRICS_RECONCILE_WAITING_FOR_OWNER, 0.001, 3000);
        text = render(m, NULL);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"waiting_for_owner\"}") == 2);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"error\"}") == 0);
        CHECK(sample(text, "ip_masq_agent_last_successful_reconcile_timestamp_seconds") == 1000);

        metrics_reconcile_done(m, METRICS_RECONCILE_WAITING_FOR_OWNER, 0.001, 4000);
        metrics_kernel_matches(m, 4000);
        text2 = render(m, NULL);
        CHECK(sample(text2, "ip_masq_agent_reconciles_total{result=\"waiting_for_owner\"}") == 3);
        CHECK(sample(text2, "ip_masq_agent_reconciles_total{result=\"in_sync\"}") == 1);
        CHECK(sample(text2, "ip_masq_agent_last_successful_reconcile_timestamp_seconds") == 4000);
}

/* config_valid is the latest load's verdict: 0 again once a bad file follows a good one. */
static void test_config_valid_follows_latest_load(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        metrics_config_loaded(m, true);
        metrics_config_loaded(m, false);
        metrics_config_loaded(m, false);
        text = render(m, NULL);
        CHECK(sample(text, "ip_masq_agent_config_valid") == 0);
        CHECK(sample(text, "ip_masq_agent_config_loads_total") == 3);
        CHECK(sample(text, "ip_masq_agent_config_load_errors_total") == 2);
}

static void test_histogram_buckets(void)
{
        /* each observation and the first bucket bound it falls in ("le" is inclusive) */
        static const struct {
                double seconds;
                double le; /* INFINITY: only +Inf */
        } obs[] = {
                { 0, 0.00005 },       { 0.00005, 0.00005 }, { 0.000050001, 0.0001 }, { 0.0003, 0.0005 },
                { 0.001, 0.001 },     { 0.0011, 0.0025 },   { 0.7, 1 },              { 1, 1 },
                { 9.999, 10 },        { 10, 10 },           { 10.001, INFINITY },    { 3600, INFINITY },
        };
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;
        double sum = 0;

        CHECK_INT(metrics_new("x", &m), 0);
        for (size_t i = 0; i < ARRAY_SIZE(obs); i++) {
                metrics_reconcile_done(m, METRICS_RECONCILE_IN_SYNC, obs[i].seconds, 1000);
                sum += obs[i].seconds;
        }
        text = render(m, NULL);
        CHECK(metrics_n_duration_buckets >= 10);
        CHECK(metrics_duration_buckets[0] <= 0.00005);
        CHECK(metrics_duration_buckets[metrics_n_duration_buckets - 1] >= 10);
        for (size_t b = 0; b <= metrics_n_duration_buckets; b++) {
                double le = b < metrics_n_duration_buckets ? metrics_duration_buckets[b] : INFINITY;
                char prefix[128], bound[32];
                size_t want = 0;

                for (size_t i = 0; i < ARRAY_SIZE(obs); i++)
                        want += obs[i].le <= le;
                if (isinf(le))
                        strcpy(bound, "+Inf");
                else
                        snprintf(bound, sizeof(bound), "%g", le);
                snprintf(prefix, sizeof(prefix), "ip_masq_agent_reconcile_duration_seconds_bucket{le=\"%s\"}", bound);
                if (sample(text, prefix) != (double)want)
                        fprintf(stderr, "bucket %s: %g, expected %zu\n", bound, sample(text, prefix), want);
                CHECK(sample(text, prefix) == (double)want);
        }
        CHECK(sample(text, "ip_masq_agent_reconcile_duration_seconds_count") == (double)ARRAY_SIZE(obs));
        CHECK(fabs(sample(text, "ip_masq_agent_reconcile_duration_seconds_sum") - sum) < 1e-9);
        CHECK(sample(text, "ip_masq_agent_reconciles_total{result=\"in_sync\"}") == (double)ARRAY_SIZE(obs));
}

static void test_label_escaping(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL;

        CHECK_INT(metrics_new("1.0\"rc\\1\nx", &m), 0);
        text = render(m, NULL);
        CHECK(strstr(text, "\nip_masq_agent_build_info{version=\"1.0\\\"rc\\\\1\\nx\"} 1\n") != NULL);
}

static void test_families_come_and_go(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;
        struct ima_nat_counters nat = { .present = { [IMA_FAMILY_IPV6] = true } };

        CHECK_INT(metrics_new("x", &m), 0);
        metrics_set_elements(m, IMA_FAMILY_IPV4, IMA_SET_DST, 3);
        metrics_set_elements(m, IMA_FAMILY_IPV6, IMA_SET_SRC, 1);
        nat.packets[IMA_FAMILY_IPV6][IMA_NAT_MASQUERADED] = UINT64_MAX;
        text = render(m, &nat);
        CHECK_INT(count_lines(text, "ip_masq_agent_set_elements{"), 4);
        CHECK(sample(text, "ip_masq_agent_set_elements{family=\"ip\",set=\"nomasq-src\"}") == 0);
        /* counters are exact integers, not floats rounded to 17 digits */
        CHECK(strstr(text, "\nip_masq_agent_nat_packets_total{family=\"ip6\",action=\"masqueraded\"} "
                           "18446744073709551615\n") != NULL);
        CHECK_INT(count_lines(text, "ip_masq_agent_nat_packets_total{family=\"ip\""), 0);
        CHECK_INT(count_lines(text, "ip_masq_agent_nat_bytes_total{family=\"ip6\""), 3);

        metrics_forget_family(m, IMA_FAMILY_IPV6);
        metrics_drift_repaired(m, IMA_REASON_CONFIG, 5);
        text2 = render(m, NULL);
        CHECK_INT(count_lines(text2, "ip_masq_agent_set_elements{family=\"ip6\""), 0);
        CHECK_INT(count_lines(text2, "ip_masq_agent_set_elements{family=\"ip\""), 2);
        CHECK(!strstr(text2, "cause=\"config\""));
}

/* Gauge values print as the shortest text that reads back exactly, in full up to 1e21. */
static void test_value_formatting(void)
{
        static const struct {
                double v;
                const char *text;
        } cases[] = {
                { 0, "0" },           { 0.1, "0.1" },         { 1795534282, "1795534282" },
                { 1795534282.5, "1795534282.5" }, { 1795534282.123456, "1795534282.123456" },
                { 0.0001, "0.0001" }, { 0.00001234, "1.234e-05" }, { 1e20, "100000000000000000000" },
                { 1e21, "1e+21" },    { 1.0 / 3, "0.3333333333333333" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(metrics_freep) struct metrics *m = NULL;
                _cleanup_free_ char *text = NULL;
                char want[128];

                CHECK_INT(metrics_new("x", &m), 0);
                metrics_reconcile_done(m, METRICS_RECONCILE_CHANGED, 0.001, cases[i].v);
                text = render(m, NULL);
                snprintf(want, sizeof(want), "\nip_masq_agent_last_successful_reconcile_timestamp_seconds %s\n",
                         cases[i].text);
                if (!strstr(text, want))
                        fprintf(stderr, "%.17g does not print as %s\n", cases[i].v, cases[i].text);
                CHECK(strstr(text, want) != NULL);
        }
}

/* ---- golden ------------------------------------------------------------------------------- */

static char *read_file(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t size = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &size, '\0', f) < 0) {
                free(buf);
                return strdup("");
        }
        return buf;
}

/* Sets what the kernel's rule with this handle counted in a reading k, adding the rule if new. */
static size_t rule_index(struct ima_nat_counters *k, enum ima_family f, uint64_t handle)
{
        size_t i = 0;

        while (i < k->n_rules[f] && k->rules[f][i].handle != handle)
                i++;
        if (i == k->n_rules[f])
                k->rules[f][k->n_rules[f]++].handle = handle;
        return i;
}

static void reading(struct ima_nat_counters *k, enum ima_family f, enum ima_nat_action a, uint64_t handle,
                    uint64_t packets, uint64_t bytes)
{
        size_t i = rule_index(k, f, handle);

        k->rules[f][i].action = a;
        k->rules[f][i].packets = packets;
        k->rules[f][i].bytes = bytes;
}

/* The kernel's rule counters restart at 0 with a re-created chain (and on "nft reset"); the
 * exported counters carry on from where they were, per family and action, and a family whose
 * table was away (IPv6 switched off and on) carries on too. */
static void test_nat_counters_never_go_backwards(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        struct ima_nat_counters k = { .present = { true, false } }, out;

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_EXEMPT_SOURCE, 4, 0, 0);
        /* a previous agent's table: what the kernel counted before us is shown as it is */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 5, 300);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_EXEMPT_DESTINATION, 5, 2, 120);
        metrics_observe_nat(m, &k, &out);
        CHECK(out.present[IMA_FAMILY_IPV4] && !out.present[IMA_FAMILY_IPV6]);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 5);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 300);
        /* nft flush ruleset, the table re-created, one new connection since */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 1, 60);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_EXEMPT_DESTINATION, 5, 0, 0);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 6);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 360);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_EXEMPT_DESTINATION], 2);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_EXEMPT_DESTINATION], 120);
        /* and they grow from there */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 4, 240);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 9);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 540);
        /* the table is gone for a scrape (or the read failed): no samples, nothing forgotten */
        k.present[IMA_FAMILY_IPV4] = false;
        metrics_observe_nat(m, &k, &out);
        CHECK(!out.present[IMA_FAMILY_IPV4]);
        k.present[IMA_FAMILY_IPV4] = true;
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 0, 0);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 9);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 540);
        /* a reset of the bytes alone (they restart with the packets) is a restart all the same */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 3, 180);
        metrics_observe_nat(m, &k, &out);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 3, 100);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 15); /* 3 then 3 more */
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 820);
        /* the agent re-creates the rules (a repair after "nft delete table"), and they count past
         * the previous reading before the next scrape: no reading falls, yet nothing is lost */
        metrics_nat_restarted(m, IMA_FAMILY_IPV4);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 5, 300);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 20);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 1120);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_EXEMPT_DESTINATION], 2); /* 0 then 0 */
        /* twice before a scrape: counted once */
        metrics_nat_restarted(m, IMA_FAMILY_IPV4);
        metrics_nat_restarted(m, IMA_FAMILY_IPV4);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 6, 1, 60);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 21);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 1180);
}


/* With --to-ports an action has several rules (one per protocol and range), their counters summed.
 * One of them removed (or re-created) by someone else is no restart of the others: what they
 * counted must not be counted again. */
static void test_nat_counters_one_rule_of_several_goes(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        struct ima_nat_counters k = { .present = { true, false } }, out;

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 10, 40, 2400); /* udp, 1024-29999 */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 11, 60, 3600); /* udp, 32768-65535 */
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 100);
        /* "nft delete rule ... handle 11", read before the repair: the sum falls, nothing restarted */
        k.n_rules[IMA_FAMILY_IPV4] = 1;
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 100);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 6000);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 10, 41, 2460); /* one more flow */
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 101);
        /* someone puts it back (a new handle): it counts from 0 */
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 12, 2, 120);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 103);
        /* the agent's repair makes them all again (handles reused): everything they hold is new */
        metrics_nat_restarted(m, IMA_FAMILY_IPV4);
        k.n_rules[IMA_FAMILY_IPV4] = 0;
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 10, 3, 180);
        reading(&k, IMA_FAMILY_IPV4, IMA_NAT_MASQUERADED, 11, 0, 0);
        metrics_observe_nat(m, &k, &out);
        CHECK_INT(out.packets[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 106);
        CHECK_INT(out.bytes[IMA_FAMILY_IPV4][IMA_NAT_MASQUERADED], 6180 + 180);
}

/* A day in the life of the agent, rendered; compared byte for byte with the golden file. */
static void test_golden(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;
        _cleanup_free_ char *text = NULL, *want = NULL;
        struct ima_nat_counters nat = {
                .present = { true, true },
                .packets = { { 1200, 15, 340 }, { 7, 0, 2 } },
                .bytes = { { 72000, 900, 20400 }, { 560, 0, 160 } },
        };

        CHECK_INT(metrics_new("0.1.0", &m), 0);
        metrics_set_ownership(m, METRICS_OWNERSHIP_EVENT_REPAIR);
        metrics_config_loaded(m, true);
        metrics_reconcile_done(m, METRICS_RECONCILE_CHANGED, 0.0042, 1795534282.5);
        metrics_set_elements(m, IMA_FAMILY_IPV4, IMA_SET_DST, 3);
        metrics_set_elements(m, IMA_FAMILY_IPV4, IMA_SET_SRC, 0);
        metrics_set_elements(m, IMA_FAMILY_IPV6, IMA_SET_DST, 1);
        metrics_set_elements(m, IMA_FAMILY_IPV6, IMA_SET_SRC, 0);
        metrics_config_loaded(m, false); /* a bad edit: the last good config stays */
        metrics_reconcile_done(m, METRICS_RECONCILE_IN_SYNC, 0.00012, 1795534342.5);
        metrics_kernel_events(m, 3);     /* nft flush ruleset */
        metrics_drift_repaired(m, IMA_REASON_TABLE_MISSING, 1);
        metrics_drift_repaired(m, IMA_REASON_CONFIG, 1);
        metrics_reconcile_done(m, METRICS_RECONCILE_CHANGED, 0.0061, 1795534350.125);
        metrics_reconcile_done(m, METRICS_RECONCILE_ERROR, 12.5, 1795534360);
        metrics_config_loaded(m, true);
        metrics_set_ownership(m, METRICS_OWNERSHIP_OWNER_PERSIST);
        metrics_set_upstream_chains(m, 1u << IMA_FAMILY_IPV4); /* left behind by the upstream agent */
        text = render(m, &nat);

        if (getenv("IMA_REGEN") && strcmp(getenv("IMA_REGEN"), "1") == 0) {
                _cleanup_fclose_ FILE *f = fopen(golden_path, "we");

                CHECK(f && fputs(text, f) >= 0);
                fprintf(stderr, "regenerated %s\n", golden_path);
                return;
        }
        want = read_file(golden_path);
        if (!want)
                fprintf(stderr, "cannot read %s (IMA_REGEN=1 creates it)\n", golden_path);
        CHECK_STR(text, want);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: test-metrics GOLDEN_FILE\n");
                return 2;
        }
        golden_path = argv[1];
        TEST_RUN(test_validator_rejects);
        TEST_RUN(test_fresh_registry_declares_every_series);
        TEST_RUN(test_waiting_for_owner);
        TEST_RUN(test_config_valid_follows_latest_load);
        TEST_RUN(test_histogram_buckets);
        TEST_RUN(test_label_escaping);
        TEST_RUN(test_families_come_and_go);
        TEST_RUN(test_value_formatting);
        TEST_RUN(test_nat_counters_never_go_backwards);
        TEST_RUN(test_nat_counters_one_rule_of_several_goes);
        TEST_RUN(test_golden);
        TEST_EXIT();
}
