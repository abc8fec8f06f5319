#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "diag.h"
#include "memstream.h"

int ima_diag_new(const char *file, struct ima_diag **ret)
{
        struct ima_diag *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->file = strdup(file ? file : "-");
        if (!d->file) {
                free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

struct ima_diag *ima_diag_free(struct ima_diag *d)
{
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_entries; i++) {
                free(d->entries[i].key);
                free(d->entries[i].value);
                free(d->entries[i].message);
        }
        free(d->entries);
        free(d->file);
        free(d);
        return NULL;
}

/* How much of a key or value of len bytes an entry keeps. */
static size_t shown_bytes(size_t len)
{
        return len < IMA_DIAG_SHOWN_MAX ? len : IMA_DIAG_SHOWN_MAX;
}

static char *memdup_text(const char *s, size_t len)
{
        char *t = malloc(len + 1);

        if (t) {
                memcpy(t, s, len);
                t[len] = '\0';
        }
        return t;
}

_printf_(7, 0) static int diag_record(struct ima_diag *d, enum ima_diag_level level, struct ima_pos pos,
                                      const char *key, const char *value, size_t value_len, const char *fmt,
                                      va_list ap)
{
        int saved_errno = errno; /* what a "%m" in fmt reports: the realloc may change errno */
        struct ima_diag_entry *e;

        /* doubling: a file with 100,000 bad CIDRs stays linear */
        if (IMA_ARRAY_RESERVE(d->entries, d->cap_entries, d->n_entries, 8) < 0)
                return -ENOMEM;
        e = &d->entries[d->n_entries];
        *e = (struct ima_diag_entry){ .level = level, .pos = pos, .seq = d->n_entries };
        errno = saved_errno;
        if (vasprintf(&e->message, fmt, ap) < 0) {
                e->message = NULL;
                return -ENOMEM;
        }
        e->key = key ? strndup(key, IMA_DIAG_SHOWN_MAX) : NULL;
        e->value = value ? memdup_text(value, shown_bytes(value_len)) : NULL;
        e->key_bytes = key ? strlen(key) : 0;
        e->value_bytes = value ? value_len : 0;
        if ((key && !e->key) || (value && !e->value)) {
                free(e->key);
                free(e->value);
                free(e->message);
                return -ENOMEM;
        }
        d->n_entries++;
        if (level == IMA_DIAG_ERROR)
                d->n_errors++;
        return 0;
}

_printf_(7, 0) static int diag_addv(struct ima_diag *d, enum ima_diag_level level, struct ima_pos pos,
                                    const char *key, const char *value, size_t value_len, const char *fmt,
                                    va_list ap)
{
        int r = diag_record(d, level, pos, key, value, value_len, fmt, ap);

        if (r < 0)
                d->lost = true;
        return r;
}

int ima_diag_error(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value,
                   const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, IMA_DIAG_ERROR, pos, key, value, value ? strlen(value) : 0, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

int ima_diag_error_n(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value, size_t value_len,
                     const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, IMA_DIAG_ERROR, pos, key, value, value_len, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EINVAL;
}

int ima_diag_warn(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value,
                  const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, IMA_DIAG_WARNING, pos, key, value, value ? strlen(value) : 0, fmt, ap);
        va_end(ap);
        return r;
}

static int entry_cmp(const void *a, const void *b)
{
        const struct ima_diag_entry *x = a, *y = b;

        if (x->pos.line != y->pos.line)
                return x->pos.line < y->pos.line ? -1 : 1;
        if (x->pos.col != y->pos.col)
                return x->pos.col < y->pos.col ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void ima_diag_sort(struct ima_diag *d)
{
        if (d->n_entries > 1)
                qsort(d->entries, d->n_entries, sizeof(*d->entries), entry_cmp);
}

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

/* Writes len bytes of s with backslash escapes for quotes, backslashes, control bytes (NUL
 * included), invisible characters and bytes that are not UTF-8, so that none reaches a terminal
 * or a log line raw (a key is written as is in the file: "a\x1b[31m" would colour the operator's
 * terminal). */
static void put_escaped(FILE *f, const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s, *end = p + len;

        while (p < end) {
                size_t n = 1;
                int32_t cp = utf8_decode(p, (size_t)(end - p), &n);

                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f || cp < 0)
                        fprintf(f, "\\x%02x", *p);
                else if (invisible(cp))
                        fprintf(f, "\\u%04x", (unsigned)cp);
                else
                        fwrite(p, 1, n, f);
                p += n;
        }
}

/* After a key or value the entry keeps only the start of: how long it was. */
static void put_cut(FILE *f, size_t kept, size_t bytes)
{
        if (bytes > kept)
                fprintf(f, "... (%zu bytes in all)", bytes);
}

/* Quotes a value Go-style so stray spaces, tabs and invisible bytes show up in the message. */
static void quote_value(FILE *f, const struct ima_diag_entry *e)
{
        size_t kept = shown_bytes(e->value_bytes);

        fputc('"', f);
        put_escaped(f, e->value, kept);
        fputc('"', f);
        put_cut(f, kept, e->value_bytes);
}

char *ima_diag_entry_format(const struct ima_diag *d, const struct ima_diag_entry *e)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        fputs(d->file, f);
        if (e->pos.line > 0) {
                fprintf(f, ":%u", e->pos.line);
                if (e->pos.col > 0)
                        fprintf(f, ":%u", e->pos.col);
        }
        fputs(": ", f);
        if (e->level == IMA_DIAG_WARNING)
                fputs("warning: ", f);
        if (e->key) {
                put_escaped(f, e->key, strlen(e->key));
                put_cut(f, strlen(e->key), e->key_bytes);
                fputs(": ", f);
        }
        fputs(e->message, f);
        if (e->value) {
                fputs(" (value ", f);
                quote_value(f, e);
                fputc(')', f);
        }
        ima_memstream_close(f, &buf);
        return buf;
}
