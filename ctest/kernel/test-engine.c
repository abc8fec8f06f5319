/* test-engine: the reconciler through its API, against the kernel, inside the private namespace
 * that test-engine.sh creates. Covers what the command line cannot trigger on purpose: a commit
 * refused because the generation moved (and the retry), trusting the cache, and a set left
 * malformed by a raw single-element delete. */
#include <errno.h>
#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
        TEST_RUN(test_generation_conflict_is_retried);
        TEST_RUN(test_trust_genid);
        TEST_RUN(test_malformed_set_is_refilled);
        TEST_RUN(test_empty_model_removes_tables);
        TEST_RUN(test_failed_dump_is_drained);
        TEST_EXIT();
}
