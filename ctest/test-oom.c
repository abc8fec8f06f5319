/* test-oom: every allocation of the pure pipeline failing in turn. The config file is parsed
 * (YAML with anchors, a merge key, warnings; JSON; an invalid file), its model built, its rule
 * signatures encoded with libnftnl, diffed against another model's state, the plan built into a
 * netlink batch (not sent), and the plan, the nft script and validate's JSON printed. For each N, the Nth allocation fails (malloc, calloc,
 * realloc and the aligned ones, also where glibc, libyaml, jansson and libnftnl allocate on our
 * behalf): the pipeline must then fail with -ENOMEM, or succeed with exactly the output it gives
 * when nothing fails; it must not crash, free twice (glibc aborts), or leak (every allocation is
 * tracked until freed). This is what "the last good state is never lost" rests on when the
 * daemon runs short of memory: a failed load must be a failure, never a smaller config.
 *
 * The allocator is replaced by interposition, which the sanitizers' own allocator excludes: the
 * sanitized build does not build this test (meson.build). */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/diag.h"
#include "lib/diff.h"
#include "lib/memstream.h"
#include "lib/model.h"
#include "lib/observed.h"
#include "lib/plan.h"
#include "lib/render.h"
#include "nft/batch.h"
#include "nft/build.h"
#include "nft/rule-sig.h"
#include "nft/sock.h"
#include "tests.h"

/* ---- the allocator: glibc's, counted, tracked, failing on demand ----------------------------- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

static unsigned long alloc_calls; /* allocations asked for while counting */
static unsigned long fail_at;     /* this one fails (1-based); 0: none */
static bool counting;

/* live pointers: open addressing, no allocation of its own */
#define LIVE_SLOTS (1u << 20)
#define TOMBSTONE ((void *)1)
static void *live[LIVE_SLOTS];
static size_t n_live;

static size_t slot_of(const void *p)
{
        return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 44) & (LIVE_SLOTS - 1);
}

static void track(void *p)
{
        size_t i = slot_of(p);

        if (!p)
                return;
        while (live[i] && live[i] != TOMBSTONE)
                i = (i + 1) & (LIVE_SLOTS - 1);
        live[i] = p;
        n_live++;
}

static void untrack(void *p)
{
        size_t i = slot_of(p);

        if (!p)
                return;
        for (size_t probes = 0; live[i] && probes < LIVE_SLOTS; probes++, i = (i + 1) & (LIVE_SLOTS - 1))
                if (live[i] == p) {
                        live[i] = TOMBSTONE;
                        n_live--;
                        return;
                }
        /* not ours: allocated inside glibc before it could see this allocator */
}

static bool fail_now(void)
{
        if (!counting)
                return false;
        if (++alloc_calls != fail_at)
                return false;
        errno = ENOMEM;
        return true;
}

void *malloc(size_t size)
{
        void *p = fail_now() ? NULL : __libc_malloc(size);

        track(p);
        return p;
}

void *calloc(size_t n, size_t size)
{
        void *p = fail_now() ? NULL : __libc_calloc(n, size);

        track(p);
        return p;
}

void *realloc(void *p, size_t size)
{
        void *q;

        if (!p)
                return malloc(size);
        if (size == 0) {
                untrack(p);
                return __libc_realloc(p, 0);
        }
        if (fail_now())
                return NULL; /* p stays allocated and the caller's */
        q = __libc_realloc(p, size);
        if (q) {
                untrack(p);
                track(q);
        }
        return q;
}

void *memalign(size_t align, size_t size)
{
        void *p = fail_now() ? NULL : __libc_memalign(align, size);

        track(p);
        return p;
}

void *aligned_alloc(size_t align, size_t size)
{
        return memalign(align, size);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
        void *p = memalign(align, size);

        if (!p)
                return ENOMEM;
        *ret = p;
        return 0;
}

void free(void *p)
{
        untrack(p);
        __libc_free(p);
}

/* the socket batches are built for: never sent to (building needs no privileges) */
static struct ima_nl *nl;

/* ---- the pipeline ------------------------------------------------------------------------------ */

static const char yaml_config[] =
        "# anchors, a merge key with a list, an unknown key, both families, both directions\n"
        "base: &base\n"
        "  MasqLinkLocal: no\n"
        "<<: [*base, {}]\n"
        "nonMasqueradeCIDRs: &dst\n"
        "  - 10.0.0.0/8\n"
        "  - 10.0.0.0/12\n"
        "  - 192.168.0.0/16\n"
        "  - 100.64.0.0/10\n"
        "  - fd00::/8\n"
        "  - 2001:db8::/32\n"
        "NonMasqueradeSrcCIDRs: [172.16.0.0/12, 198.51.100.0/24, 'fd10::/64']\n"
        "MasqLinkLocalIPv6: true\n"
        "ResyncInterval: 1h30m\n"
        "CidrLimit: 20\n"
        "nonMasqueradeCIDRz: [1.2.3.4/32]\n";

static const char json_config[] =
        "{\"NonMasqueradeCIDRs\": [\"10.0.0.0/8\", \"203.0.113.0/24\", \"2001:db8:1::/48\"],\n"
        " \"nonMasqueradeSrcCIDRs\": [], \"masqLinkLocal\": true, \"resyncInterval\": \"90s\",\n"
        " \"unknownKey\": {\"nested\": [1, 2.5, null, \"x\"]}}\n";

static const char invalid_config[] =
        "NonMasqueradeCIDRs: [10.0.0.1/8, 300.0.0.0/8, \"\", fe80::/10]\n"
        "MasqLinkLocal: \"true\"\n"
        "ResyncInterval: 60\n"
        "CidrLimit: 1\n";

/* One problem only: losing its record must not leave a valid config without that entry. */
static const char one_bad_entry_config[] =
        "NonMasqueradeCIDRs: [10.0.0.0/8, 10.0.0.1/8, 192.168.0.0/16]\n";

/* The state the diff starts from: the kernel holding another configuration. */
static const char previous_config[] = "NonMasqueradeCIDRs: [10.0.0.0/8, 172.16.0.0/12]\n";

static int print_diag(const struct ima_diag *d, FILE *out)
{
        for (size_t i = 0; i < d->n_entries; i++) {
                char *line = ima_diag_entry_format(d, &d->entries[i]);

                if (!line)
                        return -ENOMEM;
                fprintf(out, "%s\n", line);
                free(line);
        }
        return 0;
}

static int build(const char *text, struct ima_diag *diag, struct ima_config **ret_c, struct ima_model **ret_m)
{
        struct ima_config_options copts = { .enable_ipv6 = true };
        struct ima_model_options mopts;
        int r;

        ima_model_options_init(&mopts);
        mopts.enable_ipv6 = true;
        mopts.to_ports[0] = (struct ima_port_range){ 1024, 29999 };
        mopts.to_ports[1] = (struct ima_port_range){ 32768, 65535 };
        mopts.n_to_ports = 2;
        r = ima_config_parse(text, strlen(text), &copts, diag, ret_c);
        if (r < 0)
                return r;
        return ima_model_build(*ret_c, &mopts, ret_m);
}

/* Everything the pipeline produces for config, as text in *ret; or -ENOMEM (*ret untouched). An
 * invalid config's output is its problems, with the return code -EINVAL. */
static int pipeline(const char *config, char **ret)
{
        struct ima_rule_sigs sigs[IMA_FAMILY_COUNT] = { { 0 } }, old_sigs[IMA_FAMILY_COUNT] = { { 0 } };
        struct ima_config *c = NULL, *old_c = NULL;
        struct ima_model *m = NULL, *old_m = NULL;
        struct ima_diag *diag = NULL, *old_diag = NULL;
        struct ima_observed *have = NULL;
        struct ima_plan *plan = NULL;
        struct ima_batch *batch = NULL;
        char *json = NULL, *text = NULL;
        size_t len = 0;
        FILE *out = NULL;
        int r;

        r = ima_diag_new("config.yaml", &diag);
        if (r < 0)
                goto done;
        r = build(config, diag, &c, &m);
        if (r < 0 && r != -EINVAL)
                goto done;
        out = open_memstream(&text, &len);
        if (!out) {
                r = -ENOMEM;
                goto done;
        }
        if (print_diag(diag, out) < 0) {
                r = -ENOMEM;
                goto done;
        }
        if (r == -EINVAL)
                goto done;
        if ((r = ima_diag_new("previous.yaml", &old_diag)) < 0 || (r = build(previous_config, old_diag, &old_c, &old_m)) < 0 ||
            (r = ima_rule_sigs_from_model(old_m, old_sigs)) < 0 ||
            (r = ima_observed_from_model(old_m, old_sigs, 7, &have)) < 0 ||
            (r = ima_rule_sigs_from_model(m, sigs)) < 0 || (r = ima_diff(m, sigs, have, &plan)) < 0 ||
            (r = ima_plan_print(plan, out)) < 0 || (r = ima_render_model(m, "test-oom", out)) < 0 ||
            (r = ima_batch_new(nl, 7, &batch)) < 0)
                goto done;
        for (size_t i = 0; i < plan->n_ops; i++)
                if ((r = ima_build_op(batch, &plan->ops[i])) < 0)
                        goto done;
        /* the bytes differ by sequence numbers from run to run, their amount does not */
        fprintf(out, "batch: %zu messages, %zu bytes\n", ima_batch_n_msgs(batch), ima_batch_size(batch));
        json = ima_config_to_json(c, m);
        if (!json) {
                r = -ENOMEM;
                goto done;
        }
        fputs(json, out);
done:
        if (out && !ima_memstream_close(out, &text) && (r >= 0 || r == -EINVAL))
                r = -ENOMEM;
        if (r >= 0 || r == -EINVAL) {
                *ret = text;
                text = NULL;
        }
        free(text);
        free(json);
        ima_batch_free(batch);
        ima_plan_free(plan);
        ima_observed_free(have);
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                ima_rule_sigs_clear(&sigs[f]);
                ima_rule_sigs_clear(&old_sigs[f]);
        }
        ima_model_free(m);
        ima_model_free(old_m);
        ima_config_free(c);
        ima_config_free(old_c);
        ima_diag_free(diag);
        ima_diag_free(old_diag);
        return r;
}

/* Fails each allocation of one run in turn. */
static void fail_each(const char *config, int want_r)
{
        unsigned long total, failed_cleanly = 0, succeeded = 0;
        char *want = NULL;
        size_t before;
        int r;

        r = pipeline(config, &want); /* warms up what is allocated once (stdio, jansson's seed) */
        CHECK_INT(r, want_r);
        free(want);
        want = NULL;
        counting = true;
        alloc_calls = 0;
        fail_at = 0;
        r = pipeline(config, &want);
        counting = false;
        total = alloc_calls;
        CHECK_INT(r, want_r);
        CHECK(want != NULL && total > 20);
        if (!want)
                return;
        for (unsigned long n = 1; n <= total; n++) {
                char *got = NULL;

                before = n_live;
                counting = true;
                alloc_calls = 0;
                fail_at = n;
                r = pipeline(config, &got);
                counting = false;
                if (r == -ENOMEM) {
                        failed_cleanly++;
                        CHECK(got == NULL);
                } else {
                        /* the failure was absorbed where that is harmless: the result is whole */
                        succeeded++;
                        CHECK_INT(r, want_r);
                        if (!got || strcmp(got, want) != 0) {
                                tests_failed++;
                                fprintf(stderr, "allocation %lu of %lu failed: r=%d and another result:\n%s\n", n,
                                        total, r, got ? got : "(none)");
                        }
                }
                free(got);
                if (n_live != before) {
                        tests_failed++;
                        fprintf(stderr, "allocation %lu of %lu failed: %zd allocations leaked\n", n, total,
                                (ssize_t)(n_live - before));
                }
                tests_checked++;
        }
        fprintf(stderr, "  %lu allocations: %lu failures made the pipeline fail, %lu were absorbed\n", total,
                failed_cleanly, succeeded);
        CHECK(failed_cleanly > 0);
        free(want);
}

static void test_yaml(void)
{
        fail_each(yaml_config, 0);
}

static void test_json(void)
{
        fail_each(json_config, 0);
}

static void test_invalid(void)
{
        fail_each(invalid_config, -EINVAL);
}

static void test_one_bad_entry(void)
{
        fail_each(one_bad_entry_config, -EINVAL);
}

int main(void)
{
        int r = ima_nl_open(&nl);

        if (r < 0) {
                fprintf(stderr, "cannot open a netfilter netlink socket: %s\n", strerror(-r));
                return 1;
        }
        TEST_RUN(test_yaml);
        TEST_RUN(test_json);
        TEST_RUN(test_invalid);
        TEST_RUN(test_one_bad_entry);
        ima_nl_free(nl);
        TEST_EXIT();
}
