#include <errno.h>
#include <execinfo.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd/log.h"
#include "lib/escape.h"
#include "lib/goconv.h"
#include "lib/json-text.h"
#include "lib/memstream.h"

struct vmodule_rule {
        char *pattern;
        int level;
};

static int log_verbosity;
static enum log_format log_format;
static struct vmodule_rule *vmodule;
static size_t n_vmodule;
static bool skip_headers, add_dir_header;
static char *backtrace_file; /* --log_backtrace_at, or NULL */
static int backtrace_line;

void log_set_verbosity(int v)
{
        log_verbosity = v;
}

int log_get_verbosity(void)
{
        return log_verbosity;
}

/* The source path as the project names it. The build maps __FILE__ so (meson.build); the "../"
 * meson puts before it is dropped too for a compiler that cannot. */
static const char *source_path(const char *file)
{
        while (strncmp(file, "../", 3) == 0)
                file += 3;
        return file;
}

static const char *base_name(const char *file)
{
        const char *slash = strrchr(file, '/');

        return slash ? slash + 1 : file;
}

static void vmodule_clear(void)
{
        for (size_t i = 0; i < n_vmodule; i++)
                free(vmodule[i].pattern);
        free(vmodule);
        vmodule = NULL;
        n_vmodule = 0;
}

int log_set_vmodule(const char *spec)
{
        _cleanup_free_ char *copy = strdup(spec);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        vmodule_clear();
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                struct vmodule_rule *v;
                int64_t level;
                uint64_t unused;

                if (!eq || eq == item)
                        goto invalid;
                *eq = '\0';
                /* klog: strconv.ParseInt(N, 10, 32), not negative; a 0 is dropped, so that a later
                 * pattern can still match the file */
                if (ima_go_parse_int(eq + 1, 10, &level, &unused) != IMA_GO_INT || level < 0 || level > INT32_MAX)
                        goto invalid;
                if (level == 0)
                        continue;
                v = realloc(vmodule, (n_vmodule + 1) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                vmodule = v;
                vmodule[n_vmodule].pattern = strdup(item);
                if (!vmodule[n_vmodule].pattern)
                        return -ENOMEM;
                vmodule[n_vmodule++].level = (int)level;
        }
        return 0;
invalid:
        vmodule_clear();
        return -EINVAL;
}

bool log_v_enabled(int level, const char *file)
{
        char name[256];
        const char *path, *dot;

        if (log_verbosity >= level)
                return true;
        if (n_vmodule == 0)
                return false;
        /* klog matches the file name without its extension, or the path when the pattern has a '/' */
        path = source_path(file);
        for (size_t i = 0; i < n_vmodule; i++) {
                const char *subject = strchr(vmodule[i].pattern, '/') ? path : base_name(path);

                dot = strrchr(subject, '.');
                snprintf(name, sizeof(name), "%.*s", (int)(dot ? dot - subject : (ptrdiff_t)strlen(subject)),
                         subject);
                if (fnmatch(vmodule[i].pattern, name, 0) == 0)
                        return vmodule[i].level >= level;
        }
        return false;
}

void log_set_headers(bool skip, bool add_dir)
{
        skip_headers = skip;
        add_dir_header = add_dir;
}

int log_set_backtrace_at(const char *spec)
{
        const char *colon = strchr(spec, ':');
        int64_t line;
        uint64_t unused;
        char *file;

        if (*spec == '\0') { /* klog's default: off */
                free(backtrace_file);
                backtrace_file = NULL;
                return 0;
        }
        /* klog: exactly one ':', a '.' in the file name, strconv.Atoi of a positive line */
        if (!colon || strchr(colon + 1, ':') || !memchr(spec, '.', (size_t)(colon - spec)))
                return -EINVAL;
        if (ima_go_parse_int(colon + 1, 10, &line, &unused) != IMA_GO_INT || line <= 0)
                return -EINVAL;
        file = strndup(spec, (size_t)(colon - spec));
        if (!file)
                return -ENOMEM;
        free(backtrace_file);
        backtrace_file = file;
        backtrace_line = line > INT_MAX ? 0 : (int)line; /* 0: no source line has it, as in klog */
        return 0;
}

void log_set_format(enum log_format f)
{
        log_format = f;
}

enum log_format log_get_format(void)
{
        return log_format;
}

int log_format_from_string(const char *s, enum log_format *ret)
{
        if (strcmp(s, "text") == 0)
                *ret = LOG_FORMAT_TEXT;
        else if (strcmp(s, "json") == 0)
                *ret = LOG_FORMAT_JSON;
        else
                return -EINVAL;
        return 0;
}

/* What one line says, before it is formatted. */
struct log_line {
        enum log_level level;
        int v;
        int error; /* 0 or an errno, either sign */
        const char *file;
        int line;
        const char *msg;
        bool structured; /* klog quotes the message of structured lines */
        const struct log_field *fields;
        size_t n_fields;
        bool is_backtrace; /* the stack trace line itself: never followed by another */
};

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as in RFC 3629). */
static size_t utf8_sequence_len(const unsigned char *s)
{
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD, as Go's JSON encoders do, because
 * jansson refuses invalid UTF-8 and a log line must never be lost over one bad byte. */
static json_t *json_string_lossy(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        _cleanup_free_ char *copy = NULL;
        size_t len = strlen(s), i = 0, o = 0, n;

        while (i < len && (n = utf8_sequence_len(p + i)) > 0)
                i += n;
        if (i == len)
                return json_string_nocheck(s);
        copy = malloc(len * 3 + 1); /* each bad byte grows to 3 */
        if (!copy)
                return NULL;
        memcpy(copy, s, i);
        for (o = i; i < len; i += n) {
                n = utf8_sequence_len(p + i);
                if (n == 0) {
                        memcpy(copy + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        n = 1;
                } else {
                        memcpy(copy + o, s + i, n);
                        o += n;
                }
        }
        copy[o] = '\0';
        return json_string_nocheck(copy);
}

static json_t *json_field_value(const struct log_field *f)
{
        switch (f->type) {
        case LOG_FIELD_STR:
                return f->s ? json_string_lossy(f->s) : json_null();
        case LOG_FIELD_INT:
                return json_integer(f->i);
        case LOG_FIELD_FLOAT:
                if (isnan(f->f))
                        return json_string("NaN");
                if (isinf(f->f))
                        return json_string(f->f > 0 ? "+Inf" : "-Inf");
                return json_real(f->f);
        case LOG_FIELD_BOOL:
                return json_boolean(f->b);
        }
        return NULL;
}

static int json_set(json_t *o, const char *key, json_t *value)
{
        /* json_object_set_new() frees value on failure and fails on NULL */
        return json_object_set_new(o, key, value);
}

static const char *header_file(const char *file)
{
        return add_dir_header ? source_path(file) : base_name(file);
}

/* The last directory and the file name ("cmd/daemon.c"): what zap's ShortCallerEncoder, which
 * component-base's JSON format uses, writes as "caller", whatever --add_dir_header says. */
static const char *caller_path(const char *file)
{
        const char *name = base_name(file);

        if (name == file)
                return file;
        for (const char *p = name - 1; p > file; p--)
                if (p[-1] == '/')
                        return p;
        return file;
}

/* The JSON form of l, malloc'd, without the newline; NULL on ENOMEM. */
static char *format_json(const struct log_line *l, const struct timeval *tv)
{
        json_t *o = json_object();
        char caller[256];
        char *out = NULL;
        int r = 0;

        if (!o)
                return NULL;
        snprintf(caller, sizeof(caller), "%s:%d", caller_path(l->file), l->line);
        r |= json_set(o, "ts", json_real((double)tv->tv_sec * 1000.0 + (double)tv->tv_usec / 1000.0));
        r |= json_set(o, "caller", json_string_lossy(caller));
        r |= json_set(o, "msg", json_string_lossy(l->msg));
        if (l->level != LOG_LEVEL_ERROR)
                r |= json_set(o, "v", json_integer(l->v));
        if (l->error != 0)
                r |= json_set(o, "err", json_string_lossy(strerror(abs(l->error))));
        for (size_t i = 0; i < l->n_fields; i++)
                r |= json_set(o, l->fields[i].key, json_field_value(&l->fields[i]));
        /* 16 significant digits keep the microseconds of a millisecond timestamp */
        if (r == 0)
                out = ima_json_text(o, JSON_COMPACT | JSON_REAL_PRECISION(16));
        json_decref(o);
        return out;
}

/* s as klog quotes strings (Go's strconv.Quote): in double quotes, with \ " and control
 * characters escaped, and so are characters that print as nothing or as a plain space ("1s\u200b")
 * and bytes that are not UTF-8 ("\xff"), as validate shows them: a value that reads as "1s" in the
 * log must not be the one the agent refused. */
static void put_quoted(FILE *f, const char *s)
{
        fputc('"', f);
        ima_fput_escaped(f, s, strlen(s));
        fputc('"', f);
}

static void put_text_field(FILE *f, const struct log_field *field)
{
        fprintf(f, " %s=", field->key);
        switch (field->type) {
        case LOG_FIELD_STR:
                if (field->s)
                        put_quoted(f, field->s);
                else
                        fputs("<nil>", f);
                return;
        case LOG_FIELD_INT:
                fprintf(f, "%" PRId64, field->i);
                return;
        case LOG_FIELD_FLOAT:
                fprintf(f, "%g", field->f);
                return;
        case LOG_FIELD_BOOL:
                fputs(field->b ? "true" : "false", f);
                return;
        }
}

/* An unstructured message as it is, but on one line: what it quotes from elsewhere (a process
 * name, a library's message) cannot start a line that passes for another entry. */
static void put_one_line(FILE *f, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\r')
                        fputs("\\r", f);
                else if (*p < 0x20 && *p != '\t')
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
}

/* The klog form of l, malloc'd, without the newline; NULL on ENOMEM. */
static char *format_text(const struct log_line *l, const struct timeval *tv)
{
        static const char letters[] = { [LOG_LEVEL_INFO] = 'I', [LOG_LEVEL_WARNING] = 'W', [LOG_LEVEL_ERROR] = 'E' };
        char *out = NULL;
        size_t out_len;
        struct tm tm;
        FILE *f;

        f = open_memstream(&out, &out_len);
        if (!f)
                return NULL;
        localtime_r(&tv->tv_sec, &tm); /* klog prints local time (UTC in most containers) */
        if (!skip_headers)
                fprintf(f, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] ", letters[l->level], tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv->tv_usec, (int)getpid(),
                        header_file(l->file), l->line);
        if (l->structured)
                put_quoted(f, l->msg);
        else
                put_one_line(f, l->msg);
        if (l->error != 0) {
                fputs(" err=", f);
                put_quoted(f, strerror(abs(l->error)));
        }
        for (size_t i = 0; i < l->n_fields; i++)
                put_text_field(f, &l->fields[i]);
        ima_memstream_close(f, &out);
        return out;
}

static void emit(const struct log_line *l);

/* --log_backtrace_at: the stack of the logging call, in the destinations of the line. */
static void emit_backtrace(const struct log_line *l)
{
        void *frames[64];
        int n = backtrace(frames, (int)ARRAY_SIZE(frames));
        _cleanup_free_ char **symbols = backtrace_symbols(frames, n);
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        if (!symbols || !(f = open_memstream(&out, &len)))
                return;
        if (log_format == LOG_FORMAT_TEXT)
                fprintf(f, "stack trace (--log_backtrace_at=%s:%d):\n", backtrace_file, backtrace_line);
        for (int i = 0; i < n; i++)
                fprintf(f, "%s\n", symbols[i]);
        if (!ima_memstream_close(f, &out))
                return;
        if (log_format == LOG_FORMAT_TEXT) /* raw lines after the logged one, as klog writes them */
                log_output_write(l->level, out, len);
        else /* one more JSON line, so that every line still parses */
                emit(&(const struct log_line){
                        .level = l->level, .v = l->v, .file = l->file, .line = l->line, .msg = "Stack trace",
                        .structured = true, .n_fields = 1, .is_backtrace = true,
                        .fields = (const struct log_field[]){ LOG_STR("stacktrace", out) },
                });
        free(out);
}

static void emit(const struct log_line *l)
{
        _cleanup_free_ char *text = NULL;
        struct timeval tv;
        size_t len;
        char *t;

        gettimeofday(&tv, NULL);
        if (log_format == LOG_FORMAT_JSON)
                text = format_json(l, &tv);
        /* out of memory (or text format): the plain line still carries the message */
        if (!text)
                text = format_text(l, &tv);
        if (!text && asprintf(&text, "%s", l->msg) < 0)
                return;
        /* the newline joins the line so that it goes out in one write */
        len = strlen(text);
        t = realloc(text, len + 2);
        if (!t)
                return;
        text = t;
        text[len++] = '\n';
        text[len] = '\0';
        log_output_write(l->level, text, len);
        if (backtrace_file && !l->is_backtrace && l->line == backtrace_line && strcmp(base_name(l->file), backtrace_file) == 0)
                emit_backtrace(l);
}

void log_writev(enum log_level level, int v, int error, const char *file, int line, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        emit(&(const struct log_line){
                .level = level, .v = v, .error = error, .file = file, .line = line,
                .msg = msg ? msg : fmt,
        });
}

void log_write(enum log_level level, int v, int error, const char *file, int line, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_writev(level, v, error, file, line, fmt, ap);
        va_end(ap);
}

void log_write_kv(enum log_level level, int v, int error, const char *file, int line, const char *msg,
                  const struct log_field *fields, size_t n_fields)
{
        emit(&(const struct log_line){
                .level = level, .v = v, .error = error, .file = file, .line = line, .msg = msg,
                .structured = true, .fields = fields, .n_fields = n_fields,
        });
}
