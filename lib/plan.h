/* plan.h: an ordered list of changes to the agent's nftables objects, to be sent as ONE
 * transaction, or as two where the kernel cannot do it in one without a gap (each op says which).
 * Built by lib/diff.c (or as a full re-creation), sent by nft/, printed by the diff command.
 * Operations name model objects, never netlink structures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ipset.h"
#include "macro.h"
#include "model.h"
#include "observed.h"

enum ima_op_kind {
        IMA_OP_ADD_TABLE,   /* create the table (flags, comment) */
        IMA_OP_DEL_TABLE,   /* delete the table and everything in it */
        IMA_OP_ADD_SET,     /* create one of the two interval sets, empty */
        IMA_OP_DEL_SET,
        IMA_OP_ADD_CHAIN,   /* create the base chain (hook, priority, policy, comment) */
        IMA_OP_DEL_CHAIN,
        IMA_OP_FLUSH_CHAIN, /* delete every rule of the chain */
        IMA_OP_ADD_RULE,    /* append one rule */
        IMA_OP_FLUSH_SET,   /* delete every element of the set */
        IMA_OP_DEL_ELEMS,   /* delete intervals (start and end elements together) */
        IMA_OP_ADD_ELEMS,   /* add intervals */
        IMA_OP_FLUSH_OTHER_CHAIN, /* delete every rule of another's chain in our table */
        IMA_OP_DEL_OTHER,   /* delete another's chain, set, object or flowtable in our table */
};

/* Why an operation is in the plan: a configuration change, or which kind of drift it repairs. */
enum ima_op_reason {
        IMA_REASON_CONFIG,             /* the desired state differs from what was applied */
        IMA_REASON_TABLE_MISSING,
        IMA_REASON_TABLE_UNWANTED,     /* e.g. the ip6 table after IPv6 was switched off */
        IMA_REASON_TABLE_FLAGS,        /* dormant, or ownership differs */
        IMA_REASON_TABLE_FOREIGN,      /* someone added sets, chains or objects to our table */
        IMA_REASON_SET_MISSING,
        IMA_REASON_SET_INCOMPATIBLE,   /* wrong type or flags */
        IMA_REASON_SET_MALFORMED,      /* elements not in start/end form */
        IMA_REASON_ELEMENTS,           /* element lists differ */
        IMA_REASON_CHAIN_MISSING,
        IMA_REASON_CHAIN_INCOMPATIBLE, /* wrong type, hook, priority or policy */
        IMA_REASON_RULES,              /* the rule list differs */
        IMA_REASON_COMMENT,            /* the table's, a set's or the chain's comment is not ours */
};
#define IMA_REASON_COUNT (IMA_REASON_COMMENT + 1)

struct ima_op {
        enum ima_op_kind kind;
        enum ima_op_reason reason;
        enum ima_family family;
        enum ima_set_id set;     /* *_SET, *_ELEMS */
        uint32_t table_flags;    /* ADD_TABLE */
        /* ADD_TABLE that changes the flags of the table that is there (woken from dormant,
         * adopted): its contents stay. old_table_flags: its flags before, for diff's text */
        bool table_update;
        uint32_t old_table_flags;
        int32_t priority;        /* ADD_CHAIN; DEL_CHAIN: the one the chain had */
        struct ima_chain_header old_chain; /* DEL_CHAIN: the rest of what the chain was */
        struct ima_rule rule;    /* ADD_RULE */
        struct ima_ipset *elems; /* *_ELEMS, owned by the plan */
        /* FLUSH_CHAIN: the rules it removes as people read them, owned by the plan (none
         * known: NULL): in nft syntax, or, for a rule the agent cannot write, libnftnl's listing
         * of its expressions, each as "[ NAME ... ]" */
        char **old_rules;
        size_t n_old_rules;
        struct ima_other_object other; /* *_OTHER* */
        /* 0: the first transaction; 1: a second one, sent once the first has committed */
        unsigned transaction;
};

struct ima_plan {
        struct ima_op *ops;
        size_t n_ops;
        size_t cap;
};

int ima_plan_new(struct ima_plan **ret);
struct ima_plan *ima_plan_free(struct ima_plan *p);
DEFINE_FREEP(struct ima_plan, ima_plan_free)

/* "chain", "set", "counter", "quota", ... as nft names the kind of object. */
const char *ima_other_kind_name(const struct ima_other_object *o);

/* Appends op; the plan takes ownership of op->elems and op->old_rules, even on failure.
 * -ENOMEM. */
int ima_plan_add(struct ima_plan *p, const struct ima_op *op);
/* Appends a FLUSH_CHAIN op for family f that removes the n rules old_rules shows (texts copied).
 * -ENOMEM. */
int ima_plan_add_flush_chain(struct ima_plan *p, enum ima_family f, enum ima_op_reason reason,
                             char *const *old_rules, size_t n);

/* Appends the operations that create family f's table exactly as m describes it, assuming no
 * such table exists at that point of the transaction. -ENOMEM. */
int ima_plan_add_create_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                              enum ima_op_reason reason);
/* The same for a table that is not there at all (none to keep working meanwhile), in two
 * transactions: all of it, dormant, then the update that wakes it. Created awake in one, its
 * chain's lookups would for a moment match nothing (Linux makes a transaction's rules live before
 * the lookup data of interval sets created with them), and new flows to exempt destinations be
 * masqueraded for their lifetime; dormant, the chain hooks nothing until its sets are live. The
 * first transaction is still all of the table or none of it (a module the kernel lacks refuses
 * it). -ENOMEM. */
int ima_plan_add_missing_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                               enum ima_op_reason reason);
/* As ima_plan_add_create_table, for a table deleted earlier in the transaction, whose old rules
 * are live until it commits: the new chain starts with one rule per interval in place of each set
 * lookup, and a second transaction puts the lookups in, once the sets are live
 * (ima_model_transition_rules). Beyond IMA_TRANSITION_MAX_INTERVALS, one transaction as
 * ima_plan_add_create_table. -ENOMEM. */
int ima_plan_add_recreated_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                                 enum ima_op_reason reason);
/* Moves ops [from, end) of the plan into the second transaction. */
void ima_plan_defer(struct ima_plan *p, size_t from);
/* Whether any op of the families in the mask (1 << family) is in the given transaction. */
bool ima_plan_has_ops(const struct ima_plan *p, unsigned transaction, unsigned families);
/* Whether any op is in the second transaction. */
bool ima_plan_has_second_transaction(const struct ima_plan *p);
/* Appends an ADD_ELEMS op with a copy of set s of family f as m describes it (nothing when the
 * set is empty). -ENOMEM. */
int ima_plan_add_set_elems(struct ima_plan *p, const struct ima_model *m, enum ima_family f, enum ima_set_id s,
                           enum ima_op_reason reason);
/* Appends the chain's rules for family f as m describes them. -ENOMEM. */
int ima_plan_add_rules(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                       enum ima_op_reason reason);

/* Number of interval elements in all ELEMS ops (what a plan costs the kernel). */
size_t ima_plan_count_intervals(const struct ima_plan *p);

/* Human-readable, nft-like lines: "+ element ip ip-masq-agent nomasq-dst { 10.0.0.0/12 }",
 * "- table ip ip-masq-agent", "- rule ip ip-masq-agent postrouting <each rule removed>", "- chain
 * ... { <the header it had> }"; a table whose flags only change shows its flags before and after,
 * marked "(flags only)". Long element lists are wrapped; every line starts with '+' or '-'. */
int ima_plan_print(const struct ima_plan *p, FILE *out);
/* Whether a FLUSH_CHAIN op of family f shows a rule as libnftnl's listing. */
bool ima_plan_shows_expr_listing(const struct ima_plan *p, enum ima_family f);
/* Gives the rules that FLUSH_CHAIN ops of family f show as libnftnl's listing nft's text
 * instead: listing holds the n rules of the chain as nft lists them (in chain order, without
 * handles or counter values), read at the generation the plan was made from. Only when it lines
 * up with what an op shows, as many rules and the agent's own ones alike, else that op keeps its
 * texts. Returns how many texts were replaced, or -ENOMEM. */
int ima_plan_name_rules(struct ima_plan *p, enum ima_family f, char *const *listing, size_t n);
/* "rules", "elements", ...: the reason as a metric label / log word. */
const char *ima_op_reason_name(enum ima_op_reason r);
/* One-line description of an op, e.g. "add 3 intervals to ip nomasq-dst", for errors and logs. */
void ima_op_describe(const struct ima_op *op, char *buf, size_t size);
