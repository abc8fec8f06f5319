#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "diag.h"
#include "escape.h"
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

/* n, or less so that s[0..n) does not end inside a UTF-8 character: a key or value cut to fit a
 * message ends with whole characters, not with the escaped first bytes of one. */
static size_t utf8_boundary(const char *s, size_t n)
{
        for (size_t back = 1; back <= 3 && back <= n; back++) {
                unsigned char c = (unsigned char)s[n - back];
                size_t need;

                if ((c & 0xc0) == 0x80)
                        continue; /* a continuation byte: look further back for the lead byte */
                need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
                return need > back ? n - back : n;
        }
        return n;
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

        if (kept < e->value_bytes)
                kept = utf8_boundary(e->value, kept);
        fputc('"', f);
        ima_fput_escaped(f, e->value, kept);
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
                size_t key_len = strlen(e->key);
                /* escapes show the rest, but not a space at either end, nor an empty key: quoted,
                 * "nonMasqueradeCIDRs ": ...; did you mean nonMasqueradeCIDRs? */
                bool quote = key_len == 0 || e->key[0] == ' ' || e->key[key_len - 1] == ' ';

                if (key_len < e->key_bytes)
                        key_len = utf8_boundary(e->key, key_len);
                if (quote)
                        fputc('"', f);
                ima_fput_escaped(f, e->key, key_len);
                if (quote)
                        fputc('"', f);
                put_cut(f, key_len, e->key_bytes);
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
