/* The logger's two formats: klog text lines match klog's header pattern, JSON lines parse with
 * jansson and carry the fields (and in the order) that k8s.io/component-base/logs/json writes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd/log.h"
#include "tests.h"

/* stderr is redirected to a temporary file while a case logs, then read back. */
static int saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
        fflush(stderr);
        capture_file = tmpfile();
        saved_stderr = dup(STDERR_FILENO);
        if (!capture_file || saved_stderr < 0 || dup2(fileno(capture_file), STDERR_FILENO) < 0) {
                perror("capture");
                exit(2);
        }
}

/* Everything logged since capture_start(), malloc'd. */
static char *capture_end(void)
{
        char *buf;
        long len;

        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        len = ftell(capture_file);
        buf = calloc(1, (size_t)len + 1);
        if (!buf || fseek(capture_file, 0, SEEK_SET) < 0 || fread(buf, 1, (size_t)len, capture_file) != (size_t)len) {
                perror("capture");
                exit(2);
        }
        fclose(capture_file);
        return buf;
}

static bool matches(const char *pattern, const char *text)
{
        regex_t re;
        bool ok;

        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
                fprintf(stderr, "bad pattern %s\n", pattern);
                return false;
        }
        ok = regexec(&re, text, 0, NULL, 0) == 0;
        if (!ok)
                fprintf(stderr, "\"%s\"\n  does not match %s\n", text, pattern);
        regfree(&re);
        return ok;
}

/* The klog header for a line logged from this file at `line`, as an anchored regex prefix. */
static char *klog_prefix(char level, int line)
{
        char *p;

        if (asprintf(&p, "^%c[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} +%d test-log\\.c:%d\\] ", level,
                     (int)getpid(), line) < 0)
                exit(2);
        return p;
}

static bool text_line_is(char level, int line, const char *out, const char *rest_regex)
{
        _cleanup_free_ char *prefix = klog_prefix(level, line);
        _cleanup_free_ char *pattern = NULL;

        if (asprintf(&pattern, "%s%s\n$", prefix, rest_regex) < 0)
                exit(2);
        return matches(pattern, out);
}

static void test_text_printf(void)
{
        _cleanup_free_ char *out = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        capture_start();
        line = __LINE__; log_info("hello %d", 42);
        out = capture_end();
        CHECK(text_line_is('I', line, out, "hello 42"));
        free(out);

        capture_start();
        line = __LINE__; log_warning("careful");
        out = capture_end();
        CHECK(text_line_is('W', line, out, "careful"));
}

/* what an unstructured message quotes from elsewhere (a process name) stays on its line */
static void test_text_one_line(void)
{
        _cleanup_free_ char *out = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        capture_start();
        line = __LINE__; log_info("changed by %s", "x\nE0101 00:00:00.000000 1 forged.c:1] boo\r\x1b[31m");
        out = capture_end();
        CHECK(text_line_is('I', line, out, "changed by x\\\\nE0101 00:00:00\\.000000 1 forged\\.c:1\\] boo\\\\r\\\\x1b\\[31m"));
        CHECK_INT(strchr(out, '\n') - out, (long long)strlen(out) - 1);
}

/* The header's time of day and the JSON "ts" are the clock's at the call: not only their shape.
 * Each lies between readings of the clock taken before and after the line. */
static int64_t usec_of(const struct timeval *tv)
{
        return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

/* One line logged in format between two readings of the clock: the line. */
static char *log_one_between(enum log_format format, struct timeval *before, struct timeval *after)
{
        char *out;

        log_set_format(format);
        capture_start();
        gettimeofday(before, NULL);
        log_info("now");
        gettimeofday(after, NULL);
        out = capture_end();
        log_set_format(LOG_FORMAT_TEXT);
        return out;
}

static void test_timestamps(void)
{
        _cleanup_free_ char *text = NULL, *json = NULL;
        struct timeval before, after;
        struct tm tm_before, tm_after, got = { 0 };
        long usec = -1;
        char level = 0;
        double ts;
        json_t *o;

        text = log_one_between(LOG_FORMAT_TEXT, &before, &after);
        CHECK_INT(sscanf(text, "%c%2d%2d %2d:%2d:%2d.%6ld ", &level, &got.tm_mon, &got.tm_mday, &got.tm_hour,
                         &got.tm_min, &got.tm_sec, &usec), 7);
        /* klog writes local time without the year, the month from 1 */
        localtime_r(&before.tv_sec, &tm_before);
        localtime_r(&after.tv_sec, &tm_after);
        got.tm_year = tm_before.tm_year;
        got.tm_mon--;
        got.tm_isdst = -1;
        /* a new year between the two readings cannot be told from the header: the only pass that
         * proves nothing, once a year for microseconds */
        if (tm_after.tm_year == tm_before.tm_year) {
                int64_t at = (int64_t)mktime(&got) * 1000000 + usec;

                CHECK(usec_of(&before) <= at && at <= usec_of(&after));
        }

        json = log_one_between(LOG_FORMAT_JSON, &before, &after);
        o = json_loads(json, 0, NULL);
        ts = json_real_value(json_object_get(o, "ts"));
        CHECK(json_is_real(json_object_get(o, "ts")));
        /* milliseconds, to the microsecond: a microsecond either way for the double's rounding */
        CHECK(ts * 1000.0 >= (double)(usec_of(&before) - 1) && ts * 1000.0 <= (double)(usec_of(&after) + 1));
        json_decref(o);
}

static void test_text_errno(void)
{
        _cleanup_free_ char *out = NULL, *prefix = NULL;
        int line, r1, r2;

        log_set_format(LOG_FORMAT_TEXT);
        capture_start();
        line = __LINE__; r1 = log_error_errno(-ENOENT, "open %s failed", "/etc/config");
        r2 = log_error_errno(EACCES, "again");
        out = capture_end();
        CHECK_INT(r1, -ENOENT);
        CHECK_INT(r2, -EACCES);
        CHECK(strchr(out, '\n') != NULL);
        if (!strchr(out, '\n'))
                return;
        *strchr(out, '\n') = '\0'; /* first line only */
        CHECK(matches("\\] open /etc/config failed err=\"No such file or directory\"$", out));
        prefix = klog_prefix('E', line);
        CHECK(matches(prefix, out));
}

static void test_text_structured(void)
{
        _cleanup_free_ char *out = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        capture_start();
        line = __LINE__; log_info_kv("reconciled", LOG_STR("set", "nomasq-dst"), LOG_INT("added", 3),
                                     LOG_STR("odd", "a\"b\\c\nd\x01"), LOG_STR("none", NULL), LOG_BOOL("ok", true));
        out = capture_end();
        CHECK(text_line_is('I', line, out,
                           "\"reconciled\" set=\"nomasq-dst\" added=3 odd=\"a\\\\\"b\\\\\\\\c\\\\nd\\\\x01\" none=<nil> ok=true"));
        free(out);

        capture_start();
        line = __LINE__; log_error_kv(-EEXIST, "add failed", LOG_STR("op", "add 3 intervals"));
        out = capture_end();
        CHECK(text_line_is('E', line, out, "\"add failed\" err=\"File exists\" op=\"add 3 intervals\""));
}

/* a value the agent refused shows what it holds, as validate shows it: a zero-width space or a
 * byte that is not UTF-8 escaped as Go's strconv.Quote (klog) escapes it, not written raw, where
 * "1s\u200b" would read as "1s"; printable UTF-8 (µs) stays as it is. At the edges of what Go
 * escapes: a byte-order mark and a narrow no-break space (they print as nothing or as a space);
 * an overlong form of '/' and an encoded surrogate are not UTF-8, so each of their bytes is shown */
static void test_text_invisible(void)
{
        _cleanup_free_ char *out = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        capture_start();
        line = __LINE__; log_error_kv(0, "Invalid configuration", LOG_STR("value", "1s\u200b"),
                                      LOG_STR("cidr", "10.0.0.0/8\xff"), LOG_STR("nbsp", "\u00a0"),
                                      LOG_STR("cr", "a\rb"), LOG_STR("loadTime", "74\u00b5s"),
                                      LOG_STR("bom", "1s\ufeff"), LOG_STR("nnbsp", "1s\u202f"),
                                      LOG_STR("overlong", "10.0.0.0\xc0\xaf" "8"), LOG_STR("surrogate", "\xed\xa0\x80"));
        out = capture_end();
        CHECK(text_line_is('E', line, out,
                           "\"Invalid configuration\" value=\"1s\\\\u200b\" cidr=\"10\\.0\\.0\\.0/8\\\\xff\" "
                           "nbsp=\"\\\\u00a0\" cr=\"a\\\\rb\" loadTime=\"74\u00b5s\" bom=\"1s\\\\ufeff\" "
                           "nnbsp=\"1s\\\\u202f\" overlong=\"10\\.0\\.0\\.0\\\\xc0\\\\xaf8\" "
                           "surrogate=\"\\\\xed\\\\xa0\\\\x80\""));
}

static int evaluated;

static int side_effect(void)
{
        return ++evaluated;
}

static void test_verbosity_gate(void)
{
        _cleanup_free_ char *out = NULL;

        log_set_format(LOG_FORMAT_TEXT);
        log_set_verbosity(1);
        capture_start();
        log_v(2, "hidden %d", side_effect());
        log_v_kv(2, "hidden", LOG_INT("n", side_effect()));
        log_v(1, "shown %d", side_effect());
        out = capture_end();
        CHECK_INT(evaluated, 1);
        CHECK(matches("^I[^\n]*\\] shown 1\n$", out));
        log_set_verbosity(0);
}

/* Parses the single JSON line in out; checks it is one line and lists its keys in order. */
static json_t *parse_json_line(const char *out, char *keys, size_t keys_size)
{
        json_error_t error;
        const char *nl = strchr(out, '\n');
        json_t *o;

        CHECK(nl && nl[1] == '\0');
        o = json_loads(out, 0, &error);
        CHECK(o != NULL);
        if (!o) {
                fprintf(stderr, "not JSON: %s (%s)\n", out, error.text);
                return NULL;
        }
        CHECK(json_is_object(o));
        keys[0] = '\0';
        for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it)) {
                strncat(keys, json_object_iter_key(it), keys_size - strlen(keys) - 2);
                strcat(keys, ",");
        }
        return o;
}

static void check_ts_and_caller(json_t *o, int line)
{
        json_t *ts = json_object_get(o, "ts");
        char caller[64];

        /* milliseconds since the epoch, as component-base writes it: after 2001 in ms is > 1e12,
         * while any seconds value before the year 5000 is < 1e11 */
        CHECK(json_is_real(ts));
        CHECK(json_real_value(ts) > 1e12);
        /* component-base (zap's ShortCallerEncoder): the last directory and the file */
        snprintf(caller, sizeof(caller), "ctest/test-log.c:%d", line);
        CHECK_STR(json_string_value(json_object_get(o, "caller")), caller);
}

static void test_json_info(void)
{
        _cleanup_free_ char *out = NULL;
        char keys[256];
        json_t *o;
        int line;

        log_set_format(LOG_FORMAT_JSON);
        capture_start();
        line = __LINE__; log_info("config %s loaded", "/etc/config/ip-masq-agent");
        out = capture_end();
        CHECK(strncmp(out, "{\"ts\":", 6) == 0);
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_STR(keys, "ts,caller,msg,v,");
        check_ts_and_caller(o, line);
        CHECK_STR(json_string_value(json_object_get(o, "msg")), "config /etc/config/ip-masq-agent loaded");
        CHECK(json_is_integer(json_object_get(o, "v")));
        CHECK_INT(json_integer_value(json_object_get(o, "v")), 0);
        json_decref(o);
}

static void test_json_verbosity_and_warning(void)
{
        _cleanup_free_ char *out = NULL;
        char keys[256];
        json_t *o;

        log_set_format(LOG_FORMAT_JSON);
        log_set_verbosity(3);
        capture_start();
        log_v(3, "detail");
        out = capture_end();
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_INT(json_integer_value(json_object_get(o, "v")), 3);
        json_decref(o);
        free(out);
        log_set_verbosity(0);

        /* klog hands warnings to a JSON backend as info at v=0 */
        capture_start();
        log_warning("falling back to defaults");
        out = capture_end();
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_STR(keys, "ts,caller,msg,v,");
        CHECK_INT(json_integer_value(json_object_get(o, "v")), 0);
        json_decref(o);
}

static void test_json_error(void)
{
        _cleanup_free_ char *out = NULL;
        char keys[256];
        json_t *o;
        int line;

        log_set_format(LOG_FORMAT_JSON);
        capture_start();
        line = __LINE__; (void)log_error_errno(-ENOENT, "cannot read %s", "config");
        out = capture_end();
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        /* errors carry "err" and no "v", as zapr writes klog.ErrorS */
        CHECK_STR(keys, "ts,caller,msg,err,");
        check_ts_and_caller(o, line);
        CHECK_STR(json_string_value(json_object_get(o, "msg")), "cannot read config");
        CHECK_STR(json_string_value(json_object_get(o, "err")), "No such file or directory");
        json_decref(o);
        free(out);

        capture_start();
        log_error("no valid configuration yet");
        out = capture_end();
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_STR(keys, "ts,caller,msg,");
        json_decref(o);
}

static void test_json_structured(void)
{
        _cleanup_free_ char *out = NULL;
        char keys[256];
        json_t *o;

        log_set_format(LOG_FORMAT_JSON);
        log_set_verbosity(2);
        capture_start();
        log_v_kv(2, "reconciled", LOG_STR("set", "nomasq-dst"), LOG_INT("added", -3),
                 LOG_FLOAT("seconds", 0.25), LOG_STR("none", NULL), LOG_FLOAT("nan", NAN), LOG_BOOL("ok", false));
        out = capture_end();
        log_set_verbosity(0);
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_STR(keys, "ts,caller,msg,v,set,added,seconds,none,nan,ok,");
        CHECK_STR(json_string_value(json_object_get(o, "msg")), "reconciled");
        CHECK_INT(json_integer_value(json_object_get(o, "v")), 2);
        CHECK_STR(json_string_value(json_object_get(o, "set")), "nomasq-dst");
        CHECK(json_is_integer(json_object_get(o, "added")));
        CHECK_INT(json_integer_value(json_object_get(o, "added")), -3);
        CHECK(json_is_real(json_object_get(o, "seconds")));
        CHECK(json_real_value(json_object_get(o, "seconds")) == 0.25);
        CHECK(json_is_null(json_object_get(o, "none")));
        CHECK_STR(json_string_value(json_object_get(o, "nan")), "NaN");
        CHECK(json_is_false(json_object_get(o, "ok")));
        json_decref(o);
        free(out);

        capture_start();
        log_error_kv(EEXIST, "commit failed", LOG_STR("op", "add table ip ip-masq-agent"));
        out = capture_end();
        o = parse_json_line(out, keys, sizeof(keys));
        if (!o)
                return;
        CHECK_STR(keys, "ts,caller,msg,err,op,");
        CHECK_STR(json_string_value(json_object_get(o, "err")), "File exists");
        json_decref(o);
}

static void test_json_escaping(void)
{
        static const struct {
                const char *in, *want;
        } cases[] = {
                { "quote \" backslash \\ slash /", "quote \" backslash \\ slash /" },
                { "new\nline\ttab\r\x01\x1f", "new\nline\ttab\r\x01\x1f" },
                { "<&> 10.0.0.0/8 \xc2\xb5s \xe2\x82\xac \xf0\x9f\x90\xa7", "<&> 10.0.0.0/8 \xc2\xb5s \xe2\x82\xac \xf0\x9f\x90\xa7" },
                /* not UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a
                 * surrogate, a code point past U+10FFFF; each bad byte becomes U+FFFD */
                { "a\x80z", "a\xef\xbf\xbdz" },
                { "a\xe2\x82", "a\xef\xbf\xbd\xef\xbf\xbd" },
                { "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
                { "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
                { "\xf4\x90\x80\x80!", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!" },
                { "", "" },
        };

        log_set_format(LOG_FORMAT_JSON);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *out = NULL;
                char keys[256];
                json_t *o;

                capture_start();
                log_info("%s", cases[i].in);
                log_info_kv("kv", LOG_STR("value", cases[i].in));
                out = capture_end();
                /* two lines, each one JSON object with no raw control characters */
                char *second = strchr(out, '\n');
                CHECK(second != NULL);
                if (!second)
                        continue;
                second++;
                for (const char *p = out; *p; p++)
                        CHECK(*p == '\n' || (unsigned char)*p >= 0x20);
                second[-1] = '\0';
                o = json_loads(out, 0, NULL);
                CHECK(o != NULL);
                CHECK_STR(json_string_value(json_object_get(o, "msg")), cases[i].want);
                json_decref(o);
                second[-1] = '\n';
                o = parse_json_line(second, keys, sizeof(keys));
                CHECK(o != NULL);
                CHECK_STR(json_string_value(json_object_get(o, "value")), cases[i].want);
                json_decref(o);
        }
}

static void test_format_names(void)
{
        enum log_format f = LOG_FORMAT_TEXT;

        CHECK_INT(log_format_from_string("json", &f), 0);
        CHECK_INT(f, LOG_FORMAT_JSON);
        CHECK_INT(log_format_from_string("text", &f), 0);
        CHECK_INT(f, LOG_FORMAT_TEXT);
        CHECK_INT(log_format_from_string("JSON", &f), -EINVAL);
        CHECK_INT(log_format_from_string("", &f), -EINVAL);
}

static void test_vmodule(void)
{
        log_set_verbosity(0);
        CHECK_INT(log_set_vmodule("daemon=4,rec*=2,cmd/w?tch=3"), 0);
        CHECK(log_v_enabled(4, "../cmd/daemon.c"));
        CHECK(!log_v_enabled(5, "../cmd/daemon.c"));
        CHECK(log_v_enabled(2, "../nft/reconcile.c"));
        CHECK(!log_v_enabled(3, "../nft/reconcile.c"));
        CHECK(log_v_enabled(3, "../cmd/watch.c"));       /* a '/' in the pattern: the path */
        CHECK(!log_v_enabled(1, "../ctest/x/watch.c"));
        CHECK(!log_v_enabled(1, "../cmd/main.c"));
        CHECK(log_v_enabled(0, "../cmd/main.c"));
        log_set_verbosity(5);
        CHECK(log_v_enabled(5, "../cmd/main.c"));        /* --v still applies everywhere */
        log_set_verbosity(0);
        CHECK_INT(log_set_vmodule("daemon"), -EINVAL);
        CHECK_INT(log_set_vmodule("=2"), -EINVAL);
        CHECK_INT(log_set_vmodule("daemon=x"), -EINVAL);
        CHECK_INT(log_set_vmodule("daemon=-1"), -EINVAL);
        CHECK_INT(log_set_vmodule("daemon= 1"), -EINVAL); /* strconv.ParseInt: no spaces */
        CHECK(!log_v_enabled(1, "../cmd/daemon.c"));     /* a bad value leaves no rules behind */
        /* klog drops a pattern of level 0, so a later one can still match the file */
        CHECK_INT(log_set_vmodule("daem*=0,daemon=+3"), 0);
        CHECK(log_v_enabled(3, "../cmd/daemon.c"));
        CHECK_INT(log_set_vmodule(""), 0);
}

static void test_headers(void)
{
        _cleanup_free_ char *out = NULL;
        _cleanup_free_ char *pattern = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        log_set_headers(true, false);
        capture_start();
        log_info("bare %d", 1);
        out = capture_end();
        CHECK_STR(out, "bare 1\n");
        free(out);

        log_set_headers(false, true);
        capture_start();
        line = __LINE__; log_info("with dir");
        out = capture_end();
        CHECK(asprintf(&pattern, "^I[0-9]{4} [0-9:.]+ +[0-9]+ ctest/test-log\\.c:%d\\] with dir\n$", line) > 0);
        CHECK(matches(pattern, out));
        log_set_headers(false, false);
}

static void test_backtrace_at(void)
{
        _cleanup_free_ char *out = NULL, *spec = NULL;
        int line;

        log_set_format(LOG_FORMAT_TEXT);
        line = __LINE__ + 3;
        CHECK(asprintf(&spec, "test-log.c:%d", line) > 0);
        CHECK_INT(log_set_backtrace_at(spec), 0);
        capture_start(); log_info("marked");
        log_info("unmarked");
        out = capture_end();
        CHECK(strstr(out, "] marked\nstack trace (--log_backtrace_at=test-log.c:") != NULL);
        CHECK(strstr(out, "] unmarked\n") != NULL && !strstr(strstr(out, "] unmarked\n"), "stack trace"));
        free(out);

        /* JSON: the trace is one more line that parses */
        log_set_format(LOG_FORMAT_JSON);
        free(spec);
        line = __LINE__ + 3;
        CHECK(asprintf(&spec, "test-log.c:%d", line) > 0);
        CHECK_INT(log_set_backtrace_at(spec), 0);
        capture_start(); log_info("marked");
        out = capture_end();
        log_set_format(LOG_FORMAT_TEXT);
        {
                char *second = strchr(out, '\n');
                char keys[256];
                json_t *o;

                CHECK(second && second[1] == '{');
                o = second ? parse_json_line(second + 1, keys, sizeof(keys)) : NULL;
                CHECK(o != NULL);
                if (o) {
                        CHECK_STR(json_string_value(json_object_get(o, "msg")), "Stack trace");
                        CHECK(json_is_string(json_object_get(o, "stacktrace")));
                        json_decref(o);
                }
        }
        CHECK_INT(log_set_backtrace_at("test-log.c"), -EINVAL);
        CHECK_INT(log_set_backtrace_at("test-log.c:0"), -EINVAL);
        /* klog's syntax: exactly one ':', a '.' in the file name, strconv.Atoi's line */
        CHECK_INT(log_set_backtrace_at("test-log:5"), -EINVAL);
        CHECK_INT(log_set_backtrace_at("a/test-log.c:5:6"), -EINVAL);
        CHECK_INT(log_set_backtrace_at("test-log.c: 5"), -EINVAL);
        CHECK_INT(log_set_backtrace_at("test-log.c:+5"), 0);
        CHECK_INT(log_set_backtrace_at(""), 0);
}

static char *read_all(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t cap = 0;
        ssize_t n;

        if (!f)
                return strdup("");
        n = getdelim(&buf, &cap, '\0', f);
        fclose(f);
        if (n < 0) {
                free(buf);
                return strdup("");
        }
        return buf;
}

static size_t count_lines(const char *text, const char *needle)
{
        size_t n = 0;

        for (const char *p = text; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* --logtostderr=false --log_file: every line in the file, the header block once, errors (the
 * default --stderrthreshold) also on stderr; a full file starts over. */
static void test_log_file(void)
{
        char dir[] = "/tmp/ima-test-log-XXXXXX";
        _cleanup_free_ char *path = NULL, *text = NULL, *err = NULL;
        struct log_output_options o = { .stderr_threshold = LOG_LEVEL_ERROR };

        CHECK(mkdtemp(dir) != NULL);
        CHECK(asprintf(&path, "%s/agent.log", dir) > 0);
        o.file = path;
        log_set_format(LOG_FORMAT_TEXT);
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("line one");
        log_warning("line two");
        log_error("line three");
        err = capture_end();
        text = read_all(path);
        CHECK(strncmp(text, "Log file created at: ", 21) == 0);
        CHECK(strstr(text, "] line one\n") && strstr(text, "] line two\n") && strstr(text, "] line three\n"));
        CHECK(!strstr(err, "line one") && !strstr(err, "line two") && strstr(err, "] line three\n"));
        free(err);
        free(text);

        /* --alsologtostderr; restarting appends (no second header) */
        o.also_to_stderr = true;
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("line four");
        err = capture_end();
        CHECK(strstr(err, "] line four\n") != NULL);
        text = read_all(path);
        CHECK_INT(count_lines(text, "Log file created at"), 1);
        CHECK(strstr(text, "] line one\n") && strstr(text, "] line four\n"));
        free(text);

        /* --alsologtostderrthreshold=WARNING: with --alsologtostderr, it replaces
         * --stderrthreshold, in both directions */
        free(err);
        o.also_stderr_threshold = LOG_LEVEL_WARNING;
        o.stderr_threshold = LOG_LEVEL_INFO;
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("line five");
        log_warning("line six");
        err = capture_end();
        CHECK(!strstr(err, "line five") && strstr(err, "] line six\n"));
        free(err);
        o.also_to_stderr = false; /* ...and without it, --stderrthreshold again */
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("line seven");
        err = capture_end();
        CHECK(strstr(err, "] line seven\n") != NULL);
        o.stderr_threshold = LOG_LEVEL_ERROR;
        o.also_stderr_threshold = LOG_LEVEL_INFO;

        /* 1 MB: the file is started over (klog truncates a --log_file) with a fresh header; the
         * bound holds for the file, whatever the severities of the lines that fill it */
        o.max_size_mb = 1;
        CHECK_INT(log_set_output(&o), 0);
        for (int i = 0; i < 20000; i++) {
                if (i % 2)
                        log_warning("filler line %05d to fill one megabyte of log quickly", i);
                else
                        log_info("filler line %05d to fill one megabyte of log quickly", i);
        }
        text = read_all(path);
        CHECK(strlen(text) <= 1024 * 1024);
        CHECK(strncmp(text, "Log file created at: ", 21) == 0);
        CHECK(!strstr(text, "] line one\n"));
        CHECK(strstr(text, "filler line 19999") != NULL);
        free(text);

        /* a restart counts what the file holds: one line more than the bound starts it over */
        {
                _cleanup_fclose_ FILE *f = fopen(path, "we");

                CHECK(f != NULL);
                for (int i = 0; f && i < 1024 * 1024 / 64; i++)
                        fprintf(f, "%063d\n", i);
        }
        CHECK_INT(log_set_output(&o), 0);
        log_info("line after a restart");
        text = read_all(path);
        CHECK(strncmp(text, "Log file created at: ", 21) == 0);
        CHECK(strstr(text, "] line after a restart\n") != NULL);
        CHECK(strlen(text) < 4096);
        free(text);

        /* an unwritable path fails at once and leaves stderr in use */
        o.file = "/nonexistent-dir/x.log";
        CHECK(log_set_output(&o) < 0);
        capture_start();
        log_info("after failure");
        text = capture_end();
        CHECK(strstr(text, "after failure") != NULL);

        o = (struct log_output_options){ .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        CHECK_INT(log_set_output(&o), 0);
        unlink(path);
        rmdir(dir);
}

/* --logtostderr alone: every line, whatever --stderrthreshold says, unless
 * --legacy_stderr_threshold_behavior=false (klog v2.140) makes the threshold filter it too. */
static void test_stderr_threshold_on_stderr(void)
{
        struct log_output_options o = { .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        _cleanup_free_ char *legacy = NULL, *filtered = NULL;

        log_set_format(LOG_FORMAT_TEXT);
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("info one");
        legacy = capture_end();
        CHECK(strstr(legacy, "] info one\n") != NULL);

        o.stderr_threshold_always = true;
        CHECK_INT(log_set_output(&o), 0);
        capture_start();
        log_info("info two");
        log_warning("warning two");
        log_error("error two");
        filtered = capture_end();
        CHECK(!strstr(filtered, "info two") && !strstr(filtered, "warning two"));
        CHECK(strstr(filtered, "] error two\n") != NULL);

        o = (struct log_output_options){ .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        CHECK_INT(log_set_output(&o), 0);
}

static void remove_files(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
}

/* --log_dir: klog's per-severity files and PROGRAM.SEVERITY links; INFO holds every line. */
static void test_log_dir(void)
{
        char dir[] = "/tmp/ima-test-log-XXXXXX";
        struct log_output_options o = { .stderr_threshold = LOG_LEVEL_ERROR + 1 /* FATAL */ };
        const char *const sev[] = { "INFO", "WARNING", "ERROR" };
        char *texts[3];

        CHECK(mkdtemp(dir) != NULL);
        o.dir = dir;
        for (int one = 0; one <= 1; one++) {
                _cleanup_free_ char *err = NULL;

                o.one_output = one;
                CHECK_INT(log_set_output(&o), 0);
                capture_start();
                log_info("an info");
                log_warning("a warning");
                log_error("an error");
                err = capture_end();
                CHECK_STR(err, ""); /* threshold FATAL: nothing on stderr */
                for (int i = 0; i < 3; i++) {
                        _cleanup_free_ char *link = NULL;

                        CHECK(asprintf(&link, "%s/ip-masq-agent.%s", dir, sev[i]) > 0);
                        texts[i] = read_all(link);
                }
                CHECK(strstr(texts[0], "] an info\n") != NULL);
                CHECK(!strstr(texts[1], "an info") && !strstr(texts[2], "an info") && !strstr(texts[2], "a warning"));
                CHECK(strstr(texts[1], "] a warning\n") != NULL);
                CHECK(strstr(texts[2], "] an error\n") != NULL);
                /* without --one_output a line also lands in every less severe file */
                CHECK(!!strstr(texts[0], "] an error\n") == !one);
                CHECK(!!strstr(texts[1], "] an error\n") == !one);
                for (int i = 0; i < 3; i++)
                        free(texts[i]);
                o = (struct log_output_options){ .to_stderr = true };
                CHECK_INT(log_set_output(&o), 0);
                o = (struct log_output_options){ .stderr_threshold = LOG_LEVEL_ERROR + 1, .dir = dir };
                /* empty the directory between rounds: files of the same second share a name */
                remove_files(dir);
        }
        /* the directory gone: the first file that cannot be opened is reported, once, and every
         * line goes to stderr from then on */
        o.one_output = false;
        CHECK_INT(log_set_output(&o), 0);
        remove_files(dir);
        CHECK_INT(rmdir(dir), 0);
        {
                _cleanup_free_ char *err = NULL;

                capture_start();
                log_warning("a warning");
                log_warning("another warning");
                err = capture_end();
                CHECK_INT(count_lines(err, "cannot write the log file"), 1);
                CHECK(strstr(err, "] a warning\n") && strstr(err, "] another warning\n"));
        }
        CHECK_INT(mkdir(dir, 0700), 0);
        o = (struct log_output_options){ .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        CHECK_INT(log_set_output(&o), 0);
        remove_files(dir);
        rmdir(dir);
}

static size_t count_in_files(const char *dir, const char *needle)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        CHECK(d != NULL);
        while ((e = readdir(d)))
                if (strstr(e->d_name, ".log.INFO.")) {
                        _cleanup_free_ char *path = NULL, *text = NULL;

                        CHECK(asprintf(&path, "%s/%s", dir, e->d_name) > 0);
                        text = read_all(path);
                        n += count_lines(text, needle);
                }
        closedir(d);
        return n;
}

static int symlinks_made;

/* log-output.c makes the PROGRAM.SEVERITY link once per file it opens: counting the calls counts
 * the opens (this definition takes the place of libc's for the whole test). */
int symlink(const char *target, const char *linkpath)
{
        symlinks_made++;
        return (int)syscall(SYS_symlinkat, target, AT_FDCWD, linkpath);
}

/* --log_dir with --log_file_max_size: past the bound a file is rotated once, not for every line
 * until the clock's second turns (the new file has the same name within a second). */
static void test_log_dir_rotation(void)
{
        char dir[] = "/tmp/ima-test-log-XXXXXX";
        struct log_output_options o = { .stderr_threshold = LOG_LEVEL_ERROR + 1, .max_size_mb = 1 };
        int lines;

        CHECK(mkdtemp(dir) != NULL);
        o.dir = dir;
        symlinks_made = 0;
        CHECK_INT(log_set_output(&o), 0);
        /* about 1.3 MB of 110-byte lines: opened at start, rotated once */
        for (lines = 0; lines < 12000; lines++)
                log_info("filler line %05d to fill one megabyte of log quickly", lines);
        CHECK_INT(symlinks_made, 2);
        CHECK_INT(count_in_files(dir, "] filler line "), lines); /* and no line was lost */

        o = (struct log_output_options){ .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        CHECK_INT(log_set_output(&o), 0);
        remove_files(dir);
        rmdir(dir);
}

/* The node's name as a cloud gives it (EC2: "ip-10-0-1-2.ec2.internal"); this definition takes the
 * place of libc's for the whole test. */
int gethostname(char *name, size_t len)
{
        return snprintf(name, len, "ip-10-0-1-2.ec2.internal") < (int)len ? 0 : (errno = ENAMETOOLONG, -1);
}

/* --log_dir names files and the header's machine as klog does: the host name up to its first dot
 * (klog's shortHostname), so that what collects upstream's files finds these too. */
static void test_log_dir_short_hostname(void)
{
        char dir[] = "/tmp/ima-test-log-XXXXXX";
        struct log_output_options o = { .stderr_threshold = LOG_LEVEL_ERROR + 1 };
        _cleanup_free_ char *link = NULL, *text = NULL;
        char target[PATH_MAX];
        ssize_t n;

        CHECK(mkdtemp(dir) != NULL);
        o.dir = dir;
        CHECK(asprintf(&link, "%s/ip-masq-agent.INFO", dir) > 0);
        CHECK_INT(symlink("ip-masq-agent.stale.log.INFO", link), 0); /* a previous agent's: replaced */
        CHECK_INT(log_set_output(&o), 0);
        log_info("a line");
        n = readlink(link, target, sizeof(target) - 1);
        CHECK(n > 0);
        target[n] = '\0';
        CHECK(strncmp(target, "ip-masq-agent.ip-10-0-1-2.", 26) == 0);
        CHECK(!strstr(target, "ec2.internal"));
        text = read_all(link);
        CHECK(strstr(text, "\nRunning on machine: ip-10-0-1-2\n") != NULL);

        o = (struct log_output_options){ .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR };
        CHECK_INT(log_set_output(&o), 0);
        remove_files(dir);
        rmdir(dir);
}

int main(void)
{
        TEST_RUN(test_text_printf);
        TEST_RUN(test_text_errno);
        TEST_RUN(test_text_one_line);
        TEST_RUN(test_timestamps);
        TEST_RUN(test_text_structured);
        TEST_RUN(test_text_invisible);
        TEST_RUN(test_verbosity_gate);
        TEST_RUN(test_json_info);
        TEST_RUN(test_json_verbosity_and_warning);
        TEST_RUN(test_json_error);
        TEST_RUN(test_json_structured);
        TEST_RUN(test_json_escaping);
        TEST_RUN(test_format_names);
        TEST_RUN(test_vmodule);
        TEST_RUN(test_headers);
        TEST_RUN(test_backtrace_at);
        TEST_RUN(test_log_file);
        TEST_RUN(test_stderr_threshold_on_stderr);
        TEST_RUN(test_log_dir);
        TEST_RUN(test_log_dir_rotation);
        TEST_RUN(test_log_dir_short_hostname);
        log_set_format(LOG_FORMAT_TEXT);
        TEST_EXIT();
}
