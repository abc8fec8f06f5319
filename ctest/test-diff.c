/* lib/diff.c: which plan each difference between desired and observed state produces. */
#include <stdlib.h>

#include "lib/diff.h"
#include "lib/render.h"
#include "tests.h"

static char *sig_storage[2][4] = { { "rule-a", "rule-b", "rule-c", "rule-d" },
                                   { "rule-a", "rule-b", "rule-c", "rule-d" } };
static struct ima_rule_sigs sigs[IMA_FAMILY_COUNT] = {
        { sig_storage[0], 4 },
        { sig_storage[1], 4 },
};

static struct ima_model *model(void)
{
        struct ima_config_options copts = { 0 };
        struct ima_model_options mopts;
        struct ima_config *c = NULL;
        struct ima_model *m = NULL;

        ima_model_options_init(&mopts);
        if (ima_config_new_defaults(&copts, &c) == 0)
                ima_model_build(c, &mopts, &m);
        ima_config_free(c);
        return m;
}

/* The observed state carries the same fake rule signatures as sigs[], one per rule of the model:
 * the diff compares strings only, while the rules it would add are the model's four real ones.
 * Its sets are copies of its own, which the cases change to play drift (from_model shares the
 * model's). */
static struct ima_observed *in_sync(const struct ima_model *m)
{
        struct ima_observed *o = NULL;

        if (ima_observed_from_model(m, sigs, 42, &o) < 0)
                return NULL;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                for (int s = 0; s < IMA_SET_COUNT; s++) {
                        struct ima_ipset **elems = &o->tables[f].sets[s].elems, *own = NULL;

                        if (*elems && ima_ipset_dup(*elems, &own) == 0) {
                                ima_ipset_free(*elems);
                                *elems = own;
                        }
                }
        return o;
}

static const char *kinds(const struct ima_plan *p)
{
        static const char letter[] = {
                [IMA_OP_ADD_TABLE] = 'T', [IMA_OP_DEL_TABLE] = 't', [IMA_OP_ADD_SET] = 'S',
                [IMA_OP_DEL_SET] = 's', [IMA_OP_ADD_CHAIN] = 'C', [IMA_OP_DEL_CHAIN] = 'c',
                [IMA_OP_FLUSH_CHAIN] = 'f', [IMA_OP_ADD_RULE] = 'R', [IMA_OP_FLUSH_SET] = 'F',
                [IMA_OP_DEL_ELEMS] = 'e', [IMA_OP_ADD_ELEMS] = 'E', [IMA_OP_FLUSH_OTHER_CHAIN] = 'o',
                [IMA_OP_DEL_OTHER] = 'x',
        };
        static char buf[256];
        size_t n = 0;

        /* "|" where the second transaction starts */
        for (size_t i = 0; i < p->n_ops && n < sizeof(buf) - 2; i++) {
                if (p->ops[i].transaction > 0 && (i == 0 || p->ops[i - 1].transaction == 0))
                        buf[n++] = '|';
                buf[n++] = letter[p->ops[i].kind];
        }
        buf[n] = '\0';
        return buf;
}

static const char *plan_kinds(const struct ima_model *m, const struct ima_observed *o)
{
        struct ima_plan *p = NULL;
        const char *k;

        if (ima_diff(m, sigs, o, &p) < 0)
                return "error";
        k = kinds(p);
        ima_plan_free(p);
        return k;
}

static void test_in_sync_is_empty(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);

        CHECK_STR(plan_kinds(m, o), "");
        ima_observed_free(o);
        ima_model_free(m);
}

static void test_element_delta_deletes_first(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_ipset *dst = o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST].elems;
        struct ima_ipset *src = o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_SRC].elems;

        dst->v[0].last = 0x0a7fffff; /* 10/8 shrunk to 10/9 */
        ima_ipset_add(src, 0x01010101, 0x01010101); /* a stray source */
        CHECK_STR(plan_kinds(m, o), "eeE"); /* dst -10/9, src -1.1.1.1, then dst +10/8 */
        ima_observed_free(o);
        ima_model_free(m);
}

static void test_table_states(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);

        o->tables[IMA_FAMILY_IPV4].flags |= IMA_TABLE_F_DORMANT;
        CHECK_STR(plan_kinds(m, o), "T");
        /* woken, and its chain deleted too: the kernel refuses the flags update and a new base
         * chain in one transaction, even when nothing comes between them in the plan */
        o->tables[IMA_FAMILY_IPV4].chain.present = false;
        CHECK_STR(plan_kinds(m, o), "T|CRRRR");
        o->tables[IMA_FAMILY_IPV4].chain.present = true;
        o->tables[IMA_FAMILY_IPV4].flags = 0;
        o->tables[IMA_FAMILY_IPV4].foreign = true;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        o->tables[IMA_FAMILY_IPV4].foreign = false;
        o->tables[IMA_FAMILY_IPV4].flags = IMA_TABLE_F_OWNER;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        o->tables[IMA_FAMILY_IPV4].flags = 0;
        o->tables[IMA_FAMILY_IPV6].present = true; /* IPv6 is off in the model */
        CHECK_STR(plan_kinds(m, o), "t");
        o->tables[IMA_FAMILY_IPV6].contents_unread = true; /* read alone: enough to delete it */
        CHECK_STR(plan_kinds(m, o), "t");
        /* a table the model wants, read without its contents: nothing to diff against */
        o->tables[IMA_FAMILY_IPV4].contents_unread = true;
        CHECK_STR(plan_kinds(m, o), "error");
        o->tables[IMA_FAMILY_IPV4].contents_unread = false;
        ima_observed_free(o);
        o = NULL;
        ima_observed_new(&o);
        /* nothing there: created whole (one set with elements) but dormant, then woken once its
         * sets are live: awake in one transaction, its lookups would match nothing for a moment */
        CHECK_STR(plan_kinds(m, o), "TSESCRRRR|T");
        ima_observed_free(o);
        ima_model_free(m);
}

static void test_ownership(void)
{
        struct ima_model *m = model();
        struct ima_observed *o;
        struct ima_observed_table *t;

        m->tables[IMA_FAMILY_IPV4].flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST;
        m->tables[IMA_FAMILY_IPV4].owner = 5;
        o = in_sync(m);
        t = &o->tables[IMA_FAMILY_IPV4];
        CHECK_STR(plan_kinds(m, o), "");
        t->flags = IMA_TABLE_F_PERSIST; /* orphaned by a previous agent: adopted in place */
        t->owner = 0;
        CHECK_STR(plan_kinds(m, o), "T");
        t->flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST; /* another live agent owns it */
        t->owner = 7;
        CHECK_STR(plan_kinds(m, o), "T"); /* the kernel answers EPERM: reported, not hidden */
        t->flags = 0; /* made without ownership (e.g. by "apply"): persist cannot be added in place */
        t->owner = 0;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        m->tables[IMA_FAMILY_IPV4].flags = 0; /* ownership off, orphan left behind: re-created */
        t->flags = IMA_TABLE_F_PERSIST;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        ima_observed_free(o);
        ima_model_free(m);
}

/* One-shot commands ("apply", "diff") leave owner and persist as they find them. */
static void test_kept_ownership(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];
        struct ima_plan *p = NULL;

        m->tables[IMA_FAMILY_IPV4].keep_ownership = true;
        t->flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST; /* the running daemon's */
        t->owner = 7;
        CHECK_STR(plan_kinds(m, o), "");
        t->sets[IMA_SET_DST].elems->v[0].last = 0x0a7fffff; /* contents differ: contents only */
        CHECK_STR(plan_kinds(m, o), "eE");
        t->sets[IMA_SET_DST].elems->v[0].last = 0x0affffff;
        t->flags = IMA_TABLE_F_PERSIST; /* orphaned: left to be adopted */
        t->owner = 0;
        CHECK_STR(plan_kinds(m, o), "");
        t->flags = IMA_TABLE_F_PERSIST | IMA_TABLE_F_DORMANT; /* woken, still persistent */
        CHECK_INT(ima_diff(m, sigs, o, &p), 0);
        CHECK_STR(kinds(p), "T");
        CHECK_INT(p->ops[0].table_flags, IMA_TABLE_F_PERSIST);
        ima_plan_free(p);
        t->foreign = true; /* whoever owns it, a foreign chain still means a re-creation */
        t->flags = 0;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        ima_observed_free(o);
        ima_model_free(m);
}

/* A table re-created while its old rules are live: the new chain matches the intervals directly
 * until a second transaction, after the sets are live, puts the lookups in. The same split, for
 * another reason, when adoption and a new chain meet. */
static void test_second_transaction(void)
{
        static const enum ima_rule_kind first[] = { IMA_RULE_LOCAL_RETURN, IMA_RULE_DST_RANGE_RETURN,
                                                    IMA_RULE_DST_RANGE_RETURN, IMA_RULE_DST_RANGE_RETURN,
                                                    IMA_RULE_DST_RANGE_RETURN, IMA_RULE_MASQ };
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];
        struct ima_ipset *dst = m->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST];
        struct ima_plan *p = NULL;
        size_t k = 0;

        t->foreign = true;
        CHECK_INT(ima_diff(m, sigs, o, &p), 0);
        CHECK_STR(kinds(p), "tTSESCRRRRRR|fRRRR");
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct ima_op *op = &p->ops[i];

                if (op->kind != IMA_OP_ADD_RULE || op->transaction > 0)
                        continue;
                CHECK_INT(op->rule.kind, first[k]);
                if (op->rule.kind == IMA_RULE_DST_RANGE_RETURN) /* 10/8 169.254/16 172.16/12 192.168/16 */
                        CHECK(op->rule.range.first == dst->v[k - 1].first && op->rule.range.last == dst->v[k - 1].last);
                k++;
        }
        CHECK_INT(k, 6);
        ima_plan_free(p);
        p = NULL;
        /* too many intervals for a rule each: one transaction, as before */
        for (uint32_t i = 0; i < IMA_TRANSITION_MAX_INTERVALS; i++)
                ima_ipset_add(dst, 0x0b000000 + 2 * i, 0x0b000000 + 2 * i);
        ima_ipset_normalize(dst);
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRR");
        t->foreign = false;
        ima_observed_free(o);
        ima_model_free(m);

        m = model();
        m->tables[IMA_FAMILY_IPV4].flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST;
        m->tables[IMA_FAMILY_IPV4].owner = 5;
        o = in_sync(m);
        t = &o->tables[IMA_FAMILY_IPV4];
        t->flags = IMA_TABLE_F_PERSIST; /* an orphan to adopt ... */
        t->owner = 0;
        t->chain.priority = 50;         /* ... by an agent with another --priority */
        CHECK_STR(plan_kinds(m, o), "T|fcCRRRR");
        t->chain.priority = m->priority; /* adoption alone, or a new chain alone: one transaction */
        CHECK_STR(plan_kinds(m, o), "T");
        t->flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST;
        t->owner = 5;
        t->chain.priority = 50;
        CHECK_STR(plan_kinds(m, o), "fcCRRRR");
        ima_observed_free(o);
        ima_model_free(m);
}

/* Others' objects in our table are removed by name, in an order the kernel accepts, and only an
 * unnamed one makes the table re-created. */
static void test_other_objects(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];
        struct ima_plan *p = NULL;
        char order[1024] = "";

        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_CHAIN, "stray", 0), 0);
        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_OBJECT, "cnt", 1), 0);
        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_MAP, "vmap", 0), 0);
        CHECK(t->foreign);
        t->chain.rules[1][0] = 'X'; /* a rule of ours changed too: flushed before the removals */
        CHECK_INT(ima_diff(m, sigs, o, &p), 0);
        CHECK_STR(kinds(p), "ofxxxRRRR");
        for (size_t i = 0; i < p->n_ops; i++)
                if (p->ops[i].kind == IMA_OP_FLUSH_OTHER_CHAIN || p->ops[i].kind == IMA_OP_DEL_OTHER)
                        snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s%s %.16s",
                                 order[0] ? ", " : "", p->ops[i].kind == IMA_OP_FLUSH_OTHER_CHAIN ? "flush" : "delete",
                                 p->ops[i].other.name);
        CHECK_STR(order, "flush stray, delete vmap, delete cnt, delete stray");
        ima_plan_free(p);
        t->n_others = 0; /* another object that could not be named */
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        ima_observed_free(o);
        ima_model_free(m);
}

/* Someone made our chain a plain chain and jumped to it, from their chain or from their verdict
 * map: the kernel refuses to delete a chain something still names (EBUSY), so every reference
 * goes before our chain is replaced, in the same transaction. Our own rules may use their map
 * (and its elements their chain): ours are flushed before their map is deleted. */
static void test_chain_references_go_first(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];
        struct ima_plan *p = NULL;
        size_t first[IMA_OP_DEL_OTHER + 1], last[IMA_OP_DEL_OTHER + 1];

        t->chain.compatible = false; /* no hook */
        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_CHAIN, "foo", 0), 0);  /* foo: jump postrouting */
        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_MAP, "vm", 0), 0);     /* 1.2.3.4 : goto postrouting */
        CHECK_INT(ima_observed_add_other(t, IMA_OTHER_SET, "s", 0), 0);
        CHECK_INT(ima_diff(m, sigs, o, &p), 0);
        CHECK_STR(kinds(p), "ofxxxcCRRRR");
        for (size_t k = 0; k < ARRAY_SIZE(first); k++) {
                first[k] = SIZE_MAX;
                last[k] = 0;
        }
        for (size_t i = 0; i < p->n_ops; i++) {
                if (first[p->ops[i].kind] == SIZE_MAX)
                        first[p->ops[i].kind] = i;
                last[p->ops[i].kind] = i;
        }
        /* every rule that names something goes first, ours too (they may use their map) */
        CHECK(last[IMA_OP_FLUSH_OTHER_CHAIN] < first[IMA_OP_DEL_OTHER]);
        CHECK(last[IMA_OP_FLUSH_CHAIN] < first[IMA_OP_DEL_OTHER]);
        /* their chain and map, which name ours, are gone before ours is deleted and made again */
        CHECK(last[IMA_OP_DEL_OTHER] < first[IMA_OP_DEL_CHAIN]);
        CHECK(first[IMA_OP_DEL_CHAIN] < first[IMA_OP_ADD_CHAIN]);
        CHECK(!ima_plan_has_second_transaction(p)); /* one transaction: no gap in the NAT rules */
        ima_plan_free(p);
        p = NULL;
        t->chain.compatible = true; /* with another priority, its rules using their map */
        t->chain.priority = 50;
        CHECK_STR(plan_kinds(m, o), "ofxxxcCRRRR");
        t->chain.priority = m->priority; /* our chain as it should be: theirs go, ours stays */
        CHECK_STR(plan_kinds(m, o), "oxxx");
        ima_observed_free(o);
        ima_model_free(m);
}

static void test_sets_and_chain(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];

        t->sets[IMA_SET_DST].malformed = true;
        CHECK_STR(plan_kinds(m, o), "FE");
        t->sets[IMA_SET_DST].malformed = false;
        t->sets[IMA_SET_SRC].present = false;
        CHECK_STR(plan_kinds(m, o), "S"); /* empty source set: created, nothing to add */
        t->sets[IMA_SET_SRC].present = true;
        t->sets[IMA_SET_SRC].compatible = false;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        t->sets[IMA_SET_SRC].compatible = true;
        t->chain.rules[1][0] = 'X';
        CHECK_STR(plan_kinds(m, o), "fRRRR");
        t->chain.rules[1][0] = 'r';
        t->chain.priority = 50; /* our rules emptied first: they may use others' maps */
        CHECK_STR(plan_kinds(m, o), "fcCRRRR");
        t->chain.priority = m->priority;
        t->chain.present = false;
        CHECK_STR(plan_kinds(m, o), "CRRRR");
        ima_observed_free(o);
        ima_model_free(m);
}

/* The reason of the plan's first op, by name ("" for an empty plan). */
static const char *first_reason(const struct ima_model *m, const struct ima_observed *o)
{
        static char buf[64];
        struct ima_plan *p = NULL;

        if (ima_diff(m, sigs, o, &p) < 0)
                return "error";
        snprintf(buf, sizeof(buf), "%s", p->n_ops ? ima_op_reason_name(p->ops[0].reason) : "");
        ima_plan_free(p);
        return buf;
}

/* A comment that is not ours means someone made the object: the kernel cannot change the comment
 * of a table or set in place, so those are re-created (the table, keeping the rules complete in
 * between); the chain is replaced. */
static void test_comments(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];

        t->comment_differs = true;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        CHECK_STR(first_reason(m, o), "comment");
        t->comment_differs = false;
        t->sets[IMA_SET_SRC].comment_differs = true;
        CHECK_STR(plan_kinds(m, o), "tTSESCRRRRRR|fRRRR");
        CHECK_STR(first_reason(m, o), "comment");
        t->sets[IMA_SET_SRC].compatible = false; /* the graver reason is the one reported */
        CHECK_STR(first_reason(m, o), "set_incompatible");
        t->sets[IMA_SET_SRC].compatible = true;
        t->sets[IMA_SET_SRC].comment_differs = false;
        t->chain.comment_differs = true;
        CHECK_STR(plan_kinds(m, o), "fcCRRRR");
        CHECK_STR(first_reason(m, o), "comment");
        t->chain.priority = 50;
        CHECK_STR(first_reason(m, o), "chain_incompatible");
        t->chain.priority = m->priority;
        t->chain.comment_differs = false;
        CHECK_STR(plan_kinds(m, o), "");
        ima_observed_free(o);
        ima_model_free(m);
}

/* diff's text: a long element list goes over several lines, and every one of them carries the
 * sign, so that "grep '^+'" finds every added element. */
static void test_print_marks_every_line(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_ipset *dst = o->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST].elems;
        struct ima_plan *p = NULL;
        char *text = NULL, *line, *save = NULL;
        size_t len = 0, lines = 0;
        FILE *f = open_memstream(&text, &len);

        for (uint32_t i = 0; i < 40; i++) /* stray /32s that all go, in one op */
                ima_ipset_add(dst, 0x01000000u + 2 * i, 0x01000000u + 2 * i);
        ima_ipset_normalize(dst);
        CHECK(ima_diff(m, sigs, o, &p) == 0);
        CHECK(f && ima_plan_print(p, f) == 0);
        if (f)
                fclose(f);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                lines++;
                CHECK(line[0] == '-');
        }
        CHECK(lines > 1);
        free(text);
        ima_plan_free(p);
        ima_observed_free(o);
        ima_model_free(m);
}

/* The plan for m against o as diff prints it ("error" when it cannot). */
static const char *printed(const struct ima_model *m, const struct ima_observed *o)
{
        static char buf[8192];
        struct ima_plan *p = NULL;
        FILE *f;

        buf[0] = '\0'; /* an empty plan writes nothing, and fmemopen() leaves the buffer as it was */
        f = fmemopen(buf, sizeof(buf), "w");
        if (!f || ima_diff(m, sigs, o, &p) < 0 || ima_plan_print(p, f) < 0)
                snprintf(buf, sizeof(buf), "error");
        if (f)
                fclose(f);
        ima_plan_free(p);
        return buf;
}

/* Line n (from 0) of text that starts with prefix, or "". */
static const char *line_starting(const char *text, const char *prefix, size_t n)
{
        static char buf[1024];

        for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
                if (strncmp(l, prefix, strlen(prefix)) == 0 && n-- == 0) {
                        snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(l, "\n"), l);
                        return buf;
                }
        return "";
}

static size_t count_lines_starting(const char *text, const char *prefix)
{
        size_t n = 0;

        while (line_starting(text, prefix, n)[0])
                n++;
        return n;
}

/* diff's text says what goes, as it was: each rule of the chain, the header the chain had, the
 * flags of a table that stays. */
static void test_print_shows_what_goes(void)
{
        struct ima_model *m = model();
        struct ima_observed *o = in_sync(m);
        struct ima_observed_table *t = &o->tables[IMA_FAMILY_IPV4];
        const char *text;

        /* a rule of ours someone changed: every rule goes, each as the dump read it */
        free(t->chain.texts[1]);
        t->chain.texts[1] = strdup("[ counter ] [ immediate reg 0 accept ]");
        t->chain.rules[1][0] = 'X';
        text = printed(m, o);
        CHECK_INT(count_lines_starting(text, "- rule ip ip-masq-agent postrouting "), 4);
        CHECK_STR(line_starting(text, "- ", 0),
                  "- rule ip ip-masq-agent postrouting fib daddr type local return comment \"local destinations are "
                  "not masqueraded\"");
        CHECK_STR(line_starting(text, "- ", 1), "- rule ip ip-masq-agent postrouting [ counter ] [ immediate reg 0 accept ]");
        CHECK_INT(count_lines_starting(text, "+ rule ip ip-masq-agent postrouting "), 4);
        CHECK(!strstr(text, "(all)"));
        t->chain.rules[1][0] = 'r';

        /* the chain made again: its old header */
        t->chain.priority = 50;
        snprintf(t->chain.header.policy, sizeof(t->chain.header.policy), "drop");
        text = printed(m, o);
        CHECK_STR(line_starting(text, "- chain", 0),
                  "- chain ip ip-masq-agent postrouting { type nat hook postrouting priority 50; policy drop; }");
        CHECK_STR(line_starting(text, "+ chain", 0),
                  "+ chain ip ip-masq-agent postrouting { type nat hook postrouting priority srcnat + 1; policy accept; }");
        t->chain.compatible = false; /* a plain chain: no header at all */
        t->chain.header = (struct ima_chain_header){ 0 };
        CHECK_STR(line_starting(printed(m, o), "- chain", 0), "- chain ip ip-masq-agent postrouting { }");
        t->chain.compatible = true;
        t->chain.priority = m->priority;
        t->chain.header = (struct ima_chain_header){ .type = "nat", .hook = "postrouting", .policy = "accept" };
        CHECK_STR(printed(m, o), "");

        /* woken from dormant: not a table deleted and made again */
        t->flags |= IMA_TABLE_F_DORMANT;
        CHECK_STR(printed(m, o), "- table ip ip-masq-agent { flags dormant; } (flags only)\n"
                                 "+ table ip ip-masq-agent { } (flags only)\n");
        /* an orphan adopted: its flags as nft lists them, comma-separated */
        m->tables[IMA_FAMILY_IPV4].flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST;
        m->tables[IMA_FAMILY_IPV4].owner = 5;
        t->flags = IMA_TABLE_F_PERSIST;
        CHECK_STR(printed(m, o), "- table ip ip-masq-agent { flags persist; } (flags only)\n"
                                 "+ table ip ip-masq-agent { flags owner,persist; } (flags only)\n");
        m->tables[IMA_FAMILY_IPV4].flags = 0;
        m->tables[IMA_FAMILY_IPV4].owner = 0;
        t->flags = 0;
        t->foreign = true; /* made again: the second transaction's flush lists the first one's rules */
        text = printed(m, o);
        CHECK_STR(line_starting(text, "", 0), "- table ip ip-masq-agent");
        CHECK_STR(line_starting(text, "", 1), "+ table ip ip-masq-agent");
        CHECK_INT(count_lines_starting(text, "- rule ip ip-masq-agent postrouting ip daddr 10.0.0.0/8 return"), 1);
        CHECK_INT(count_lines_starting(text, "- rule "), 6);
        t->foreign = false;
        /* a table that is not there: one "+ table"; its wake-up, once its sets are live, is part
         * of it, no flags change of a table that stays */
        ima_observed_free(o);
        o = NULL;
        ima_observed_new(&o);
        text = printed(m, o);
        CHECK_INT(count_lines_starting(text, "+ table "), 1);
        CHECK_INT(count_lines_starting(text, "- "), 0);
        CHECK(!strstr(text, "(flags only)"));
        ima_observed_free(o);
        ima_model_free(m);
}

/* diff gives others' rules nft's text (cmd/nftables-text.c reads it) only where the chain it
 * read lines up with the rules the plan shows. */
static void test_name_rules(void)
{
        char *shown[] = { "fib daddr type local return", "[ counter ] [ immediate reg 0 accept ]" };
        char *listed[] = { "fib daddr type local return", "counter accept" };
        char *other_ours[] = { "fib daddr type local return comment \"x\"", "counter accept" };
        struct ima_plan *p = NULL;

        CHECK_INT(ima_plan_new(&p), 0);
        CHECK_INT(ima_plan_add_flush_chain(p, IMA_FAMILY_IPV4, IMA_REASON_RULES, shown, 2), 0);
        CHECK(ima_plan_shows_expr_listing(p, IMA_FAMILY_IPV4));
        CHECK(!ima_plan_shows_expr_listing(p, IMA_FAMILY_IPV6));
        /* another family's chain, as many rules as the chain had, our own rule not alike: nothing */
        CHECK_INT(ima_plan_name_rules(p, IMA_FAMILY_IPV6, listed, 2), 0);
        CHECK_INT(ima_plan_name_rules(p, IMA_FAMILY_IPV4, listed, 1), 0);
        CHECK_INT(ima_plan_name_rules(p, IMA_FAMILY_IPV4, other_ours, 2), 0);
        CHECK_STR(p->ops[0].old_rules[1], "[ counter ] [ immediate reg 0 accept ]");
        CHECK_INT(ima_plan_name_rules(p, IMA_FAMILY_IPV4, listed, 2), 1);
        CHECK_STR(p->ops[0].old_rules[0], "fib daddr type local return");
        CHECK_STR(p->ops[0].old_rules[1], "counter accept");
        CHECK(!ima_plan_shows_expr_listing(p, IMA_FAMILY_IPV4));
        ima_plan_free(p);
}

/* Priorities as nft lists them, which render's script and diff's text must match: relative to
 * srcnat (100) within 10 either side, plain numbers beyond */
static void test_priority_names(void)
{
        static const struct {
                int32_t prio;
                const char *name;
        } cases[] = {
                { 100, "srcnat" },     { 101, "srcnat + 1" }, { 110, "srcnat + 10" }, { 111, "111" },
                { 99, "srcnat - 1" },  { 90, "srcnat - 10" }, { 89, "89" },           { -200, "-200" },
        };
        char buf[32];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                ima_render_priority(cases[i].prio, buf, sizeof(buf));
                CHECK_STR(buf, cases[i].name);
        }
}

int main(void)
{
        TEST_RUN(test_in_sync_is_empty);
        TEST_RUN(test_element_delta_deletes_first);
        TEST_RUN(test_table_states);
        TEST_RUN(test_sets_and_chain);
        TEST_RUN(test_comments);
        TEST_RUN(test_print_marks_every_line);
        TEST_RUN(test_print_shows_what_goes);
        TEST_RUN(test_ownership);
        TEST_RUN(test_kept_ownership);
        TEST_RUN(test_second_transaction);
        TEST_RUN(test_other_objects);
        TEST_RUN(test_chain_references_go_first);
        TEST_RUN(test_name_rules);
        TEST_RUN(test_priority_names);
        TEST_EXIT();
}
