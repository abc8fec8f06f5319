#include <stdlib.h>

#include "lib/ipset.h"
#include "tests.h"

static struct ima_ipset *set_of(enum ima_family f, const char *const *cidrs, size_t n)
{
        struct ima_ipset *s = NULL;

        if (ima_ipset_new(f, &s) < 0)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                struct ima_cidr c;

                if (ima_cidr_parse(cidrs[i], strlen(cidrs[i]), &c, NULL) < 0 || ima_ipset_add_cidr(s, &c) < 0)
                        return ima_ipset_free(s);
        }
        ima_ipset_normalize(s);
        return s;
}

/* "a, b, c" as nft lists the elements */
static const char *text_of(const struct ima_ipset *s)
{
        static char buf[4096];
        size_t off = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->n; i++) {
                char t[IMA_RANGE_STRLEN];

                ima_interval_format(s->family, &s->v[i], t);
                off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "", t);
        }
        return buf;
}

#define SET(f, ...) set_of(f, (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *))

static void test_normalize(void)
{
        static const struct {
                const char *const in[4];
                size_t n;
                const char *out;
        } cases[] = {
                { { "10.0.0.0/8", "10.0.0.0/12" }, 2, "10.0.0.0/8" },                   /* nested */
                { { "10.0.0.0/12", "10.0.0.0/8" }, 2, "10.0.0.0/8" },                   /* nested, other order */
                { { "10.0.0.0/9", "10.128.0.0/9" }, 2, "10.0.0.0/8" },                  /* adjacent halves */
                { { "10.0.0.0/8", "11.0.0.0/8" }, 2, "10.0.0.0/7" },                    /* adjacent, merge to prefix */
                { { "11.0.0.0/8", "12.0.0.0/8" }, 2, "11.0.0.0-12.255.255.255" },       /* adjacent, not a prefix */
                { { "10.0.0.0/8", "10.0.0.0/8" }, 2, "10.0.0.0/8" },                    /* duplicate */
                { { "0.0.0.0/0", "10.0.0.0/8" }, 2, "0.0.0.0/0" },                      /* /0 swallows all */
                { { "255.255.255.255/32", "255.255.255.254/32" }, 2, "255.255.255.254/31" },
                { { "255.255.255.255/32" }, 1, "255.255.255.255" },
                { { "192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12" }, 3, "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16" },
                { { "10.0.0.1/32", "10.0.0.3/32" }, 2, "10.0.0.1, 10.0.0.3" },           /* gap of one: kept apart */
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct ima_ipset *s = set_of(IMA_FAMILY_IPV4, cases[i].in, cases[i].n);

                CHECK(s != NULL);
                if (s)
                        CHECK_STR(text_of(s), cases[i].out);
                ima_ipset_free(s);
        }
}

/* Lists of ranges in random, ascending, descending and nearly ascending order, of sizes around
 * the sort's run length and beyond, against an independent oracle: a bitmap of a small address
 * space, with the normalized set read off it run by run. */
#define SPACE 4096

static void test_normalize_random(void)
{
        static const size_t sizes[] = { 2, 3, 15, 16, 17, 33, 100, 1000, 5000 };
        static unsigned char bits[SPACE];
        unsigned seed = 12345;

        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
                for (int order = 0; order < 4; order++) {
                        struct ima_ipset *s = NULL;
                        size_t n = sizes[k], want_n = 0;
                        int ok = 1;

                        if (ima_ipset_new(IMA_FAMILY_IPV4, &s) < 0) {
                                CHECK(0);
                                return;
                        }
                        memset(bits, 0, sizeof(bits));
                        for (size_t i = 0; i < n; i++) {
                                /* sorted and reversed orders still hold overlaps and duplicates */
                                size_t slot = order == 2 ? n - 1 - i : i;
                                unsigned first = (unsigned)(slot * SPACE / n);
                                unsigned last;

                                if (order == 0)
                                        first = (unsigned)rand_r(&seed) % SPACE;
                                else if (order == 3)
                                        first ^= (unsigned)rand_r(&seed) % 2; /* nearly sorted */
                                last = first + (unsigned)rand_r(&seed) % (n > 100 ? 3 : 300);

                                if (last >= SPACE)
                                        last = SPACE - 1;
                                for (unsigned a = first; a <= last; a++)
                                        bits[a] = 1;
                                ok &= ima_ipset_add(s, first, last) == 0;
                        }
                        ima_ipset_normalize(s);
                        for (unsigned a = 0, b; a < SPACE && ok; a++) {
                                if (!bits[a] || (a > 0 && bits[a - 1]))
                                        continue;
                                for (b = a; b + 1 < SPACE && bits[b + 1];)
                                        b++;
                                ok = want_n < s->n && s->v[want_n].first == a && s->v[want_n].last == b;
                                want_n++;
                        }
                        CHECK(ok && want_n == s->n);
                        if (!ok || want_n != s->n)
                                fprintf(stderr, "  %zu ranges, order %d: %zu intervals, expected %zu\n", n, order,
                                        s->n, want_n);
                        ima_ipset_free(s);
                }
}

/* IPv4 sets are sorted by a radix sort of (first, last) in one 64-bit key, IPv6 ones by a radix
 * sort of first alone, ties put in order afterwards: the same intervals, drawn from the whole
 * 32-bit space (the all-ones address included), must come out the same either way. */
static void test_sorts_agree(void)
{
        static const size_t sizes[] = { 2, 17, 300, 20000 };
        unsigned seed = 777;

        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                struct ima_ipset *v4 = NULL, *v6 = NULL;
                int ok = ima_ipset_new(IMA_FAMILY_IPV4, &v4) == 0 && ima_ipset_new(IMA_FAMILY_IPV6, &v6) == 0;

                for (size_t i = 0; ok && i < sizes[k]; i++) {
                        uint32_t first = (uint32_t)rand_r(&seed) << 16 ^ (uint32_t)rand_r(&seed);
                        uint32_t span = i % 5 == 0 ? 0 : (uint32_t)rand_r(&seed) % (1u << (i % 24));
                        uint32_t last = first > UINT32_MAX - span ? UINT32_MAX : first + span;

                        if (i % 7 == 0) /* repeats */
                                first = last = UINT32_MAX - (uint32_t)(i % 3);
                        ok = ima_ipset_add(v4, first, last) == 0 && ima_ipset_add(v6, first, last) == 0;
                }
                CHECK(ok);
                if (ok) {
                        ima_ipset_normalize(v4);
                        ima_ipset_normalize(v6);
                        ok = v4->n == v6->n;
                        for (size_t i = 0; ok && i < v4->n; i++)
                                ok = v4->v[i].first == v6->v[i].first && v4->v[i].last == v6->v[i].last &&
                                     (i == 0 || v4->v[i].first > v4->v[i - 1].last + 1);
                        CHECK(ok);
                }
                ima_ipset_free(v4);
                ima_ipset_free(v6);
        }
}

static int oracle_cmp(const void *a, const void *b)
{
        const struct ima_interval *x = a, *y = b;

        if (x->first != y->first)
                return x->first < y->first ? -1 : 1;
        return x->last < y->last ? -1 : x->last > y->last;
}

static ima_u128 rand128(unsigned *seed)
{
        ima_u128 v = 0;

        for (int i = 0; i < 8; i++)
                v = v << 16 ^ (ima_u128)(rand_r(seed) & 0xffff);
        return v;
}

/* The IPv6 radix sort keys on the 64 bits below the highest bit in which the starts differ, and
 * sorts ties in a second step. Lists that make the key the upper half, the lower half or a window
 * between, with ties in runs shorter and longer than the insertion sort's, and the edges of the
 * space (::, the all-ones address, ::/0), against qsort and a plain merge. */
static void test_ipv6_sort(void)
{
        static const size_t sizes[] = { 2, 17, 300, 5000, 20000 };
        const ima_u128 max = ~(ima_u128)0;
        unsigned seed = 4242;

        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
                for (int mode = 0; mode < 5; mode++) {
                        size_t n = sizes[k], want_n = 0;
                        struct ima_interval *want = calloc(n, sizeof(*want));
                        struct ima_ipset *s = NULL;
                        ima_u128 base = rand128(&seed);
                        int ok = want && ima_ipset_new(IMA_FAMILY_IPV6, &s) == 0;

                        for (size_t i = 0; ok && i < n; i++) {
                                ima_u128 first = rand128(&seed), span;
                                ima_u128 low40 = first & (((ima_u128)1 << 40) - 1);

                                if (mode == 1) /* all in one /64: the key is the lower half */
                                        first = (base >> 64 << 64) | (uint64_t)first;
                                else if (mode == 2) /* the top bits differ: 3 keys, runs of n/3 ties */
                                        first = (ima_u128)(i % 3) << 126 | (first & (((ima_u128)1 << 56) - 1));
                                else if (mode == 3) /* runs of about 8 ties, some longer */
                                        first = (ima_u128)(rand_r(&seed) % (n / 8 + 1)) << 100 | low40;
                                else if (mode == 4) /* a key between the halves; overlaps */
                                        first = (base >> 100 << 100) | (ima_u128)(rand_r(&seed) % (4 * n)) << 70 |
                                                (first & (((ima_u128)1 << 42) - 1));
                                /* below 2^40, so that most intervals stay apart */
                                span = i % 4 == 0 ? 0 : rand128(&seed) >> (88 + rand_r(&seed) % 40);
                                if (i % 11 == 0) /* repeats, and the edges */
                                        first = i % 2 ? max - (ima_u128)(i % 3) : (ima_u128)(i % 3);
                                if (n == 17 && mode == 0 && i == 5)
                                        first = 0, span = max; /* ::/0, once */
                                want[i] = (struct ima_interval){ first, first > max - span ? max : first + span };
                                ok = ima_ipset_add(s, want[i].first, want[i].last) == 0;
                        }
                        CHECK(ok);
                        if (!ok) {
                                free(want);
                                ima_ipset_free(s);
                                return;
                        }
                        qsort(want, n, sizeof(*want), oracle_cmp);
                        for (size_t i = 1; i < n; i++) {
                                struct ima_interval *last = &want[want_n];

                                if (last->last == max || want[i].first <= last->last + 1) {
                                        if (want[i].last > last->last)
                                                last->last = want[i].last;
                                } else {
                                        want[++want_n] = want[i];
                                }
                        }
                        want_n++;
                        ima_ipset_normalize(s);
                        ok = s->n == want_n;
                        for (size_t i = 0; ok && i < want_n; i++)
                                ok = s->v[i].first == want[i].first && s->v[i].last == want[i].last;
                        CHECK(ok);
                        if (!ok)
                                fprintf(stderr, "  %zu intervals, mode %d: %zu after normalize, expected %zu\n", n,
                                        mode, s->n, want_n);
                        free(want);
                        ima_ipset_free(s);
                }
}

static void test_ipv6_edges(void)
{
        struct ima_ipset *s = SET(IMA_FAMILY_IPV6, "ffff::/16", "fd00::/8", "::/128");

        CHECK_STR(text_of(s), "::, fd00::/8, ffff::/16");
        CHECK(ima_ipset_contains(s, ~(ima_u128)0));
        CHECK(!ima_ipset_contains(s, (ima_u128)0xfe << 120));
        ima_ipset_free(s);
        s = SET(IMA_FAMILY_IPV6, "::/0", "::/1");
        CHECK_STR(text_of(s), "::/0");
        CHECK(ima_ipset_size(s) == ~(ima_u128)0); /* saturates */
        ima_ipset_free(s);
}

static void test_contains(void)
{
        struct ima_ipset *s = SET(IMA_FAMILY_IPV4, "10.0.0.0/8", "192.168.0.0/16");

        CHECK(!ima_ipset_contains(s, 0x09ffffff));
        CHECK(ima_ipset_contains(s, 0x0a000000));
        CHECK(ima_ipset_contains(s, 0x0affffff));
        CHECK(!ima_ipset_contains(s, 0x0b000000));
        CHECK(ima_ipset_contains(s, 0xc0a80101));
        CHECK(ima_ipset_size(s) == (ima_u128)(1u << 24) + (1u << 16));
        ima_ipset_free(s);
}

static void test_diff(void)
{
        struct ima_ipset *have = SET(IMA_FAMILY_IPV4, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16");
        struct ima_ipset *want = SET(IMA_FAMILY_IPV4, "10.0.0.0/9", "10.192.0.0/10", "172.16.0.0/12", "100.64.0.0/10");
        struct ima_ipset *del = NULL, *add = NULL;

        CHECK_INT(ima_ipset_diff(have, want, &del, &add), 0);
        CHECK_STR(text_of(del), "10.0.0.0/8, 192.168.0.0/16");
        CHECK_STR(text_of(add), "10.0.0.0/9, 10.192.0.0/10, 100.64.0.0/10");
        ima_ipset_free(del);
        ima_ipset_free(add);
        CHECK_INT(ima_ipset_diff(have, have, &del, &add), 0);
        CHECK_INT(del->n, 0);
        CHECK_INT(add->n, 0);
        CHECK(ima_ipset_equal(have, have));
        CHECK(!ima_ipset_equal(have, want));
        ima_ipset_free(del);
        ima_ipset_free(add);
        ima_ipset_free(have);
        ima_ipset_free(want);
}

static void test_prefix_detection(void)
{
        struct ima_interval iv = { 0, 0xffffffff };
        unsigned len = 99;

        CHECK(ima_interval_prefix_len(IMA_FAMILY_IPV4, &iv, &len));
        CHECK_INT(len, 0);
        iv = (struct ima_interval){ 0, ~(ima_u128)0 };
        CHECK(ima_interval_prefix_len(IMA_FAMILY_IPV6, &iv, &len));
        CHECK_INT(len, 0);
        iv = (struct ima_interval){ 0x0a000001, 0x0a000002 }; /* two addresses, unaligned */
        CHECK(!ima_interval_prefix_len(IMA_FAMILY_IPV4, &iv, &len));
        iv = (struct ima_interval){ 0x0a000002, 0x0a000003 };
        CHECK(ima_interval_prefix_len(IMA_FAMILY_IPV4, &iv, &len));
        CHECK_INT(len, 31);
}

/* The daemon keeps normalized sets for as long as their configuration holds: they must not keep
 * the room their growth reserved (100,000 CIDRs would hold 131,072 intervals' worth). */
static void test_normalize_releases_room(void)
{
        struct ima_ipset *s = NULL;

        CHECK_INT(ima_ipset_new(IMA_FAMILY_IPV4, &s), 0);
        if (!s)
                return;
        for (uint32_t i = 0; i < 600; i++) /* 600 /32s two apart: 600 intervals */
                CHECK_INT(ima_ipset_add(s, (ima_u128)(0x0a000000u + 2 * i), (ima_u128)(0x0a000000u + 2 * i)), 0);
        CHECK_INT(s->cap, 1024);
        ima_ipset_normalize(s);
        CHECK_INT(s->n, 600);
        CHECK_INT(s->cap, 600);
        CHECK_INT(s->v[599].first, 0x0a000000u + 1198);
        for (uint32_t i = 0; i < 600; i++) /* each gap filled: one interval */
                CHECK_INT(ima_ipset_add(s, (ima_u128)(0x0a000001u + 2 * i), (ima_u128)(0x0a000001u + 2 * i)), 0);
        ima_ipset_normalize(s);
        CHECK_INT(s->n, 1);
        CHECK_INT(s->cap, 1);
        CHECK_STR(text_of(s), "10.0.0.0-10.0.4.175");
        ima_ipset_free(s);
}

/* A shared set lives until its last owner lets it go. */
static void test_shared_until_the_last_owner(void)
{
        struct ima_ipset *a = SET(IMA_FAMILY_IPV4, "10.0.0.0/8");
        struct ima_ipset *b;

        CHECK(a != NULL);
        if (!a)
                return;
        b = ima_ipset_ref(a);
        CHECK(b == a);
        CHECK_INT(a->refs, 2);
        CHECK(ima_ipset_free(a) == NULL);
        CHECK_STR(text_of(b), "10.0.0.0/8"); /* still whole: ASan would see a use after free */
        ima_ipset_free(b);
}

int main(void)
{
        TEST_RUN(test_normalize);
        TEST_RUN(test_normalize_releases_room);
        TEST_RUN(test_normalize_random);
        TEST_RUN(test_sorts_agree);
        TEST_RUN(test_ipv6_sort);
        TEST_RUN(test_ipv6_edges);
        TEST_RUN(test_contains);
        TEST_RUN(test_diff);
        TEST_RUN(test_prefix_detection);
        TEST_RUN(test_shared_until_the_last_owner);
        TEST_EXIT();
}
