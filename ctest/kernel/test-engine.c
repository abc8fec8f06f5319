/* test-engine: the reconciler through its API, against the kernel, inside the private namespace
 * that test-engine.sh creates. Covers what the command line cannot trigger on purpose: a commit
 * refused because the generation moved (and the retry), the second transaction of a re-created
 * table sent at the first one's generation, trusting the cache, a refused batch
 * message named by its answer, a set left malformed by a raw single-element delete, the persist
 * probe beside a table of its name, a failed dump drained, reads racing a writer never returning
 * a torn state or a commit half applied, and a random walk of configs and tampering whose every step must read back as the
 * merged coverage of what was written. */
#include <arpa/inet.h> /* before the linux/ headers, which skip what it defined */
#include <errno.h>
#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
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
#include "nft/probe.h"
#include "nft/reconcile.h"
#include "nft/sock.h"

static struct ima_model *model_of_opts(const char *yaml, bool enable_ipv6)
{
        struct ima_config_options copts = { .enable_ipv6 = enable_ipv6 };
        struct ima_model_options mopts;
        struct ima_config *c = NULL;
        struct ima_model *m = NULL;
        struct ima_diag *d = NULL;

        ima_model_options_init(&mopts);
        mopts.enable_ipv6 = enable_ipv6;
        if (ima_diag_new("test", &d) < 0 || ima_config_parse(yaml, strlen(yaml), &copts, d, &c) < 0 ||
            ima_model_build(c, &mopts, &m) < 0)
                m = NULL;
        ima_config_free(c);
        ima_diag_free(d);
        return m;
}

static struct ima_model *model_of(const char *yaml)
{
        return model_of_opts(yaml, false);
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

/* A socket, and a reconciler on it that has applied m from a fresh read of the kernel. */
static void start_engine(const struct ima_model *m, struct ima_nl **nl, struct ima_reconciler **rc)
{
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_nl_open(nl), 0);
        CHECK_INT(ima_reconciler_new(*nl, rc), 0);
        CHECK_INT(ima_reconcile(*rc, m, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        ima_reconcile_report_clear(&rep);
}

/* The cache is trusted and holds m: nothing read, nothing sent. */
static void check_cached_in_sync(struct ima_reconciler *rc, const struct ima_model *m)
{
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_reconcile(rc, m, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(!rep.observed);
        CHECK_INT(rep.plan->n_ops, 0);
        CHECK_INT(rep.attempts, 0);
        ima_reconcile_report_clear(&rep);
}

static void test_trust_genid(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_reconcile_report rep = { 0 };

        start_engine(a, &nl, &rc);
        /* nothing happened since our commit: the cache is used, nothing is read or sent */
        check_cached_in_sync(rc, a);
        /* an edit of our table moves the generation: read, found, healed */
        CHECK_INT(run("nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }"), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.observed);
        CHECK_INT(rep.n_intervals, 1);
        CHECK_INT(rep.attempts, 1);
        ima_reconcile_report_clear(&rep);
        check_cached_in_sync(rc, a);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
}

/* A table made again in two transactions (the rules matching the intervals directly until the
 * sets are live): the second is sent at the generation the first produced, so the kernel takes
 * it at once, and the cache is the kernel's state afterwards. */
static void test_second_transaction_follows_the_first(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_reconcile_report rep = { 0 };

        start_engine(a, &nl, &rc);
        /* made again under our name, without our comment: re-created */
        CHECK_INT(run("nft 'delete table ip ip-masq-agent; add table ip ip-masq-agent'"), 0);
        CHECK_INT(ima_reconcile(rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.plan && ima_plan_has_second_transaction(rep.plan));
        CHECK_INT(rep.attempts, 1); /* not refused (ERESTART), read and sent again */
        CHECK_INT(rep.n_errors, 0);
        ima_reconcile_report_clear(&rep);
        check_cached_in_sync(rc, a);
        CHECK_INT(run("nft list table ip ip-masq-agent | grep -q 'comment \"managed by ip-masq-agent'"), 0);
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

struct moving_ctx {
        int calls;
        int moves;       /* the first this many commits are preceded by cmd */
        const char *cmd;
};

/* A commit hook that commits cmd just before each of the agent's first commits, after its read. */
static void move_generation_first(void *userdata, bool before, size_t n_intervals)
{
        struct moving_ctx *c = userdata;

        if (before && c->calls++ < c->moves)
                CHECK_INT(run(c->cmd), 0);
}

/* A commit the kernel refuses only because others committed to other tables since the read (the
 * generation is global: on a busy node, often) is sent again at the new generation, with no new
 * read: three refusals here, which the one retry after a fresh read could not ride out. Also from
 * the daemon's cache, its event reader telling. A commit to our table in between is not ridden
 * over: the state is read again, and what that commit added goes. */
static void test_commit_sent_again_over_others_commits(void)
{
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        struct ima_model *b = model_of("NonMasqueradeCIDRs: [10.0.0.0/9]\n");
        struct ima_reconcile_report rep = { 0 };
        struct moving_ctx move = { .moves = 3, .cmd = "nft 'add table ip unrelated; delete table ip unrelated'" };
        struct catch_up_ctx c = { 0 };

        start_engine(a, &c.nl, &c.rc);
        ima_reconciler_set_commit_hook(c.rc, move_generation_first, &move);
        CHECK_INT(ima_reconcile(c.rc, b, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 4);
        CHECK_INT(rep.n_errors, 0);
        CHECK_INT(move.calls, 4);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list set ip ip-masq-agent nomasq-dst | grep -q 'elements = { 10.0.0.0/9, 169.254.0.0/16 }'"), 0);
        /* from the cache: the event reader accounts for the other table's commit, nothing is read */
        ima_reconciler_set_catch_up(c.rc, catch_up_unrelated_commit, &c);
        move = (struct moving_ctx){ .moves = 1, .cmd = move.cmd };
        CHECK_INT(ima_reconcile(c.rc, a, IMA_TRUST_GENID, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(!rep.observed);
        CHECK_INT(rep.attempts, 2);
        CHECK_INT(rep.n_errors, 0);
        CHECK_INT(c.calls, 1);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list set ip ip-masq-agent nomasq-dst | grep -q 'elements = { 10.0.0.0/8, 169.254.0.0/16 }'"), 0);
        /* our table changed between the read and the commit: read again, and the element goes */
        ima_reconciler_set_catch_up(c.rc, NULL, NULL);
        move = (struct moving_ctx){ .moves = 1, .cmd = "nft add element ip ip-masq-agent nomasq-dst { 8.8.8.8 }" };
        CHECK_INT(ima_reconcile(c.rc, b, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 2); /* refused, read again, sent again */
        CHECK(rep.observed);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list set ip ip-masq-agent nomasq-dst | grep -q 'elements = { 10.0.0.0/9, 169.254.0.0/16 }'"), 0);
        ima_reconciler_free(c.rc);
        ima_nl_free(c.nl);
        ima_model_free(a);
        ima_model_free(b);
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

/* One table message of a batch, described as what. */
static void batch_table_msg(struct ima_batch *b, uint16_t type, const char *name, const char *what)
{
        struct nftnl_table *t = nftnl_table_alloc();
        struct nlmsghdr *nlh;

        nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
        nlh = ima_batch_msg(b, type, NFPROTO_IPV4, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, what);
        nftnl_table_nlmsg_build_payload(nlh, t);
        ima_batch_msg_done(b);
        nftnl_table_free(t);
}

/* The kernel's refusal is pinned on the message it answers, by sequence number: an apply that
 * fails names the operation that failed, not its neighbour. Nothing of the batch is committed. */
static void test_batch_error_names_its_message(void)
{
        struct ima_nl *nl = NULL;
        struct ima_batch *b = NULL;
        struct ima_batch_error e = { 0 };

        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_batch_new(nl, 0, &b), 0);
        batch_table_msg(b, NFT_MSG_NEWTABLE, "batch-first", "add table batch-first");
        batch_table_msg(b, NFT_MSG_NEWTABLE, "batch-second", "add table batch-second");
        batch_table_msg(b, NFT_MSG_DELTABLE, "batch-missing", "delete table batch-missing");
        batch_table_msg(b, NFT_MSG_NEWTABLE, "batch-last", "add table batch-last");
        CHECK_INT(ima_batch_commit(b, IMA_BATCH_COMMIT), -ENOENT);
        CHECK_INT(ima_batch_n_errors(b), 1);
        if (ima_batch_n_errors(b) == 1) {
                ima_batch_get_error(b, 0, &e);
                CHECK_INT(e.error, -ENOENT);
                CHECK_STR(e.what, "delete table batch-missing");
        }
        ima_batch_free(b);
        CHECK_INT(run("nft list table ip batch-first >/dev/null 2>&1"), 256);
        ima_nl_free(nl);
}

static void test_malformed_set_is_refilled(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_observed *o = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8, 12.0.0.0/8]\nMasqLinkLocal: true\n");
        struct ima_reconcile_report rep = { 0 };

        start_engine(a, &nl, &rc);
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

/* A family the agent deletes is read without its contents: the table's flags and owner, which
 * deleting it needs, and nothing of its sets, chain or elements. */
static void test_table_read_alone(void)
{
        static const bool contents[IMA_FAMILY_COUNT] = { [IMA_FAMILY_IPV4] = false, [IMA_FAMILY_IPV6] = true };
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_observed *o = NULL;
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8, 12.0.0.0/8]\n"), *none = NULL;
        struct ima_reconcile_report rep = { 0 };
        const struct ima_observed_table *t;

        start_engine(a, &nl, &rc);
        CHECK_INT(ima_dump_observe_scoped(nl, NULL, contents, &o), 0);
        t = o ? &o->tables[IMA_FAMILY_IPV4] : NULL;
        CHECK(t && t->present && t->contents_unread);
        CHECK(t && !t->sets[IMA_SET_DST].present && !t->sets[IMA_SET_SRC].present && !t->chain.present);
        CHECK(t && !t->sets[IMA_SET_DST].elems);
        ima_observed_free(o);
        o = NULL;
        CHECK_INT(ima_dump_observe_scoped(nl, NULL, NULL, &o), 0);
        t = o ? &o->tables[IMA_FAMILY_IPV4] : NULL;
        CHECK(t && t->present && !t->contents_unread && t->chain.present);
        CHECK_INT(t && t->sets[IMA_SET_DST].elems ? t->sets[IMA_SET_DST].elems->n : 0, 3); /* with link-local */
        ima_observed_free(o);
        /* the reconcile to nothing reads it so, and deletes it whole */
        CHECK_INT(ima_model_new_empty(&none), 0);
        CHECK_INT(ima_reconcile(rc, none, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK(rep.plan && rep.plan->n_ops == 1 && rep.plan->ops[0].kind == IMA_OP_DEL_TABLE);
        ima_reconcile_report_clear(&rep);
        CHECK_INT(run("nft list table ip ip-masq-agent >/dev/null 2>&1"), 256);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(none);
        ima_model_free(a);
}

static void test_empty_model_removes_tables(void)
{
        struct ima_nl *nl = NULL;
        struct ima_reconciler *rc = NULL;
        struct ima_model *none = NULL;
        struct ima_reconcile_report rep = { 0 };

        CHECK_INT(ima_model_new_empty(&none), 0);
        start_engine(none, &nl, &rc);
        CHECK_INT(run("nft list table ip ip-masq-agent >/dev/null 2>&1"), 256);
        /* nothing left: nothing to send */
        CHECK_INT(ima_reconcile(rc, none, IMA_TRUST_NOTHING, IMA_RECONCILE_APPLY, &rep), 0);
        CHECK_INT(rep.attempts, 0);
        ima_reconcile_report_clear(&rep);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(none);
}

/* A table that happens to have the probe's name must not make the persist probe an update of it,
 * which the kernel refuses (EOPNOTSUPP: the owner flag cannot be added to a table) whatever it
 * supports: the daemon would then run without table ownership, blaming the kernel's version. */
static void test_persist_probe_ignores_namesakes(void)
{
        struct ima_nl *nl = NULL;
        char cmd[256];
        int alone;

        CHECK_INT(ima_nl_open(&nl), 0);
        alone = ima_features_table_persist(nl);
        CHECK(alone == 0 || alone == 1);
        snprintf(cmd, sizeof(cmd), "nft 'add table ip %s-probe; add table ip %s-probe-%u-0'", IMA_TABLE_NAME,
                 IMA_TABLE_NAME, ima_nl_portid(nl));
        CHECK_INT(run(cmd), 0);
        CHECK_INT(ima_features_table_persist(nl), alone);
        snprintf(cmd, sizeof(cmd), "nft 'delete table ip %s-probe; delete table ip %s-probe-%u-0'", IMA_TABLE_NAME,
                 IMA_TABLE_NAME, ima_nl_portid(nl));
        CHECK_INT(run(cmd), 0);
        ima_nl_free(nl);
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
        start_engine(m, &nl, &rc);

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
        struct ima_reconciler *rc = NULL;
        struct ima_nl *nl = NULL;
        int reads = 0, as_a = 0, as_b = 0, busy = 0, status;
        struct ima_observed *first = NULL;
        double end, read_s, window_s;
        useconds_t long_pause_us;
        pid_t writer;

        CHECK(a && b);
        start_engine(a, &nl, &rc);
        /* The writer's long pauses must fit whole reads, however long a read takes here: 10 ms on
         * the test machine, 100 ms under emulation, where 30 ms pauses left every read beside the
         * writer torn (so given up) and the test proving nothing. */
        read_s = now_s();
        CHECK_INT(ima_dump_observe(nl, &first), 0);
        read_s = now_s() - read_s;
        ima_observed_free(first);
        long_pause_us = (useconds_t)(read_s * 3e6 > 30000 ? read_s * 3e6 : 30000);
        window_s = read_s * 20 > 4 ? read_s * 20 : 4;

        writer = fork();
        if (writer == 0) {
                struct ima_reconciler *wrc = NULL;
                struct ima_nl *wnl = NULL;

                if (ima_nl_open(&wnl) < 0 || ima_reconciler_new(wnl, &wrc) < 0)
                        _exit(1);
                end = now_s() + window_s + 6; /* bounded even if the parent dies */
                for (int i = 0; now_s() < end && i < 100000; i++) {
                        struct ima_reconcile_report wrep = { 0 };

                        if (ima_reconcile(wrc, i % 2 ? a : b, IMA_TRUST_CACHE, IMA_RECONCILE_APPLY, &wrep) < 0)
                                _exit(1);
                        ima_reconcile_report_clear(&wrep);
                        /* pauses of varied length, so that reads of both states fit between commits */
                        usleep(i % 8 == 0 || i % 8 == 5 ? long_pause_us : 1000);
                }
                _exit(0);
        }
        CHECK(writer > 0);
        end = now_s() + window_s;
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
        fprintf(stderr, "# torn-read test: %d reads beside a writer: %d state A, %d state B, %d gave up (kept changing);"
                        " a read alone took %.1f ms\n",
                reads, as_a, as_b, busy, read_s * 1e3);
        CHECK(as_a + as_b > 0);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
        ima_model_free(b);
        run("nft delete table ip ip-masq-agent");
}

/* The barrier commits nothing on this kernel, so it is used: the generation stays where it was
 * (on older kernels an empty transaction moves it; the first call finds that out and stops). */
static void test_barrier_commits_nothing(void)
{
        struct ima_nl *nl = NULL;
        uint32_t before = 0, after = 0;

        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_nl_getgen(nl, &before), 0);
        for (int i = 0; i < 3; i++)
                CHECK_INT(ima_nl_barrier(nl), 0);
        CHECK_INT(ima_nl_getgen(nl, &after), 0);
        CHECK_INT(after, before);
        CHECK(ima_nl_barrier_available(nl));
        ima_nl_free(nl);
}

/* Writes the transaction the half-applied-commit test alternates: 5,000 elements of another
 * table's set replaced (a commit long enough to be caught in) and our chain's policy set, which
 * the kernel applies last, after it has moved the generation. */
static void write_policy_txn(const char *path, const char *policy)
{
        FILE *f = fopen(path, "w");

        CHECK(f != NULL);
        if (!f)
                return;
        fputs("flush set ip other s\nadd element ip other s { ", f);
        for (int i = 0; i < 5000; i++)
                fprintf(f, "%s10.%d.%d.1", i ? ", " : "", i / 250, i % 250);
        fprintf(f, " }\nchain ip ip-masq-agent postrouting { policy %s; }\n", policy);
        fclose(f);
}

/* Another process commits, one transaction per generation, our chain's policy alternately drop
 * and accept: a read labelled generation g must show the policy of g's commit. The kernel moves
 * the generation before it applies a policy, and dumps take no lock: without waiting for the
 * commit to end (ima_nl_barrier()), a tenth of these reads showed the policy before it. */
static void test_half_applied_commit_is_never_read(void)
{
        struct ima_model *a = model_of("NonMasqueradeCIDRs: [10.0.0.0/8]\n");
        char dir[] = "/tmp/ima-engine-XXXXXX", drop[64], accept[64];
        struct ima_reconciler *rc = NULL;
        struct ima_nl *nl = NULL;
        int reads = 0, torn = 0, commits_seen = 0, status;
        uint32_t g0 = 0;
        double end;
        pid_t writer;

        CHECK(a != NULL && mkdtemp(dir) != NULL);
        snprintf(drop, sizeof(drop), "%s/drop.nft", dir);
        snprintf(accept, sizeof(accept), "%s/accept.nft", dir);
        write_policy_txn(drop, "drop");
        write_policy_txn(accept, "accept");
        start_engine(a, &nl, &rc);
        CHECK_INT(run("nft add table ip other '{ set s { type ipv4_addr; }; }'"), 0);
        CHECK_INT(ima_nl_getgen(nl, &g0), 0);

        writer = fork();
        if (writer == 0) {
                char cmd[128];

                setpgid(0, 0);
                end = now_s() + 10; /* bounded even if the parent dies */
                for (int i = 1; now_s() < end && i <= 400; i++) {
                        snprintf(cmd, sizeof(cmd), "nft -f %s", i % 2 ? drop : accept);
                        if (system(cmd) != 0)
                                _exit(1);
                }
                _exit(0);
        }
        CHECK(writer > 0);
        /* its own process group (set on both sides of the fork, whichever runs first), so that the
         * nft it runs dies with it, not later in the middle of the cleanup below */
        setpgid(writer, writer);
        end = now_s() + 4;
        while (now_s() < end && reads < 20000) {
                struct ima_observed *o = NULL;
                int r = ima_dump_observe(nl, &o);

                reads++;
                if (r == -EAGAIN)
                        continue;
                CHECK_INT(r, 0);
                if (r == 0) {
                        const char *want = (o->genid - g0) % 2 ? "drop" : "accept";

                        if (strcmp(o->tables[IMA_FAMILY_IPV4].chain.header.policy, want) != 0 && torn++ < 3)
                                fprintf(stderr, "# generation %u read with policy %s, its commit set %s\n",
                                        o->genid, o->tables[IMA_FAMILY_IPV4].chain.header.policy, want);
                        if (o->genid != g0)
                                commits_seen++;
                }
                ima_observed_free(o);
        }
        kill(-writer, SIGKILL);
        CHECK(waitpid(writer, &status, 0) == writer);
        CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        fprintf(stderr, "# half-applied test: %d reads beside a writer, %d after its commits, %d torn\n", reads,
                commits_seen, torn);
        CHECK_INT(torn, 0);
        CHECK(commits_seen > 0);
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        ima_model_free(a);
        run("nft delete table ip other; nft delete table ip ip-masq-agent");
        unlink(drop);
        unlink(accept);
        rmdir(dir);
}

/* --- a random walk of configs, each step read back and checked against coverage computed here --- */

typedef unsigned __int128 addr_t;

struct span {
        addr_t lo, hi;
};

struct spans {
        struct span v[128];
        size_t n;
};

static uint64_t walk_rand(uint64_t *state)
{
        uint64_t x = *state; /* xorshift64 */

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *state = x;
}

/* The network bits of a prefix of len in a bits-wide address. */
static addr_t mask_of(unsigned bits, unsigned len)
{
        return len == 0 ? 0 : (~(addr_t)0 << (128 - len)) >> (128 - bits);
}

static addr_t last_of(addr_t net, unsigned bits, unsigned len)
{
        return net | (mask_of(bits, bits) & ~mask_of(bits, len));
}

static void spans_add(struct spans *s, addr_t lo, addr_t hi)
{
        if (s->n < ARRAY_SIZE(s->v))
                s->v[s->n++] = (struct span){ lo, hi };
}

static int span_cmp(const void *a, const void *b)
{
        const struct span *x = a, *y = b;

        if (x->lo != y->lo)
                return x->lo < y->lo ? -1 : 1;
        return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorted, and (merge) with overlapping or touching spans joined: what the agent must leave in a set. */
static void spans_sort(struct spans *s, bool merge)
{
        size_t out = 0;

        qsort(s->v, s->n, sizeof(s->v[0]), span_cmp);
        for (size_t i = 0; merge && i < s->n; i++) {
                if (out > 0 && (s->v[out - 1].hi == ~(addr_t)0 || s->v[i].lo <= s->v[out - 1].hi + 1)) {
                        if (s->v[i].hi > s->v[out - 1].hi)
                                s->v[out - 1].hi = s->v[i].hi;
                        continue;
                }
                s->v[out++] = s->v[i];
        }
        if (merge)
                s->n = out;
}

static int parse_addr(const char *text, bool v6, addr_t *ret)
{
        unsigned char b[16];
        addr_t a = 0;

        if (inet_pton(v6 ? AF_INET6 : AF_INET, text, b) != 1)
                return -EINVAL;
        for (int i = 0; i < (v6 ? 16 : 4); i++)
                a = a << 8 | b[i];
        *ret = a;
        return 0;
}

/* One set as nft-readback (libnftables JSON) shows it: "a/len", "a-b" or "a" per element. */
static int read_back_set(const char *family, const char *set, struct spans *ret)
{
        const char *helpers = getenv("IMA_HELPERS");
        bool v6 = strcmp(family, "ip6") == 0, in_set = false;
        char cmd[512], line[512], want[64];
        int r = 0;
        FILE *f;

        ret->n = 0;
        snprintf(cmd, sizeof(cmd), "%s/nft-readback %s", helpers ? helpers : ".", family);
        snprintf(want, sizeof(want), "set %s ", set);
        f = popen(cmd, "r");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char *e = line + strlen("  element "), *dash, *slash;
                addr_t lo, hi;

                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, "set ", 4) == 0)
                        in_set = strncmp(line, want, strlen(want)) == 0;
                if (!in_set || strncmp(line, "  element ", strlen("  element ")) != 0)
                        continue;
                dash = strchr(e, '-');
                slash = strchr(e, '/');
                if (dash)
                        *dash = '\0';
                if (slash)
                        *slash = '\0';
                if (parse_addr(e, v6, &lo) < 0 || (dash && parse_addr(dash + 1, v6, &hi) < 0)) {
                        r = -EINVAL;
                        continue;
                }
                if (slash)
                        hi = last_of(lo, v6 ? 128 : 32, (unsigned)atoi(slash + 1));
                else if (!dash)
                        hi = lo;
                spans_add(ret, lo, hi);
        }
        if (pclose(f) != 0 && r == 0)
                r = -EIO;
        spans_sort(ret, false);
        return r;
}

/* A prefix from a small space so that steps overlap, nest, touch, split and merge each other;
 * now and then one at the edges of the address space. */
static void random_prefix(uint64_t *rng, bool v6, char *buf, size_t size, struct spans *cover)
{
        unsigned bits = v6 ? 128 : 32, len;
        unsigned char b[16];
        addr_t net, a;

        switch (walk_rand(rng) % 41) {
        case 0:
                net = 0, len = 0;
                break;
        case 1:
                net = mask_of(bits, bits), len = bits;
                break;
        case 2:
                net = 0, len = bits - 1;
                break;
        default: /* inside 10.0.0.0/14 or 2001:db8::/110 */
                len = bits - (unsigned)(walk_rand(rng) % 19);
                net = (v6 ? (addr_t)0x20010db8 << 96 : (addr_t)10 << 24) | (addr_t)(walk_rand(rng) % (1u << 18));
                net &= mask_of(bits, len);
                break;
        }
        a = net;
        for (int i = (int)bits / 8 - 1; i >= 0; i--, a >>= 8)
                b[i] = (unsigned char)a;
        inet_ntop(v6 ? AF_INET6 : AF_INET, b, buf, (socklen_t)size);
        snprintf(buf + strlen(buf), size - strlen(buf), "/%u", len);
        spans_add(cover, net, last_of(net, bits, len));
}

static void random_list(uint64_t *rng, FILE *yaml, const char *key, struct spans cover[2])
{
        size_t n = walk_rand(rng) % 12;

        fprintf(yaml, "%s: [", key);
        for (size_t i = 0; i < n; i++) {
                bool v6 = walk_rand(rng) % 3 == 0;
                char buf[80];

                random_prefix(rng, v6, buf, sizeof(buf), &cover[v6]);
                fprintf(yaml, "%s\"%s\"", i ? ", " : "", buf);
        }
        fputs("]\n", yaml);
}

static void spans_print(const char *what, const struct spans *s, bool v6)
{
        fprintf(stderr, "#   %s:", what);
        for (size_t i = 0; i < s->n; i++) {
                char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];
                unsigned char b[2][16];

                for (int k = 0; k < 2; k++) {
                        addr_t a = k ? s->v[i].hi : s->v[i].lo;

                        for (int j = v6 ? 15 : 3; j >= 0; j--, a >>= 8)
                                b[k][j] = (unsigned char)a;
                }
                inet_ntop(v6 ? AF_INET6 : AF_INET, b[0], lo, sizeof(lo));
                inet_ntop(v6 ? AF_INET6 : AF_INET, b[1], hi, sizeof(hi));
                fprintf(stderr, " %s-%s", lo, hi);
        }
        fputc('\n', stderr);
}

static bool spans_equal(const struct spans *a, const struct spans *b)
{
        if (a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (a->v[i].lo != b->v[i].lo || a->v[i].hi != b->v[i].hi)
                        return false;
        return true;
}

/* Steps through random configs the way the daemon does, each a delta from the state its own
 * commits left (IMA_TRUST_CACHE), now and then after someone else edited the table (read again,
 * IMA_TRUST_GENID). After every step both families' sets are read back through libnftables and
 * must equal the merged coverage of the prefixes written, computed here independently of
 * lib/ipset.c. IMA_WALK_SEED repeats a run; the seed is printed. */
static void test_random_walk(void)
{
        static const char *const tampering[] = {
                "nft add element ip ip-masq-agent nomasq-dst { 198.51.100.7 }",
                "nft flush set ip ip-masq-agent nomasq-src",
                "nft delete table ip6 ip-masq-agent",
                "nft add rule ip ip-masq-agent postrouting counter",
                "nft flush ruleset",
        };
        const char *env = getenv("IMA_WALK_SEED");
        uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u | 1, rng = seed;
        struct ima_reconciler *rc = NULL;
        struct ima_nl *nl = NULL;
        unsigned steps = 150, deltas = 0, mismatches = 0;

        fprintf(stderr, "# random walk: %u steps, IMA_WALK_SEED=%llu\n", steps, (unsigned long long)seed);
        CHECK_INT(ima_nl_open(&nl), 0);
        CHECK_INT(ima_reconciler_new(nl, &rc), 0);
        for (unsigned step = 0; rc && step < steps; step++) {
                struct spans want[2][IMA_SET_COUNT] = { 0 }, cover[2] = { 0 };
                struct ima_reconcile_report rep = { 0 };
                bool ll = walk_rand(&rng) % 2, ll6 = walk_rand(&rng) % 2;
                enum ima_trust trust = IMA_TRUST_CACHE;
                _cleanup_free_ char *yaml = NULL;
                struct ima_model *m;
                size_t len = 0;
                FILE *f = open_memstream(&yaml, &len);

                if (!f)
                        break;
                random_list(&rng, f, "NonMasqueradeCIDRs", cover);
                want[0][IMA_SET_DST] = cover[0];
                want[1][IMA_SET_DST] = cover[1];
                memset(cover, 0, sizeof(cover));
                random_list(&rng, f, "NonMasqueradeSrcCIDRs", cover);
                want[0][IMA_SET_SRC] = cover[0];
                want[1][IMA_SET_SRC] = cover[1];
                fprintf(f, "MasqLinkLocal: %s\nMasqLinkLocalIPv6: %s\nCidrLimit: 1000\n", ll ? "true" : "false",
                        ll6 ? "true" : "false");
                fclose(f);
                if (!ll)
                        spans_add(&want[0][IMA_SET_DST], (addr_t)0xa9fe << 16, (addr_t)0xa9fe << 16 | 0xffff);
                if (!ll6)
                        spans_add(&want[1][IMA_SET_DST], (addr_t)0xfe80 << 112, ((addr_t)0xfec0 << 112) - 1);
                if (step == 0)
                        trust = IMA_TRUST_NOTHING;
                else if (walk_rand(&rng) % 8 == 0) {
                        const char *t = tampering[walk_rand(&rng) % ARRAY_SIZE(tampering)];

                        (void)!run(t); /* may fail (the element may be covered already): fine */
                        trust = IMA_TRUST_GENID;
                }
                m = model_of_opts(yaml, true);
                CHECK(m);
                if (!m) {
                        fprintf(stderr, "# step %u: config refused:\n%s", step, yaml);
                        break;
                }
                CHECK_INT(ima_reconcile(rc, m, trust, IMA_RECONCILE_APPLY, &rep), 0);
                if (trust == IMA_TRUST_CACHE && rep.plan) {
                        bool elements_only = true;

                        for (size_t i = 0; i < rep.plan->n_ops; i++)
                                elements_only &= rep.plan->ops[i].kind == IMA_OP_DEL_ELEMS ||
                                                 rep.plan->ops[i].kind == IMA_OP_ADD_ELEMS;
                        CHECK(elements_only);
                        deltas += rep.plan->n_ops > 0;
                }
                ima_reconcile_report_clear(&rep);
                ima_model_free(m);
                for (int v6 = 0; v6 < 2; v6++)
                        for (int s = 0; s < IMA_SET_COUNT; s++) {
                                struct spans got;

                                spans_sort(&want[v6][s], true);
                                CHECK_INT(read_back_set(v6 ? "ip6" : "ip", ima_set_name((enum ima_set_id)s), &got), 0);
                                if (!spans_equal(&got, &want[v6][s])) {
                                        fprintf(stderr, "# step %u: %s %s: kernel has %zu intervals, expected %zu; config:\n%s",
                                                step, v6 ? "ip6" : "ip", ima_set_name((enum ima_set_id)s), got.n,
                                                want[v6][s].n, yaml);
                                        spans_print("kernel", &got, v6);
                                        spans_print("expected", &want[v6][s], v6);
                                        mismatches++;
                                }
                        }
        }
        CHECK_INT(mismatches, 0);
        CHECK(deltas > steps / 2); /* the walk did exercise the delta path */
        ima_reconciler_free(rc);
        ima_nl_free(nl);
        run("nft delete table ip ip-masq-agent; nft delete table ip6 ip-masq-agent");
}

int main(void)
{
        TEST_RUN(test_generation_conflict_is_retried);
        TEST_RUN(test_trust_genid);
        TEST_RUN(test_second_transaction_follows_the_first);
        TEST_RUN(test_generation_check_catches_up);
        TEST_RUN(test_commit_sent_again_over_others_commits);
        TEST_RUN(test_batch_error_names_its_message);
        TEST_RUN(test_malformed_set_is_refilled);
        TEST_RUN(test_table_read_alone);
        TEST_RUN(test_empty_model_removes_tables);
        TEST_RUN(test_persist_probe_ignores_namesakes);
        TEST_RUN(test_failed_dump_is_drained);
        TEST_RUN(test_torn_dump_is_never_taken);
        TEST_RUN(test_barrier_commits_nothing);
        TEST_RUN(test_half_applied_commit_is_never_read);
        TEST_RUN(test_random_walk);
        TEST_EXIT();
}
