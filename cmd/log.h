/* log.h: the agent's one logger. Every line goes to stderr in one write, in one of two formats:
 *
 * text (default), Kubernetes klog lines:
 *   I1124 13:45:00.123456    1234 file.c:42] message
 *   E1124 13:45:00.123456    1234 file.c:42] message err="No such file or directory"
 *   I1124 13:45:00.123456    1234 file.c:42] "structured message" set="nomasq-dst" added=3
 *
 * json (--log-format=json), what k8s.io/component-base/logs/json writes, one object per line:
 *   {"ts":1764000000123.456,"caller":"file.c:42","msg":"message","v":0}
 *   {"ts":1764000000123.456,"caller":"file.c:42","msg":"message","err":"No such file or directory"}
 *   {"ts":...,"caller":...,"msg":"structured message","v":2,"set":"nomasq-dst","added":3}
 * "ts" is Unix time in MILLISECONDS (a float), as component-base's code emits it (the Kubernetes
 * docs' example shows seconds, the encoder divides nanoseconds by 1e6). Info lines carry "v" (the
 * verbosity they were logged at); error lines carry no "v" but "err" when there is an errno. As
 * klog does with a JSON backend, warnings come out as info at v=0. Invalid UTF-8 in a message
 * becomes U+FFFD, so every line parses.
 *
 * Owns the process-wide settings of klog's flags (verbosity, --vmodule, headers, destinations:
 * see log-output.c), set once by main.c. Never exits the process and never buffers. Not
 * thread-safe (the agent has one thread). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/macro.h"

enum log_level {
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_ERROR,
};

enum log_format {
        LOG_FORMAT_TEXT,
        LOG_FORMAT_JSON,
};

enum log_field_type {
        LOG_FIELD_STR,
        LOG_FIELD_INT,
        LOG_FIELD_FLOAT,
        LOG_FIELD_BOOL,
};

/* One key/value of a structured line; build them with LOG_STR/LOG_INT/LOG_FLOAT/LOG_BOOL. The keys
 * "ts", "caller", "msg", "v" and "err" are the line's own: a field with one of those names
 * replaces it in JSON, so don't use them. */
struct log_field {
        const char *key;
        enum log_field_type type;
        union {
                const char *s; /* NULL prints as <nil> / null */
                int64_t i;
                double f;      /* NaN and infinities print as strings, as zap does */
                bool b;        /* true/false, unquoted in both formats */
        };
};

#define LOG_STR(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_STR, .s = (v) })
#define LOG_INT(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_INT, .i = (v) })
#define LOG_FLOAT(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_FLOAT, .f = (v) })
#define LOG_BOOL(k, v) ((struct log_field){ .key = (k), .type = LOG_FIELD_BOOL, .b = (v) })

void log_set_verbosity(int v);
int log_get_verbosity(void);
/* klog's --vmodule: "pattern=N,..." raises the verbosity for source files whose name (without
 * directory and ".c"; with a '/' in the pattern, the path) matches the glob. 0, or -EINVAL. */
int log_set_vmodule(const char *spec);
/* Whether a log_v(level) line from file is written: --v, or a --vmodule pattern. */
bool log_v_enabled(int level, const char *file);
/* --skip_headers: text lines without the "I1124 ... file:line] " header. --add_dir_header: the
 * header names cmd/daemon.c rather than daemon.c. */
void log_set_headers(bool skip_headers, bool add_dir_header);
/* --log_backtrace_at=file.c:N: a line logged there is followed by a stack trace. 0, -EINVAL. */
int log_set_backtrace_at(const char *spec);

/* Where lines go: klog's destination flags. */
struct log_output_options {
        bool to_stderr;                  /* --logtostderr (default true): stderr only */
        bool also_to_stderr;             /* --alsologtostderr: with files, lines on stderr too */
        /* klog's severity numbers, any int32 as klog takes them (INFO 0 .. FATAL 3): a line of
         * severity >= the threshold passes; below 0 every line, above 2 none (no FATAL lines) */
        int stderr_threshold;            /* --stderrthreshold: with files, these and worse on stderr */
        int also_stderr_threshold;       /* --alsologtostderrthreshold: with --alsologtostderr (INFO) */
        bool stderr_threshold_always;    /* --legacy_stderr_threshold_behavior=false: the threshold
                                          * filters --logtostderr output too */
        const char *file;                /* --log_file: one file for everything */
        const char *dir;                 /* --log_dir: klog's per-severity files (when no --log_file) */
        uint64_t max_size_mb;            /* --log_file_max_size: rotate beyond; 0 = never */
        bool one_output;                 /* --one_output: a line only in its own severity's file */
        bool skip_log_headers;           /* --skip_log_headers: no "Log file created at" block */
        const char *program_description; /* the "Binary:" line of that block */
};
/* Opens the first file at once, so a bad path fails at start: -errno, and stderr is used. */
int log_set_output(const struct log_output_options *o);
/* One finished line (with its newline) to the destinations: for log.c. */
void log_output_write(enum log_level level, const char *line, size_t len);

void log_set_format(enum log_format f);
enum log_format log_get_format(void);
/* "text" or "json" (the values of --log-format), else -EINVAL. */
int log_format_from_string(const char *s, enum log_format *ret);

/* A printf-style line. v: the verbosity it was logged at (JSON "v"); error: 0, or an errno of
 * either sign, printed as err="strerror". Callers use the macros below. */
void log_write(enum log_level level, int v, int error, const char *file, int line, const char *fmt, ...)
        _printf_(6, 7);
void log_writev(enum log_level level, int v, int error, const char *file, int line, const char *fmt,
                va_list ap) _printf_(6, 0);
/* A structured line (klog's InfoS/ErrorS): msg is a constant-like text, details go in fields. */
void log_write_kv(enum log_level level, int v, int error, const char *file, int line, const char *msg,
                  const struct log_field *fields, size_t n_fields);

#define log_info(...) log_write(LOG_LEVEL_INFO, 0, 0, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, 0, 0, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, 0, 0, __FILE__, __LINE__, __VA_ARGS__)
/* Info only when --v is at least level; the arguments are not evaluated otherwise. */
#define log_v(level, ...)                                                               \
        do {                                                                            \
                if (log_v_enabled((level), __FILE__))                                   \
                        log_write(LOG_LEVEL_INFO, (level), 0, __FILE__, __LINE__, __VA_ARGS__); \
        } while (0)
/* Log with err="strerror(r)" and evaluate to -|r|: "return log_error_errno(r, "...", ...);". */
#define log_error_errno(r, ...)                                                         \
        ({                                                                              \
                int _le_r = (r);                                                        \
                log_write(LOG_LEVEL_ERROR, 0, _le_r, __FILE__, __LINE__, __VA_ARGS__);  \
                _le_r < 0 ? _le_r : -_le_r;                                             \
        })
#define log_warning_errno(r, ...)                                                       \
        ({                                                                              \
                int _le_r = (r);                                                        \
                log_write(LOG_LEVEL_WARNING, 0, _le_r, __FILE__, __LINE__, __VA_ARGS__); \
                _le_r < 0 ? _le_r : -_le_r;                                             \
        })

/* Structured lines: log_info_kv("reconciled", LOG_STR("set", name), LOG_INT("added", n)). Each
 * field expression is evaluated once. */
#define log_kv_(level, v, error, msg, ...)                                              \
        do {                                                                            \
                const struct log_field _lf_[] = { __VA_ARGS__ };                        \
                log_write_kv((level), (v), (error), __FILE__, __LINE__, (msg), _lf_, ARRAY_SIZE(_lf_)); \
        } while (0)
#define log_info_kv(msg, ...) log_kv_(LOG_LEVEL_INFO, 0, 0, msg, __VA_ARGS__)
#define log_warning_kv(msg, ...) log_kv_(LOG_LEVEL_WARNING, 0, 0, msg, __VA_ARGS__)
/* r: 0 or an errno (err="..." comes first after the message, as in klog's ErrorS). */
#define log_error_kv(r, msg, ...) log_kv_(LOG_LEVEL_ERROR, 0, (r), msg, __VA_ARGS__)
#define log_v_kv(level, msg, ...)                                                       \
        do {                                                                            \
                if (log_v_enabled((level), __FILE__))                                   \
                        log_kv_(LOG_LEVEL_INFO, (level), 0, msg, __VA_ARGS__);          \
        } while (0)
