#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ipset.h"

int ima_ipset_new(enum ima_family family, struct ima_ipset **ret)
{
        struct ima_ipset *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->family = family;
        s->refs = 1;
        *ret = s;
        return 0;
}

struct ima_ipset *ima_ipset_free(struct ima_ipset *s)
{
        if (s && --s->refs == 0) {
                free(s->v);
                free(s);
        }
        return NULL;
}

struct ima_ipset *ima_ipset_ref(struct ima_ipset *s)
{
        s->refs++;
        return s;
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
        assert(first <= last && last <= ima_family_max(s->family) && s->refs == 1);
        if (IMA_ARRAY_RESERVE(s->v, s->cap, s->n, 8) < 0)
                return -ENOMEM;
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

static bool interval_less(const struct ima_interval *x, const struct ima_interval *y)
{
        return x->first < y->first || (x->first == y->first && x->last < y->last);
}

#define SORT_RUN 16

static void insertion_sort(struct ima_interval *v, size_t n)
{
        for (size_t i = 1; i < n; i++) {
                struct ima_interval cur = v[i];
                size_t j = i;

                for (; j > 0 && interval_less(&cur, &v[j - 1]); j--)
                        v[j] = v[j - 1];
                v[j] = cur;
        }
}

static void merge(const struct ima_interval *a, size_t n_a, const struct ima_interval *b, size_t n_b,
                  struct ima_interval *out)
{
        size_t i = 0, j = 0;

        while (i < n_a && j < n_b)
                *out++ = interval_less(&b[j], &a[i]) ? b[j++] : a[i++];
        while (i < n_a)
                *out++ = a[i++];
        while (j < n_b)
                *out++ = b[j++];
}

/* Every reload sorts the whole list (100,000 CIDRs at the far end). glibc's qsort moves these
 * 32-byte elements with memcpy through a comparison callback, and took a quarter of the agent's
 * CPU for such a reload; this bottom-up merge sort with inlined comparisons is several times
 * faster. It is left for what the radix sorts below leave out of order (and for ENOMEM). */
static void sort_intervals(struct ima_interval *v, size_t n)
{
        struct ima_interval *buf, *src = v, *dst;

        buf = malloc(n * sizeof(*buf));
        if (!buf) {
                qsort(v, n, sizeof(*v), interval_cmp);
                return;
        }
        dst = buf;
        for (size_t lo = 0; lo < n; lo += SORT_RUN)
                insertion_sort(v + lo, n - lo < SORT_RUN ? n - lo : SORT_RUN);
        for (size_t width = SORT_RUN; width < n; width *= 2) {
                struct ima_interval *t;

                for (size_t lo = 0; lo < n; lo += 2 * width) {
                        size_t mid = n - lo < width ? n : lo + width;
                        size_t hi = n - mid < width ? n : mid + width;

                        merge(src + lo, mid - lo, src + mid, hi - mid, dst + lo);
                }
                t = src;
                src = dst;
                dst = t;
        }
        if (src != v)
                memcpy(v, src, n * sizeof(*v));
        free(buf);
}

/* Turns a radix pass's digit counts into the offsets where each digit's keys go. False when every
 * key has the digit of the first one (first_digit): the pass would move nothing, and is skipped. */
static bool radix_offsets(size_t count[256], size_t n, unsigned first_digit)
{
        size_t sum = 0;

        if (count[first_digit] == n)
                return false;
        for (unsigned d = 0; d < 256; d++) {
                size_t k = count[d];

                count[d] = sum;
                sum += k;
        }
        return true;
}

/* An IPv4 interval fits one 64-bit key, first << 32 | last, that orders intervals as
 * interval_less() does. An LSD radix sort of those keys, a byte per pass, is linear in n: for a
 * list of 100,000 IPv4 CIDRs it takes a fifth of the time of sort_intervals(), whose 128-bit
 * comparisons were the largest single cost of a reload. Passes over a byte that every key shares
 * move nothing and are skipped. Returns false (nothing changed) on ENOMEM. */
static bool sort_ipv4(struct ima_interval *v, size_t n)
{
        size_t count[8][256] = { { 0 } };
        uint64_t *keys = malloc(2 * n * sizeof(*keys)), *src, *dst;

        if (!keys)
                return false;
        src = keys;
        dst = keys + n;
        for (size_t i = 0; i < n; i++) {
                src[i] = (uint64_t)v[i].first << 32 | (uint64_t)v[i].last;
                for (unsigned b = 0; b < 8; b++)
                        count[b][(src[i] >> (8 * b)) & 0xff]++;
        }
        for (unsigned b = 0; b < 8; b++) {
                size_t *c = count[b];
                uint64_t *t;

                if (!radix_offsets(c, n, (src[0] >> (8 * b)) & 0xff))
                        continue;
                for (size_t i = 0; i < n; i++)
                        dst[c[(src[i] >> (8 * b)) & 0xff]++] = src[i];
                t = src;
                src = dst;
                dst = t;
        }
        for (size_t i = 0; i < n; i++)
                v[i] = (struct ima_interval){ .first = src[i] >> 32, .last = src[i] & UINT32_MAX };
        free(keys);
        return true;
}

/* IPv6 intervals do not fit one 64-bit key, but the bits in which their starts differ usually do:
 * the bits above the highest differing one are shared, so the 64 bits below it order the starts
 * (exactly, when they differ only there: prefixes of /64 or shorter, or all within one /64). An
 * LSD radix sort of those keys, each carrying its interval's index, then a permutation in place
 * (cycle by cycle), replaces the merge sort that made a list of 100,000 IPv6 CIDRs seven times
 * dearer to sort than an IPv4 one. Intervals whose keys tie (starts that differ only below the
 * key, or equal ones) are put in order among themselves afterwards. Returns false (nothing
 * changed) on ENOMEM. */
static bool sort_ipv6(struct ima_interval *v, size_t n)
{
        struct keyed {
                uint64_t key;
                uint64_t idx;
        } *buf, *src, *dst;
        size_t count[8][256] = { { 0 } };
        ima_u128 differ = 0;
        unsigned shift = 0;

        for (size_t i = 1; i < n; i++)
                differ |= v[i].first ^ v[0].first;
        if (differ >> 64)
                shift = 64 - (unsigned)__builtin_clzll((uint64_t)(differ >> 64));
        buf = malloc(2 * n * sizeof(*buf));
        if (!buf)
                return false;
        src = buf;
        dst = buf + n;
        for (size_t i = 0; i < n; i++) {
                src[i] = (struct keyed){ .key = (uint64_t)(v[i].first >> shift), .idx = i };
                for (unsigned b = 0; b < 8; b++)
                        count[b][(src[i].key >> (8 * b)) & 0xff]++;
        }
        for (unsigned b = 0; b < 8; b++) {
                size_t *c = count[b];
                struct keyed *t;

                if (!radix_offsets(c, n, (src[0].key >> (8 * b)) & 0xff))
                        continue;
                for (size_t i = 0; i < n; i++)
                        dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
                t = src;
                src = dst;
                dst = t;
        }
        /* v[i] becomes the old v[src[i].idx]; a placed position gets idx == i */
        for (size_t i = 0; i < n; i++) {
                struct ima_interval first_of_cycle;
                size_t j = i;

                if (src[i].idx == i)
                        continue;
                first_of_cycle = v[i];
                for (;;) {
                        size_t k = src[j].idx;

                        src[j].idx = j;
                        if (k == i) {
                                v[j] = first_of_cycle;
                                break;
                        }
                        v[j] = v[k];
                        j = k;
                }
        }
        for (size_t lo = 0, hi; lo < n; lo = hi) {
                for (hi = lo + 1; hi < n && src[hi].key == src[lo].key;)
                        hi++;
                if (hi - lo <= SORT_RUN)
                        insertion_sort(v + lo, hi - lo);
                else
                        sort_intervals(v + lo, hi - lo);
        }
        free(buf);
        return true;
}

static bool is_sorted(const struct ima_interval *v, size_t n)
{
        for (size_t i = 1; i < n; i++)
                if (interval_less(&v[i], &v[i - 1]))
                        return false;
        return true;
}

/* A normalized set is kept as long as its configuration is: the doubling that grew it would
 * otherwise hold up to twice its size for good. A failed realloc leaves the larger block. */
static void shrink_to_fit(struct ima_ipset *s)
{
        struct ima_interval *v;

        if (s->n == 0 || s->cap - s->n <= s->n / 8)
                return;
        v = realloc(s->v, s->n * sizeof(*v));
        if (!v)
                return;
        s->v = v;
        s->cap = s->n;
}

void ima_ipset_normalize(struct ima_ipset *s)
{
        ima_u128 max = ima_family_max(s->family);
        size_t out = 0;

        assert(s->refs == 1);
        if (s->n < 2)
                return;
        /* a list already in order (as lists generated by tools usually are) costs one pass */
        if (!is_sorted(s->v, s->n) && !(s->family == IMA_FAMILY_IPV4 ? sort_ipv4(s->v, s->n) : sort_ipv6(s->v, s->n)))
                sort_intervals(s->v, s->n);
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
        shrink_to_fit(s);
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
