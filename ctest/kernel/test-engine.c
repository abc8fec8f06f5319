/* test-engine: the reconciler through its API, against the kernel, inside the private namespace
 * that test-engine.sh creates. Covers what the command line cannot trigger on purpose: a commit
 * refused because the generation moved (and the retry), trusting the cache, a set left
 * malformed by a raw single-element delete, a failed dump drained, and reads racing a writer
 * never returning a torn state. */
#include <errno.h>
#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest/tests.h"
#include "lib/config.h"
#include "lib/model.h"
#include "nft/batch.h"
#include "nft/build.h"
#include "nft/dump.h"
#include "nft/reconcile.h"
#include "nft/sock.h"

static struct ima_model *model_of(const char *yaml)
{
        struct ima_config_options copts = { 0 };
        struct ima_model_options mopts;
        struct ima_config *c = NULL;
        struct ima_model *m = NULL;
        struct ima_diag *d = NULL;

        ima_model_options_init(&mopts);
        if (ima_diag_new("test", &d) < 0 || ima_config_parse(yaml, strlen(yaml), &copts, d, &c) < 0 ||
            ima_model_build(c, &mopts, &m) < 0)
                m = NULL;
        ima_config_free(c);
        ima_diag_free(d);
        return m;
}

static int run(const char *cmd)
{
        return system(cmd);
}

static void test_generation_conflict_is_retried(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_model *b = model_of("NonMasqueradeCIDRs: [10.0.0.0/9]\n");
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 1);
        ima_reconcile_report_clear(&rep);
        /* someone else commits: our cached generation is stale now */
        CHECK_INT(run("nft add table ip unrelated"), 0);
        CHECK_INT(ima_reconcile(rc, b, IMA_TRUST_CACHE, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 2); /* refused with ERESTART, read again, sent again */
        CHECK(rep.observed);
        CHECK_INT(rep.n_intervals, 2);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list set ip ip-masq-agent nomasq-dst | grep -q 'elements = { 10.0.0.0/9, 169.254.0.0/16 }'"), 0);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
        ima_model_free(b);
        run("nft delete table ip unrelated");
}

static void test_trust_genid(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);
        /* nothing happened since our commit: the cache is used, nothing is read or sent */
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(!rep.observed);
        CHECK_INT(rep.plan->n_ops, 0);
        CHECK_INT(rep.attempts, 0);
        ima_reconcile_report_clear(&rep);
        /* an edit of our table moves the generation: read, found, healed */
        CHECK_INT(run("nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }"), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.observed);
        CHECK_INT(rep.n_intervals, 1);
        CHECK_INT(rep.attempts, 1);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(!rep.observed);
        CHECK_INT(rep.plan->n_ops, 0);
        ima_reconcile_report_clear(&rep);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
}

struct catch_up_ctx {
        struct ima_reconciler *rc;
        struct ima_nl *nl;
        int calls;
};

/* Plays the daemon's event reader: the commit that moved the generation left our tables alone. */
static int catch_up_unrelated_commit(void *userdata)
{
        struct catch_up_ctx *c = userdata;
        uint32_t gen;

        if (c->calls++ > 0 || ima_nl_getgen(c->nl, &gen) < 0)
                return 0;
        ima_reconciler_skip_generation(c->rc, gen);
        return 1;
}

/* A generation check that finds the kernel ahead asks the event reader to catch up before it
 * reads the whole state back. */
static void test_generation_check_catches_up(void)
{
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_reconcile_report rep = { 0 };
        struct catch_up_ctx c = { 0 };

        CHECK_INT(ima_nl_open(&c.nl), 0);
        CHECK_INT(ima_reconciler_new(c.nl, &c.rc), 0);
        CHECK_INT(ima_reconcile(c.rc, a, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);
        /* without a reader: another table's commit costs a read */
        CHECK_INT(run("nft add table ip unrelated"), 0);
        CHECK_INT(ima_reconcile(c.rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.observed);
        ima_reconcile_report_clear(&rep);
        /* with one that accounts for it: none */
        ima_reconciler_set_catch_up(c.rc, catch_up_unrelated_commit, &c);
        CHECK_INT(run("nft delete table ip unrelated"), 0);
        CHECK_INT(ima_reconcile(c.rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(!rep.observed);
        CHECK_INT(rep.plan->n_ops, 0);
        CHECK_INT(c.calls, 1);
        ima_reconcile_report_clear(&rep);
        /* a reader with nothing to explain a change to our table: read, and repaired */
        CHECK_INT(run("nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }"), 0);
        CHECK_INT(ima_reconcile(c.rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.observed);
        CHECK_INT(rep.n_intervals, 1);
        CHECK_INT(c.calls, 2);
        ima_reconcile_report_clear(&rep);
        ima_reconciler_free(c.rc);
        ima_nl_free(c.nl);
        ima_model_free(a);
}

/* Deletes only the end element of 10.0.0.0/8 (11.0.0.0, INTERVAL_END): the kernel accepts it and
 * the range silently grows, which nft itself cannot even express. */
static int delete_end_element_only(struct ima_nl *nl)
{
        struct ima_batch *b = NULL;
        struct nftnl_set *s = nftnl_set_alloc();
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        uint8_t key[4] = { 11, 0, 0, 0 };
        struct nlmsghdr *nlh;
        int r;

        nftnl_set_set_str(s, NFTNL_SET_TABLE, IMA_TABLE_NAME);
        nftnl_set_set_str(s, NFTNL_SET_NAME, "nomasq-dst");
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(key));
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
        nftnl_set_elem_add(s, e);
        r = ima_batch_new(nl, 0, &b);
        if (r < 0)
                return r;
        nlh = ima_batch_msg(b, NFT_MSG_DELSETELEM, NFPROTO_IPV4, 0, "raw end-element delete");
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        ima_batch_msg_done(b);
        r = ima_batch_commit(b, IMA_BATCH_COMMIT);
        ima_batch_free(b);
        nftnl_set_free(s);
        return r;
}

static void test_malformed_set_is_refilled(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_observed *o = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8, 12.0.0.0/8]\nMasqLinkLocal: true\n");
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(delete_end_element_only(nl), 0);
        CHECK_INT(ima_dump_observe(nl, &o), 0);
        CHECK(o && o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST].malformed);
        ima_observed_free(o);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.plan->n_ops >= 2 && rep.plan->ops[0].kind == IMA_OP_FLUSH_SET);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(ima_dump_observe(nl, &o), 0);
        CHECK(o && !o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST].malformed);
        CHECK_INT(o ? o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST].elems->n : 0, 2);
        ima_observed_free(o);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
}

static void test_empty_model_removes_tables(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *none = NULL;
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_model_new_empty(&none), 0);
        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, none, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list table ip ip-masq-agent >/dev/null 2>&1"), 256);
        /* nothing left: nothing to send */
        CHECK_INT(ima_reconcile(rc, none, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 0);
        ima_reconcile_report_clear(&rep);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(none);
}

static int fail_at_once(const struct nlmsghdr *nlh, void *userdata)
{
        (*(int *)userdata)++;
        return -EPROTO;
}

/* A callback that fails on the first part of a long dump must not leave the kernel's dump running
 * on the socket: a netlink socket takes one dump at a time, and the next one would get EBUSY. */
static void test_failed_dump_is_drained(void)
{
        _cleanup_free_ char *yaml = NULL;
        struct ima_observed *obs = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_reconcile_report rep = { 0 };
        struct ima_model *m;
        struct ima_nl *nl = NULL;
        struct nftnl_set *set;
        char buf[4096] = { 0 };
        struct nlmsghdr *nlh;
        size_t len = 0;
        FILE *f;
        int calls = 0;

        f = open_memstream(&yaml, &len);
        fprintf(f, "CidrLimit: 5000\nNonMasqueradeCIDRs:\n");
        for (int i = 0; i < 5000; i++) /* not adjacent: 5,000 intervals, 10,000 elements */
                fprintf(f, "  - 11.%d.%d.0/24\n", i / 100, 2 * (i % 100));
        fclose(f);
        m = model_of(yaml);
        CHECK(m != NULL);
        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, m, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);

        set = nftnl_set_alloc();
        nftnl_set_set_str(set, NFTNL_SET_TABLE, "ip-masq-agent");
        nftnl_set_set_str(set, NFTNL_SET_NAME, "nomasq-dst");
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_IPV4, NLM_F_DUMP | NLM_F_ACK,
                                    ima_nl_seq_reserve(nl, 1));
        nftnl_set_elems_nlmsg_build_payload(nlh, set);
        nftnl_set_free(set);
        CHECK_INT(ima_nl_request(nl, nlh, fail_at_once, &calls), -EPROTO);
        CHECK_INT(calls, 1);
        /* the same socket dumps again at once */
        CHECK_INT(ima_dump_observe(nl, &obs), 0);
        ima_observed_free(obs);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(m);
        run("nft delete table ip ip-masq-agent");
}

static char *many_prefixes_yaml(const char *extra)
{
        char *yaml = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&yaml, &len);

        fprintf(f, "CidrLimit: 20000\nMasqLinkLocal: true\nNonMasqueradeCIDRs:\n%s", extra);
        for (int i = 0; i < 10000; i++) /* 10.0.0.0/25, 10.0.1.0/25, ...: 10,000 intervals */
                fprintf(f, "  - 10.%d.%d.0/25\n", i / 256, i % 256);
        fclose(f);
        return yaml;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Another process keeps adding and removing an interval at each end of the set while we read it.
 * Element dumps are not flagged NLM_F_DUMP_INTR: a dump continued across a commit can skip or
 * repeat elements at a message boundary. Every read that succeeds must be exactly one of the
 * two states the writer alternates between; none may be a mix. */
static void test_torn_dump_is_never_taken(void)
{
        _cleanup_free_ char *yaml_a = many_prefixes_yaml(""), *yaml_b = many_prefixes_yaml("  - 9.0.0.0/25\n  - 11.0.0.0/25\n");
        struct ima_model *a = model_of(yaml_a), *b = model_of(yaml_b);
        struct ima_reconcile_report rep = { 0 };
        struct ima_reconciler *rc = NULL;
        struct ima_nl *nl = NULL;
        int reads = 0, as_a = 0, as_b = 0, busy = 0, status;
        double end;
        pid_t writer;

        CHECK(a && b);
        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);

        writer = fork();
        if (writer == 0) {
                struct ima_reconciler *wrc = NULL;
                struct ima_nl *wnl = NULL;

                if (ima_nl_open(&wnl) < 0 || ima_reconciler_new(wnl, &wrc) < 0)
                        _exit(1);
                end = now_s() + 10; /* bounded even if the parent dies */
                for (int i = 0; now_s() < end && i < 100000; i++) {
                        struct ima_reconcile_report wrep = { 0 };

                        if (ima_reconcile(wrc, i % 2 ? a : b, IMA_TRUST_CACHE, IMA_RECONCILE_APPLY, &wrep) < 0)
                                _exit(1);
                        ima_reconcile_report_clear(&wrep);
                        /* pauses of varied length, so that reads of both states fit between commits */
                        usleep(i % 8 == 0 || i % 8 == 5 ? 30000 : 1000);
                }
                _exit(0);
        }
        CHECK(writer > 0);
        end = now_s() + 4;
        while (now_s() < end && reads < 200) {
                struct ima_observed *o = NULL;
                int r = ima_dump_observe(nl, &o);

                reads++;
                if (r == -EAGAIN) {
                        busy++;
                        continue;
                }
                CHECK_INT(r, 0);
                if (r == 0) {
                        const struct ima_observed_set *got = &o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST];
                        struct ima_ipset *norm = NULL;

                        CHECK(got->present && !got->malformed);
                        CHECK_INT(ima_ipset_dup(got->elems, &norm), 0);
                        ima_ipset_normalize(norm);
                        if (ima_ipset_equal(norm, a->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST]))
                                as_a++;
                        else if (ima_ipset_equal(norm, b->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST]))
                                as_b++;
                        else
                                CHECK_INT(norm->n, 0); /* a torn read: neither state (shows its size) */
                        ima_ipset_free(norm);
                }
                ima_observed_free(o);
        }
        kill(writer, SIGKILL);
        CHECK(waitpid(writer, &status, 0) == writer);
        CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        fprintf(stderr, "# torn-read test: %d reads beside a writer: %d state A, %d state B, %d gave up (kept changing)\n",
                reads, as_a, as_b, busy);
        CHECK(as_a + as_b > 0);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
        ima_model_free(b);
        run("nft delete table ip ip-masq-agent");
}

int main(void)
{
        TEST_RUN(test_generation_conflict_is_retried);
        TEST_RUN(test_trust_genid);
        TEST_RUN(test_generation_check_catches_up);
        TEST_RUN(test_malformed_set_is_refilled);
        TEST_RUN(test_empty_model_removes_tables);
        TEST_RUN(test_failed_dump_is_drained);
        TEST_RUN(test_torn_dump_is_never_taken);
        TEST_EXIT();
}
