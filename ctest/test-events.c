/* test-events: the nf_tables event decoder (nft/events.c) on made-up messages: whose transaction
 * it was, whether it touched our tables, and what a loss of messages does to both. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>

#include "ctest/tests.h"
#include "nft/events.h"

#define OWN_PORTID 4242
#define NFT_PORTID 777

struct datagram {
        char buf[8192];
        size_t len;
};

static struct nlmsghdr *put_msg(struct datagram *d, uint16_t type, uint8_t family, uint32_t portid)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf + d->len);
        struct nfgenmsg *g;

        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
        nlh->nlmsg_pid = portid;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = family;
        g->version = NFNETLINK_V0;
        return nlh;
}

static void done(struct datagram *d, struct nlmsghdr *nlh)
{
        d->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* An element message of table TABLE (attribute 1 names the table in every object message). */
static void elem(struct datagram *d, uint8_t family, const char *table, uint32_t portid)
{
        struct nlmsghdr *nlh = put_msg(d, NFT_MSG_NEWSETELEM, family, portid);

        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "some-set");
        done(d, nlh);
}

/* Any object message of table TABLE: attribute 1 names the table in each of them. */
static void obj(struct datagram *d, uint16_t type, uint8_t family, const char *table, uint32_t portid)
{
        struct nlmsghdr *nlh = put_msg(d, type, family, portid);

        mnl_attr_put_strz(nlh, 1, table);
        done(d, nlh);
}

static void newgen(struct datagram *d, uint32_t genid, uint32_t portid, uint32_t pid, const char *comm)
{
        struct nlmsghdr *nlh = put_msg(d, NFT_MSG_NEWGEN, NFPROTO_UNSPEC, portid);

        mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(genid));
        mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
        mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
        done(d, nlh);
}

/* What every case starts from: a decoder for the agent's portid, no transactions, no bytes. */
struct fixture {
        struct ima_event_decoder dec;
        struct ima_event_batch b;
        struct datagram d;
};

static void fixture_init(struct fixture *f)
{
        f->b = (struct ima_event_batch){ 0 };
        f->d.len = 0;
        ima_event_decoder_init(&f->dec, OWN_PORTID);
}

static void feed(struct ima_event_decoder *dec, struct datagram *d, struct ima_event_batch *b)
{
        CHECK_INT(ima_event_decoder_feed(dec, d->buf, d->len, b), 0);
        d->len = 0;
}

static void test_whose_and_what(void)
{
        struct fixture f;

        fixture_init(&f);
        /* ours */
        elem(&f.d, NFPROTO_IPV4, "ip-masq-agent", OWN_PORTID);
        newgen(&f.d, 10, OWN_PORTID, 1, "ip-masq-agent");
        /* kube-proxy's: another table */
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 11, NFT_PORTID, 2, "kube-proxy");
        /* nft editing our ip6 table */
        elem(&f.d, NFPROTO_IPV6, "ip-masq-agent", NFT_PORTID);
        newgen(&f.d, 12, NFT_PORTID, 3, "nft");
        /* our name in another family is not our table */
        elem(&f.d, NFPROTO_INET, "ip-masq-agent", NFT_PORTID);
        newgen(&f.d, 13, NFT_PORTID, 4, "nft");
        feed(&f.dec, &f.d, &f.b);

        CHECK_INT(f.b.n_txns, 4);
        CHECK(!f.b.lost);
        if (f.b.n_txns == 4) {
                CHECK(f.b.txns[0].own && f.b.txns[0].touched);
                CHECK_INT(f.b.txns[0].genid, 10);
                CHECK(!f.b.txns[1].own && !f.b.txns[1].touched);
                CHECK_STR(f.b.txns[1].comm, "kube-proxy");
                CHECK_INT(f.b.txns[1].pid, 2);
                CHECK(!f.b.txns[2].own && f.b.txns[2].touched);
                CHECK(!f.b.txns[3].own && !f.b.txns[3].touched);
        }
        ima_event_batch_clear(&f.b);
}

/* A transaction's messages may come in several datagrams: it ends with its NEWGEN only. */
static void test_transaction_across_reads(void)
{
        struct fixture f;

        fixture_init(&f);
        elem(&f.d, NFPROTO_IPV4, "ip-masq-agent", NFT_PORTID);
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 0);
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 5, NFT_PORTID, 9, "nft");
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 1);
        CHECK(f.b.n_txns == 1 && f.b.txns[0].touched && !f.b.txns[0].own);
        ima_event_batch_clear(&f.b);
}

/* Our own large commit overflows the queue: the kernel drops the rest of its element messages
 * and its NEWGEN, reports the loss at the next read (before the messages still queued), and
 * delivers again once the queue is read empty. The next transaction, someone else's, must not
 * pass for ours (it did, once: our element messages before the drop marked the transaction as
 * ours) and, since what was dropped is unknown, must count as touching our tables. The one after
 * it is judged normally. */
static void test_loss_after_own_messages(void)
{
        struct fixture f;

        fixture_init(&f);
        ima_event_decoder_lost(&f.dec, &f.b);
        elem(&f.d, NFPROTO_IPV4, "ip-masq-agent", OWN_PORTID);
        elem(&f.d, NFPROTO_IPV4, "ip-masq-agent", OWN_PORTID);
        feed(&f.dec, &f.d, &f.b);
        ima_event_decoder_drained(&f.dec);
        /* nft adds an element to kube-proxy's table; then again */
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 21, NFT_PORTID, 7, "nft");
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 22, NFT_PORTID, 7, "nft");
        feed(&f.dec, &f.d, &f.b);

        CHECK(f.b.lost);
        CHECK_INT(f.b.n_txns, 2);
        if (f.b.n_txns == 2) {
                CHECK(!f.b.txns[0].own);
                CHECK(f.b.txns[0].touched && f.b.txns[0].cut); /* unknown: messages were dropped */
                CHECK(!f.b.txns[1].own && !f.b.txns[1].touched && !f.b.txns[1].cut);
        }
        ima_event_batch_clear(&f.b);
}

/* A drop in the middle of someone's transaction that named our table only in the dropped part. */
static void test_loss_inside_a_transaction(void)
{
        struct fixture f;

        fixture_init(&f);
        ima_event_decoder_lost(&f.dec, &f.b);
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        feed(&f.dec, &f.d, &f.b);
        ima_event_decoder_drained(&f.dec); /* ... "ip-masq-agent" was in what was dropped ... */
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 31, NFT_PORTID, 8, "nft");
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 1);
        CHECK(f.b.n_txns == 1 && f.b.txns[0].touched);
        ima_event_batch_clear(&f.b);
}

/* Whole transactions were still queued ahead of the drop: the loss is reported before them, yet
 * the transaction that lost messages ends after them, possibly only after the queue was read
 * empty. Here our own commit and kube-proxy's were queued whole; then nft deleted our table and
 * flushed kube-proxy's, and the first of those messages was dropped. (An earlier decoder spent
 * the loss on our own NEWGEN, and nft's change passed as leaving our tables alone.) */
static void test_loss_reported_before_queued_transactions(void)
{
        struct fixture f;

        fixture_init(&f);
        ima_event_decoder_lost(&f.dec, &f.b);
        elem(&f.d, NFPROTO_IPV4, "ip-masq-agent", OWN_PORTID);
        newgen(&f.d, 40, OWN_PORTID, 1, "ip-masq-agent");
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 41, NFT_PORTID, 2, "kube-proxy");
        feed(&f.dec, &f.d, &f.b);
        ima_event_decoder_drained(&f.dec);
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 42, NFT_PORTID, 3, "nft");
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 43, NFT_PORTID, 2, "kube-proxy");
        feed(&f.dec, &f.d, &f.b);

        CHECK_INT(f.b.n_txns, 4);
        if (f.b.n_txns == 4) {
                CHECK(f.b.txns[0].own);
                /* queued whole, but nothing can tell it from the one that lost messages */
                CHECK(!f.b.txns[1].own && f.b.txns[1].touched && f.b.txns[1].cut);
                CHECK(!f.b.txns[2].own && f.b.txns[2].touched && f.b.txns[2].cut);
                CHECK_STR(f.b.txns[2].comm, "nft");
                CHECK(!f.b.txns[3].touched && !f.b.txns[3].cut);
        }
        ima_event_batch_clear(&f.b);
}

/* Every kind of object message touches our tables when it names ip-masq-agent of family ip or
 * ip6 (a dormant flag comes as NEWTABLE, nft flush ruleset as DEL* of each object), and never
 * when it names a table of that name in another family: those are someone else's. */
static void test_every_object_and_family(void)
{
        static const uint16_t types[] = {
                NFT_MSG_NEWTABLE, NFT_MSG_DELTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, NFT_MSG_NEWRULE,
                NFT_MSG_DELRULE, NFT_MSG_NEWSET, NFT_MSG_DELSET, NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM,
                NFT_MSG_NEWOBJ, NFT_MSG_DELOBJ, NFT_MSG_NEWFLOWTABLE, NFT_MSG_DELFLOWTABLE,
        };
        static const struct {
                uint8_t family;
                bool ours;
        } families[] = {
                { NFPROTO_IPV4, true },    { NFPROTO_IPV6, true },  { NFPROTO_INET, false },
                { NFPROTO_BRIDGE, false }, { NFPROTO_ARP, false }, { NFPROTO_NETDEV, false },
        };
        uint32_t gen = 100;

        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                for (size_t j = 0; j < ARRAY_SIZE(families); j++) {
                        struct fixture f;

                        fixture_init(&f);
                        obj(&f.d, types[i], families[j].family, "ip-masq-agent", NFT_PORTID);
                        newgen(&f.d, gen++, NFT_PORTID, 5, "nft");
                        /* the same message in another table of that family, or of our own
                         * name but a prefix of it, never counts */
                        obj(&f.d, types[i], families[j].family, "ip-masq-agent-x", NFT_PORTID);
                        obj(&f.d, types[i], families[j].family, "ip-masq", NFT_PORTID);
                        newgen(&f.d, gen++, NFT_PORTID, 5, "nft");
                        feed(&f.dec, &f.d, &f.b);
                        CHECK_INT(f.b.n_txns, 2);
                        if (f.b.n_txns == 2) {
                                if (f.b.txns[0].touched != families[j].ours)
                                        fprintf(stderr, "message type %u, family %u\n", types[i], families[j].family);
                                CHECK(f.b.txns[0].touched == families[j].ours);
                                CHECK(!f.b.txns[1].touched && !f.b.txns[0].cut);
                        }
                        ima_event_batch_clear(&f.b);
                }
}

/* The daemon leaves the event group for its own large commits. Rejoining while someone else's
 * commit is sending its notifications delivers the rest of them and its NEWGEN, not the first
 * ones, which may be the ones naming our table: judged by the rest, it left our tables alone,
 * and the daemon moved its cache over it (a repair missed until the 10-minute full check).
 * Transactions up to the generation the kernel had right after the join are in doubt; later
 * ones were seen whole. */
static void test_rejoin_gap(void)
{
        struct fixture f;

        fixture_init(&f);
        ima_event_decoder_rejoined(&f.dec, true, 50);
        /* ... "delete table ip ip-masq-agent" was sent before the join ... */
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 50, NFT_PORTID, 3, "nft");
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 51, NFT_PORTID, 2, "kube-proxy");
        elem(&f.d, NFPROTO_IPV4, "kube-proxy", NFT_PORTID);
        newgen(&f.d, 52, NFT_PORTID, 2, "kube-proxy");
        feed(&f.dec, &f.d, &f.b);
        CHECK(!f.b.lost);
        CHECK_INT(f.b.n_txns, 3);
        if (f.b.n_txns == 3) {
                CHECK(f.b.txns[0].touched && f.b.txns[0].cut);
                CHECK(!f.b.txns[1].touched && !f.b.txns[1].cut);
                CHECK(!f.b.txns[2].touched && !f.b.txns[2].cut);
        }
        ima_event_batch_clear(&f.b);

        /* generations wrap, skipping 0: UINT32_MAX comes before 2 */
        fixture_init(&f);
        ima_event_decoder_rejoined(&f.dec, true, 2);
        newgen(&f.d, UINT32_MAX, NFT_PORTID, 3, "nft");
        newgen(&f.d, 1, NFT_PORTID, 3, "nft");
        newgen(&f.d, 3, NFT_PORTID, 3, "nft");
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 3);
        if (f.b.n_txns == 3)
                CHECK(f.b.txns[0].touched && f.b.txns[1].touched && !f.b.txns[2].touched);
        ima_event_batch_clear(&f.b);

        /* the generation could not be asked: as after a loss, until the queue is read empty and
         * the first transaction after */
        fixture_init(&f);
        ima_event_decoder_rejoined(&f.dec, false, 0);
        newgen(&f.d, 60, NFT_PORTID, 3, "nft");
        feed(&f.dec, &f.d, &f.b);
        ima_event_decoder_drained(&f.dec);
        newgen(&f.d, 61, NFT_PORTID, 3, "nft");
        newgen(&f.d, 62, NFT_PORTID, 3, "nft");
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 3);
        if (f.b.n_txns == 3)
                CHECK(f.b.txns[0].touched && f.b.txns[1].touched && !f.b.txns[2].touched);
        ima_event_batch_clear(&f.b);
}

/* Messages outside nf_tables, or too short to carry their header, are ignored. */
static void test_foreign_and_short_messages(void)
{
        struct fixture f;
        struct nlmsghdr *nlh;

        fixture_init(&f);
        nlh = mnl_nlmsg_put_header(f.d.buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | 0;
        done(&f.d, nlh);
        nlh = mnl_nlmsg_put_header(f.d.buf + f.d.len);
        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN; /* no nfgenmsg */
        done(&f.d, nlh);
        feed(&f.dec, &f.d, &f.b);
        CHECK_INT(f.b.n_txns, 0);
        ima_event_batch_clear(&f.b);
}

/* What a batch proves about a range of generations: a read torn across them is one state only
 * when each was seen, in order, and none touched our tables. */
static void test_judge_generation_range(void)
{
        static const struct {
                const char *what;
                uint32_t genids[4];
                bool touched[4];
                size_t n;
                bool lost;
                uint32_t from, to;
                enum ima_events_verdict want;
        } cases[] = {
                { "no commit in between", { 0 }, { false }, 0, false, 5, 5, IMA_EVENTS_UNTOUCHED },
                { "every one seen", { 6, 7 }, { false, false }, 2, false, 5, 7, IMA_EVENTS_UNTOUCHED },
                { "the last not seen yet", { 6 }, { false }, 1, false, 5, 7, IMA_EVENTS_INCOMPLETE },
                { "none seen yet", { 0 }, { false }, 0, false, 5, 7, IMA_EVENTS_INCOMPLETE },
                { "one dropped whole", { 6, 8 }, { false, false }, 2, false, 5, 8, IMA_EVENTS_TOUCHED },
                { "one touched", { 6, 7 }, { true, false }, 2, false, 5, 7, IMA_EVENTS_TOUCHED },
                { "touched before and after the range", { 5, 6, 7, 8 }, { true, false, false, true }, 4, false, 5, 7,
                  IMA_EVENTS_UNTOUCHED },
                { "messages lost", { 6, 7 }, { false, false }, 2, true, 5, 7, IMA_EVENTS_TOUCHED },
                { "across the wrap, which skips 0", { 0xffffffff, 1, 2 }, { false, false, false }, 3, false,
                  0xfffffffe, 2, IMA_EVENTS_UNTOUCHED },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct ima_event_txn txns[4] = { { 0 } };
                struct ima_event_batch b = { .txns = txns, .n_txns = cases[i].n, .lost = cases[i].lost };
                enum ima_events_verdict got;

                for (size_t t = 0; t < cases[i].n; t++) {
                        txns[t].genid = cases[i].genids[t];
                        txns[t].touched = cases[i].touched[t];
                }
                got = ima_event_batch_judge(&b, cases[i].from, cases[i].to);
                CHECK_INT(got, cases[i].want);
                if (got != cases[i].want)
                        fprintf(stderr, "  in case \"%s\"\n", cases[i].what);
        }
}

int main(void)
{
        TEST_RUN(test_judge_generation_range);
        TEST_RUN(test_whose_and_what);
        TEST_RUN(test_transaction_across_reads);
        TEST_RUN(test_loss_after_own_messages);
        TEST_RUN(test_loss_inside_a_transaction);
        TEST_RUN(test_loss_reported_before_queued_transactions);
        TEST_RUN(test_foreign_and_short_messages);
        TEST_RUN(test_every_object_and_family);
        TEST_RUN(test_rejoin_gap);
        TEST_EXIT();
}
