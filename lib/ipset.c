#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipset.h"

int ima_ipset_new(enum ima_family family, struct ima_ipset **ret)
{
        struct ima_ipset *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->family = family;
        *ret = s;
        return 0;
}

struct ima_ipset *ima_ipset_free(struct ima_ipset *s)
{
        if (s) {
                free(s->v);
                free(s);
        }
        return NULL;
}

int ima_ipset_dup(const struct ima_ipset *s, struct ima_ipset **ret)
{
        _cleanup_(ima_ipset_freep) struct ima_ipset *d = NULL;
        int r;

        r = ima_ipset_new(s->family, &d);
        if (r < 0)
                return r;
        if (s->n > 0) {
                d->v = malloc(s->n * sizeof(*d->v));
                if (!d->v)
                        return -ENOMEM;
                memcpy(d->v, s->v, s->n * sizeof(*d->v));
                d->n = d->cap = s->n;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

int ima_ipset_add(struct ima_ipset *s, ima_u128 first, ima_u128 last)
{
        assert(first <= last && last <= ima_family_max(s->family));
        if (s->n == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 8;
                struct ima_interval *v = realloc(s->v, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->cap = cap;
        }
        s->v[s->n++] = (struct ima_interval){ .first = first, .last = last };
        return 0;
}

int ima_ipset_add_cidr(struct ima_ipset *s, const struct ima_cidr *c)
{
        assert(c->family == s->family);
        return ima_ipset_add(s, ima_cidr_first(c), ima_cidr_last(c));
}

static int interval_cmp(const void *a, const void *b)
{
        const struct ima_interval *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        if (x->last != y->last)
                return x->last < y->last ? -1 : 1;
        return 0;
}

void ima_ipset_normalize(struct ima_ipset *s)
{
        ima_u128 max = ima_family_max(s->family);
        size_t out = 0;

        if (s->n < 2)
                return;
        qsort(s->v, s->n, sizeof(*s->v), interval_cmp);
        for (size_t i = 1; i < s->n; i++) {
                struct ima_interval *last = &s->v[out], *cur = &s->v[i];

                /* last->hi == max first: last->hi + 1 would wrap */
                if (last->last == max || cur->first <= last->last + 1) {
                        if (cur->last > last->last)
                                last->last = cur->last;
                } else {
                        s->v[++out] = *cur;
                }
        }
        s->n = out + 1;
}

bool ima_ipset_equal(const struct ima_ipset *a, const struct ima_ipset *b)
{
        if (a->family != b->family || a->n != b->n)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (a->v[i].first != b->v[i].first || a->v[i].last != b->v[i].last)
                        return false;
        return true;
}

bool ima_ipset_contains(const struct ima_ipset *s, ima_u128 addr)
{
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (s->v[mid].last < addr)
                        lo = mid + 1;
                else if (s->v[mid].first > addr)
                        hi = mid;
                else
                        return true;
        }
        return false;
}

ima_u128 ima_ipset_size(const struct ima_ipset *s)
{
        ima_u128 total = 0, max = ~(ima_u128)0;

        for (size_t i = 0; i < s->n; i++) {
                ima_u128 span = s->v[i].last - s->v[i].first;

                if (span == max || total > max - span - 1)
                        return max;
                total += span + 1;
        }
        return total;
}

int ima_ipset_diff(const struct ima_ipset *have, const struct ima_ipset *want,
                   struct ima_ipset **ret_del, struct ima_ipset **ret_add)
{
        _cleanup_(ima_ipset_freep) struct ima_ipset *del = NULL, *add = NULL;
        size_t i = 0, j = 0;
        int r;

        assert(have->family == want->family);
        r = ima_ipset_new(have->family, &del);
        if (r < 0)
                return r;
        r = ima_ipset_new(have->family, &add);
        if (r < 0)
                return r;
        /* both are sorted by first and disjoint: one merge walk */
        while (i < have->n || j < want->n) {
                int c = i == have->n ? 1 : j == want->n ? -1 : interval_cmp(&have->v[i], &want->v[j]);

                if (c == 0) {
                        i++;
                        j++;
                } else if (c < 0) {
                        r = ima_ipset_add(del, have->v[i].first, have->v[i].last);
                        i++;
                } else {
                        r = ima_ipset_add(add, want->v[j].first, want->v[j].last);
                        j++;
                }
                if (r < 0)
                        return r;
        }
        *ret_del = TAKE_PTR(del);
        *ret_add = TAKE_PTR(add);
        return 0;
}

bool ima_interval_prefix_len(enum ima_family f, const struct ima_interval *iv, unsigned *ret_len)
{
        unsigned bits = ima_family_bits(f);
        ima_u128 span = iv->last - iv->first; /* host mask if this is a prefix */
        unsigned host_bits = 0;

        if (span & (span + 1)) /* not of the form 2^k - 1 (the ::/0 span wraps to 0: fine) */
                return false;
        if (iv->first & span)
                return false;
        while (host_bits < 128 && (span >> host_bits) & 1)
                host_bits++;
        *ret_len = bits - host_bits;
        return true;
}

void ima_interval_format(enum ima_family f, const struct ima_interval *iv, char buf[static IMA_RANGE_STRLEN])
{
        char a[IMA_ADDR_STRLEN], b[IMA_ADDR_STRLEN];
        unsigned len;

        ima_addr_format(f, iv->first, a);
        if (iv->first == iv->last) {
                snprintf(buf, IMA_RANGE_STRLEN, "%s", a);
        } else if (ima_interval_prefix_len(f, iv, &len)) {
                snprintf(buf, IMA_RANGE_STRLEN, "%s/%u", a, len);
        } else {
                ima_addr_format(f, iv->last, b);
                snprintf(buf, IMA_RANGE_STRLEN, "%s-%s", a, b);
        }
}
