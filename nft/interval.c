#include <stdlib.h>

#include "nft/interval.h"

void ima_interval_encode(enum ima_family f, const struct ima_interval *v, size_t n, struct ima_elem *out,
                         size_t *ret_n)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                out[k++] = (struct ima_elem){ .key = v[i].first, .end = false };
                if (v[i].last != ima_family_max(f))
                        out[k++] = (struct ima_elem){ .key = v[i].last + 1, .end = true };
        }
        *ret_n = k;
}

/* By key; at the same key the end of one interval sorts before the start of the next. */
static int elem_cmp(const void *a, const void *b)
{
        const struct ima_elem *x = a, *y = b;

        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return (int)y->end - (int)x->end;
}

/* An rbtree set dumps its elements highest key first: reversing them is O(n), where sorting
 * 200,000 took a fifth of a full state read. Anything else is sorted. */
static void sort_elems(struct ima_elem *elems, size_t n)
{
        bool ascending = true, descending = true;

        for (size_t i = 1; i < n && (ascending || descending); i++) {
                int c = elem_cmp(&elems[i - 1], &elems[i]);

                ascending = ascending && c <= 0;
                descending = descending && c >= 0;
        }
        if (ascending)
                return;
        if (descending) {
                for (size_t i = 0, j = n - 1; i < j; i++, j--) {
                        struct ima_elem t = elems[i];

                        elems[i] = elems[j];
                        elems[j] = t;
                }
                return;
        }
        qsort(elems, n, sizeof(*elems), elem_cmp);
}

int ima_interval_decode(struct ima_elem *elems, size_t n, struct ima_ipset *set, bool *ret_malformed)
{
        ima_u128 start = 0;
        bool open = false, malformed = false;
        int r;

        sort_elems(elems, n);
        for (size_t i = 0; i < n; i++) {
                const struct ima_elem *e = &elems[i];

                if (!e->end) {
                        if (open) {
                                /* the previous start lost its end: the kernel now matches up to here */
                                malformed = true;
                                if (e->key > start && (r = ima_ipset_add(set, start, e->key - 1)) < 0)
                                        return r;
                        }
                        start = e->key;
                        open = true;
                        continue;
                }
                if (!open) {
                        /* nft's "first segment" end element sits at the lowest key: harmless */
                        if (i != 0 || e->key != 0)
                                malformed = true;
                        continue;
                }
                open = false;
                if (e->key <= start) {
                        malformed = true;
                        continue;
                }
                r = ima_ipset_add(set, start, e->key - 1);
                if (r < 0)
                        return r;
        }
        if (open && (r = ima_ipset_add(set, start, ima_family_max(set->family))) < 0)
                return r;
        *ret_malformed = malformed;
        return 0;
}
