/* Go's strconv, encoding/json float output, time.Parse (YAML timestamps) and base64, as
 * lib/goconv.c re-does them. Expected values were printed by the Go functions. */
#include <errno.h>
#include <math.h>

#include "lib/goconv.h"
#include "lib/macro.h"
#include "tests.h"

static void test_parse_int(void)
{
        static const struct {
                const char *in;
                unsigned base;
                enum ima_go_int kind;
                int64_t i;
                uint64_t u;
        } cases[] = {
                { "0", 0, IMA_GO_INT, 0, 0 },
                { "-0", 0, IMA_GO_INT, 0, 0 },
                { "+64", 0, IMA_GO_INT, 64, 0 },
                { "0x40", 0, IMA_GO_INT, 64, 0 },
                { "0X40", 0, IMA_GO_INT, 64, 0 },
                { "-0x10", 0, IMA_GO_INT, -16, 0 },
                { "010", 0, IMA_GO_INT, 8, 0 },
                { "0o17", 0, IMA_GO_INT, 15, 0 },
                { "0b101", 0, IMA_GO_INT, 5, 0 },
                { "08", 0, IMA_GO_NOT_INT, 0, 0 },
                { "0x", 0, IMA_GO_NOT_INT, 0, 0 },
                { "", 0, IMA_GO_NOT_INT, 0, 0 },
                { "+", 0, IMA_GO_NOT_INT, 0, 0 },
                { "1.0", 0, IMA_GO_NOT_INT, 0, 0 },
                { "9223372036854775807", 10, IMA_GO_INT, INT64_MAX, 0 },
                { "-9223372036854775808", 10, IMA_GO_INT, INT64_MIN, 0 },
                { "9223372036854775808", 10, IMA_GO_UINT, 0, UINT64_C(9223372036854775808) },
                { "+9223372036854775808", 10, IMA_GO_NOT_INT, 0, 0 }, /* ParseUint takes no sign */
                { "-9223372036854775809", 10, IMA_GO_NOT_INT, 0, 0 },
                { "18446744073709551616", 10, IMA_GO_NOT_INT, 0, 0 },
                { "-101", 2, IMA_GO_INT, -5, 0 },
                { "0x10", 10, IMA_GO_NOT_INT, 0, 0 },
                /* digit separators, with base 0 only, each between two digits (a prefix counts) */
                { "1_000", 0, IMA_GO_INT, 1000, 0 },
                { "-1_0", 0, IMA_GO_INT, -10, 0 },
                { "0x_1_f", 0, IMA_GO_INT, 31, 0 },
                { "0_10", 0, IMA_GO_INT, 8, 0 },
                { "1_000", 10, IMA_GO_NOT_INT, 0, 0 },
                { "_1", 0, IMA_GO_NOT_INT, 0, 0 },
                { "1_", 0, IMA_GO_NOT_INT, 0, 0 },
                { "1__0", 0, IMA_GO_NOT_INT, 0, 0 },
                { "0_", 0, IMA_GO_NOT_INT, 0, 0 },
                { " 5", 10, IMA_GO_NOT_INT, 0, 0 },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int64_t iv = 0;
                uint64_t uv = 0;
                enum ima_go_int k = ima_go_parse_int(cases[i].in, cases[i].base, &iv, &uv);

                if (k != cases[i].kind)
                        fprintf(stderr, "input \"%s\"\n", cases[i].in);
                CHECK_INT(k, cases[i].kind);
                if (k == IMA_GO_INT)
                        CHECK_INT(iv, cases[i].i);
                if (k == IMA_GO_UINT)
                        CHECK(uv == cases[i].u);
        }
}

static void test_parse_float(void)
{
        static const struct {
                const char *in;
                bool ok;
                double v;
        } cases[] = {
                { "1.5", true, 1.5 }, { ".5", true, 0.5 }, { "5.", true, 5 }, { "-1e3", true, -1000 },
                { "1_0.5", true, 10.5 }, { ".5_5", true, 0.55 }, { "1e-400", true, 0 },
                { "1e400", false, 0 }, { "_1", false, 0 }, { "1_", false, 0 }, { "1__0", false, 0 },
                { "1._5", false, 0 }, { ".", false, 0 }, { "1e", false, 0 }, { "0x1p3", false, 0 },
                { "inf", false, 0 }, { "nan", false, 0 }, { "", false, 0 }, { "1 ", false, 0 },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                double v = -1;
                bool ok = ima_go_parse_float(cases[i].in, &v);

                if (ok != cases[i].ok)
                        fprintf(stderr, "input \"%s\"\n", cases[i].in);
                CHECK_INT(ok, cases[i].ok);
                if (ok)
                        CHECK(v == cases[i].v);
        }
}

static void test_format_float(void)
{
        static const struct {
                double v;
                enum ima_go_float_style style;
                const char *out;
        } cases[] = {
                { 64, IMA_GO_FLOAT_JSON, "64" },
                { 0.5, IMA_GO_FLOAT_JSON, "0.5" },
                { -0.0, IMA_GO_FLOAT_JSON, "-0" },
                { 0.1, IMA_GO_FLOAT_JSON, "0.1" },
                { 1234567890123456789.0, IMA_GO_FLOAT_JSON, "1234567890123456800" },
                { 18446744073709551615.0, IMA_GO_FLOAT_JSON, "18446744073709552000" },
                { 1e-7, IMA_GO_FLOAT_JSON, "1e-7" },
                { 0.000001, IMA_GO_FLOAT_JSON, "0.000001" },
                { 1e21, IMA_GO_FLOAT_JSON, "1e+21" },
                { 123456789e13, IMA_GO_FLOAT_JSON, "1.23456789e+21" },
                { 1e-123, IMA_GO_FLOAT_JSON, "1e-123" },
                { 1e8, IMA_GO_FLOAT_G32, "1e+08" },
                { 100000, IMA_GO_FLOAT_G32, "100000" },
                { 1234567.0, IMA_GO_FLOAT_G32, "1.234567e+06" },
                { 3.14159265358979, IMA_GO_FLOAT_G32, "3.1415927" },
                { 0.1, IMA_GO_FLOAT_G32, "0.1" },
                { 0.0001, IMA_GO_FLOAT_G32, "0.0001" },
                { 0.00001, IMA_GO_FLOAT_G32, "1e-05" },
                { 1e39, IMA_GO_FLOAT_G32, ".inf" }, /* beyond float32 */
                { -INFINITY, IMA_GO_FLOAT_G32, "-.inf" },
                { NAN, IMA_GO_FLOAT_G32, ".nan" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char buf[IMA_GO_FLOAT_STRLEN];

                ima_go_format_float(cases[i].v, cases[i].style, buf);
                CHECK_STR(buf, cases[i].out);
        }
}

static void test_timestamps(void)
{
        static const struct {
                const char *in;
                bool ok;
        } cases[] = {
                { "2001-12-14", true }, { "2001-1-2", true }, { "2004-02-29", true }, { "2001-02-29", false },
                { "2001-13-01", false }, { "2001-12-32", false }, { "2001-12-0", false }, { "01-12-14", false },
                { "2001-012-14", false }, { "2001-12-14T21:59:43.10-05:00", true },
                { "2001-12-14t21:59:43Z", true }, { "2001-12-14 21:59:43.10", true },
                { "2001-12-14   1:2:3", true }, { "2001-12-14 1:2:3,5", true },
                { "2001-12-14 21:59:43.10 -5", false }, /* YAML allows it, time.Parse does not */
                { "2001-12-14T21:59:43", false }, { "2001-12-14 24:00:00", false },
                { "2001-12-14 1:60:00", false }, { "2001-12-14T1:2:3+25:00", false },
                { "2001-12-14T1:2:3+0100", false }, { "2001-12-14x", false },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                bool ok = ima_go_is_timestamp(cases[i].in, strlen(cases[i].in));

                if (ok != cases[i].ok)
                        fprintf(stderr, "input \"%s\"\n", cases[i].in);
                CHECK_INT(ok, cases[i].ok);
        }
}

static void test_base64(void)
{
        static const struct {
                const char *in, *out; /* out NULL: invalid */
        } cases[] = {
                { "", "" }, { "aGVsbG8=", "hello" }, { "aGVs\nbG8=", "hello" }, { "aGVsbA==", "hell" },
                { "aGVsbA=\n=", "hell" }, { "aGVsbG8", NULL }, { "aGVsbA=", NULL }, { "aGVs=G8=", NULL },
                { "a===", NULL }, { "aGVsbG8=x", NULL }, { "aGV!bG8=", NULL },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char out[64];
                size_t n = 0;
                int r = ima_go_base64_decode(cases[i].in, strlen(cases[i].in), out, &n);

                if (!cases[i].out) {
                        CHECK_INT(r, -EINVAL);
                        continue;
                }
                CHECK_INT(r, 0);
                out[r == 0 ? n : 0] = '\0';
                CHECK_STR(out, cases[i].out);
        }
}

int main(void)
{
        TEST_RUN(test_parse_int);
        TEST_RUN(test_parse_float);
        TEST_RUN(test_format_float);
        TEST_RUN(test_timestamps);
        TEST_RUN(test_base64);
        TEST_EXIT();
}
