/* libFuzzer harness over what the agent does with a set's elements as the kernel returns them:
 * decode them into intervals (nft/interval.c), diff against a desired set (lib/ipset.c), and
 * encode the delta back into elements. The kernel is played by a list of (key, end flag)
 * elements, which is how an interval set holds them; the checks are the promises the reconcile
 * engine relies on:
 *   - an element list that decodes without "malformed" is exactly what encoding its intervals
 *     writes (plus, possibly, nft's end element at the lowest key);
 *   - every element the delta deletes is in the kernel (else the kernel answers ENOENT and the
 *     whole transaction fails), every element it adds is not (EEXIST);
 *   - after the delta the kernel's elements decode cleanly into exactly the desired set.
 *
 * Input: byte 0 picks the family; then pairs of bytes until a 0xff 0xff separator are the
 * kernel's elements (key byte, flags byte: bit 0 = end), then pairs are desired intervals. Key
 * byte 0xff stands for the family's all-ones address; any other value b for b * 0x01010101 (IPv4)
 * or b << 120 | b (IPv6), so that the few keys a fuzzer can write cover both ends of the space. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipset.h"
#include "nft/interval.h"

#define MAX_ELEMS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct kernel {
        struct ima_elem v[4 * MAX_ELEMS];
        size_t n;
};

static ima_u128 key_of(enum ima_family f, uint8_t b)
{
        if (b == 0xff)
                return ima_family_max(f);
        if (f == IMA_FAMILY_IPV4)
                return (ima_u128)b * 0x01010101u;
        return (ima_u128)b << 120 | b;
}

static size_t find(const struct kernel *k, const struct ima_elem *e)
{
        for (size_t i = 0; i < k->n; i++)
                if (k->v[i].key == e->key && k->v[i].end == e->end)
                        return i;
        return SIZE_MAX;
}

/* The kernel's answer to a delete of one element: it must exist. */
static void kernel_delete(struct kernel *k, const struct ima_elem *e)
{
        size_t i = find(k, e);

        if (i == SIZE_MAX)
                abort(); /* ENOENT: the transaction would fail */
        k->v[i] = k->v[--k->n];
}

static void kernel_add(struct kernel *k, const struct ima_elem *e)
{
        if (find(k, e) != SIZE_MAX || k->n == sizeof(k->v) / sizeof(k->v[0]))
                abort(); /* EEXIST, or more elements than the delta could ever produce */
        k->v[k->n++] = *e;
}

static int elem_order(const void *a, const void *b)
{
        const struct ima_elem *x = a, *y = b;

        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return (int)x->end - (int)y->end;
}

static bool same_elements(struct ima_elem *a, size_t na, struct ima_elem *b, size_t nb)
{
        if (na != nb)
                return false;
        if (na == 0)
                return true;
        qsort(a, na, sizeof(*a), elem_order);
        qsort(b, nb, sizeof(*b), elem_order);
        for (size_t i = 0; i < na; i++)
                if (a[i].key != b[i].key || a[i].end != b[i].end)
                        return false;
        return true;
}

/* Applies the elements encoding of set (deleted or added) to the kernel. */
static void kernel_apply(struct kernel *k, const struct ima_ipset *set, bool del)
{
        static struct ima_elem enc[2 * MAX_ELEMS];
        size_t n;

        if (set->n > MAX_ELEMS)
                abort();
        ima_interval_encode(set->family, set->v, set->n, enc, &n);
        for (size_t i = 0; i < n; i++) {
                if (del)
                        kernel_delete(k, &enc[i]);
                else
                        kernel_add(k, &enc[i]);
        }
}

static struct ima_ipset *decode(const struct kernel *k, enum ima_family f, bool *ret_malformed)
{
        static struct ima_elem scratch[4 * MAX_ELEMS];
        struct ima_ipset *s = NULL;

        memcpy(scratch, k->v, k->n * sizeof(k->v[0]));
        if (ima_ipset_new(f, &s) < 0 || ima_interval_decode(scratch, k->n, s, ret_malformed) < 0)
                abort(); /* only ENOMEM, which a fuzzer with this input size does not reach */
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct kernel kernel;
        static struct ima_elem enc[2 * MAX_ELEMS], given[4 * MAX_ELEMS];
        enum ima_family f;
        struct ima_ipset *have, *want = NULL, *del = NULL, *add = NULL, *after;
        bool malformed, desired = false;
        size_t i, n, n_given;

        if (size < 1)
                return 0;
        f = data[0] & 1 ? IMA_FAMILY_IPV6 : IMA_FAMILY_IPV4;
        kernel.n = 0;
        if (ima_ipset_new(f, &want) < 0)
                abort();
        for (i = 1; i + 1 < size; i += 2) {
                if (data[i] == 0xff && data[i + 1] == 0xff) {
                        desired = true;
                        continue;
                }
                if (!desired) {
                        if (kernel.n == MAX_ELEMS)
                                break;
                        kernel.v[kernel.n++] = (struct ima_elem){ .key = key_of(f, data[i]), .end = data[i + 1] & 1 };
                } else if (want->n < MAX_ELEMS / 2) {
                        uint8_t lo = data[i] < data[i + 1] ? data[i] : data[i + 1];
                        uint8_t hi = data[i] < data[i + 1] ? data[i + 1] : data[i];

                        if (ima_ipset_add(want, key_of(f, lo), key_of(f, hi)) < 0)
                                abort();
                }
        }
        ima_ipset_normalize(want);
        n_given = kernel.n;
        memcpy(given, kernel.v, n_given * sizeof(given[0]));

        have = decode(&kernel, f, &malformed);
        if (malformed) {
                /* the engine refills such a set from scratch: nothing to check here but memory */
                ima_ipset_free(have);
                ima_ipset_free(want);
                return 0;
        }
        /* well-formed means: exactly the encoding of what it decodes to, give or take nft's
         * end element at the lowest key */
        if (have->n > MAX_ELEMS)
                abort();
        ima_interval_encode(f, have->v, have->n, enc, &n);
        for (i = 0; i < n_given; i++)
                if (given[i].end && given[i].key == 0) {
                        given[i] = given[--n_given];
                        break;
                }
        if (!same_elements(given, n_given, enc, n))
                abort();

        /* the delta, played against the kernel */
        if (ima_ipset_diff(have, want, &del, &add) < 0)
                abort();
        kernel_apply(&kernel, del, true);
        kernel_apply(&kernel, add, false);
        after = decode(&kernel, f, &malformed);
        if (malformed)
                abort();
        ima_ipset_normalize(after);
        if (!ima_ipset_equal(after, want))
                abort();

        ima_ipset_free(after);
        ima_ipset_free(del);
        ima_ipset_free(add);
        ima_ipset_free(have);
        ima_ipset_free(want);
        return 0;
}
