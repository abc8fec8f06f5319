#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "duration.h"

static const struct {
        const char *name;
        uint64_t nsec;
} units[] = {
        { "ns", 1 },
        { "us", 1000 },
        { "\xc2\xb5s", 1000 },  /* U+00B5 micro sign */
        { "\xce\xbcs", 1000 },  /* U+03BC Greek mu */
        { "ms", 1000000 },
        { "s", 1000000000 },
        { "m", UINT64_C(60) * 1000000000 },
        { "h", UINT64_C(3600) * 1000000000 },
};

#define DURATION_LIMIT (UINT64_C(1) << 63)

static int fail(const char **reason, int err, const char *why)
{
        if (reason)
                *reason = why;
        return err;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

int ima_duration_parse(const char *s, size_t len, int64_t *ret_nsec, const char **reason)
{
        const char *end = s + len;
        uint64_t total = 0;
        bool neg = false;

        if (s < end && (*s == '-' || *s == '+')) {
                neg = *s == '-';
                s++;
        }
        if (end - s == 1 && *s == '0') {
                *ret_nsec = 0;
                return 0;
        }
        if (s == end)
                return fail(reason, -EINVAL, "empty duration");
        while (s < end) {
                uint64_t v = 0, frac = 0, unit = 0;
                double scale = 1;
                bool pre = false, post = false;
                const char *u;

                if (!(*s == '.' || is_digit(*s)))
                        return fail(reason, -EINVAL, "expected a number");
                for (; s < end && is_digit(*s); s++, pre = true) {
                        if (v > DURATION_LIMIT / 10)
                                return fail(reason, -ERANGE, "duration out of range");
                        v = v * 10 + (uint64_t)(*s - '0');
                        if (v > DURATION_LIMIT)
                                return fail(reason, -ERANGE, "duration out of range");
                }
                if (s < end && *s == '.') {
                        bool overflow = false;

                        for (s++; s < end && is_digit(*s); s++, post = true) {
                                /* like Go: digits past uint64 precision are read but ignored */
                                uint64_t next;

                                if (overflow || frac > (DURATION_LIMIT - 1) / 10) {
                                        overflow = true;
                                        continue;
                                }
                                next = frac * 10 + (uint64_t)(*s - '0');
                                if (next > DURATION_LIMIT) {
                                        overflow = true;
                                        continue;
                                }
                                frac = next;
                                scale *= 10;
                        }
                }
                if (!pre && !post)
                        return fail(reason, -EINVAL, "expected digits around the decimal point");
                for (u = s; s < end && *s != '.' && !is_digit(*s); s++)
                        ;
                if (u == s)
                        return fail(reason, -EINVAL, "missing unit");
                for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                        if (strlen(units[i].name) == (size_t)(s - u) && memcmp(units[i].name, u, (size_t)(s - u)) == 0)
                                unit = units[i].nsec;
                if (unit == 0)
                        return fail(reason, -EINVAL, "unknown unit");
                if (v > DURATION_LIMIT / unit)
                        return fail(reason, -ERANGE, "duration out of range");
                v *= unit;
                if (frac > 0) {
                        v += (uint64_t)((double)frac * ((double)unit / scale));
                        if (v > DURATION_LIMIT)
                                return fail(reason, -ERANGE, "duration out of range");
                }
                total += v;
                if (total > DURATION_LIMIT)
                        return fail(reason, -ERANGE, "duration out of range");
        }
        if (neg) {
                *ret_nsec = total == DURATION_LIMIT ? INT64_MIN : -(int64_t)total;
                return 0;
        }
        if (total > DURATION_LIMIT - 1)
                return fail(reason, -ERANGE, "duration out of range");
        *ret_nsec = (int64_t)total;
        return 0;
}

/* Writes the fraction v / 10^prec (".125", trailing zeros dropped, no '.' if zero) to the tail
 * of buf ending at w; returns the new start and stores v / 10^prec in *rest. */
static size_t fmt_frac(char *buf, size_t w, uint64_t v, int prec, uint64_t *rest)
{
        bool print = false;

        for (int i = 0; i < prec; i++) {
                unsigned digit = (unsigned)(v % 10);

                print = print || digit != 0;
                if (print)
                        buf[--w] = (char)('0' + digit);
                v /= 10;
        }
        if (print)
                buf[--w] = '.';
        *rest = v;
        return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v)
{
        if (v == 0) {
                buf[--w] = '0';
                return w;
        }
        for (; v > 0; v /= 10)
                buf[--w] = (char)('0' + v % 10);
        return w;
}

void ima_duration_format(int64_t nsec, char out[static IMA_DURATION_STRLEN])
{
        char buf[IMA_DURATION_STRLEN];
        size_t w = sizeof(buf);
        bool neg = nsec < 0;
        uint64_t u = neg ? -(uint64_t)nsec : (uint64_t)nsec;

        if (u < (uint64_t)IMA_NSEC_PER_SEC) {
                int prec;

                buf[--w] = 's';
                if (u == 0) {
                        memcpy(out, "0s", 3);
                        return;
                }
                if (u < 1000) {
                        prec = 0;
                        buf[--w] = 'n';
                } else if (u < 1000000) {
                        prec = 3;
                        buf[--w] = '\xb5'; /* "µ" is U+00B5, as Go prints it */
                        buf[--w] = '\xc2';
                } else {
                        prec = 6;
                        buf[--w] = 'm';
                }
                w = fmt_frac(buf, w, u, prec, &u);
                w = fmt_int(buf, w, u);
        } else {
                buf[--w] = 's';
                w = fmt_frac(buf, w, u, 9, &u);
                w = fmt_int(buf, w, u % 60);
                u /= 60;
                if (u > 0) {
                        buf[--w] = 'm';
                        w = fmt_int(buf, w, u % 60);
                        u /= 60;
                        if (u > 0) {
                                buf[--w] = 'h';
                                w = fmt_int(buf, w, u);
                        }
                }
        }
        if (neg)
                buf[--w] = '-';
        memcpy(out, buf + w, sizeof(buf) - w);
        out[sizeof(buf) - w] = '\0';
}
