#include <errno.h>
#include <string.h>

#include "diff.h"

static bool rules_equal(const struct ima_observed_chain *c, const struct ima_rule_sigs *want)
{
        if (c->n_rules != want->n)
                return false;
        for (size_t i = 0; i < want->n; i++)
                if (strcmp(c->rules[i], want->v[i]) != 0)
                        return false;
        return true;
}

static int add_op(struct ima_plan *p, enum ima_op_kind kind, enum ima_op_reason reason, enum ima_family f)
{
        return ima_plan_add(p, &(struct ima_op){ .kind = kind, .reason = reason, .family = f });
}

/* An orphaned persistent table (its owner exited) that we want to own: the kernel lets a new
 * owner adopt it in place. */
static bool adoptable(const struct ima_model_table *w, const struct ima_observed_table *h)
{
        return w->flags == (IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST) &&
               (h->flags & ~IMA_TABLE_F_DORMANT) == IMA_TABLE_F_PERSIST;
}

/* Why the table cannot be patched and must be re-created, or -1. The persist bit cannot be
 * changed in place; a table owned by another live socket cannot be changed by us at all, and an
 * update attempt makes the kernel say so (EPERM). */
static int recreate_reason(const struct ima_model_table *w, const struct ima_observed_table *h)
{
        if (h->foreign && h->n_others == 0) /* there, but not named: no way to remove them alone */
                return IMA_REASON_TABLE_FOREIGN;
        if (!w->keep_ownership && (h->flags & ~IMA_TABLE_F_DORMANT) != w->flags && !adoptable(w, h) &&
            !(h->flags & IMA_TABLE_F_OWNER && w->flags & IMA_TABLE_F_OWNER))
                return IMA_REASON_TABLE_FLAGS;
        for (int s = 0; s < IMA_SET_COUNT; s++)
                if (h->sets[s].present && !h->sets[s].compatible)
                        return IMA_REASON_SET_INCOMPATIBLE;
        /* no update changes the comment of a table or a set; a set cannot be replaced while our
         * chain uses it, and re-creating the table is what keeps the rules complete meanwhile */
        if (h->comment_differs)
                return IMA_REASON_COMMENT;
        for (int s = 0; s < IMA_SET_COUNT; s++)
                if (h->sets[s].present && h->sets[s].comment_differs)
                        return IMA_REASON_COMMENT;
        return -1;
}

/* The table exists with the right structure but needs a NEWTABLE: woken from dormant, adopted,
 * or (when owned by someone else) the attempt that surfaces EPERM. */
static bool needs_table_update(const struct ima_model_table *w, const struct ima_observed_table *h)
{
        if (h->flags & IMA_TABLE_F_DORMANT || adoptable(w, h))
                return true;
        return w->flags & IMA_TABLE_F_OWNER && h->owner != w->owner;
}

/* Structure of the sets: missing ones created, malformed ones emptied and refilled. Element
 * deltas of healthy sets are appended to dels/adds, which the caller places afterwards. */
static int diff_sets(struct ima_plan *p, struct ima_plan *dels, struct ima_plan *adds, const struct ima_model *want,
                     enum ima_family f, const struct ima_observed_table *h)
{
        for (int s = 0; s < IMA_SET_COUNT; s++) {
                const struct ima_observed_set *hs = &h->sets[s];
                struct ima_ipset *del = NULL, *add = NULL;
                int r;

                if (!hs->present || hs->malformed) {
                        enum ima_op_reason why = hs->present ? IMA_REASON_SET_MALFORMED : IMA_REASON_SET_MISSING;

                        r = ima_plan_add(p, &(struct ima_op){ .kind = hs->present ? IMA_OP_FLUSH_SET : IMA_OP_ADD_SET,
                                                              .reason = why, .family = f, .set = s });
                        if (r < 0)
                                return r;
                        r = ima_plan_add_set_elems(adds, want, f, (enum ima_set_id)s, why);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = ima_ipset_diff(hs->elems, want->tables[f].sets[s], &del, &add);
                if (r < 0)
                        return r;
                if (del->n > 0)
                        r = ima_plan_add(dels, &(struct ima_op){ .kind = IMA_OP_DEL_ELEMS, .reason = IMA_REASON_ELEMENTS,
                                                                  .family = f, .set = s, .elems = TAKE_PTR(del) });
                if (r >= 0 && add->n > 0)
                        r = ima_plan_add(adds, &(struct ima_op){ .kind = IMA_OP_ADD_ELEMS, .reason = IMA_REASON_ELEMENTS,
                                                                  .family = f, .set = s, .elems = TAKE_PTR(add) });
                ima_ipset_free(del);
                ima_ipset_free(add);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Others' objects in our table, removed by name. A chain, set, object or flowtable still in use
 * cannot be deleted, so their chains' rules are flushed first (pass FLUSH), and the objects are
 * deleted later (pass DELETE): sets and maps (a verdict map's elements use chains, an object map's
 * objects), then objects and flowtables, then the chains. Removing them one by one, instead of
 * re-creating the table, keeps our sets, chain and counters as they are. */
enum others_pass {
        OTHERS_FLUSH,
        OTHERS_DELETE,
};

static int remove_others(struct ima_plan *p, enum ima_family f, const struct ima_observed_table *h,
                         enum others_pass pass)
{
        static const enum ima_other_kind order[] = { IMA_OTHER_SET, IMA_OTHER_MAP, IMA_OTHER_OBJECT,
                                                     IMA_OTHER_FLOWTABLE, IMA_OTHER_CHAIN };
        size_t n_kinds = pass == OTHERS_FLUSH ? 1 : ARRAY_SIZE(order);

        for (size_t k = 0; k < n_kinds; k++)
                for (size_t i = 0; i < h->n_others; i++) {
                        const struct ima_other_object *o = &h->others[i];
                        int r;

                        if (pass == OTHERS_FLUSH ? o->kind != IMA_OTHER_CHAIN : o->kind != order[k])
                                continue;
                        r = ima_plan_add(p, &(struct ima_op){
                                                    .kind = pass == OTHERS_FLUSH ? IMA_OP_FLUSH_OTHER_CHAIN
                                                                                 : IMA_OP_DEL_OTHER,
                                                    .reason = IMA_REASON_TABLE_FOREIGN,
                                                    .family = f,
                                                    .other = *o,
                                            });
                        if (r < 0)
                                return r;
                }
        return 0;
}

/* Our chain, and others' objects around it. The kernel refuses (EBUSY) to delete a chain that a
 * rule's jump or a verdict map's element still names (someone made our chain a plain chain and
 * jumped to it), and a map or set that a rule still uses (our chain's rules may use others' maps,
 * whose elements may jump to others' chains). So, in one transaction: every reference goes first
 * (others' chains flushed, then ours), then others' objects, then our chain is deleted and made
 * again, then our rules go in. Nothing can name our sets but rules and maps, which are gone by
 * then, and the sets themselves are never deleted here (a set that must be made again makes the
 * whole table made again). */
static int diff_chain(struct ima_plan *p, const struct ima_model *want, const struct ima_rule_sigs *want_rules,
                      enum ima_family f, const struct ima_observed_table *h)
{
        const struct ima_observed_chain *c = &h->chain;
        bool replace = c->present && (!c->compatible || c->priority != want->priority || c->comment_differs);
        bool new_rules = !c->present || replace || !rules_equal(c, want_rules);
        enum ima_op_reason why = IMA_REASON_RULES;
        int r;

        if (!c->present)
                why = IMA_REASON_CHAIN_MISSING;
        else if (replace)
                why = c->compatible && c->priority == want->priority ? IMA_REASON_COMMENT
                                                                     : IMA_REASON_CHAIN_INCOMPATIBLE;

        r = remove_others(p, f, h, OTHERS_FLUSH);
        if (r >= 0 && c->present && new_rules)
                r = ima_plan_add_flush_chain(p, f, why, c->texts, c->n_rules);
        if (r >= 0)
                r = remove_others(p, f, h, OTHERS_DELETE);
        if (r >= 0 && replace)
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_DEL_CHAIN, .reason = why, .family = f,
                                                      .priority = c->priority, .old_chain = c->header });
        if (r >= 0 && (!c->present || replace))
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_CHAIN, .reason = why, .family = f,
                                                      .priority = want->priority });
        if (r >= 0 && new_rules)
                r = ima_plan_add_rules(p, want, f, why);
        return r;
}

/* Moves every op of src to the end of dst (ownership of element lists included). */
static int append_plan(struct ima_plan *dst, struct ima_plan *src)
{
        for (size_t i = 0; i < src->n_ops; i++) {
                int r = ima_plan_add(dst, &src->ops[i]);

                src->ops[i].elems = NULL;
                src->ops[i].old_rules = NULL;
                if (r < 0)
                        return r;
        }
        src->n_ops = 0;
        return 0;
}

static int diff_family(struct ima_plan *p, const struct ima_model *want, const struct ima_rule_sigs *want_rules,
                       enum ima_family f, const struct ima_observed_table *h)
{
        _cleanup_(ima_plan_freep) struct ima_plan *dels = NULL, *adds = NULL;
        const struct ima_model_table *w = &want->tables[f];
        size_t updated_at = SIZE_MAX;
        int why, r;

        if (!w->present)
                return h->present ? add_op(p, IMA_OP_DEL_TABLE, IMA_REASON_TABLE_UNWANTED, f) : 0;
        if (!h->present)
                return ima_plan_add_missing_table(p, want, f, IMA_REASON_TABLE_MISSING);
        if (h->contents_unread) /* read for deletion only: nothing here says what it holds */
                return -EINVAL;
        why = recreate_reason(w, h);
        if (why >= 0) {
                r = add_op(p, IMA_OP_DEL_TABLE, (enum ima_op_reason)why, f);
                return r < 0 ? r : ima_plan_add_recreated_table(p, want, f, (enum ima_op_reason)why);
        }
        if (needs_table_update(w, h)) {
                /* kept ownership: the kernel refuses to change owner or persist in an update */
                uint32_t flags = w->keep_ownership ? h->flags & ~IMA_TABLE_F_DORMANT : w->flags;

                updated_at = p->n_ops;
                r = ima_plan_add(p, &(struct ima_op){ .kind = IMA_OP_ADD_TABLE, .reason = IMA_REASON_TABLE_FLAGS,
                                                      .family = f, .table_flags = flags, .table_update = true,
                                                      .old_table_flags = h->flags });
                if (r < 0)
                        return r;
        }
        if ((r = ima_plan_new(&dels)) < 0 || (r = ima_plan_new(&adds)) < 0)
                return r;
        r = diff_sets(p, dels, adds, want, f, h);
        if (r < 0)
                return r;
        /* a kernel interval set rejects an element that overlaps a live one: delete first */
        if ((r = append_plan(p, dels)) < 0 || (r = append_plan(p, adds)) < 0)
                return r;
        r = diff_chain(p, want, want_rules, f, h);
        if (r < 0 || updated_at == SIZE_MAX)
                return r;
        /* The kernel refuses (EINVAL) to update a table's flags (adopting an orphan, waking a
         * dormant table) and to add or delete a base chain in it in one transaction. The update
         * goes first, alone: after it the table is ours, so no one can come between the two. */
        for (size_t i = updated_at + 1; i < p->n_ops; i++)
                if (p->ops[i].kind == IMA_OP_ADD_CHAIN || p->ops[i].kind == IMA_OP_DEL_CHAIN) {
                        ima_plan_defer(p, updated_at + 1);
                        break;
                }
        return 0;
}

int ima_diff(const struct ima_model *want, const struct ima_rule_sigs want_rules[IMA_FAMILY_COUNT],
             const struct ima_observed *have, struct ima_plan **ret)
{
        _cleanup_(ima_plan_freep) struct ima_plan *p = NULL;
        int r;

        r = ima_plan_new(&p);
        if (r < 0)
                return r;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                r = diff_family(p, want, &want_rules[f], (enum ima_family)f, &have->tables[f]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}
