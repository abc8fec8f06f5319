#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observed.h"
#include "render.h"

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
        for (size_t i = 0; i < c->n_rules; i++) {
                free(c->rules[i]);
                free(c->texts[i]);
        }
        free(c->rules);
        free(c->texts);
        c->rules = c->texts = NULL;
        c->n_rules = 0;
}

int ima_observed_chain_add_rule(struct ima_observed_chain *c, char *sig, char *text)
{
        char **rules = realloc(c->rules, (c->n_rules + 1) * sizeof(*rules)), **texts;

        if (rules)
                c->rules = rules;
        texts = rules ? realloc(c->texts, (c->n_rules + 1) * sizeof(*texts)) : NULL;
        if (!texts) {
                free(sig);
                free(text);
                return -ENOMEM;
        }
        c->texts = texts;
        c->rules[c->n_rules] = sig;
        c->texts[c->n_rules] = text;
        c->n_rules++;
        return 0;
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

/* The chain as the agent makes it for family f of want: its header, and its rules (the
 * signatures in sigs, the texts rendered from the model). */
static int copy_chain(struct ima_observed_chain *c, const struct ima_model *want, enum ima_family f,
                      const struct ima_rule_sigs *sigs)
{
        _cleanup_free_ struct ima_rule *rules = NULL;
        size_t n_rules;
        int r;

        c->present = c->compatible = true;
        c->priority = want->priority;
        c->header = (struct ima_chain_header){ .type = "nat", .hook = "postrouting", .policy = "accept" };
        r = ima_model_rules(want, f, &rules, &n_rules);
        if (r < 0)
                return r;
        assert(n_rules == sigs->n); /* sigs are those of want's rules */
        for (size_t i = 0; i < sigs->n; i++) {
                char buf[512], *sig, *text;

                ima_render_rule(f, &rules[i], buf, sizeof(buf));
                sig = strdup(sigs->v[i]);
                text = strdup(buf);
                if (!sig || !text) {
                        free(sig);
                        free(text);
                        return -ENOMEM;
                }
                r = ima_observed_chain_add_rule(c, sig, text);
                if (r < 0)
                        return r;
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
                        /* a model is not changed once built: the cache holds its sets as they are */
                        t->sets[s].elems = ima_ipset_ref(w->sets[s]);
                }
                r = copy_chain(&t->chain, want, (enum ima_family)f, &sigs[f]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(o);
        return 0;
}
