#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "escape.h"
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

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

/* What an op owns. */
static void op_release(const struct ima_op *op)
{
        ima_ipset_free(op->elems);
        strv_free(op->old_rules, op->n_old_rules);
}

struct ima_plan *ima_plan_free(struct ima_plan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_ops; i++)
                op_release(&p->ops[i]);
        free(p->ops);
        free(p);
        return NULL;
}

int ima_plan_add(struct ima_plan *p, const struct ima_op *op)
{
        if (IMA_ARRAY_RESERVE(p->ops, p->cap, p->n_ops, 16) < 0) {
                op_release(op);
                return -ENOMEM;
        }
        p->ops[p->n_ops++] = *op;
        return 0;
}

/* Adds a FLUSH_CHAIN op that owns v, an array of n texts, even on failure. */
static int add_flush_chain(struct ima_plan *p, enum ima_family f, enum ima_op_reason reason, char **v, size_t n)
{
        return ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_FLUSH_CHAIN, .reason = reason, .family = f,
                                                 .old_rules = v, .n_old_rules = n });
}

int ima_plan_add_flush_chain(struct ima_plan *p, enum ima_family f, enum ima_op_reason reason,
                             char *const *old_rules, size_t n)
{
        char **v = NULL;

        if (n > 0) {
                v = calloc(n, sizeof(*v));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                v[i] = strdup(old_rules[i]);
                if (!v[i]) {
                        strv_free(v, i);
                        return -ENOMEM;
                }
        }
        return add_flush_chain(p, f, reason, v, n);
}

/* The texts of n rules of family f, as an array of n strings. -ENOMEM. */
static int render_rules(enum ima_family f, const struct ima_rule *rules, size_t n, char ***ret)
{
        char **v = calloc(n ? n : 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char text[512];

                ima_render_rule(f, &rules[i], text, sizeof(text));
                v[i] = strdup(text);
                if (!v[i]) {
                        strv_free(v, i);
                        return -ENOMEM;
                }
        }
        *ret = v;
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

bool ima_plan_has_ops(const struct ima_plan *p, unsigned transaction, unsigned families)
{
        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].transaction == transaction && (families & (1u << p->ops[i].family)))
                        return true;
        return false;
}

bool ima_plan_has_second_transaction(const struct ima_plan *p)
{
        return ima_plan_has_ops(p, 1, IMA_ALL_FAMILIES);
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

int ima_plan_add_missing_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                               enum ima_op_reason reason)
{
        size_t first = p->n_ops, second;
        int r;

        r = ima_plan_add_create_table(p, m, f, reason);
        if (r < 0)
                return r;
        /* an owned table cannot be woken (Linux refuses any update of its flags but adoption):
         * made unowned, the update that wakes it adopts it too */
        p->ops[first].table_flags = (p->ops[first].table_flags & ~IMA_TABLE_F_OWNER) | IMA_TABLE_F_DORMANT;
        second = p->n_ops;
        r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_TABLE, .reason = reason, .family = f,
                                              .table_flags = m->tables[f].flags, .table_update = true,
                                              .old_table_flags = p->ops[first].table_flags });
        if (r < 0)
                return r;
        ima_plan_defer(p, second);
        return 0;
}

int ima_plan_add_recreated_table(struct ima_plan *p, const struct ima_model *m, enum ima_family f,
                                 enum ima_op_reason reason)
{
        _cleanup_free_ struct ima_rule *rules = NULL;
        size_t n_rules, second;
        char **texts = NULL;
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
        r = render_rules(f, rules, n_rules, &texts); /* the first transaction's rules go */
        if (r >= 0)
                r = add_flush_chain(p, f, reason, texts, n_rules);
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

/* "{ flags dormant; }", "{ flags owner,persist; }", "{ }" */
static void print_table_flags(uint32_t flags, FILE *out)
{
        static const char *const names[] = { "dormant", "owner", "persist" }; /* bit by bit */
        const char *sep = " flags ";

        fputs("{", out);
        for (size_t b = 0; b < ARRAY_SIZE(names); b++)
                if (flags & 1u << b) {
                        fprintf(out, "%s%s", sep, names[b]);
                        sep = ",";
                }
        fputs(flags & ((1u << ARRAY_SIZE(names)) - 1) ? "; }" : " }", out);
}

/* The chain's header as nft lists it; "{ }" for a plain chain. */
static void print_chain_header(const struct ima_chain_header *h, int32_t priority, FILE *out)
{
        char prio[32];

        if (!h->hook[0]) {
                fputs("{ }", out);
                return;
        }
        /* nft names priorities after the standard ones of the hook; ours are named after srcnat */
        if (strcmp(h->hook, "postrouting") == 0)
                ima_render_priority(priority, prio, sizeof(prio));
        else
                snprintf(prio, sizeof(prio), "%d", priority);
        fprintf(out, "{ type %s hook %s priority %s; policy %s; }", h->type, h->hook, prio, h->policy);
}

static void print_op(const struct ima_op *op, FILE *out)
{
        const char *fam = ima_family_nft_name(op->family);
        char prio[32], rule[512];

        switch (op->kind) {
        case IMA_OP_ADD_TABLE:
                if (!op->table_update) {
                        fprintf(out, "+ table %s %s\n", fam, IMA_TABLE_NAME);
                        return;
                }
                /* the wake-up of a table this plan creates (ima_plan_add_missing_table): part of
                 * its "+ table" */
                if (op->reason == IMA_REASON_TABLE_MISSING)
                        return;
                /* the table stays, with everything in it: not a "- table", "+ table" */
                fprintf(out, "- table %s %s ", fam, IMA_TABLE_NAME);
                print_table_flags(op->old_table_flags, out);
                fprintf(out, " (flags only)\n+ table %s %s ", fam, IMA_TABLE_NAME);
                print_table_flags(op->table_flags, out);
                fputs(" (flags only)\n", out);
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
                fprintf(out, "- chain %s %s %s ", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME);
                print_chain_header(&op->old_chain, op->priority, out);
                fputc('\n', out);
                return;
        case IMA_OP_FLUSH_CHAIN:
                for (size_t i = 0; i < op->n_old_rules; i++)
                        fprintf(out, "- rule %s %s %s %s\n", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME, op->old_rules[i]);
                return;
        case IMA_OP_ADD_RULE:
                ima_render_rule(op->family, &op->rule, rule, sizeof(rule));
                fprintf(out, "+ rule %s %s %s %s\n", fam, IMA_TABLE_NAME, IMA_CHAIN_NAME, rule);
                return;
        case IMA_OP_FLUSH_SET:
                fprintf(out, "- elements %s %s %s (all)\n", fam, IMA_TABLE_NAME, ima_set_name(op->set));
                return;
        /* others' names as the kernel has them, escaped: one line per change, whatever they hold */
        case IMA_OP_FLUSH_OTHER_CHAIN:
                fprintf(out, "- rules %s %s ", fam, IMA_TABLE_NAME);
                ima_fput_escaped(out, op->other.name, strlen(op->other.name));
                fputs(" (all; not the agent's)\n", out);
                return;
        case IMA_OP_DEL_OTHER:
                fprintf(out, "- %s %s %s ", ima_other_kind_name(&op->other), fam, IMA_TABLE_NAME);
                ima_fput_escaped(out, op->other.name, strlen(op->other.name));
                fputs(" (not the agent's)\n", out);
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

/* Whether text is libnftnl's listing of a rule's expressions: nft's syntax never starts so. */
static bool is_expr_listing(const char *text)
{
        return text[0] == '[';
}

/* Whether the n rules of listing are the ones op shows: as many, and those it shows in nft
 * syntax (the agent's own) identical. */
static bool lines_up(const struct ima_op *op, char *const *listing, size_t n)
{
        if (op->n_old_rules != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_expr_listing(op->old_rules[i]) && strcmp(op->old_rules[i], listing[i]) != 0)
                        return false;
        return true;
}

bool ima_plan_shows_expr_listing(const struct ima_plan *p, enum ima_family f)
{
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct ima_op *op = &p->ops[i];

                for (size_t k = 0; op->kind == IMA_OP_FLUSH_CHAIN && op->family == f && k < op->n_old_rules; k++)
                        if (is_expr_listing(op->old_rules[k]))
                                return true;
        }
        return false;
}

int ima_plan_name_rules(struct ima_plan *p, enum ima_family f, char *const *listing, size_t n)
{
        int replaced = 0;

        for (size_t i = 0; i < p->n_ops; i++) {
                struct ima_op *op = &p->ops[i];

                if (op->kind != IMA_OP_FLUSH_CHAIN || op->family != f || !lines_up(op, listing, n))
                        continue;
                for (size_t k = 0; k < n; k++) {
                        char *text;

                        if (!is_expr_listing(op->old_rules[k]))
                                continue;
                        text = strdup(listing[k]);
                        if (!text)
                                return -ENOMEM;
                        free(op->old_rules[k]);
                        op->old_rules[k] = text;
                        replaced++;
                }
        }
        return replaced;
}

int ima_plan_print(const struct ima_plan *p, FILE *out)
{
        for (size_t i = 0; i < p->n_ops; i++)
                print_op(&p->ops[i], out);
        return ferror(out) ? -EIO : 0;
}
