#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <stdio.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "nft/dump.h"
#include "nft/events.h"
#include "nft/family.h"
#include "nft/interval.h"
#include "nft/probe.h"
#include "nft/rule-sig.h"
#include "nft/sock.h"

#define OBSERVE_ATTEMPTS 8
/* how long a read waits, at most, for the events of commits it saw move the generation */
#define WITNESS_WAITS 20
#define WITNESS_WAIT_MS 5
/* nft's datatype ids for the address types */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8

struct dump_ctx {
        struct ima_observed_table *table;
        enum ima_family family;
        uint32_t genid;
        size_t n_objects; /* named sets and chains seen, to compare with the table's use count */
        uint32_t table_use;
        struct ima_elem *elems; /* GETSETELEM */
        size_t n_elems;
        size_t cap_elems;
        bool keyless_elem;      /* the set holds a catch-all element */
        bool unnamed_other;     /* another's object in our table that cannot be removed by name */
        /* parts from later generations are read on (torn set), for the event stream to judge */
        bool witnessed;
        bool torn;
};

/* A libnftnl parse that failed: out of memory (it copies names), or a message it cannot read. */
static int parse_failed(void)
{
        return errno == ENOMEM ? -ENOMEM : -EPROTO;
}

/* Every part of a dump carries the generation it was taken at; a different one means a
 * commit happened in between (set-element dumps are not flagged as interrupted). */
static int check_gen(const struct nlmsghdr *nlh, struct dump_ctx *c)
{
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

        if (ntohs(g->res_id) == (c->genid & 0xffff))
                return 0;
        c->torn = true;
        return c->witnessed ? 0 : -EINTR;
}

/* Chain dumps are filtered by family only, whatever table the request names (and the other
 * dumps are checked too, as nothing in the answer may be taken for ours by mistake). */
static bool in_our_table(const char *table)
{
        return table && strcmp(table, IMA_TABLE_NAME) == 0;
}

static bool in_our_chain(const struct nftnl_rule *rule)
{
        const char *chain = nftnl_rule_get_str(rule, NFTNL_RULE_CHAIN);

        return in_our_table(nftnl_rule_get_str(rule, NFTNL_RULE_TABLE)) && chain &&
               strcmp(chain, IMA_CHAIN_NAME) == 0;
}

struct comment_match {
        uint8_t type;
        const char *want;
        bool found;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
        struct comment_match *m = data;
        uint8_t len = nftnl_udata_len(attr);

        /* nft/build.c stores the comment with its NUL, as nft does */
        if (nftnl_udata_type(attr) == m->type)
                m->found = len == strlen(m->want) + 1 && memcmp(nftnl_udata_get(attr), m->want, len) == 0;
        return 0;
}

/* Whether the userdata an object carries (NULL when none) holds want as its comment attribute
 * type: what tells an object the agent made from one someone made under the same name. */
static bool has_comment(const void *udata, uint32_t len, uint8_t type, const char *want)
{
        struct comment_match m = { .type = type, .want = want };

        return udata && nftnl_udata_parse(udata, len, comment_cb, &m) >= 0 && m.found;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
        struct dump_ctx *c = data;
        const void *udata = NULL;
        uint32_t udata_len = 0;
        struct nftnl_table *t;
        int r = check_gen(nlh, c);

        if (r < 0)
                return r;
        t = nftnl_table_alloc();
        if (!t)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
                nftnl_table_free(t);
                return parse_failed();
        }
        c->table->present = true;
        c->table->flags = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS);
        if (nftnl_table_is_set(t, NFTNL_TABLE_OWNER))
                c->table->owner = nftnl_table_get_u32(t, NFTNL_TABLE_OWNER);
        c->table_use = nftnl_table_get_u32(t, NFTNL_TABLE_USE);
        if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
                udata = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &udata_len);
        /* no comment at all proves nothing on a kernel that drops table comments */
        c->table->comment_differs = udata ? !has_comment(udata, udata_len, NFTNL_UDATA_TABLE_COMMENT, ima_table_comment())
                                          : ima_features_table_comments();
        nftnl_table_free(t);
        return 0;
}

/* What nft keeps of a set in its userdata beside the comment: shown in the listing, and
 * auto-merge also changes what an operator's `nft add element` does to it. */
struct set_udata {
        bool auto_merge;
        bool has_typeof;
};

static int set_udata_cb(const struct nftnl_udata *attr, void *data)
{
        struct set_udata *u = data;

        if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_MERGE_ELEMENTS)
                u->auto_merge = nftnl_udata_len(attr) == sizeof(uint32_t) && nftnl_udata_get_u32(attr) == 1;
        else if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_KEY_TYPEOF)
                u->has_typeof = true;
        return 0;
}

/* Whether a set's userdata says what nft/build.c writes: "auto-merge", and a type, not a typeof. */
static bool set_udata_ours(const void *udata, uint32_t len)
{
        struct set_udata u = { 0 };

        return udata && nftnl_udata_parse(udata, len, set_udata_cb, &u) >= 0 && u.auto_merge && !u.has_typeof;
}

static int set_index(const char *name)
{
        for (int s = 0; s < IMA_SET_COUNT; s++)
                if (strcmp(name, ima_set_name((enum ima_set_id)s)) == 0)
                        return s;
        return -1;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
        struct dump_ctx *c = data;
        const void *udata = NULL;
        uint32_t udata_len = 0;
        struct nftnl_set *s;
        const char *name;
        int r = check_gen(nlh, c), idx;

        if (r < 0)
                return r;
        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_set_nlmsg_parse(nlh, s) < 0) {
                nftnl_set_free(s);
                return parse_failed();
        }
        if (!in_our_table(nftnl_set_get_str(s, NFTNL_SET_TABLE))) {
                nftnl_set_free(s);
                return 0;
        }
        /* a kernel that takes an anonymous set bound to its rule out of the table's use count
         * (commit of NEWSET) would otherwise have it hide another's chain from that count: the
         * chain whose rule holds it */
        if (!(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
                c->n_objects++;
        name = nftnl_set_get_str(s, NFTNL_SET_NAME);
        idx = name ? set_index(name) : -1;
        if (idx >= 0) {
                struct ima_observed_set *os = &c->table->sets[idx];
                bool v4 = c->family == IMA_FAMILY_IPV4;

                os->present = true;
                os->compatible = nftnl_set_get_u32(s, NFTNL_SET_FLAGS) == NFT_SET_INTERVAL &&
                                 nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN) == (v4 ? 4u : 16u) &&
                                 nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE) == (v4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR) &&
                                 !nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE) && !nftnl_set_is_set(s, NFTNL_SET_TIMEOUT) &&
                                 /* per-element expressions ("counter" in the set) change its memory and speed */
                                 !nftnl_set_is_set(s, NFTNL_SET_EXPR) && !nftnl_set_is_set(s, NFTNL_SET_EXPRESSIONS) &&
                                 /* a size limit refuses our adds with ENFILE, on every retry */
                                 !nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) &&
                                 !nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT) &&
                                 /* the kernel reports a policy other than "performance" only */
                                 !nftnl_set_is_set(s, NFTNL_SET_POLICY);
                if (nftnl_set_is_set(s, NFTNL_SET_USERDATA))
                        udata = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &udata_len);
                os->compatible = os->compatible && set_udata_ours(udata, udata_len);
                os->comment_differs = !has_comment(udata, udata_len, NFTNL_UDATA_SET_COMMENT,
                                                   ima_set_comment(c->family, (enum ima_set_id)idx));
        } else if (name && !(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS)) {
                /* anonymous sets belong to a rule and go away with it */
                r = ima_observed_add_other(c->table,
                                           nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & (NFT_SET_MAP | NFT_SET_OBJECT)
                                                   ? IMA_OTHER_MAP
                                                   : IMA_OTHER_SET,
                                           name, 0);
        }
        nftnl_set_free(s);
        return r;
}

static int elem_push(struct dump_ctx *c, struct nftnl_set_elem *e)
{
        const void *key;
        uint32_t len = 0;
        unsigned bytes = ima_family_bits(c->family) / 8;

        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (!key) {
                /* a catch-all ("*"), which the kernel accepts in an interval set: it exempts every
                 * address, and the agent never writes one. The set is refilled; failing the read
                 * instead would leave it there for good. */
                c->keyless_elem = true;
                return 0;
        }
        if (len != bytes)
                return -EPROTO;
        if (IMA_ARRAY_RESERVE(c->elems, c->cap_elems, c->n_elems, 256) < 0)
                return -ENOMEM;
        c->elems[c->n_elems++] = (struct ima_elem){
                .key = ima_addr_from_bytes(c->family, key),
                .end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
                       (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END),
        };
        return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
        struct dump_ctx *c = data;
        struct nftnl_set_elems_iter *it;
        struct nftnl_set_elem *e;
        struct nftnl_set *s;
        int r = check_gen(nlh, c);

        if (r < 0)
                return r;
        /* one set object per message keeps memory to one message's worth of libnftnl objects */
        s = nftnl_set_alloc();
        if (!s)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
                nftnl_set_free(s);
                return parse_failed();
        }
        it = nftnl_set_elems_iter_create(s);
        if (!it) {
                nftnl_set_free(s);
                return -ENOMEM;
        }
        /* iter_next returns the current element, then advances */
        while (r >= 0 && (e = nftnl_set_elems_iter_next(it)))
                r = elem_push(c, e);
        nftnl_set_elems_iter_destroy(it);
        nftnl_set_free(s);
        return r;
}

/* What diff shows of a chain it replaces: type, hook and policy as nft names them. */
static void read_header(const struct nftnl_chain *ch, struct ima_chain_header *h)
{
        static const char *const hooks[] = { [NF_INET_PRE_ROUTING] = "prerouting", [NF_INET_LOCAL_IN] = "input",
                                             [NF_INET_FORWARD] = "forward", [NF_INET_LOCAL_OUT] = "output",
                                             [NF_INET_POST_ROUTING] = "postrouting" };
        const char *type = nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE);
        uint32_t hook, policy;

        *h = (struct ima_chain_header){ 0 };
        if (!nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM))
                return; /* a plain chain */
        hook = nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM);
        policy = nftnl_chain_is_set(ch, NFTNL_CHAIN_POLICY) ? nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) : NF_ACCEPT;
        snprintf(h->type, sizeof(h->type), "%s", type ? type : "?");
        if (hook < ARRAY_SIZE(hooks) && hooks[hook])
                snprintf(h->hook, sizeof(h->hook), "%s", hooks[hook]);
        else
                snprintf(h->hook, sizeof(h->hook), "%u", hook);
        snprintf(h->policy, sizeof(h->policy), "%s", policy == NF_ACCEPT ? "accept" : policy == NF_DROP ? "drop" : "?");
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
        struct dump_ctx *c = data;
        const void *udata = NULL;
        uint32_t udata_len = 0;
        struct nftnl_chain *ch;
        const char *name, *type;
        int r = check_gen(nlh, c);

        if (r < 0)
                return r;
        ch = nftnl_chain_alloc();
        if (!ch)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_chain_nlmsg_parse(nlh, ch) < 0) {
                nftnl_chain_free(ch);
                return parse_failed();
        }
        if (!in_our_table(nftnl_chain_get_str(ch, NFTNL_CHAIN_TABLE))) {
                nftnl_chain_free(ch);
                return 0; /* kube-proxy's, iptables-nft's, ... */
        }
        c->n_objects++;
        name = nftnl_chain_get_str(ch, NFTNL_CHAIN_NAME);
        if (name && strcmp(name, IMA_CHAIN_NAME) == 0) {
                struct ima_observed_chain *oc = &c->table->chain;

                type = nftnl_chain_get_str(ch, NFTNL_CHAIN_TYPE);
                oc->present = true;
                oc->priority = nftnl_chain_get_s32(ch, NFTNL_CHAIN_PRIO);
                oc->compatible = nftnl_chain_is_set(ch, NFTNL_CHAIN_HOOKNUM) &&
                                 nftnl_chain_get_u32(ch, NFTNL_CHAIN_HOOKNUM) == NF_INET_POST_ROUTING &&
                                 type && strcmp(type, "nat") == 0 &&
                                 nftnl_chain_get_u32(ch, NFTNL_CHAIN_POLICY) == NF_ACCEPT &&
                                 !nftnl_chain_is_set(ch, NFTNL_CHAIN_DEV);
                read_header(ch, &oc->header);
                if (nftnl_chain_is_set(ch, NFTNL_CHAIN_USERDATA))
                        udata = nftnl_chain_get_data(ch, NFTNL_CHAIN_USERDATA, &udata_len);
                oc->comment_differs = udata ? !has_comment(udata, udata_len, NFTNL_UDATA_CHAIN_COMMENT, ima_chain_comment())
                                            : ima_features_table_comments();
        } else {
                c->table->foreign = true;
        }
        nftnl_chain_free(ch);
        return 0;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
        struct dump_ctx *c = data;
        struct ima_observed_chain *oc = &c->table->chain;
        struct nftnl_rule *rule;
        char *sig = NULL, *text = NULL;
        int r = check_gen(nlh, c);

        if (r < 0)
                return r;
        rule = nftnl_rule_alloc();
        if (!rule)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_rule_nlmsg_parse(nlh, rule) < 0) {
                nftnl_rule_free(rule);
                return parse_failed();
        }
        if (!in_our_chain(rule)) {
                nftnl_rule_free(rule);
                return 0;
        }
        r = ima_rule_signature(rule, &sig);
        if (r >= 0)
                r = ima_rule_text(c->family, rule, sig, &text);
        nftnl_rule_free(rule);
        if (r < 0) {
                free(sig);
                return r;
        }
        return ima_observed_chain_add_rule(oc, sig, text);
}

/* GETTABLE of our table in family f. */
static int request_table(struct ima_nl *nl, enum ima_family f, ima_nl_msg_cb cb, void *data)
{
        struct nftnl_table *t = nftnl_table_alloc();
        char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
        struct nlmsghdr *nlh;

        /* unchecked, a name lost to a failed copy would ask for another object, or all of them */
        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, IMA_TABLE_NAME) < 0) {
                if (t)
                        nftnl_table_free(t);
                return -ENOMEM;
        }
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, ima_family_nfproto(f), NLM_F_ACK, ima_nl_seq_reserve(nl, 1));
        nftnl_table_nlmsg_build_payload(nlh, t);
        nftnl_table_free(t);
        return ima_nl_request(nl, nlh, cb, data);
}

/* An absent table is not an error. */
static int get_table(struct ima_nl *nl, struct dump_ctx *c)
{
        int r = request_table(nl, c->family, table_cb, c);

        return r == -ENOENT ? 0 : r;
}

struct table_owner {
        uint32_t ours;
        bool other;
};

static int table_owner_cb(const struct nlmsghdr *nlh, void *data)
{
        struct table_owner *o = data;
        struct nftnl_table *t = nftnl_table_alloc();

        if (!t)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_table_nlmsg_parse(nlh, t) < 0) {
                nftnl_table_free(t);
                return parse_failed();
        }
        o->other = (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER) &&
                   nftnl_table_is_set(t, NFTNL_TABLE_OWNER) && nftnl_table_get_u32(t, NFTNL_TABLE_OWNER) != o->ours;
        nftnl_table_free(t);
        return 0;
}

int ima_dump_owned_by_other(struct ima_nl *nl, enum ima_family f, uint32_t ours)
{
        struct table_owner o = { .ours = ours };
        int r = request_table(nl, f, table_owner_cb, &o);

        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : o.other;
}

static int dump_sets(struct ima_nl *nl, struct dump_ctx *c)
{
        struct nftnl_set *s = nftnl_set_alloc();
        char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
        struct nlmsghdr *nlh;

        if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, IMA_TABLE_NAME) < 0) {
                if (s)
                        nftnl_set_free(s);
                return -ENOMEM;
        }
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, ima_family_nfproto(c->family), NLM_F_DUMP | NLM_F_ACK,
                                    ima_nl_seq_reserve(nl, 1));
        nftnl_set_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        return ima_nl_request(nl, nlh, set_cb, c);
}

static int dump_elems(struct ima_nl *nl, struct dump_ctx *c, enum ima_set_id id)
{
        struct ima_observed_set *os = &c->table->sets[id];
        struct nftnl_set *s = nftnl_set_alloc();
        char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
        struct nlmsghdr *nlh;
        int r;

        if (!s || nftnl_set_set_str(s, NFTNL_SET_TABLE, IMA_TABLE_NAME) < 0 ||
            nftnl_set_set_str(s, NFTNL_SET_NAME, ima_set_name(id)) < 0) {
                if (s)
                        nftnl_set_free(s);
                return -ENOMEM;
        }
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, ima_family_nfproto(c->family), NLM_F_DUMP | NLM_F_ACK,
                                    ima_nl_seq_reserve(nl, 1));
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        c->n_elems = 0;
        c->keyless_elem = false;
        r = ima_nl_request(nl, nlh, elem_cb, c);
        if (r < 0)
                return r;
        r = ima_ipset_new(c->family, &os->elems);
        if (r < 0)
                return r;
        r = ima_interval_decode(c->elems, c->n_elems, os->elems, &os->malformed);
        if (r >= 0 && c->keyless_elem)
                os->malformed = true;
        return r;
}

/* GETCHAIN of one chain by name, not a dump. -ENOENT when the table or the chain is absent. */
static int request_chain(struct ima_nl *nl, enum ima_family f, const char *table, const char *chain, ima_nl_msg_cb cb,
                         void *data)
{
        struct nftnl_chain *ch = nftnl_chain_alloc();
        char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
        struct nlmsghdr *nlh;

        if (!ch || nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, table) < 0 ||
            nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, chain) < 0) {
                if (ch)
                        nftnl_chain_free(ch);
                return -ENOMEM;
        }
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, ima_family_nfproto(f), NLM_F_ACK, ima_nl_seq_reserve(nl, 1));
        nftnl_chain_nlmsg_build_payload(nlh, ch);
        nftnl_chain_free(ch);
        return ima_nl_request(nl, nlh, cb, data);
}

/* Our one chain, asked for by name: the kernel does not filter chain dumps by table, and a
 * kube-proxy node's ip family holds tens of thousands of chains (20,000 cost 12 ms a read). A
 * chain someone added to our table still shows, in the table's use count. Absent is not an error. */
static int get_chain(struct ima_nl *nl, struct dump_ctx *c)
{
        int r = request_chain(nl, c->family, IMA_TABLE_NAME, IMA_CHAIN_NAME, chain_cb, c);

        return r == -ENOENT ? 0 : r;
}

static int count_reply(const struct nlmsghdr *nlh, void *data)
{
        (void)nlh;
        (*(int *)data)++;
        return 0;
}

int ima_dump_chain_exists(struct ima_nl *nl, enum ima_family f, const char *table, const char *chain)
{
        int replies = 0, r = request_chain(nl, f, table, chain, count_reply, &replies);

        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : replies > 0;
}

static int dump_rules(struct ima_nl *nl, struct dump_ctx *c)
{
        struct nftnl_rule *rule = nftnl_rule_alloc();
        char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
        struct nlmsghdr *nlh;

        if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, IMA_TABLE_NAME) < 0 ||
            nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, IMA_CHAIN_NAME) < 0) {
                if (rule)
                        nftnl_rule_free(rule);
                return -ENOMEM;
        }
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, ima_family_nfproto(c->family), NLM_F_DUMP | NLM_F_ACK,
                                    ima_nl_seq_reserve(nl, 1));
        nftnl_rule_nlmsg_build_payload(nlh, rule);
        nftnl_rule_free(rule);
        return ima_nl_request(nl, nlh, rule_cb, c);
}

/* The dumps that can show what else is in our table: all three kinds of message carry the table's
 * name in the same attribute, and their own name (and an object its type) in one of the first few;
 * a chain's flags come a little later. */
#define OTHER_TABLE_ATTR ((int)NFTA_CHAIN_TABLE)
#define OTHER_MAX_ATTR ((int)NFTA_CHAIN_FLAGS)
_Static_assert((int)NFTA_OBJ_TABLE == OTHER_TABLE_ATTR && (int)NFTA_FLOWTABLE_TABLE == OTHER_TABLE_ATTR,
               "table attribute");
_Static_assert((int)NFTA_OBJ_NAME <= OTHER_MAX_ATTR && (int)NFTA_FLOWTABLE_NAME <= OTHER_MAX_ATTR &&
               (int)NFTA_OBJ_TYPE <= OTHER_MAX_ATTR, "name and type attributes");

struct other_kind {
        uint16_t msg;              /* NFT_MSG_GET... */
        enum ima_other_kind kind;
        uint16_t name_attr;        /* the object's own name */
        const char *exclude;       /* the one object of this kind that is ours, or NULL */
};

struct other_ctx {
        struct dump_ctx *dump;
        const struct other_kind *kind;
};

static int other_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(attr);

        if (type <= OTHER_MAX_ATTR)
                tb[type] = attr;
        return MNL_CB_OK;
}

static const char *attr_str(const struct nlattr *a)
{
        return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 ? mnl_attr_get_str(a) : NULL;
}

static int other_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct other_ctx *o = data;
        const struct nlattr *tb[OTHER_MAX_ATTR + 1] = { NULL };
        const char *name;
        uint32_t obj_type = 0;
        int r = check_gen(nlh, o->dump);

        if (r < 0)
                return r;
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), other_attr_cb, tb) < 0)
                return -EPROTO;
        if (!in_our_table(attr_str(tb[OTHER_TABLE_ATTR])))
                return 0;
        name = attr_str(tb[o->kind->name_attr]);
        if (name && o->kind->exclude && strcmp(name, o->kind->exclude) == 0)
                return 0;
        /* the anonymous chain of a rule's "jump { ... }": it goes with that rule, and deleting it
         * by name after the rule went fails the whole transaction (ENOENT), every time */
        if (o->kind->kind == IMA_OTHER_CHAIN && tb[NFTA_CHAIN_FLAGS] &&
            mnl_attr_validate(tb[NFTA_CHAIN_FLAGS], MNL_TYPE_U32) == 0 &&
            (ntohl(mnl_attr_get_u32(tb[NFTA_CHAIN_FLAGS])) & NFT_CHAIN_BINDING))
                return 0;
        if (o->kind->kind == IMA_OTHER_OBJECT && tb[NFTA_OBJ_TYPE] &&
            mnl_attr_validate(tb[NFTA_OBJ_TYPE], MNL_TYPE_U32) == 0)
                obj_type = ntohl(mnl_attr_get_u32(tb[NFTA_OBJ_TYPE]));
        if (!name || (o->kind->kind == IMA_OTHER_OBJECT && !obj_type)) {
                o->dump->table->foreign = true; /* there, but not removable by name: re-created */
                o->dump->unnamed_other = true;
                return 0;
        }
        return ima_observed_add_other(o->dump->table, o->kind->kind, name, obj_type);
}

/* Names the chains, named objects and flowtables others put in our table, for their removal.
 * Asked only when the table's use count exceeds the sets and the chain read: that count also
 * includes what another process's transaction is adding while it is being processed, which is no
 * part of the ruleset (dumps do not show it) unless that transaction commits, and then the
 * generation moves and the state is read again. Taking the count alone for proof rebuilt the
 * table, zeroing its counters, for a chain that never came. The chain dump is not filtered by
 * table in the kernel (every chain of the family comes back), the other two are. */
static int find_other_objects(struct ima_nl *nl, struct dump_ctx *c)
{
        static const struct other_kind kinds[] = {
                { NFT_MSG_GETCHAIN, IMA_OTHER_CHAIN, NFTA_CHAIN_NAME, IMA_CHAIN_NAME },
                { NFT_MSG_GETOBJ, IMA_OTHER_OBJECT, NFTA_OBJ_NAME, NULL },
                { NFT_MSG_GETFLOWTABLE, IMA_OTHER_FLOWTABLE, NFTA_FLOWTABLE_NAME, NULL },
        };

        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
                struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, kinds[k].msg, ima_family_nfproto(c->family),
                                                             NLM_F_DUMP | NLM_F_ACK, ima_nl_seq_reserve(nl, 1));
                struct other_ctx o = { .dump = c, .kind = &kinds[k] };
                int r;

                mnl_attr_put_strz(nlh, OTHER_TABLE_ATTR, IMA_TABLE_NAME);
                r = ima_nl_request(nl, nlh, other_cb, &o);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int observe_table_parts(struct ima_nl *nl, struct dump_ctx *c)
{
        int r;

        r = dump_sets(nl, c);
        if (r < 0)
                return r;
        for (int s = 0; s < IMA_SET_COUNT; s++)
                if (c->table->sets[s].present && c->table->sets[s].compatible &&
                    (r = dump_elems(nl, c, (enum ima_set_id)s)) < 0)
                        return r;
        r = get_chain(nl, c);
        if (r < 0)
                return r;
        if (c->table->chain.present && (r = dump_rules(nl, c)) < 0)
                return r;
        /* chains besides ours, named objects and flowtables count in the table's use but were
         * not read */
        if (c->table_use > c->n_objects && (r = find_other_objects(nl, c)) < 0)
                return r;
        if (c->unnamed_other) /* the table is re-created instead */
                c->table->n_others = 0;
        return 0;
}

static int observe_table(struct ima_nl *nl, struct dump_ctx *c, bool contents)
{
        int r;

        r = get_table(nl, c);
        if (r < 0 || !c->table->present)
                return r;
        if (!contents) {
                c->table->contents_unread = true;
                return 0;
        }
        /* the table or a set seen a moment ago is gone: a concurrent change, read again */
        r = observe_table_parts(nl, c);
        return r == -ENOENT ? -EINTR : r;
}

/* Whether the commits between generations from and to all left our tables alone, as the event
 * stream witness (subscribed before from was read) tells: 1 yes, 0 no or unknown, or -errno. */
static int untouched_between(struct ima_nl *nl, struct ima_events *witness, uint32_t from, uint32_t to)
{
        _cleanup_(ima_event_batch_clear) struct ima_event_batch batch = { 0 };
        enum ima_events_verdict v = IMA_EVENTS_INCOMPLETE;
        int r;

        /* a commit sends its last event before it lets go of the commit lock */
        r = ima_nl_barrier(nl);
        if (r < 0)
                return r;
        /* where an empty transaction is no barrier (older kernels), a commit that moved the
         * generation may still be sending its events: give it a little time */
        for (int wait = 0; wait <= WITNESS_WAITS; wait++) {
                struct pollfd p = { .fd = ima_events_fd(witness), .events = POLLIN };

                if (wait > 0 && poll(&p, 1, WITNESS_WAIT_MS) < 0 && errno != EINTR)
                        return -errno;
                r = ima_events_read(witness, &batch);
                if (r < 0)
                        return 0; /* events lost: nothing proven */
                v = ima_event_batch_judge(&batch, from, to);
                if (v != IMA_EVENTS_INCOMPLETE)
                        break;
        }
        return v == IMA_EVENTS_UNTOUCHED;
}

/* One read of both tables between two GETGENs. With a witness, a read that other commits tore
 * still counts when the event stream shows that none of them touched our tables: the
 * generation is global, so on a node where kube-proxy or a CNI commits often every read of a
 * large set would be torn, and the read would never finish. */
static int observe_once(struct ima_nl *nl, struct ima_events *witness, const bool contents[IMA_FAMILY_COUNT],
                        struct ima_observed **ret)
{
        _cleanup_(ima_observed_freep) struct ima_observed *o = NULL;
        uint32_t gen, gen_after;
        bool torn = false;
        int r;

        r = ima_observed_new(&o);
        if (r < 0)
                return r;
        /* the generation first, then the wait: a commit that moved it may still be applying its
         * changes (the chain's policy, the table's flags come last), which a dump would then
         * show half done under the new generation; one that begins later moves it again */
        r = ima_nl_getgen(nl, &gen);
        if (r < 0)
                return r;
        r = ima_nl_barrier(nl);
        if (r < 0)
                return r;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                struct dump_ctx c = { .table = &o->tables[f], .family = (enum ima_family)f, .genid = gen,
                                      .witnessed = witness != NULL };

                r = observe_table(nl, &c, !contents || contents[f]);
                free(c.elems);
                torn |= c.torn;
                if (r < 0)
                        return r;
        }
        r = ima_nl_getgen(nl, &gen_after);
        if (r < 0)
                return r;
        if (gen_after != gen || torn) {
                if (!witness)
                        return -EINTR;
                r = untouched_between(nl, witness, gen, gen_after);
                if (r <= 0)
                        return r < 0 ? r : -EINTR;
        }
        /* what was read is the state at gen_after too: the batch is pinned to the latest */
        o->genid = gen_after;
        *ret = TAKE_PTR(o);
        return 0;
}

int ima_dump_observe_scoped(struct ima_nl *nl, struct ima_events *witness, const bool contents[IMA_FAMILY_COUNT],
                            struct ima_observed **ret)
{
        _cleanup_(ima_events_freep) struct ima_events *own = NULL;

        for (int attempt = 0; attempt < OBSERVE_ATTEMPTS; attempt++) {
                int r;

                /* without the caller's, the first read goes without (most are not torn); after a
                 * torn one, events from before the next read's first GETGEN tell which commits
                 * touched our tables. Without one (it could not subscribe), reads go on as before */
                if (!witness && attempt == 1 && ima_events_open(ima_nl_portid(nl), &own) >= 0)
                        witness = own;
                r = observe_once(nl, witness, contents, ret);
                if (r != -EINTR)
                        return r;
        }
        return -EAGAIN;
}

int ima_dump_observe_witnessed(struct ima_nl *nl, struct ima_events *witness, struct ima_observed **ret)
{
        return ima_dump_observe_scoped(nl, witness, NULL, ret);
}

int ima_dump_observe(struct ima_nl *nl, struct ima_observed **ret)
{
        return ima_dump_observe_witnessed(nl, NULL, ret);
}

int ima_dump_untouched_since(struct ima_nl *nl, struct ima_events *witness, uint32_t from, uint32_t *ret_now)
{
        uint32_t now;
        int r = ima_nl_getgen(nl, &now);

        if (r < 0)
                return r;
        r = untouched_between(nl, witness, from, now);
        if (r > 0)
                *ret_now = now;
        return r;
}

struct counters_ctx {
        struct ima_nat_counters *out;
        enum ima_family family;
        int action; /* of the rule being read; -1 until known */
        uint64_t packets, bytes;
};

static int counter_expr_cb(struct nftnl_expr *e, void *data)
{
        struct counters_ctx *c = data;
        const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        const char *set;

        if (!name)
                return 0;
        if (strcmp(name, "lookup") == 0 && (set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET)))
                c->action = strcmp(set, ima_set_name(IMA_SET_SRC)) == 0 ? IMA_NAT_EXEMPT_SOURCE
                          : strcmp(set, ima_set_name(IMA_SET_DST)) == 0 ? IMA_NAT_EXEMPT_DESTINATION
                                                                        : c->action;
        else if (strcmp(name, "masq") == 0)
                c->action = IMA_NAT_MASQUERADED;
        else if (strcmp(name, "counter") == 0) {
                c->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                c->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
        }
        return 0;
}

static int counters_rule_cb(const struct nlmsghdr *nlh, void *data)
{
        struct counters_ctx *c = data;
        struct nftnl_rule *rule = nftnl_rule_alloc();

        if (!rule)
                return -ENOMEM;
        errno = 0; /* parse_failed() reads it */
        if (nftnl_rule_nlmsg_parse(nlh, rule) < 0) {
                nftnl_rule_free(rule);
                return parse_failed();
        }
        if (!in_our_chain(rule)) {
                nftnl_rule_free(rule);
                return 0;
        }
        c->action = -1;
        c->packets = c->bytes = 0;
        nftnl_expr_foreach(rule, counter_expr_cb, c);
        if (c->action >= 0 && c->out->n_rules[c->family] < IMA_NAT_MAX_RULES) {
                c->out->rules[c->family][c->out->n_rules[c->family]++] = (struct ima_nat_rule_counter){
                        .handle = nftnl_rule_get_u64(rule, NFTNL_RULE_HANDLE),
                        .action = (enum ima_nat_action)c->action,
                        .packets = c->packets,
                        .bytes = c->bytes,
                };
                c->out->packets[c->family][c->action] += c->packets;
                c->out->bytes[c->family][c->action] += c->bytes;
        }
        nftnl_rule_free(rule);
        c->out->present[c->family] = true;
        return 0;
}

int ima_dump_counters(struct ima_nl *nl, struct ima_nat_counters *ret)
{
        *ret = (struct ima_nat_counters){ 0 };
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                struct counters_ctx c = { .out = ret, .family = (enum ima_family)f };
                struct nftnl_rule *rule = nftnl_rule_alloc();
                char buf[4096] = { 0 }; /* padding is sent too: no stale bytes */
                struct nlmsghdr *nlh;
                int r;

                if (!rule || nftnl_rule_set_str(rule, NFTNL_RULE_TABLE, IMA_TABLE_NAME) < 0 ||
                    nftnl_rule_set_str(rule, NFTNL_RULE_CHAIN, IMA_CHAIN_NAME) < 0) {
                        if (rule)
                                nftnl_rule_free(rule);
                        return -ENOMEM;
                }
                nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, ima_family_nfproto((enum ima_family)f),
                                            NLM_F_DUMP | NLM_F_ACK, ima_nl_seq_reserve(nl, 1));
                nftnl_rule_nlmsg_build_payload(nlh, rule);
                nftnl_rule_free(rule);
                r = ima_nl_request(nl, nlh, counters_rule_cb, &c);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}
