#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "render.h"

int ima_plan_new(struct ima_plan **ret)
{
        struct ima_plan *p = calloc(1, sizeof(*p));

        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

struct ima_plan *ima_plan_free(struct ima_plan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_ops; i++)
                ima_ipset_free(p->ops[i].elems);
        free(p->ops);
        free(p);
        return NULL;
}

int ima_plan_add(struct ima_plan *p, const struct ima_op *op)
{
        if (p->n_ops == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 16;
                struct ima_op *v = realloc(p->ops, cap * sizeof(*v));

                if (!v) {
                        ima_ipset_free(op->elems);
                        return -ENOMEM;
                }
                p->ops = v;
                p->cap = cap;
        }
        p->ops[p->n_ops++] = *op;
        return 0;
}

int ima_plan_add_rules(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                       enum ima_op_reason reason)
{
        _cleanup_free_ struct ima_rule *rules = NULL;
        size_t n_rules;
        int r;

        r = ima_model_rules(m, f, &rules, &n_rules);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_rules; i++) {
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_RULE, .reason = reason, .family = f,
                                                      .rule = rules[i] });
                if (r < 0)
                        return r;
        }
        return 0;
}

int ima_plan_add_set_elems(struct ima_plan *p, const struct ima_model *m, enum ima_family f, enum ima_set_id s,
                           enum ima_op_reason reason)
{
        struct ima_ipset *elems = NULL;
        int r;

        if (m->tables[f].sets[s]->n == 0)
                return 0;
        r = ima_ipset_dup(m->tables[f].sets[s], &elems);
        if (r < 0)
                return r;
        return ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_ELEMS, .reason = reason, .family = f, .set = s,
                                                 .elems = elems });
}

void ima_plan_defer(struct ima_plan *p, size_t from)
{
        for (size_t i = from; i < p->n_ops; i++)
                p->ops[i].transaction = 1;
}

bool ima_plan_has_second_transaction(const struct ima_plan *p)
{
        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].transaction > 0)
                        return true;
        return false;
}

/* The table, both sets with their elements and the chain, without rules. */
static int add_table_sets_chain(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                                enum ima_op_reason reason)
{
        const struct ima_model_table *t = &m->tables[f];
        int r;

        r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_TABLE, .reason = reason, .family = f,
                                              .table_flags = t->flags });
        if (r < 0)
                return r;
        for (int s = 0; s < IMA_SET_COUNT; s++) {
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_SET, .reason = reason, .family = f, .set = s });
                if (r < 0)
                        return r;
                r = ima_plan_add_set_elems(p, m, f, (enum ima_set_id)s, reason);
                if (r < 0)
                        return r;
        }
        return ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_CHAIN, .reason = reason, .family = f,
                                                 .priority = m->priority });
}

int ima_plan_add_create_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                              enum ima_op_reason reason)
{
        int r = add_table_sets_chain(p, m, f, reason);

        return r < 0 ? r : ima_plan_add_rules(p, m, f, reason);
}

int ima_plan_add_recreated_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                                 enum ima_op_reason reason)
{
        _cleanup_free_ struct ima_rule *rules = NULL;
        size_t n_rules, second;
        int r;

        r = ima_model_transition_rules(m, f, &rules, &n_rules);
        if (r == -E2BIG)
                return ima_plan_add_create_table(p, m, f, reason);
        if (r < 0)
                return r;
        r = add_table_sets_chain(p, m, f, reason);
        for (size_t i = 0; r >= 0 && i < n_rules; i++)
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_RULE, .reason = reason, .family = f,
                                                      .rule = rules[i] });
        if (r < 0)
                return r;
        second = p->n_ops;
        r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_FLUSH_CHAIN, .reason = reason, .family = f });
        if (r >= 0)
                r = ima_plan_add_rules(p, m, f, reason);
        if (r < 0)
                return r;
        ima_plan_defer(p, second);
        return 0;
}

size_t ima_plan_count_intervals(const struct ima_plan *p)
{
        size_t n = 0;

        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].elems)
                        n += p->ops[i].elems->n;
        return n;
}

const char *ima_op_reason_name(enum ima_op_reason r)
{
        static const char *const names[IMA_REASON_COUNT] = {
                [IMA_REASON_CONFIG] = "config",
                [IMA_REASON_TABLE_MISSING] = "table_missing",
                [IMA_REASON_TABLE_UNWANTED] = "table_unwanted",
                [IMA_REASON_TABLE_FLAGS] = "table_flags",
                [IMA_REASON_TABLE_FOREIGN] = "table_foreign_objects",
                [IMA_REASON_SET_MISSING] = "set_missing",
                [IMA_REASON_SET_INCOMPATIBLE] = "set_incompatible",
                [IMA_REASON_SET_MALFORMED] = "set_malformed",
                [IMA_REASON_ELEMENTS] = "elements",
                [IMA_REASON_CHAIN_MISSING] = "chain_missing",
                [IMA_REASON_CHAIN_INCOMPATIBLE] = "chain_incompatible",
                [IMA_REASON_RULES] = "rules",
                [IMA_REASON_COMMENT] = "comment",
        };
        return names[r];
}

const char *ima_other_kind_name(const struct ima_other_object *o)
{
        /* the object types nft names (NFT_OBJECT_*) */
        static const char *const objects[] = { [1] = "counter", [2] = "quota", [3] = "ct helper", [4] = "limit",
                                                [5] = "connlimit", [6] = "tunnel", [7] = "ct timeout",
                                                [8] = "secmark", [9] = "ct expectation", [10] = "synproxy" };

        switch (o->kind) {
        case IMA_OTHER_CHAIN:
                return "chain";
        case IMA_OTHER_SET:
                return "set";
        case IMA_OTHER_MAP:
                return "map";
        case IMA_OTHER_FLOWTABLE:
                return "flowtable";
        case IMA_OTHER_OBJECT:
                break;
        }
        return o->obj_type < ARRAY_SIZE(objects) && objects[o->obj_type] ? objects[o->obj_type] : "object";
}

void ima_op_describe(const struct ima_op *op, char *buf, size_t size)
{
        const char *fam = ima_family_nft_name(op->family);
        char rule[512];

        switch (op->kind) {
        case IMA_OP_ADD_TABLE:
                snprintf(buf, size, "add table %s %s", fam, IMA_TABLE_NAME);
                return;
        case IMA_OP_DEL_TABLE:
                snprintf(buf, size, "delete table %s %s", fam, IMA_TABLE_NAME);
                return;
        case IMA_OP_ADD_SET:
                snprintf(buf, size, "add set %s %s %s", fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        case IMA_OP_DEL_SET:
                snprintf(buf, size, "delete set %s %s %s", fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        case IMA_OP_ADD_CHAIN:
                snprintf(buf, size, "add chain %s %s %s", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                return;
        case IMA_OP_DEL_CHAIN:
                snprintf(buf, size, "delete chain %s %s %s", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                return;
        case IMA_OP_FLUSH_CHAIN:
                snprintf(buf, size, "flush chain %s %s %s", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                return;
        case IMA_OP_ADD_RULE:
                ima_render_rule(op->family, &op->rule, rule, sizeof(rule));
                snprintf(buf, size, "add rule %s %s %s %s", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME, rule);
                return;
        case IMA_OP_FLUSH_SET:
                snprintf(buf, size, "flush set %s %s %s", fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        case IMA_OP_FLUSH_OTHER_CHAIN:
                snprintf(buf, size, "flush chain %s %s %s", fam, IMA_TABLE_NAME, op->other.name);
                return;
        case IMA_OP_DEL_OTHER:
                snprintf(buf, size, "delete %s %s %s %s", ima_other_kind_name(&op->other), fam, IMA_TABLE_NAME,
                         op->other.name);
                return;
        case IMA_OP_DEL_ELEMS:
        case IMA_OP_ADD_ELEMS:
                snprintf(buf, size, "%s %zu interval%s %s %s %s %s",
                         op->kind == IMA_OP_ADD_ELEMS ? "add" : "delete", op->elems->n,
                         op->elems->n == 1 ? "" : "s", op->kind == IMA_OP_ADD_ELEMS ? "to" : "from",
                         fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        }
        snprintf(buf, size, "?");
}

static void print_op(const struct ima_op *op, FILE *out)
{
        const char *fam = ima_family_nft_name(op->family);
        char prio[32], rule[512];

        switch (op->kind) {
        case IMA_OP_ADD_TABLE:
                fprintf(out, "+ table %s %s\n", fam, IMA_TABLE_NAME);
                return;
        case IMA_OP_DEL_TABLE:
                fprintf(out, "- table %s %s\n", fam, IMA_TABLE_NAME);
                return;
        case IMA_OP_ADD_SET:
        case IMA_OP_DEL_SET:
                fprintf(out, "%c set %s %s %s { type %s; flags interval; }\n",
                        op->kind == IMA_OP_ADD_SET ? '+' : '-', fam, IMA_TABLE_NAME, ima_set_name(op->set),
                        op->family == IMA_FAMILY_IPV4 ? "ipv4_addr" : "ipv6_addr");
                return;
        case IMA_OP_ADD_CHAIN:
                ima_render_priority(op->priority, prio, sizeof(prio));
                fprintf(out, "+ chain %s %s %s { type nat hook postrouting priority %s; policy accept; }\n",
                        fam, IMA_TABLE_NAME, IMA_CHAIN_NAME, prio);
                return;
        case IMA_OP_DEL_CHAIN:
                fprintf(out, "- chain %s %s %s\n", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                return;
        case IMA_OP_FLUSH_CHAIN:
                fprintf(out, "- rules %s %s %s (all)\n", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                return;
        case IMA_OP_ADD_RULE:
                ima_render_rule(op->family, &op->rule, rule, sizeof(rule));
                fprintf(out, "+ rule %s %s %s %s\n", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME, rule);
                return;
        case IMA_OP_FLUSH_SET:
                fprintf(out, "- elements %s %s %s (all)\n", fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        case IMA_OP_FLUSH_OTHER_CHAIN:
                fprintf(out, "- rules %s %s %s (all; not the agent's)\n", fam, IMA_TABLE_NAME, op->other.name);
                return;
        case IMA_OP_DEL_OTHER:
                fprintf(out, "- %s %s %s %s (not the agent's)\n", ima_other_kind_name(&op->other), fam,
                        IMA_TABLE_NAME, op->other.name);
                return;
        case IMA_OP_DEL_ELEMS:
        case IMA_OP_ADD_ELEMS:
                fprintf(out, "%c element %s %s %s { ", op->kind == IMA_OP_ADD_ELEMS ? '+' : '-', fam,
                        IMA_TABLE_NAME, ima_set_name(op->set));
                /* a long list goes on over several lines, each marked too: grep '^+' finds them all */
                ima_render_elements(op->elems, op->kind == IMA_OP_ADD_ELEMS ? "+   " : "-   ", out);
                fputs(" }\n", out);
                return;
        }
}

int ima_plan_print(const struct ima_plan *p, FILE *out)
{
        for (size_t i = 0; i < p->n_ops; i++)
                print_op(&p->ops[i], out);
        return ferror(out) ? -EIO : 0;
}
