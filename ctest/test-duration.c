#include <errno.h>

#include "lib/duration.h"
#include "tests.h"

static int64_t parse(const char *s, int *err)
{
        int64_t v = 0;

        *err = ima_duration_parse(s, strlen(s), &v, NULL);
        return v;
}

static void test_parse_go_grammar(void)
{
        static const struct {
                const char *in;
                int64_t nsec;
        } ok[] = {
                { "0", 0 }, { "+0", 0 }, { "-0", 0 }, { "0s", 0 }, { "1m0s", 60 * IMA_NSEC_PER_SEC },
                { "60s", 60 * IMA_NSEC_PER_SEC }, { "1h30m", 5400 * IMA_NSEC_PER_SEC },
                { "1.5h", 5400 * IMA_NSEC_PER_SEC }, { "300ms", 300000000 }, { "-1.5s", -1500000000 },
                { "1us", 1000 }, { "1\xc2\xb5s", 1000 }, { "1\xce\xbcs", 1000 }, { "1ns", 1 },
                { ".5s", 500000000 }, { "5.s", 5 * IMA_NSEC_PER_SEC }, { "1h1m1s1ms1us1ns", 3661001001001 },
                { "2562047h47m16.854775807s", INT64_MAX }, { "-2562047h47m16.854775808s", INT64_MIN },
                /* a fraction of a nanosecond is cut off, as Go cuts it, never rounded */
                { "1.9ns", 1 }, { "0.9ns", 0 }, { "1.0000000009s", IMA_NSEC_PER_SEC },
        };
        static const char *const bad[] = {
                "", "1", "60", "s", "1d", "1 s", " 1s", "1s ", "1.s.", ".s", "1e3s", "--1s", "1S",
                "9223372036854775808ns", "2562047h47m16.854775808s",
                /* 1844674407370955162 * 10 wraps uint64 to 4: out of range, never 4ns */
                "18446744073709551620ns", "18446744073709551620s", "-18446744073709551620ns",
        };
        int err;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                int64_t v = parse(ok[i].in, &err);

                if (err)
                        fprintf(stderr, "rejected \"%s\"\n", ok[i].in);
                CHECK_INT(err, 0);
                CHECK_INT(v, ok[i].nsec);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                parse(bad[i], &err);
                if (!err)
                        fprintf(stderr, "accepted \"%s\"\n", bad[i]);
                CHECK(err == -EINVAL || err == -ERANGE);
        }
}

static void test_format_like_go(void)
{
        static const struct {
                int64_t nsec;
                const char *out;
        } cases[] = {
                { 0, "0s" }, { 1, "1ns" }, { 1100, "1.1\xc2\xb5s" }, { 2200000, "2.2ms" },
                { 300000000, "300ms" }, { IMA_NSEC_PER_SEC, "1s" }, { 60 * IMA_NSEC_PER_SEC, "1m0s" },
                { 5400 * IMA_NSEC_PER_SEC, "1h30m0s" }, { 3661 * IMA_NSEC_PER_SEC + 500000000, "1h1m1.5s" },
                { -1500000000, "-1.5s" }, { INT64_MAX, "2562047h47m16.854775807s" },
                { INT64_MIN, "-2562047h47m16.854775808s" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char buf[IMA_DURATION_STRLEN];

                ima_duration_format(cases[i].nsec, buf);
                CHECK_STR(buf, cases[i].out);
        }
}

int main(void)
{
        TEST_RUN(test_parse_go_grammar);
        TEST_RUN(test_format_like_go);
        TEST_EXIT();
}
