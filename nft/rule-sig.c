#include <errno.h>
#include <stdio.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <stdlib.h>
#include <string.h>

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
