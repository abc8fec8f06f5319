#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "nft/batch.h"
#include "nft/build.h"
#include "nft/family.h"
#include "nft/interval.h"

/* nft's datatype ids for ipv4_addr / ipv6_addr; the kernel stores them for nft to print */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
/* nft's byteorder enum: BYTEORDER_BIG_ENDIAN */
#define NFT_BYTEORDER_BIG 2

/* Attaches a comment (and any extra u32 udata) through a udata buffer. */
static int put_comment(struct nftnl_udata_buf *u, uint8_t type, const char *comment)
{
        return nftnl_udata_put_strz(u, type, comment) ? 0 : -ENOMEM;
}

static struct nlmsghdr *begin_msg(struct ima_batch *b, uint16_t type, enum ima_family f, uint16_t flags,
                                  const struct ima_op *op)
{
        char what[512];

        ima_op_describe(op, what, sizeof(what));
        return ima_batch_msg(b, type, ima_family_nfproto(f), flags, what);
}

static int build_table(struct ima_batch *b, const struct ima_op *op)
{
        struct nftnl_table *t = nftnl_table_alloc();
        struct nftnl_udata_buf *u = NULL;
        struct nlmsghdr *nlh;
        int r = -ENOMEM;

        if (!t)
                return -ENOMEM;
        /* the setters that copy a string or data can fail (-1, out of memory) */
        if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, IMA_TABLE_NAME) < 0)
                goto out;
        nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, ima_family_nfproto(op->family));
        if (op->kind == IMA_OP_ADD_TABLE) {
                nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, op->table_flags);
                u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
                if (!u || put_comment(u, NFTNL_UDATA_TABLE_COMMENT, ima_table_comment()) < 0 ||
                    nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0)
                        goto out;
        }
        nlh = begin_msg(b, op->kind == IMA_OP_ADD_TABLE ? NFT_MSG_NEWTABLE : NFT_MSG_DELTABLE, op->family,
                        op->kind == IMA_OP_ADD_TABLE ? NLM_F_CREATE : 0, op);
        if (!nlh)
                goto out;
        nftnl_table_nlmsg_build_payload(nlh, t);
        r = ima_batch_msg_done(b);
out:
        if (u)
                nftnl_udata_buf_free(u);
        nftnl_table_free(t);
        return r;
}

static struct nftnl_set *set_alloc(enum ima_family f, enum ima_set_id set)
{
        struct nftnl_set *s = nftnl_set_alloc();

        if (!s)
                return NULL;
        if (nftnl_set_set_str(s, NFTNL_SET_TABLE, IMA_TABLE_NAME) < 0 ||
            nftnl_set_set_str(s, NFTNL_SET_NAME, ima_set_name(set)) < 0) {
                nftnl_set_free(s);
                return NULL;
        }
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, ima_family_nfproto(f));
        return s;
}

static int build_set(struct ima_batch *b, const struct ima_op *op)
{
        struct nftnl_set *s = set_alloc(op->family, op->set);
        struct nftnl_udata_buf *u = NULL;
        struct nlmsghdr *nlh;
        int r = -ENOMEM;

        if (!s)
                return -ENOMEM;
        if (op->kind == IMA_OP_ADD_SET) {
                nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
                nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, op->family == IMA_FAMILY_IPV4 ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR);
                nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, ima_family_bits(op->family) / 8);
                nftnl_set_set_u32(s, NFTNL_SET_ID, 1 + (uint32_t)op->set);
                u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
                /* keybyteorder and auto-merge make nft print and edit the set like its own */
                if (!u || !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_BIG) ||
                    !nftnl_udata_put_u32(u, NFTNL_UDATA_SET_MERGE_ELEMENTS, 1) ||
                    put_comment(u, NFTNL_UDATA_SET_COMMENT, ima_set_comment(op->family, op->set)) < 0 ||
                    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0)
                        goto out;
        }
        nlh = begin_msg(b, op->kind == IMA_OP_ADD_SET ? NFT_MSG_NEWSET : NFT_MSG_DELSET, op->family,
                        op->kind == IMA_OP_ADD_SET ? NLM_F_CREATE : 0, op);
        if (!nlh)
                goto out;
        nftnl_set_nlmsg_build_payload(nlh, s);
        r = ima_batch_msg_done(b);
out:
        if (u)
                nftnl_udata_buf_free(u);
        nftnl_set_free(s);
        return r;
}

static int build_chain(struct ima_batch *b, const struct ima_op *op)
{
        struct nftnl_chain *c = nftnl_chain_alloc();
        struct nftnl_udata_buf *u = NULL;
        struct nlmsghdr *nlh;
        int r = -ENOMEM;

        if (!c)
                return -ENOMEM;
        if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, IMA_TABLE_NAME) < 0 ||
            nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, IMA_CHAIN_NAME) < 0)
                goto out;
        nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, ima_family_nfproto(op->family));
        if (op->kind == IMA_OP_ADD_CHAIN) {
                nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_POST_ROUTING);
                nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, op->priority);
                nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
                u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
                if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "nat") < 0 || !u ||
                    put_comment(u, NFTNL_UDATA_CHAIN_COMMENT, ima_chain_comment()) < 0 ||
                    nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0)
                        goto out;
        }
        nlh = begin_msg(b, op->kind == IMA_OP_ADD_CHAIN ? NFT_MSG_NEWCHAIN : NFT_MSG_DELCHAIN, op->family,
                        op->kind == IMA_OP_ADD_CHAIN ? NLM_F_CREATE : 0, op);
        if (!nlh)
                goto out;
        nftnl_chain_nlmsg_build_payload(nlh, c);
        r = ima_batch_msg_done(b);
out:
        if (u)
                nftnl_udata_buf_free(u);
        nftnl_chain_free(c);
        return r;
}

static struct nftnl_expr *expr_new(struct nftnl_rule *r, const char *name)
{
        struct nftnl_expr *e = nftnl_expr_alloc(name);

        if (e)
                nftnl_rule_add_expr(r, e);
        return e;
}

static int add_cmp(struct nftnl_rule *r, enum nft_cmp_ops op, const void *data, uint32_t len)
{
        struct nftnl_expr *e = expr_new(r, "cmp");

        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
        nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
        return 0;
}

static int add_verdict(struct nftnl_rule *r, int verdict)
{
        struct nftnl_expr *e = expr_new(r, "immediate");

        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
        return 0;
}

static int add_counter(struct nftnl_rule *r)
{
        return expr_new(r, "counter") ? 0 : -ENOMEM;
}

/* fib daddr type local return */
static int build_local_return(struct nftnl_rule *r)
{
        struct nftnl_expr *e = expr_new(r, "fib");
        uint32_t local = RTN_LOCAL; /* compared in host order, as nft does */

        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
        nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
        if (add_cmp(r, NFT_CMP_EQ, &local, sizeof(local)) < 0)
                return -ENOMEM;
        return add_verdict(r, NFT_RETURN);
}

/* ip saddr / ip daddr (ip6 likewise) into register 1 */
static int add_address_load(struct nftnl_rule *r, enum ima_family f, enum ima_set_id set)
{
        bool v4 = f == IMA_FAMILY_IPV4;
        uint32_t offset = v4 ? (set == IMA_SET_SRC ? 12 : 16) : (set == IMA_SET_SRC ? 8 : 24);
        struct nftnl_expr *e = expr_new(r, "payload");

        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, ima_family_bits(f) / 8);
        nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
        return 0;
}

/* ip saddr @nomasq-src counter return / ip daddr @nomasq-dst counter return (ip6 likewise) */
static int build_set_return(struct nftnl_rule *r, enum ima_family f, enum ima_set_id set)
{
        struct nftnl_expr *e;

        if (add_address_load(r, f, set) < 0)
                return -ENOMEM;
        e = expr_new(r, "lookup");
        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
        if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, ima_set_name(set)) < 0)
                return -ENOMEM;
        /* the kernel always reports the flags: setting 0 keeps desired and dumped rules equal */
        nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
        if (add_counter(r) < 0)
                return -ENOMEM;
        return add_verdict(r, NFT_RETURN);
}

/* ip saddr A-B return / ip daddr A-B return (ip6 likewise): a set's interval as a range match,
 * for the transaction that creates the set (see ima_model_transition_rules) */
static int build_range_return(struct nftnl_rule *r, enum ima_family f, enum ima_set_id set,
                              const struct ima_interval *range)
{
        uint8_t from[16], to[16];
        uint32_t len = ima_family_bits(f) / 8;
        struct nftnl_expr *e;

        if (add_address_load(r, f, set) < 0)
                return -ENOMEM;
        ima_addr_to_bytes(f, range->first, from);
        ima_addr_to_bytes(f, range->last, to);
        e = expr_new(r, "range");
        if (!e)
                return -ENOMEM;
        nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
        nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, from, len);
        nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, to, len);
        return add_verdict(r, NFT_RETURN);
}

/* [meta l4proto P [numgen random mod M < B]] counter masquerade [to :a-b] [fully-random] */
static int build_masq(struct nftnl_rule *r, const struct ima_rule *rule)
{
        uint32_t flags = rule->random_fully ? NF_NAT_RANGE_PROTO_RANDOM_FULLY : 0;
        struct nftnl_expr *e;
        bool single_port;

        if (rule->l4proto) {
                e = expr_new(r, "meta");
                if (!e)
                        return -ENOMEM;
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
                nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
                if (add_cmp(r, NFT_CMP_EQ, &rule->l4proto, 1) < 0)
                        return -ENOMEM;
        }
        if (rule->numgen_mod) {
                uint32_t below = htonl(rule->numgen_below);

                e = expr_new(r, "numgen");
                if (!e)
                        return -ENOMEM;
                nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
                nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, rule->numgen_mod);
                /* numgen writes a host-order u32; "<" compares bytes, so swap to big endian */
                e = expr_new(r, "byteorder");
                if (!e)
                        return -ENOMEM;
                nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 4);
                nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 4);
                if (add_cmp(r, NFT_CMP_LT, &below, sizeof(below)) < 0)
                        return -ENOMEM;
        }
        if (add_counter(r) < 0)
                return -ENOMEM;
        /* one port is one register, used as both ends, as nft writes "to :3000": the rule then
         * reads back as nft loads it from render's output */
        single_port = rule->ports.first && rule->ports.first == rule->ports.last;
        if (rule->ports.first) {
                uint16_t lo = htons(rule->ports.first), hi = htons(rule->ports.last);

                for (int reg = NFT_REG_1; reg <= (single_port ? NFT_REG_1 : NFT_REG_2); reg++) {
                        e = expr_new(r, "immediate");
                        if (!e)
                                return -ENOMEM;
                        nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, (uint32_t)reg);
                        nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, reg == NFT_REG_1 ? &lo : &hi, sizeof(lo));
                }
                /* without PROTO_SPECIFIED the kernel ignores the port registers */
                flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
        }
        e = expr_new(r, "masq");
        if (!e)
                return -ENOMEM;
        if (rule->ports.first) {
                nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN, NFT_REG_1);
                nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_REG_PROTO_MAX, single_port ? NFT_REG_1 : NFT_REG_2);
        }
        if (flags)
                nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, flags);
        return 0;
}

struct nftnl_rule *ima_build_rule(enum ima_family f, const struct ima_rule *rule)
{
        struct nftnl_rule *r = nftnl_rule_alloc();
        struct nftnl_udata_buf *u;
        int k = -EINVAL;

        if (!r)
                return NULL;
        if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IMA_TABLE_NAME) < 0 ||
            nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, IMA_CHAIN_NAME) < 0) {
                nftnl_rule_free(r);
                return NULL;
        }
        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, ima_family_nfproto(f));
        switch (rule->kind) {
        case IMA_RULE_LOCAL_RETURN:
                k = build_local_return(r);
                break;
        case IMA_RULE_SRC_RETURN:
                k = build_set_return(r, f, IMA_SET_SRC);
                break;
        case IMA_RULE_DST_RETURN:
                k = build_set_return(r, f, IMA_SET_DST);
                break;
        case IMA_RULE_MASQ:
                k = build_masq(r, rule);
                break;
        case IMA_RULE_SRC_RANGE_RETURN:
                k = build_range_return(r, f, IMA_SET_SRC, &rule->range);
                break;
        case IMA_RULE_DST_RANGE_RETURN:
                k = build_range_return(r, f, IMA_SET_DST, &rule->range);
                break;
        }
        u = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        if (k < 0 || !u || put_comment(u, NFTNL_UDATA_RULE_COMMENT, rule->comment) < 0 ||
            nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) < 0) {
                if (u)
                        nftnl_udata_buf_free(u);
                nftnl_rule_free(r);
                return NULL;
        }
        nftnl_udata_buf_free(u);
        return r;
}

static int build_rule_op(struct ima_batch *b, const struct ima_op *op)
{
        struct nftnl_rule *r = NULL;
        struct nlmsghdr *nlh;
        int k;

        if (op->kind == IMA_OP_ADD_RULE) {
                r = ima_build_rule(op->family, &op->rule);
        } else { /* a DELRULE with only table and chain deletes every rule of the chain */
                r = nftnl_rule_alloc();
                if (r && (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, IMA_TABLE_NAME) < 0 ||
                          nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, IMA_CHAIN_NAME) < 0)) {
                        nftnl_rule_free(r);
                        r = NULL;
                }
                if (r)
                        nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, ima_family_nfproto(op->family));
        }
        if (!r)
                return -ENOMEM;
        nlh = begin_msg(b, op->kind == IMA_OP_ADD_RULE ? NFT_MSG_NEWRULE : NFT_MSG_DELRULE, op->family,
                        op->kind == IMA_OP_ADD_RULE ? NLM_F_CREATE | NLM_F_APPEND : 0, op);
        if (!nlh) {
                nftnl_rule_free(r);
                return -ENOMEM;
        }
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        k = ima_batch_msg_done(b);
        return k;
}

static int elem_add(struct nftnl_set *s, enum ima_family f, ima_u128 key, uint32_t flags)
{
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        uint8_t bytes[16];

        if (!e)
                return -ENOMEM;
        ima_addr_to_bytes(f, key, bytes);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, bytes, ima_family_bits(f) / 8);
        if (flags)
                nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
        nftnl_set_elem_add(s, e);
        return 0;
}

struct nftnl_set *ima_build_elems(enum ima_family f, enum ima_set_id set, const struct ima_interval *v, size_t n)
{
        struct nftnl_set *s = set_alloc(f, set);
        _cleanup_free_ struct ima_elem *elems = malloc(2 * (n ? n : 1) * sizeof(*elems));
        size_t n_elems;

        if (!s || !elems) {
                if (s)
                        nftnl_set_free(s);
                return NULL;
        }
        ima_interval_encode(f, v, n, elems, &n_elems);
        for (size_t i = 0; i < n_elems; i++)
                if (elem_add(s, f, elems[i].key, elems[i].end ? NFT_SET_ELEM_INTERVAL_END : 0) < 0) {
                        nftnl_set_free(s);
                        return NULL;
                }
        return s;
}

/* A DELSETELEM naming only the set flushes it. */
static int build_flush_set(struct ima_batch *b, const struct ima_op *op)
{
        struct nftnl_set *s = set_alloc(op->family, op->set);
        struct nlmsghdr *nlh;

        if (!s)
                return -ENOMEM;
        nlh = begin_msg(b, NFT_MSG_DELSETELEM, op->family, 0, op);
        if (!nlh) {
                nftnl_set_free(s);
                return -ENOMEM;
        }
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        return ima_batch_msg_done(b);
}

static int build_elems_op(struct ima_batch *b, const struct ima_op *op)
{
        const struct ima_ipset *elems = op->elems;
        bool add = op->kind == IMA_OP_ADD_ELEMS;

        for (size_t from = 0; from < elems->n; from += IMA_BUILD_INTERVALS_PER_MSG) {
                size_t n = elems->n - from < IMA_BUILD_INTERVALS_PER_MSG ? elems->n - from : IMA_BUILD_INTERVALS_PER_MSG;
                char what[512], first[IMA_RANGE_STRLEN], last[IMA_RANGE_STRLEN];
                struct nftnl_set *s;
                struct nlmsghdr *nlh;
                int k;

                ima_interval_format(elems->family, &elems->v[from], first);
                ima_interval_format(elems->family, &elems->v[from + n - 1], last);
                if (n == 1)
                        snprintf(what, sizeof(what), "%s %s %s %s: %s", add ? "add element to" : "delete element from",
                                 ima_family_nft_name(op->family), IMA_TABLE_NAME, ima_set_name(op->set), first);
                else
                        snprintf(what, sizeof(what), "%s %s %s %s: %zu intervals %s ... %s",
                                 add ? "add elements to" : "delete elements from", ima_family_nft_name(op->family),
                                 IMA_TABLE_NAME, ima_set_name(op->set), n, first, last);
                s = ima_build_elems(op->family, op->set, elems->v + from, n);
                if (!s)
                        return -ENOMEM;
                nlh = ima_batch_msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, ima_family_nfproto(op->family),
                                    add ? NLM_F_CREATE : 0, what);
                if (!nlh) {
                        nftnl_set_free(s);
                        return -ENOMEM;
                }
                nftnl_set_elems_nlmsg_build_payload(nlh, s);
                nftnl_set_free(s);
                k = ima_batch_msg_done(b);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Another's object in our table, by name: its rules flushed (a DELRULE naming only the chain), or
 * the object deleted. Every such message names the table in attribute 1 and the object in its
 * NAME attribute; a named object also needs its type. */
_Static_assert((int)NFTA_CHAIN_TABLE == (int)NFTA_RULE_TABLE && (int)NFTA_SET_TABLE == (int)NFTA_RULE_TABLE &&
               (int)NFTA_OBJ_TABLE == (int)NFTA_RULE_TABLE && (int)NFTA_FLOWTABLE_TABLE == (int)NFTA_RULE_TABLE,
               "table attribute");

static int build_other_op(struct ima_batch *b, const struct ima_op *op)
{
        static const struct {
                uint16_t msg;
                uint16_t name_attr;
        } del[] = {
                [IMA_OTHER_CHAIN] = { NFT_MSG_DELCHAIN, NFTA_CHAIN_NAME },
                [IMA_OTHER_SET] = { NFT_MSG_DELSET, NFTA_SET_NAME },
                [IMA_OTHER_MAP] = { NFT_MSG_DELSET, NFTA_SET_NAME },
                [IMA_OTHER_OBJECT] = { NFT_MSG_DELOBJ, NFTA_OBJ_NAME },
                [IMA_OTHER_FLOWTABLE] = { NFT_MSG_DELFLOWTABLE, NFTA_FLOWTABLE_NAME },
        };
        bool flush = op->kind == IMA_OP_FLUSH_OTHER_CHAIN;
        struct nlmsghdr *nlh;

        nlh = begin_msg(b, flush ? NFT_MSG_DELRULE : del[op->other.kind].msg, op->family, 0, op);
        if (!nlh)
                return -ENOMEM;
        mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, IMA_TABLE_NAME);
        mnl_attr_put_strz(nlh, flush ? NFTA_RULE_CHAIN : del[op->other.kind].name_attr, op->other.name);
        if (!flush && op->other.kind == IMA_OTHER_OBJECT)
                mnl_attr_put_u32(nlh, NFTA_OBJ_TYPE, htonl(op->other.obj_type));
        return ima_batch_msg_done(b);
}

int ima_build_op(struct ima_batch *b, const struct ima_op *op)
{
        switch (op->kind) {
        case IMA_OP_ADD_TABLE:
        case IMA_OP_DEL_TABLE:
                return build_table(b, op);
        case IMA_OP_ADD_SET:
        case IMA_OP_DEL_SET:
                return build_set(b, op);
        case IMA_OP_ADD_CHAIN:
        case IMA_OP_DEL_CHAIN:
                return build_chain(b, op);
        case IMA_OP_FLUSH_CHAIN:
        case IMA_OP_ADD_RULE:
                return build_rule_op(b, op);
        case IMA_OP_FLUSH_SET:
                return build_flush_set(b, op);
        case IMA_OP_DEL_ELEMS:
        case IMA_OP_ADD_ELEMS:
                return build_elems_op(b, op);
        case IMA_OP_FLUSH_OTHER_CHAIN:
        case IMA_OP_DEL_OTHER:
                return build_other_op(b, op);
        }
        return -EINVAL;
}
