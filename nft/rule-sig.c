#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "lib/escape.h"
#include "lib/memstream.h"
#include "lib/render.h"
#include "nft/build.h"
#include "nft/rule-sig.h"

static int zero_counter(struct nftnl_expr *e, void *data)
{
        const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

        if (name && strcmp(name, "counter") == 0) {
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, 0);
                nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, 0);
        }
        return 0;
}

int ima_rule_signature(struct nftnl_rule *r, char **ret)
{
        _cleanup_free_ char *text = NULL;
        const unsigned char *udata = NULL;
        uint32_t udata_len = 0;
        size_t size = 1024;
        char *out, *p;

        nftnl_rule_unset(r, NFTNL_RULE_HANDLE);
        nftnl_rule_unset(r, NFTNL_RULE_POSITION);
        nftnl_rule_unset(r, NFTNL_RULE_ID);
        nftnl_expr_foreach(r, zero_counter, NULL);
        for (;;) {
                int n;

                free(text);
                text = malloc(size);
                if (!text)
                        return -ENOMEM;
                n = nftnl_rule_snprintf(text, size, r, NFTNL_OUTPUT_DEFAULT, 0);
                if (n < 0)
                        return -EINVAL;
                if ((size_t)n < size)
                        break;
                size = (size_t)n + 1;
        }
        if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
                udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udata_len);
        out = malloc(strlen(text) + 2 * udata_len + 16);
        if (!out)
                return -ENOMEM;
        p = out + sprintf(out, "%s udata=", text);
        for (uint32_t i = 0; i < udata_len; i++)
                p += sprintf(p, "%02x", udata[i]);
        *ret = out;
        return 0;
}

int ima_rule_sigs_from_model(const struct ima_model *m, struct ima_rule_sigs out[IMA_FAMILY_COUNT])
{
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                _cleanup_free_ struct ima_rule *rules = NULL;
                size_t n_rules;
                int r;

                out[f] = (struct ima_rule_sigs){ 0 };
                if (!m->tables[f].present)
                        continue;
                r = ima_model_rules(m, (enum ima_family)f, &rules, &n_rules);
                if (r < 0)
                        return r;
                out[f].v = calloc(n_rules, sizeof(*out[f].v));
                if (!out[f].v)
                        return -ENOMEM;
                for (size_t i = 0; i < n_rules; i++) {
                        struct nftnl_rule *nr = ima_build_rule((enum ima_family)f, &rules[i]);

                        if (!nr)
                                return -ENOMEM;
                        r = ima_rule_signature(nr, &out[f].v[i]);
                        nftnl_rule_free(nr);
                        if (r < 0)
                                return r;
                        out[f].n++;
                }
        }
        return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
        const char **comment = data;
        const char *v = nftnl_udata_get(attr);
        uint8_t len = nftnl_udata_len(attr);

        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 && v[len - 1] == '\0')
                *comment = v;
        return 0;
}

/* The rule's comment as nft stores it (a NUL-terminated string in its user data), or NULL. */
static const char *rule_comment(const struct nftnl_rule *r)
{
        const char *comment = NULL;
        const void *udata;
        uint32_t len;

        if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
                return NULL;
        udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
        if (nftnl_udata_parse(udata, len, comment_cb, &comment) < 0)
                return NULL;
        return comment;
}

struct decode {
        enum ima_family family;
        struct ima_rule rule;
        const char *prev;  /* the expression before: what a cmp compares */
        uint32_t offset;   /* of the last payload load */
        bool known;        /* an expression that names the kind of rule was seen */
};

/* Reads what the agent's rule shapes can hold, loosely: whatever rule comes out is only taken
 * when it rebuilds to the same signature. */
static int decode_expr(struct nftnl_expr *e, void *data)
{
        struct decode *d = data;
        const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        bool src = d->offset == (d->family == IMA_FAMILY_IPV4 ? 12u : 8u);
        unsigned bytes = ima_family_bits(d->family) / 8;
        const void *v, *to;
        uint32_t len = 0, to_len = 0, below;
        uint16_t port;

        if (!name)
                return 0;
        if (strcmp(name, "fib") == 0) {
                d->rule.kind = IMA_RULE_LOCAL_RETURN;
                d->known = true;
        } else if (strcmp(name, "payload") == 0) {
                d->offset = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
        } else if (strcmp(name, "lookup") == 0) {
                d->rule.kind = src ? IMA_RULE_SRC_RETURN : IMA_RULE_DST_RETURN;
                d->known = true;
        } else if (strcmp(name, "range") == 0) {
                v = nftnl_expr_get(e, NFTNL_EXPR_RANGE_FROM_DATA, &len);
                to = nftnl_expr_get(e, NFTNL_EXPR_RANGE_TO_DATA, &to_len);
                if (v && to && len == bytes && to_len == bytes) {
                        d->rule.kind = src ? IMA_RULE_SRC_RANGE_RETURN : IMA_RULE_DST_RANGE_RETURN;
                        d->rule.range.first = ima_addr_from_bytes(d->family, v);
                        d->rule.range.last = ima_addr_from_bytes(d->family, to);
                        d->known = true;
                }
        } else if (strcmp(name, "cmp") == 0 && d->prev) {
                v = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
                if (v && len == 1 && strcmp(d->prev, "meta") == 0) {
                        d->rule.l4proto = *(const uint8_t *)v;
                } else if (v && len == sizeof(below) && strcmp(d->prev, "byteorder") == 0) { /* numgen ... < B */
                        memcpy(&below, v, sizeof(below));
                        d->rule.numgen_below = ntohl(below);
                }
        } else if (strcmp(name, "numgen") == 0) {
                d->rule.numgen_mod = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS);
        } else if (strcmp(name, "immediate") == 0 && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA)) {
                v = nftnl_expr_get(e, NFTNL_EXPR_IMM_DATA, &len);
                if (v && len == sizeof(port)) {
                        memcpy(&port, v, sizeof(port));
                        if (nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) == NFT_REG_1)
                                d->rule.ports.first = d->rule.ports.last = ntohs(port);
                        else
                                d->rule.ports.last = ntohs(port);
                }
        } else if (strcmp(name, "masq") == 0) {
                d->rule.kind = IMA_RULE_MASQ;
                d->rule.random_fully = nftnl_expr_is_set(e, NFTNL_EXPR_MASQ_FLAGS) &&
                                       nftnl_expr_get_u32(e, NFTNL_EXPR_MASQ_FLAGS) & NF_NAT_RANGE_PROTO_RANDOM_FULLY;
                d->known = true;
        }
        d->prev = name;
        return 0;
}

/* The rule in nft syntax, when it is exactly a rule the agent would write; else *ret untouched. */
static int agent_rule_text(enum ima_family f, struct nftnl_rule *r, const char *sig, char **ret)
{
        struct decode d = { .family = f };
        const char *comment = rule_comment(r);
        _cleanup_free_ char *rebuilt_sig = NULL;
        struct nftnl_rule *rebuilt;
        char text[512];
        int k;

        /* a comment shown only escaped is listed with the expressions, as another's rule is */
        if (!comment || strlen(comment) >= sizeof(d.rule.comment) || ima_escape_needed(comment, strlen(comment)))
                return 0;
        snprintf(d.rule.comment, sizeof(d.rule.comment), "%s", comment);
        nftnl_expr_foreach(r, decode_expr, &d);
        if (!d.known)
                return 0;
        rebuilt = ima_build_rule(f, &d.rule);
        if (!rebuilt)
                return -ENOMEM;
        k = ima_rule_signature(rebuilt, &rebuilt_sig);
        nftnl_rule_free(rebuilt);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || strcmp(rebuilt_sig, sig) != 0)
                return 0;
        ima_render_rule(f, &d.rule, text, sizeof(text));
        *ret = strdup(text);
        return *ret ? 0 : -ENOMEM;
}

struct listing {
        FILE *out;
        bool first;
};

static int list_expr(struct nftnl_expr *e, void *data)
{
        struct listing *l = data;
        const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
        char body[1024];

        /* a counter's values are no part of what the rule is, and would change with traffic */
        if (name && strcmp(name, "counter") == 0)
                body[0] = '\0';
        else if (nftnl_expr_snprintf(body, sizeof(body), e, NFTNL_OUTPUT_DEFAULT, 0) < 0)
                snprintf(body, sizeof(body), "? ");
        /* the names of others' sets and chains, a log prefix: escaped, so that a listing is one line */
        fprintf(l->out, "%s[ %s ", l->first ? "" : " ", name ? name : "?");
        ima_fput_escaped(l->out, body, strlen(body));
        fputc(']', l->out);
        l->first = false;
        return 0;
}

int ima_rule_text(enum ima_family f, struct nftnl_rule *r, const char *sig, char **ret)
{
        const char *comment;
        char *text = NULL;
        size_t len = 0;
        FILE *out;
        int k;

        k = agent_rule_text(f, r, sig, &text);
        if (k < 0 || text) {
                *ret = text;
                return k;
        }
        out = open_memstream(&text, &len);
        if (!out)
                return -ENOMEM;
        nftnl_expr_foreach(r, list_expr, &(struct listing){ .out = out, .first = true });
        comment = rule_comment(r);
        if (comment) {
                fputs(" comment \"", out);
                ima_fput_escaped(out, comment, strlen(comment));
                fputc('"', out);
        }
        if (!ima_memstream_close(out, &text))
                return -ENOMEM;
        *ret = text;
        return 0;
}
