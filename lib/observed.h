/* observed.h: what the kernel holds for the agent's tables, as read back by nft/dump.c (or as
 * known after the agent's own last commit). Plain data: no netlink types, so lib/diff.c can
 * compare it with the desired model without any I/O. Rules are held as canonical signature
 * strings (nft/rule-sig.c computes them for both sides), and as text for diff to show. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "ipset.h"
#include "macro.h"
#include "model.h"

struct ima_observed_set {
        bool present;
        bool compatible;        /* interval set of the family's address type and nothing more */
        bool malformed;         /* elements not in the start/end form the agent writes */
        bool comment_differs;   /* its comment is not the agent's (someone else created it) */
        struct ima_ipset *elems; /* decoded intervals, sorted (NULL when not present) */
};

/* A chain's header as nft lists it ("type nat hook postrouting priority srcnat; policy
 * accept;"), kept for diff's text only: all empty for a plain chain, which has no hook. */
struct ima_chain_header {
        char type[16];          /* "nat", "filter", "route" */
        char hook[16];          /* "postrouting", ... */
        char policy[16];        /* "accept", "drop" */
};

struct ima_observed_chain {
        bool present;
        bool compatible;        /* nat / postrouting / policy accept */
        int32_t priority;
        bool comment_differs;
        struct ima_chain_header header;
        char **rules;           /* rule signatures in chain order */
        /* the same rules as people read them: nft syntax for a rule of a shape the agent
         * writes, else libnftnl's listing of its expressions (nft/rule-sig.c) */
        char **texts;
        size_t n_rules;
};

/* Appends one rule to c: its signature and its text, both taken over (freed on failure too).
 * -ENOMEM. */
int ima_observed_chain_add_rule(struct ima_observed_chain *c, char *sig, char *text);

/* An object someone else put in our table, which the agent removes by name. */
enum ima_other_kind {
        IMA_OTHER_CHAIN,
        IMA_OTHER_SET,
        IMA_OTHER_MAP,       /* a set with data: verdicts (jumps to chains) or objects */
        IMA_OTHER_OBJECT,    /* a named counter, quota, limit, ... */
        IMA_OTHER_FLOWTABLE,
};
#define IMA_OTHER_NAME_MAX 256 /* NFT_NAME_MAXLEN */

struct ima_other_object {
        enum ima_other_kind kind;
        uint32_t obj_type; /* IMA_OTHER_OBJECT: its NFT_OBJECT_* type, which deleting it needs */
        char name[IMA_OTHER_NAME_MAX];
};

struct ima_observed_table {
        bool present;
        uint32_t flags;         /* NFT_TABLE_F_* */
        uint32_t owner;         /* portid of the owning socket when NFT_TABLE_F_OWNER */
        /* its comment, the hint "nft list" shows operators, is not the agent's: someone
         * re-created the table bare. The kernel keeps a table's comment from its creation on. */
        bool comment_differs;
        bool foreign;           /* holds objects besides our two sets and one chain */
        /* only the table was read, for a family the agent deletes: what it holds is not
         * known (all below is empty), and no diff against it can add to it */
        bool contents_unread;
        struct ima_other_object *others; /* those objects, when all of them could be named */
        size_t n_others;
        struct ima_observed_set sets[IMA_SET_COUNT];
        struct ima_observed_chain chain;
};

/* Records another's object in t (and marks t foreign). -ENOMEM. */
int ima_observed_add_other(struct ima_observed_table *t, enum ima_other_kind kind, const char *name,
                           uint32_t obj_type);

struct ima_observed {
        uint32_t genid;         /* generation the observation is valid for */
        struct ima_observed_table tables[IMA_FAMILY_COUNT];
};

/* Rule signatures of the desired chain, one list per family (computed by nft/rule-sig.c). */
struct ima_rule_sigs {
        char **v;
        size_t n;
};

/* What the chain's counters say, per family (read by nft/dump.c for the metrics): packets (the
 * first packet of each connection: NAT rules see no others) and bytes that were masqueraded,
 * exempted by source, exempted by destination. A family whose table is absent has present[f]
 * false. With several masquerade rules (--to-ports) their counters are summed. */
enum ima_nat_action {
        IMA_NAT_MASQUERADED,
        IMA_NAT_EXEMPT_SOURCE,
        IMA_NAT_EXEMPT_DESTINATION,
};
#define IMA_NAT_ACTION_COUNT 3

/* One counting rule of the chain, told apart from the others by its handle: with several rules
 * per action (--to-ports), one of them removed or re-created must not pass for all of them
 * starting over. */
struct ima_nat_rule_counter {
        uint64_t handle;
        enum ima_nat_action action;
        uint64_t packets, bytes;
};
/* Ours are at most 4 + 3 * IMA_MAX_PORT_RANGES = 52; more only with others' rules in the chain,
 * and those past this many are not read. */
#define IMA_NAT_MAX_RULES 64

struct ima_nat_counters {
        bool present[IMA_FAMILY_COUNT];
        uint64_t packets[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
        uint64_t bytes[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
        /* the rules the sums above add up, in chain order */
        size_t n_rules[IMA_FAMILY_COUNT];
        struct ima_nat_rule_counter rules[IMA_FAMILY_COUNT][IMA_NAT_MAX_RULES];
};

int ima_observed_new(struct ima_observed **ret);
struct ima_observed *ima_observed_free(struct ima_observed *o);
DEFINE_FREEP(struct ima_observed, ima_observed_free)

/* What the kernel holds right after a successful commit of want: the state the agent can trust
 * until someone else touches its tables. Its sets are want's, shared (ima_ipset_ref()). -ENOMEM. */
int ima_observed_from_model(const struct ima_model *want, const struct ima_rule_sigs sigs[IMA_FAMILY_COUNT],
                            uint32_t genid, struct ima_observed **ret);

void ima_rule_sigs_clear(struct ima_rule_sigs *s);
