/* model.h: the nftables state the agent wants (or found): per family a table "ip-masq-agent"
 * with interval sets nomasq-dst and nomasq-src and a base chain "postrouting" whose rules follow
 * from a few options. Names, comments and the rule list are defined here once; lib/render.c and
 * nft/build.c both translate the same struct ima_rule, so text and netlink cannot drift apart. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "config.h"
#include "ipset.h"
#include "macro.h"

#define IMA_TABLE_NAME "ip-masq-agent"
#define IMA_CHAIN_NAME "postrouting"
/* NF_IP_PRI_NAT_SRC, "srcnat": where iptables' nat POSTROUTING runs, and kube-proxy's chains. */
#define IMA_SRCNAT_PRIORITY 100
/* NF_IP_PRI_CONNTRACK: NAT chains must run after it, at a higher priority. */
#define IMA_CONNTRACK_PRIORITY (-200)
/* Upstream's chain is the last jump of iptables' nat POSTROUTING, so every NAT rule before it
 * (kube-proxy's masquerade, a CNI's or an egress gateway's SNAT) decides first. NAT chains of one
 * priority run newest first, so at srcnat itself the order would follow creation (and turn with
 * each re-creation of our table); one step later, ours runs after all of them, always. */
#define IMA_DEFAULT_PRIORITY (IMA_SRCNAT_PRIORITY + 1)
#define IMA_MAX_PORT_RANGES 16
/* Table flags (linux/netfilter/nf_tables.h; PERSIST is newer than Debian 12's headers). */
#define IMA_TABLE_F_DORMANT 0x1
#define IMA_TABLE_F_OWNER 0x2
#define IMA_TABLE_F_PERSIST 0x4

enum ima_set_id {
        IMA_SET_DST,
        IMA_SET_SRC,
};
#define IMA_SET_COUNT 2

enum ima_rule_kind {
        IMA_RULE_LOCAL_RETURN, /* fib daddr type local return */
        IMA_RULE_SRC_RETURN,   /* ip saddr @nomasq-src counter return */
        IMA_RULE_DST_RETURN,   /* ip daddr @nomasq-dst counter return */
        IMA_RULE_MASQ,         /* [meta l4proto P [numgen random mod M < B]] counter masquerade [to :a-b] [fully-random] */
        /* While the table is re-created: one per interval, no set (see ima_model_transition_rules) */
        IMA_RULE_SRC_RANGE_RETURN, /* ip saddr A-B return */
        IMA_RULE_DST_RANGE_RETURN, /* ip daddr A-B return */
};

struct ima_port_range {
        uint16_t first;
        uint16_t last;
};

struct ima_rule {
        enum ima_rule_kind kind;
        uint8_t l4proto;           /* IMA_RULE_MASQ with ports: IPPROTO_TCP/UDP/SCTP; else 0 */
        uint32_t numgen_mod;       /* 0: no random split */
        uint32_t numgen_below;     /* matches when numgen random mod numgen_mod < numgen_below */
        struct ima_port_range ports; /* {0,0}: any port */
        bool random_fully;
        struct ima_interval range; /* *_RANGE_RETURN */
        char comment[128];
};

/* Options from the command line that shape the kernel objects. */
struct ima_model_options {
        bool enable_ipv6;
        bool random_fully;                      /* --random-fully, default true */
        struct ima_port_range to_ports[IMA_MAX_PORT_RANGES]; /* --to-ports */
        size_t n_to_ports;
        int32_t priority;                       /* chain priority, default IMA_DEFAULT_PRIORITY */
        uint32_t table_flags;                   /* IMA_TABLE_F_* the tables should carry */
        uint32_t table_owner;                   /* with IMA_TABLE_F_OWNER: our socket's portid */
        bool keep_table_ownership;              /* one-shot commands: owner and persist left as found */
};

struct ima_model_table {
        bool present;
        uint32_t flags;
        uint32_t owner; /* portid that must own the table when flags has IMA_TABLE_F_OWNER */
        /* owner and persist are not compared: a table the running daemon owns, or left to be
         * adopted, is in sync for a one-shot command when its contents are */
        bool keep_ownership;
        struct ima_ipset *sets[IMA_SET_COUNT];
};

struct ima_model {
        struct ima_model_table tables[IMA_FAMILY_COUNT];
        int32_t priority;
        bool random_fully;
        struct ima_port_range to_ports[IMA_MAX_PORT_RANGES];
        size_t n_to_ports;
};

void ima_model_options_init(struct ima_model_options *o);

/* Desired state for a validated config: NonMasqueradeCIDRs (+ link-local unless MasqLinkLocal*)
 * into nomasq-dst, NonMasqueradeSrcCIDRs into nomasq-src, normalized per family. The ip6 table is
 * present only with enable_ipv6. -ENOMEM. */
int ima_model_build(const struct ima_config *c, const struct ima_model_options *o, struct ima_model **ret);
/* A model with no tables at all: reconciling to it removes the agent's tables (cleanup). */
int ima_model_new_empty(struct ima_model **ret);
struct ima_model *ima_model_free(struct ima_model *m);
DEFINE_FREEP(struct ima_model, ima_model_free)

const char *ima_set_name(enum ima_set_id s);
/* What the set, table and chain say about themselves in "nft list" (comments). */
const char *ima_set_comment(enum ima_family f, enum ima_set_id s);
const char *ima_table_comment(void);
const char *ima_chain_comment(void);

/* "tcp", "udp", "sctp": the protocols --to-ports applies to, as nft names them. */
const char *ima_l4proto_name(uint8_t proto);

/* The chain's rules for a family, in order. Returns a malloc'd array and its length in *ret_n,
 * or -ENOMEM. */
int ima_model_rules(const struct ima_model *m, enum ima_family f, struct ima_rule **ret, size_t *ret_n);

/* The same list with each set lookup replaced by one rule per interval of the set, for a table
 * re-created in the same transaction as its sets: Linux makes the rules live before the lookup
 * data of an interval set created with them, and for that moment a lookup matches nothing. At
 * most IMA_TRANSITION_MAX_INTERVALS (both sets together); -E2BIG beyond, -ENOMEM. */
#define IMA_TRANSITION_MAX_INTERVALS 2048
int ima_model_transition_rules(const struct ima_model *m, enum ima_family f, struct ima_rule **ret, size_t *ret_n);

/* Parses "--to-ports" text ("1024-29999,32768-65535", single ports allowed, each port as Go's
 * strconv.Atoi reads it) as upstream does, and rejects what upstream would pass on to a failing
 * iptables-restore: port 0, ports above 65535, reversed and overlapping ranges, empty parts.
 * -EINVAL with reason. */
int ima_port_ranges_parse(const char *s, struct ima_port_range *out, size_t max, size_t *ret_n,
                          const char **reason);
