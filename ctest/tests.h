/* tests.h: assertion macros that print both sides, and a tiny case runner. Each test binary
 * calls its cases from main() through TEST_RUN(); the exit code is the number of failed checks. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tests_failed;
static int tests_checked;

#define CHECK(cond)                                                                            \
        do {                                                                                   \
                tests_checked++;                                                               \
                if (!(cond)) {                                                                 \
                        tests_failed++;                                                        \
                        fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
                }                                                                              \
        } while (0)

#define CHECK_INT(a, b)                                                                        \
        do {                                                                                   \
                long long _a = (long long)(a), _b = (long long)(b);                            \
                tests_checked++;                                                               \
                if (_a != _b) {                                                                \
                        tests_failed++;                                                        \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,  \
                                __LINE__, #a, _a, #b, _b);                                     \
                }                                                                              \
        } while (0)

#define CHECK_STR(a, b)                                                                        \
        do {                                                                                   \
                const char *_a = (a), *_b = (b);                                               \
                tests_checked++;                                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                       \
                        tests_failed++;                                                        \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,    \
                                __LINE__, #a, _a ? _a : "(null)", _b ? _b : "(null)");         \
                }                                                                              \
        } while (0)

#define TEST_RUN(fn)                                                                           \
        do {                                                                                   \
                int _before = tests_failed;                                                    \
                fn();                                                                          \
                fprintf(stderr, "%s %s\n", tests_failed == _before ? "ok  " : "FAIL", #fn);    \
        } while (0)

#define TEST_EXIT()                                                                            \
        do {                                                                                   \
                fprintf(stderr, "%d checks, %d failed\n", tests_checked, tests_failed);        \
                return tests_failed ? 1 : 0;                                                   \
        } while (0)
