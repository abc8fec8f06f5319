#include <errno.h>
#include <string.h>

#include "render.h"

int ima_render_rule(enum ima_family f, const struct ima_rule *r, char *buf, size_t size)
{
        const char *fam = f == IMA_FAMILY_IPV4 ? "ip" : "ip6";
        char match[64] = "", ports[24] = "", range[IMA_RANGE_STRLEN];

        switch (r->kind) {
        case IMA_RULE_SRC_RANGE_RETURN:
        case IMA_RULE_DST_RANGE_RETURN:
                ima_interval_format(f, &r->range, range);
                return snprintf(buf, size, "%s %s %s return comment \"%s\"", fam,
                                r->kind == IMA_RULE_SRC_RANGE_RETURN ? "saddr" : "daddr", range, r->comment);
        case IMA_RULE_LOCAL_RETURN:
                return snprintf(buf, size, "fib daddr type local return comment \"%s\"", r->comment);
        case IMA_RULE_SRC_RETURN:
                return snprintf(buf, size, "%s saddr @%s counter return comment \"%s\"", fam,
                                ima_set_name(IMA_SET_SRC), r->comment);
        case IMA_RULE_DST_RETURN:
                return snprintf(buf, size, "%s daddr @%s counter return comment \"%s\"", fam,
                                ima_set_name(IMA_SET_DST), r->comment);
        case IMA_RULE_MASQ:
                break;
        }
        if (r->l4proto && r->numgen_mod)
                snprintf(match, sizeof(match), "meta l4proto %s numgen random mod %u < %u ",
                         ima_l4proto_name(r->l4proto), r->numgen_mod, r->numgen_below);
        else if (r->l4proto)
                snprintf(match, sizeof(match), "meta l4proto %s ", ima_l4proto_name(r->l4proto));
        if (r->ports.first && r->ports.first == r->ports.last)
                snprintf(ports, sizeof(ports), " to :%u", r->ports.first);
        else if (r->ports.first)
                snprintf(ports, sizeof(ports), " to :%u-%u", r->ports.first, r->ports.last);
        return snprintf(buf, size, "%scounter masquerade%s%s comment \"%s\"", match, ports,
                        r->random_fully ? " fully-random" : "", r->comment);
}

void ima_render_priority(int32_t prio, char *buf, size_t size)
{
        int32_t off = prio - IMA_SRCNAT_PRIORITY;

        /* nft names priorities within 10 of a standard one relative to it */
        if (off == 0)
                snprintf(buf, size, "srcnat");
        else if (off > 0 && off <= 10)
                snprintf(buf, size, "srcnat + %d", off);
        else if (off < 0 && off >= -10)
                snprintf(buf, size, "srcnat - %d", -off);
        else
                snprintf(buf, size, "%d", prio);
}

int ima_render_elements(const struct ima_ipset *s, const char *indent, FILE *out)
{
        size_t col = 0;

        for (size_t i = 0; i < s->n; i++) {
                char text[IMA_RANGE_STRLEN];
                size_t len;

                ima_interval_format(s->family, &s->v[i], text);
                len = strlen(text);
                if (i > 0) {
                        if (col + len + 2 > 72) {
                                fprintf(out, ",\n%s", indent);
                                col = 0;
                        } else {
                                fputs(", ", out);
                                col += 2;
                        }
                }
                fputs(text, out);
                col += len;
        }
        return ferror(out) ? -EIO : 0;
}

static int render_table(const struct ima_model *m, enum ima_family f, FILE *out)
{
        const struct ima_model_table *t = &m->tables[f];
        const char *fam = ima_family_nft_name(f);
        _cleanup_free_ struct ima_rule *rules = NULL;
        char prio[32];
        size_t n_rules;
        int r;

        r = ima_model_rules(m, f, &rules, &n_rules);
        if (r < 0)
                return r;
        fprintf(out, "add table %s %s\ndelete table %s %s\n", fam, IMA_TABLE_NAME, fam, IMA_TABLE_NAME);
        fprintf(out, "table %s %s {\n\tcomment \"%s\"\n", fam, IMA_TABLE_NAME, ima_table_comment());
        for (int s = 0; s < IMA_SET_COUNT; s++) {
                fprintf(out, "\n\tset %s {\n\t\ttype %s\n\t\tflags interval\n\t\tauto-merge\n"
                             "\t\tcomment \"%s\"\n",
                        ima_set_name(s), f == IMA_FAMILY_IPV4 ? "ipv4_addr" : "ipv6_addr", ima_set_comment(f, s));
                if (t->sets[s]->n > 0) {
                        fputs("\t\telements = { ", out);
                        r = ima_render_elements(t->sets[s], "\t\t\t     ", out);
                        if (r < 0)
                                return r;
                        fputs(" }\n", out);
                }
                fputs("\t}\n", out);
        }
        ima_render_priority(m->priority, prio, sizeof(prio));
        fprintf(out, "\n\tchain %s {\n\t\tcomment \"%s\"\n\t\ttype nat hook postrouting priority %s; policy accept;\n",
                IMA_CHAIN_NAME, ima_chain_comment(), prio);
        for (size_t i = 0; i < n_rules; i++) {
                char text[512];

                ima_render_rule(f, &rules[i], text, sizeof(text));
                fprintf(out, "\t\t%s\n", text);
        }
        fputs("\t}\n}\n", out);
        return ferror(out) ? -EIO : 0;
}

int ima_render_model(const struct ima_model *m, const char *header_comment, FILE *out)
{
        if (header_comment) {
                for (const char *p = header_comment; *p;) {
                        size_t len = strcspn(p, "\n");

                        fprintf(out, "# %.*s\n", (int)len, p);
                        p += len + (p[len] == '\n');
                }
        }
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                const char *fam = ima_family_nft_name(f);
                int r;

                if (!m->tables[f].present) {
                        fprintf(out, "# %s is disabled: remove a table left from an earlier run\n"
                                     "add table %s %s\ndelete table %s %s\n",
                                f == IMA_FAMILY_IPV4 ? "IPv4" : "IPv6", fam, IMA_TABLE_NAME, fam, IMA_TABLE_NAME);
                        continue;
                }
                r = render_table(m, f, out);
                if (r < 0)
                        return r;
        }
        return ferror(out) ? -EIO : 0;
}
