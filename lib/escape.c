#include <stdint.h>

#include "escape.h"

/* The code point of the UTF-8 sequence at p (at most left bytes) and its length in *ret_len, or
 * -1 for a byte that does not start a valid, shortest-form sequence. */
static int32_t utf8_decode(const unsigned char *p, size_t left, size_t *ret_len)
{
        static const int32_t min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
        size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 1;
        int32_t cp = n == 1 ? p[0] : p[0] & (0x3f >> (n - 1));

        if (n == 1 || n > left || p[0] > 0xf4)
                return p[0] < 0x80 ? p[0] : -1;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return -1;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return -1;
        *ret_len = n;
        return cp;
}

/* Characters that print as nothing or as a plain space: in a value they look like a typo that is
 * not there ("1s<U+200B>" reads as "1s"), so they are shown as escapes, as Go's %q shows them. */
static bool invisible(int32_t cp)
{
        return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad || (cp >= 0x2000 && cp <= 0x200f) ||
               (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x3000 ||
               cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

/* The character at p (*ret_n bytes): whether it is shown as it is. */
static bool shown_plain(const unsigned char *p, const unsigned char *end, size_t *ret_n, int32_t *ret_cp)
{
        *ret_n = 1;
        *ret_cp = utf8_decode(p, (size_t)(end - p), ret_n);
        return *p != '"' && *p != '\\' && *p >= 0x20 && *p != 0x7f && *ret_cp >= 0 && !invisible(*ret_cp);
}

void ima_fput_escaped(FILE *f, const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                size_t n;
                int32_t cp;

                if (shown_plain(p, end, &n, &cp))
                        fwrite(p, 1, n, f);
                else if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p == '\r')
                        fputs("\\r", f);
                else if (cp < 0 || *p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fprintf(f, "\\u%04x", (unsigned)cp);
                p += n;
        }
}

bool ima_escape_needed(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                size_t n;
                int32_t cp;

                if (!shown_plain(p, end, &n, &cp))
                        return true;
                p += n;
        }
        return false;
}
