#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goconv.h"
#include "macro.h"

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* strconv's underscoreOK: each '_' between two digits, a base prefix counting as a digit. */
static bool underscores_ok(const char *s)
{
        char saw = '^';
        bool hex = false;

        if (*s == '+' || *s == '-')
                s++;
        if (s[0] == '0' && s[1] && strchr("bBoOxX", s[1])) {
                hex = (s[1] | 0x20) == 'x';
                saw = '0';
                s += 2;
        }
        for (; *s; s++) {
                char l = (char)(*s | 0x20);

                if (is_digit(*s) || (hex && l >= 'a' && l <= 'f')) {
                        saw = '0';
                } else if (*s == '_') {
                        if (saw != '0')
                                return false;
                        saw = '_';
                } else {
                        if (saw == '_')
                                return false;
                        saw = '!';
                }
        }
        return saw != '_';
}

/* strconv.ParseUint: 0, -EINVAL (syntax) or -ERANGE. */
static int parse_uint(const char *s, unsigned base, uint64_t *ret)
{
        const char *text = s;
        bool base0 = base == 0, underscores = false;
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        if (base == 0) {
                size_t n = strlen(s);

                base = 10;
                if (s[0] == '0') {
                        char l = (char)(s[1] | 0x20);

                        if (n >= 3 && (l == 'b' || l == 'o' || l == 'x')) {
                                base = l == 'b' ? 2 : l == 'o' ? 8 : 16;
                                s += 2;
                        } else {
                                base = 8; /* "0" alone reads as an empty octal number: 0 */
                                s += 1;
                        }
                }
        }
        for (; *s; s++) {
                char l = (char)(*s | 0x20);
                unsigned d;

                if (*s == '_' && base0) { /* Go's digit separators, checked once the value is read */
                        underscores = true;
                        continue;
                }
                if (is_digit(*s))
                        d = (unsigned)(*s - '0');
                else if (l >= 'a' && l <= 'z')
                        d = (unsigned)(l - 'a' + 10);
                else
                        return -EINVAL;
                if (d >= base)
                        return -EINVAL;
                if (v > (UINT64_MAX - d) / base)
                        return -ERANGE; /* Go stops at the overflow, before later syntax errors */
                v = v * base + d;
        }
        if (underscores && !underscores_ok(text))
                return -EINVAL;
        *ret = v;
        return 0;
}

enum ima_go_int ima_go_parse_int(const char *s, unsigned base, int64_t *ret_i, uint64_t *ret_u)
{
        const char *digits = s;
        bool neg = false;
        uint64_t v;
        int r;

        if (*digits == '+' || *digits == '-')
                neg = *digits++ == '-';
        r = parse_uint(digits, base, &v);
        if (r == 0 && !neg && v <= (uint64_t)INT64_MAX) {
                *ret_i = (int64_t)v;
                return IMA_GO_INT;
        }
        if (r == 0 && neg && v <= (uint64_t)INT64_MAX + 1) {
                *ret_i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
                return IMA_GO_INT;
        }
        /* ParseInt failed: ParseUint gets the text as it is, so a sign makes it fail too */
        if (parse_uint(s, base, &v) == 0) {
                *ret_u = v;
                return IMA_GO_UINT;
        }
        return IMA_GO_NOT_INT;
}

bool ima_go_parse_float(const char *s, double *ret)
{
        _cleanup_free_ char *plain = NULL;
        const char *p = s;
        bool digits = false, has_underscore = false;
        size_t k = 0;
        char *end;
        double v;

        /* the grammar first, so that strtod's extras (hex, inf, nan) never get a say */
        if (*p == '+' || *p == '-')
                p++;
        for (; is_digit(*p) || *p == '_'; p++)
                digits = digits || is_digit(*p);
        if (*p == '.')
                for (p++; is_digit(*p) || *p == '_'; p++)
                        digits = digits || is_digit(*p);
        if (!digits)
                return false;
        if (*p == 'e' || *p == 'E') {
                bool exp_digits = false;

                p++;
                if (*p == '+' || *p == '-')
                        p++;
                for (; is_digit(*p) || *p == '_'; p++)
                        exp_digits = exp_digits || is_digit(*p);
                if (!exp_digits)
                        return false;
        }
        if (*p)
                return false;
        has_underscore = strchr(s, '_') != NULL;
        if (has_underscore && !underscores_ok(s))
                return false;
        plain = malloc(strlen(s) + 1);
        if (!plain)
                return false;
        for (p = s; *p; p++)
                if (*p != '_')
                        plain[k++] = *p;
        plain[k] = '\0';
        v = strtod(plain, &end);
        if (*end || isinf(v)) /* overflow is Go's ErrRange; underflow to 0 is not an error */
                return false;
        *ret = v;
        return true;
}

/* Shortest digits that read back as v (as a float when bits32): d[] holds them without a dot,
 * and the value is 0.d1d2... * 10^(*dp). Returns the number of digits. */
static int shortest_digits(double v, bool bits32, char d[static 24], int *dp)
{
        char tmp[40], *e;
        int n = 0;

        for (int prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
                if (bits32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
                        break;
        }
        for (const char *p = tmp; *p && *p != 'e'; p++)
                if (is_digit(*p))
                        d[n++] = *p;
        e = strchr(tmp, 'e');
        *dp = (int)strtol(e + 1, NULL, 10) + 1;
        while (n > 1 && d[n - 1] == '0') /* "%.*e" pads; Go's shortest form does not */
                n--;
        return n;
}

static size_t put_f(char *out, const char *d, int nd, int dp)
{
        size_t w = 0;
        int prec = nd - dp > 0 ? nd - dp : 0;

        if (dp > 0)
                for (int i = 0; i < dp; i++)
                        out[w++] = i < nd ? d[i] : '0';
        else
                out[w++] = '0';
        if (prec > 0) {
                out[w++] = '.';
                for (int i = 0; i < prec; i++) {
                        int j = dp + i;

                        out[w++] = j >= 0 && j < nd ? d[j] : '0';
                }
        }
        return w;
}

static size_t put_e(char *out, const char *d, int nd, int dp, bool json)
{
        size_t w = 0;
        int exp = dp - 1;

        out[w++] = d[0];
        if (nd > 1) {
                out[w++] = '.';
                memcpy(out + w, d + 1, (size_t)nd - 1);
                w += (size_t)nd - 1;
        }
        out[w++] = 'e';
        out[w++] = exp < 0 ? '-' : '+';
        if (exp < 0)
                exp = -exp;
        if (exp < 10 && !(json && dp - 1 < 0)) /* Go: two exponent digits; JSON trims "e-07" */
                out[w++] = '0';
        w += (size_t)sprintf(out + w, "%d", exp);
        return w;
}

void ima_go_format_float(double v, enum ima_go_float_style style, char buf[static IMA_GO_FLOAT_STRLEN])
{
        bool bits32 = style == IMA_GO_FLOAT_G32;
        char d[24];
        int nd, dp;
        size_t w = 0;
        double a;

        if (bits32)
                v = (float)v;
        if (isnan(v)) {
                strcpy(buf, ".nan");
                return;
        }
        if (isinf(v)) {
                strcpy(buf, v > 0 ? ".inf" : "-.inf");
                return;
        }
        if (signbit(v))
                buf[w++] = '-';
        a = fabs(v);
        if (a == 0) {
                strcpy(buf + w, "0");
                return;
        }
        nd = shortest_digits(a, bits32, d, &dp);
        if (style == IMA_GO_FLOAT_JSON) {
                if (a < 1e-6 || a >= 1e21)
                        w += put_e(buf + w, d, nd, dp, true);
                else
                        w += put_f(buf + w, d, nd, dp);
        } else {
                /* %g with the shortest precision switches to %e by the exponent against 6 */
                if (dp - 1 < -4 || dp - 1 >= 6)
                        w += put_e(buf + w, d, nd, dp, false);
                else
                        w += put_f(buf + w, d, nd, dp);
        }
        buf[w] = '\0';
}

/* time's getnum(): one or two digits (exactly two when fixed). */
static bool getnum(const char **p, const char *end, bool fixed, int *ret)
{
        const char *s = *p;

        if (s >= end || !is_digit(s[0]))
                return false;
        if (s + 1 >= end || !is_digit(s[1])) {
                if (fixed)
                        return false;
                *ret = s[0] - '0';
                *p = s + 1;
                return true;
        }
        *ret = (s[0] - '0') * 10 + (s[1] - '0');
        *p = s + 2;
        return true;
}

static int days_in(int month, int year)
{
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

        return month == 2 && leap ? 29 : days[month - 1];
}

/* The clock and zone part of the layouts; sep is 'T', 't' or ' ' (no zone after ' '). */
static bool parse_clock(const char **pp, const char *end, char sep)
{
        const char *p = *pp;
        int hour, min, sec, zh, zm;

        if (p >= end || *p != sep)
                return false;
        while (p < end && *p == sep && sep == ' ') /* time.Parse treats a run of spaces as one */
                p++;
        if (sep != ' ')
                p++;
        if (!getnum(&p, end, false, &hour) || hour >= 24 || p >= end || *p++ != ':' ||
            !getnum(&p, end, false, &min) || min >= 60 || p >= end || *p++ != ':' ||
            !getnum(&p, end, false, &sec) || sec >= 60)
                return false;
        if (end - p >= 2 && (*p == '.' || *p == ',') && is_digit(p[1]))
                for (p++; p < end && is_digit(*p); p++)
                        ;
        if (sep != ' ') {
                if (p < end && *p == 'Z') {
                        p++;
                } else {
                        const char *h = p + 1, *m = p + 4;

                        if (end - p < 6 || p[3] != ':' || (*p != '+' && *p != '-') ||
                            !getnum(&h, end, true, &zh) || !getnum(&m, end, true, &zm) || zh > 24 || zm > 60)
                                return false;
                        p += 6;
                }
        }
        *pp = p;
        return true;
}

bool ima_go_is_timestamp(const char *s, size_t len)
{
        static const char seps[] = { 'T', 't', ' ', '\0' };
        const char *end = s + len;
        int year, month, day;
        const char *p;
        size_t i;

        for (i = 0; i < len && is_digit(s[i]); i++)
                ;
        if (i != 4 || i == len || s[i] != '-')
                return false;
        year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        p = s + 5;
        if (!getnum(&p, end, false, &month) || month < 1 || month > 12 || p >= end || *p++ != '-' ||
            !getnum(&p, end, false, &day))
                return false;
        if (day < 1 || day > days_in(month, year))
                return false;
        for (size_t k = 0; k < ARRAY_SIZE(seps); k++) {
                const char *q = p;

                if (seps[k] && !parse_clock(&q, end, seps[k]))
                        continue;
                if (q == end)
                        return true;
        }
        return false;
}

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (is_digit(c))
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int ima_go_base64_decode(const char *s, size_t len, char *out, size_t *ret_len)
{
        size_t w = 0, i = 0;

        for (;;) {
                int q[4], j = 0;

                while (j < 4) {
                        while (i < len && (s[i] == '\r' || s[i] == '\n'))
                                i++;
                        if (i == len)
                                break;
                        if (s[i] == '=')
                                break;
                        q[j] = b64_value(s[i]);
                        if (q[j] < 0)
                                return -EINVAL;
                        i++;
                        j++;
                }
                if (j == 0 && i == len) {
                        *ret_len = w;
                        return 0;
                }
                if (j < 4 && i == len)
                        return -EINVAL; /* unpadded tail */
                if (j < 4) { /* padding: "xx==" or "xxx=", then only line breaks */
                        if (j < 2)
                                return -EINVAL;
                        i++;
                        if (j == 2) {
                                while (i < len && (s[i] == '\r' || s[i] == '\n'))
                                        i++;
                                if (i == len || s[i] != '=')
                                        return -EINVAL;
                                i++;
                        }
                        while (i < len && (s[i] == '\r' || s[i] == '\n'))
                                i++;
                        if (i != len)
                                return -EINVAL;
                }
                out[w++] = (char)(q[0] << 2 | q[1] >> 4);
                if (j > 2)
                        out[w++] = (char)((q[1] & 0xf) << 4 | q[2] >> 2);
                if (j > 3)
                        out[w++] = (char)((q[2] & 0x3) << 6 | q[3]);
                if (j < 4) {
                        *ret_len = w;
                        return 0;
                }
        }
}
