/* Unit tests for lib/array.c: growth by doubling, with or without a capacity field, and a refusal
 * that leaves the array as it was. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/array.h"
#include "tests.h"

static void test_doubles_from_first_cap(void)
{
        int *v = NULL;
        size_t cap = 0, n, grows = 0, last_cap = 0;

        for (n = 0; n < 1000; n++) {
                CHECK_INT(IMA_ARRAY_RESERVE(v, cap, n, 8), 0);
                CHECK(n < cap);
                if (cap != last_cap) {
                        CHECK_INT(cap, last_cap ? last_cap * 2 : 8);
                        grows++;
                        last_cap = cap;
                }
                v[n] = (int)n;
        }
        CHECK_INT(cap, 1024); /* 8 << 7 */
        CHECK_INT(grows, 8);  /* O(log n) reallocs: appends stay linear */
        for (n = 0; n < 1000; n++)
                if (v[n] != (int)n)
                        break;
        CHECK_INT(n, 1000); /* the items survive every move */
        free(v);
}

static void test_room_left_is_no_op(void)
{
        int *v = NULL, *before;
        size_t cap = 0;

        CHECK_INT(IMA_ARRAY_RESERVE(v, cap, 0, 4), 0);
        before = v;
        CHECK_INT(IMA_ARRAY_RESERVE(v, cap, 3, 4), 0);
        CHECK(v == before);
        CHECK_INT(cap, 4);
        free(v);
}

static void test_overflow_is_refused(void)
{
        char *v = malloc(1);
        char *before = v;
        size_t cap = SIZE_MAX / 2 + 1; /* doubling it would wrap to 0 */

        CHECK_INT(ima_array_reserve((void **)&v, &cap, cap, 1, 8), -ENOMEM);
        CHECK(v == before);
        CHECK_INT(cap, SIZE_MAX / 2 + 1);

        cap = SIZE_MAX / 16; /* cap * 2 items of 16 bytes do not fit in a size_t */
        CHECK_INT(ima_array_reserve((void **)&v, &cap, cap, 16, 8), -ENOMEM);
        CHECK(v == before);
        CHECK_INT(cap, SIZE_MAX / 16);

        cap = 0; /* a first capacity of 0 would realloc to nothing */
        CHECK_INT(ima_array_reserve((void **)&v, &cap, 0, 1, 0), -ENOMEM);
        CHECK(v == before);
        free(v);
}

/* Arrays that keep no capacity: first_cap items, then doubled whenever the count reaches a
 * power of two, so the count alone says when an append must grow the block. */
static void test_pow2_grows_only_when_full(void)
{
        for (size_t first_cap = 1; first_cap <= 4; first_cap *= 4) {
                int *v = NULL;
                size_t n;

                for (n = 0; n < 1000; n++) {
                        int *before = v;
                        bool full = n == 0 || (n >= first_cap && (n & (n - 1)) == 0);

                        CHECK_INT(IMA_ARRAY_RESERVE_POW2(v, n, first_cap), 0);
                        if (!full)
                                CHECK(v == before); /* room left: the block stays */
                        v[n] = (int)n; /* under ASan (CI), out of bounds if the block were short */
                }
                for (n = 0; n < 1000; n++)
                        if (v[n] != (int)n)
                                break;
                CHECK_INT(n, 1000);
                free(v);
        }
}

static void test_pow2_overflow_is_refused(void)
{
        char *v = malloc(1);
        char *before = v;

        CHECK_INT(ima_array_reserve_pow2((void **)&v, (size_t)1 << 60, 32, 4), -ENOMEM);
        CHECK(v == before);
        free(v);
}

int main(void)
{
        TEST_RUN(test_doubles_from_first_cap);
        TEST_RUN(test_room_left_is_no_op);
        TEST_RUN(test_overflow_is_refused);
        TEST_RUN(test_pow2_grows_only_when_full);
        TEST_RUN(test_pow2_overflow_is_refused);
        TEST_EXIT();
}
