/* nft/interval.c: encode/decode round trips and the malformed shapes the kernel can hold. */
#include "nft/interval.h"
#include "tests.h"

static struct ima_ipset *decode(enum ima_family f, struct ima_elem *e, size_t n, bool *malformed)
{
        struct ima_ipset *s = NULL;

        if (ima_ipset_new(f, &s) < 0 || ima_interval_decode(e, n, s, malformed) < 0)
                return ima_ipset_free(s);
        return s;
}

static void test_roundtrip(void)
{
        static const struct ima_interval v4[] = {
                { 0, 0 },                         /* 0.0.0.0/32 */
                { 0x0a000000, 0x0affffff },       /* 10/8 */
                { 0x0b000000, 0x0bffffff },       /* adjacent 11/8: stays separate */
                { 0xc8000000, 0xffffffff },       /* to the top: no end element */
        };
        struct ima_elem enc[8];
        size_t n;

        ima_interval_encode(IMA_FAMILY_IPV4, v4, 4, enc, &n);
        CHECK_INT(n, 7);
        CHECK(enc[1].end && enc[1].key == 1);
        CHECK(!enc[6].end && enc[6].key == 0xc8000000);
        /* in order, high to low (as the kernel dumps an rbtree set), and shuffled */
        for (int order = 0; order < 3; order++) {
                struct ima_elem e[8];
                bool malformed = true;
                struct ima_ipset *s;

                for (size_t i = 0; i < n; i++)
                        e[i] = enc[order == 0 ? i : order == 1 ? n - 1 - i : (i * 3 + 2) % n];
                s = decode(IMA_FAMILY_IPV4, e, n, &malformed);
                CHECK(s && !malformed);
                CHECK_INT(s ? s->n : 0, 4);
                for (size_t i = 0; s && i < 4; i++)
                        CHECK(s->v[i].first == v4[i].first && s->v[i].last == v4[i].last);
                ima_ipset_free(s);
        }
}

static void test_ipv6_all(void)
{
        struct ima_interval all = { 0, ~(ima_u128)0 };
        struct ima_elem e[2];
        size_t n;
        bool malformed = true;
        struct ima_ipset *s;

        ima_interval_encode(IMA_FAMILY_IPV6, &all, 1, e, &n);
        CHECK_INT(n, 1); /* ::/0 is a lone start element */
        s = decode(IMA_FAMILY_IPV6, e, n, &malformed);
        CHECK(s && !malformed && s->n == 1 && s->v[0].last == ~(ima_u128)0);
        ima_ipset_free(s);
}

static void test_nft_first_segment_is_harmless(void)
{
        /* what nft writes for "10.0.0.0/8": an end element at 0.0.0.0 first */
        struct ima_elem e[] = { { 0, true }, { 0x0a000000, false }, { 0x0b000000, true } };
        bool malformed = true;
        struct ima_ipset *s = decode(IMA_FAMILY_IPV4, e, 3, &malformed);

        CHECK(s && !malformed && s->n == 1);
        ima_ipset_free(s);
}

static void test_malformed_shapes(void)
{
        static const struct {
                struct ima_elem e[4];
                size_t n;
                size_t intervals;
        } cases[] = {
                /* end of 10/8 deleted while 12/8 exists: two starts in a row */
                { { { 0x0a000000, false }, { 0x0c000000, false }, { 0x0d000000, true } }, 3, 2 },
                /* start of 12/8 deleted: a stray end after a closed interval */
                { { { 0x0a000000, false }, { 0x0b000000, true }, { 0x0d000000, true } }, 3, 1 },
                /* a lone end that is not nft's leading one */
                { { { 0x0d000000, true } }, 1, 0 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct ima_elem e[4];
                bool malformed = false;
                struct ima_ipset *s;

                memcpy(e, cases[i].e, sizeof(e));
                s = decode(IMA_FAMILY_IPV4, e, cases[i].n, &malformed);
                CHECK(s != NULL);
                CHECK(malformed);
                CHECK_INT(s ? s->n : 99, cases[i].intervals);
                ima_ipset_free(s);
        }
}

int main(void)
{
        TEST_RUN(test_roundtrip);
        TEST_RUN(test_ipv6_all);
        TEST_RUN(test_nft_first_segment_is_harmless);
        TEST_RUN(test_malformed_shapes);
        TEST_EXIT();
}
