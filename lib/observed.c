#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observed.h"

int ima_observed_new(struct ima_observed **ret)
{
        struct ima_observed *o = calloc(1, sizeof(*o));

        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static void chain_clear(struct ima_observed_chain *c)
{
        for (size_t i = 0; i < c->n_rules; i++)
                free(c->rules[i]);
        free(c->rules);
        c->rules = NULL;
        c->n_rules = 0;
}

struct ima_observed *ima_observed_free(struct ima_observed *o)
{
        if (!o)
                return NULL;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        ima_ipset_free(o->tables[f].sets[s].elems);
                chain_clear(&o->tables[f].chain);
                free(o->tables[f].others);
        }
        free(o);
        return NULL;
}

int ima_observed_add_other(struct ima_observed_table *t, enum ima_other_kind kind, const char *name,
                           uint32_t obj_type)
{
        struct ima_other_object *v = realloc(t->others, (t->n_others + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        t->others = v;
        v[t->n_others] = (struct ima_other_object){ .kind = kind, .obj_type = obj_type };
        snprintf(v[t->n_others].name, sizeof(v->name), "%s", name);
        t->n_others++;
        t->foreign = true;
        return 0;
}

void ima_rule_sigs_clear(struct ima_rule_sigs *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        s->v = NULL;
        s->n = 0;
}

static int copy_sigs(struct ima_observed_chain *c, const struct ima_rule_sigs *sigs)
{
        c->rules = calloc(sigs->n ? sigs->n : 1, sizeof(*c->rules));
        if (!c->rules)
                return -ENOMEM;
        for (size_t i = 0; i < sigs->n; i++) {
                c->rules[i] = strdup(sigs->v[i]);
                if (!c->rules[i])
                        return -ENOMEM;
                c->n_rules++;
        }
        return 0;
}

int ima_observed_from_model(const struct ima_model *want, const struct ima_rule_sigs sigs[IMA_FAMILY_COUNT],
                            uint32_t genid, struct ima_observed **ret)
{
        _cleanup_(ima_observed_freep) struct ima_observed *o = NULL;
        int r;

        r = ima_observed_new(&o);
        if (r < 0)
                return r;
        o->genid = genid;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                const struct ima_model_table *w = &want->tables[f];
                struct ima_observed_table *t = &o->tables[f];

                if (!w->present)
                        continue;
                t->present = true;
                t->flags = w->flags;
                t->owner = w->flags & IMA_TABLE_F_OWNER ? w->owner : 0;
                for (int s = 0; s < IMA_SET_COUNT; s++) {
                        t->sets[s].present = t->sets[s].compatible = true;
                        r = ima_ipset_dup(w->sets[s], &t->sets[s].elems);
                        if (r < 0)
                                return r;
                }
                t->chain.present = t->chain.compatible = true;
                t->chain.priority = want->priority;
                r = copy_sigs(&t->chain, &sigs[f]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}
