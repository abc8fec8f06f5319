#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static const char *const set_names[IMA_SET_COUNT] = {
        [IMA_SET_DST] = "nomasq-dst",
        [IMA_SET_SRC] = "nomasq-src",
};

/* each family's own link-local key, as that is the one an operator reading the table must set */
static const char *const set_comments[IMA_FAMILY_COUNT][IMA_SET_COUNT] = {
        [IMA_FAMILY_IPV4] = {
                [IMA_SET_DST] = "destinations not masqueraded: NonMasqueradeCIDRs and link-local unless MasqLinkLocal",
                [IMA_SET_SRC] = "sources not masqueraded: NonMasqueradeSrcCIDRs",
        },
        [IMA_FAMILY_IPV6] = {
                [IMA_SET_DST] = "destinations not masqueraded: NonMasqueradeCIDRs and link-local unless MasqLinkLocalIPv6",
                [IMA_SET_SRC] = "sources not masqueraded: NonMasqueradeSrcCIDRs",
        },
};

/* "link-local" as upstream defines it per family, exempt unless MasqLinkLocal(IPv6) is true */
static const struct ima_cidr link_local[IMA_FAMILY_COUNT] = {
        [IMA_FAMILY_IPV4] = { .family = IMA_FAMILY_IPV4, .addr = (ima_u128)0xa9fe0000, .prefix_len = 16 },
        [IMA_FAMILY_IPV6] = { .family = IMA_FAMILY_IPV6, .addr = (ima_u128)0xfe80 << 112, .prefix_len = 10 },
};

const char *ima_set_name(enum ima_set_id s)
{
        return set_names[s];
}

const char *ima_set_comment(enum ima_family f, enum ima_set_id s)
{
        return set_comments[f][s];
}

const char *ima_table_comment(void)
{
        return "managed by ip-masq-agent: edit ConfigMap kube-system/ip-masq-agent-config, not this table";
}

const char *ima_chain_comment(void)
{
        return "SNAT pod traffic to the node address unless exempt";
}

void ima_model_options_init(struct ima_model_options *o)
{
        *o = (struct ima_model_options){
                .random_fully = true,
                .priority = IMA_DEFAULT_PRIORITY,
        };
}

struct ima_model *ima_model_free(struct ima_model *m)
{
        if (!m)
                return NULL;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        ima_ipset_free(m->tables[f].sets[s]);
        free(m);
        return NULL;
}

int ima_model_new_empty(struct ima_model **ret)
{
        _cleanup_(ima_model_freep) struct ima_model *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->priority = IMA_DEFAULT_PRIORITY;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                for (int s = 0; s < IMA_SET_COUNT; s++) {
                        r = ima_ipset_new((enum ima_family)f, &m->tables[f].sets[s]);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(m);
        return 0;
}

static int add_cidrs(struct ima_model *m, enum ima_set_id set, const struct ima_cidr *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                struct ima_ipset *s = m->tables[v[i].family].sets[set];
                int r;

                /* config validation already refused IPv6 without enable_ipv6 */
                if (!m->tables[v[i].family].present)
                        continue;
                r = ima_ipset_add_cidr(s, &v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ima_model_build(const struct ima_config *c, const struct ima_model_options *o, struct ima_model **ret)
{
        _cleanup_(ima_model_freep) struct ima_model *m = calloc(1, sizeof(*m));
        bool masq_ll[IMA_FAMILY_COUNT] = { c->masq_link_local, c->masq_link_local_ipv6 };
        int r;

        if (!m)
                return -ENOMEM;
        m->priority = o->priority;
        m->random_fully = o->random_fully;
        m->n_to_ports = o->n_to_ports;
        memcpy(m->to_ports, o->to_ports, sizeof(m->to_ports));
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                struct ima_model_table *t = &m->tables[f];

                t->present = f == IMA_FAMILY_IPV4 || o->enable_ipv6;
                t->flags = o->table_flags;
                t->owner = o->table_owner;
                t->keep_ownership = o->keep_table_ownership;
                for (int s = 0; s < IMA_SET_COUNT; s++) {
                        r = ima_ipset_new((enum ima_family)f, &t->sets[s]);
                        if (r < 0)
                                return r;
                }
                if (t->present && !masq_ll[f]) {
                        r = ima_ipset_add_cidr(t->sets[IMA_SET_DST], &link_local[f]);
                        if (r < 0)
                                return r;
                }
        }
        r = add_cidrs(m, IMA_SET_DST, c->nomasq_dst, c->n_nomasq_dst);
        if (r < 0)
                return r;
        r = add_cidrs(m, IMA_SET_SRC, c->nomasq_src, c->n_nomasq_src);
        if (r < 0)
                return r;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        ima_ipset_normalize(m->tables[f].sets[s]);
        *ret = TAKE_PTR(m);
        return 0;
}

const char *ima_l4proto_name(uint8_t p)
{
        switch (p) {
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        case IPPROTO_SCTP:
                return "sctp";
        }
        return "?";
}

int ima_model_rules(const struct ima_model *m, enum ima_family f, struct ima_rule **ret, size_t *ret_n)
{
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
        size_t max = 4 + ARRAY_SIZE(protos) * m->n_to_ports, n = 0;
        struct ima_rule *v = calloc(max, sizeof(*v));
        uint32_t total = 0;

        (void)f; /* both families get the same rule list; the family picks the expressions */
        if (!v)
                return -ENOMEM;
        v[n].kind = IMA_RULE_LOCAL_RETURN;
        snprintf(v[n++].comment, sizeof(v->comment), "local destinations are not masqueraded");
        v[n].kind = IMA_RULE_SRC_RETURN;
        snprintf(v[n++].comment, sizeof(v->comment), "source in @nomasq-src: not masqueraded");
        v[n].kind = IMA_RULE_DST_RETURN;
        snprintf(v[n++].comment, sizeof(v->comment), "destination in @nomasq-dst: not masqueraded");
        for (size_t i = 0; i < m->n_to_ports; i++)
                total += (uint32_t)(m->to_ports[i].last - m->to_ports[i].first) + 1;
        /* Upstream's statistic chain: range i is taken with probability size_i / remaining, which
         * spreads connections over the ranges in proportion to their sizes. The integer numgen
         * comparison makes that ratio exact. */
        for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
                uint32_t remaining = total;

                for (size_t i = 0; i < m->n_to_ports; i++) {
                        uint32_t size = (uint32_t)(m->to_ports[i].last - m->to_ports[i].first) + 1;
                        struct ima_rule *r = &v[n++];

                        *r = (struct ima_rule){
                                .kind = IMA_RULE_MASQ,
                                .l4proto = protos[p],
                                .ports = m->to_ports[i],
                                .random_fully = m->random_fully,
                        };
                        if (i + 1 < m->n_to_ports) {
                                r->numgen_mod = remaining;
                                r->numgen_below = size;
                        }
                        remaining -= size;
                        if (m->to_ports[i].first == m->to_ports[i].last)
                                snprintf(r->comment, sizeof(r->comment), "%s: masquerade to port %u",
                                         ima_l4proto_name(protos[p]), m->to_ports[i].first);
                        else
                                snprintf(r->comment, sizeof(r->comment), "%s: masquerade to ports %u-%u",
                                         ima_l4proto_name(protos[p]), m->to_ports[i].first, m->to_ports[i].last);
                }
        }
        v[n].kind = IMA_RULE_MASQ;
        v[n].random_fully = m->random_fully;
        snprintf(v[n++].comment, sizeof(v->comment), "everything else is masqueraded (must be last)");
        *ret = v;
        *ret_n = n;
        return 0;
}

int ima_model_transition_rules(const struct ima_model *m, enum ima_family f, struct ima_rule **ret, size_t *ret_n)
{
        _cleanup_free_ struct ima_rule *rules = NULL;
        const struct ima_model_table *t = &m->tables[f];
        size_t n_rules, n = 0, n_intervals = t->sets[IMA_SET_SRC]->n + t->sets[IMA_SET_DST]->n;
        struct ima_rule *v;
        int r;

        if (n_intervals > IMA_TRANSITION_MAX_INTERVALS)
                return -E2BIG;
        r = ima_model_rules(m, f, &rules, &n_rules);
        if (r < 0)
                return r;
        v = calloc(n_rules + n_intervals, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n_rules; i++) {
                bool src = rules[i].kind == IMA_RULE_SRC_RETURN;
                const struct ima_ipset *set = t->sets[src ? IMA_SET_SRC : IMA_SET_DST];

                if (!src && rules[i].kind != IMA_RULE_DST_RETURN) {
                        v[n++] = rules[i];
                        continue;
                }
                for (size_t k = 0; k < set->n; k++) {
                        v[n] = (struct ima_rule){
                                .kind = src ? IMA_RULE_SRC_RANGE_RETURN : IMA_RULE_DST_RANGE_RETURN,
                                .range = set->v[k],
                        };
                        snprintf(v[n++].comment, sizeof(v->comment), "not masqueraded, until @%s is live",
                                 ima_set_name(src ? IMA_SET_SRC : IMA_SET_DST));
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* One port as upstream's strconv.Atoi reads it (optional '+', leading zeros), then held to what
 * a port can be: upstream passes 0 or 70000 on to iptables, which fails on every sync. */
static int parse_port(const char *s, size_t len, uint16_t *ret)
{
        unsigned v = 0;
        size_t i = 0;

        if (len > 0 && s[0] == '+')
                i++;
        if (i == len)
                return -EINVAL;
        for (; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned)(s[i] - '0');
                if (v > 65535)
                        return -EINVAL;
        }
        if (v == 0)
                return -EINVAL;
        *ret = (uint16_t)v;
        return 0;
}

int ima_port_ranges_parse(const char *s, struct ima_port_range *out, size_t max, size_t *ret_n,
                          const char **reason)
{
        size_t n = 0;

        for (const char *p = s;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                const char *dash = memchr(p, '-', len);
                struct ima_port_range r;

                if (n == max) {
                        *reason = "too many port ranges";
                        return -EINVAL;
                }
                if (parse_port(p, dash ? (size_t)(dash - p) : len, &r.first) < 0 ||
                    (dash && parse_port(dash + 1, len - (size_t)(dash - p) - 1, &r.last) < 0)) {
                        *reason = "each range must be PORT or FIRST-LAST with ports 1-65535";
                        return -EINVAL;
                }
                if (!dash)
                        r.last = r.first;
                if (r.first > r.last) {
                        *reason = "first port is greater than last port";
                        return -EINVAL;
                }
                for (size_t i = 0; i < n; i++)
                        if (r.first <= out[i].last && out[i].first <= r.last) {
                                *reason = "port ranges overlap";
                                return -EINVAL;
                        }
                out[n++] = r;
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret_n = n;
        return 0;
}
