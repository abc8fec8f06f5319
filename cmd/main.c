/* main.c: command line (Go flag syntax, as the upstream agent and its DaemonSets use it), verb
 * dispatch and exit codes. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/http.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "ima-version.h"
#include "lib/goconv.h"

const char *arg_config_path = IMA_CONFIG_DEFAULT_PATH;
struct ima_config_options arg_config_opts;
struct ima_model_options arg_model_opts;
const char *arg_masq_chain = NULL; /* upstream's default: IP-MASQ-AGENT */
enum table_ownership arg_table_ownership = TABLE_OWNERSHIP_AUTO;
bool arg_cleanup_on_exit;
const char *arg_health_bind_address;
const char *arg_metrics_bind_address;
static bool arg_help;
static bool arg_version;
static bool arg_skip_headers;
static bool arg_add_dir_header;
static bool arg_legacy_stderr_threshold = true; /* klog's default */
static struct log_output_options arg_log_output = {
        .to_stderr = true, .stderr_threshold = LOG_LEVEL_ERROR, .also_stderr_threshold = LOG_LEVEL_INFO,
        .max_size_mb = 1800,
        .program_description = "ip-masq-agent " IMA_VERSION " (nftables)",
};

enum flag_type {
        FLAG_BOOL,
        FLAG_STRING,
        FLAG_CUSTOM,
};

struct flag {
        const char *name;
        enum flag_type type;
        void *ptr;                        /* bool * / const char ** */
        int (*parse)(const char *value);  /* FLAG_CUSTOM: 0 or -EINVAL (message printed) */
        const char *help;
};

/* strconv.ParseInt(value, 10, 32), as klog parses its numbers: a sign, no spaces. */
static bool parse_go_int32(const char *value, int *ret)
{
        int64_t v;
        uint64_t unused;

        if (ima_go_parse_int(value, 10, &v, &unused) != IMA_GO_INT || v < INT32_MIN || v > INT32_MAX)
                return false;
        *ret = (int)v;
        return true;
}

static int parse_verbosity(const char *value)
{
        int v;

        /* klog's Level is an int32: a negative one is valid and only hides V(0) lines */
        if (!parse_go_int32(value, &v)) {
                fprintf(stderr, "invalid value \"%s\" for flag -v: expected an integer\n", value);
                return -EINVAL;
        }
        log_set_verbosity(v);
        return 0;
}

static int parse_vmodule(const char *value)
{
        int r = log_set_vmodule(value);

        if (r == -EINVAL)
                fprintf(stderr, "invalid value \"%s\" for flag -vmodule: expected a comma-separated list of "
                        "pattern=N, such as daemon=4,reconcile*=2\n", value);
        return r < 0 ? -EINVAL : 0;
}

static int parse_backtrace_at(const char *value)
{
        int r = log_set_backtrace_at(value);

        if (r == -EINVAL)
                fprintf(stderr, "invalid value \"%s\" for flag -log_backtrace_at: expected file.c:LINE\n", value);
        return r < 0 ? -EINVAL : 0;
}

/* klog's severity names (any case) or any int32: INFO 0, WARNING 1, ERROR 2, FATAL 3. The agent
 * has no FATAL lines: FATAL or more keeps every line off stderr, a negative number none. */
static int parse_severity(const char *flag, const char *value, int *ret)
{
        static const char *const names[] = { "INFO", "WARNING", "ERROR", "FATAL" };

        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (strcasecmp(value, names[i]) == 0) {
                        *ret = (int)i;
                        return 0;
                }
        if (parse_go_int32(value, ret))
                return 0;
        fprintf(stderr, "invalid value \"%s\" for flag -%s: expected INFO, WARNING, ERROR, FATAL or a number\n",
                value, flag);
        return -EINVAL;
}

static int parse_stderr_threshold(const char *value)
{
        return parse_severity("stderrthreshold", value, &arg_log_output.stderr_threshold);
}

static int parse_also_stderr_threshold(const char *value)
{
        return parse_severity("alsologtostderrthreshold", value, &arg_log_output.also_stderr_threshold);
}

static int parse_log_file_max_size(const char *value)
{
        int64_t i;
        uint64_t u;
        enum ima_go_int kind;

        /* klog's Uint64Var: strconv.ParseUint(value, 0, 64), so 0x10, 010 (octal) and 1_000 too,
         * but no sign */
        kind = *value == '+' || *value == '-' ? IMA_GO_NOT_INT : ima_go_parse_int(value, 0, &i, &u);
        if (kind == IMA_GO_NOT_INT) {
                fprintf(stderr, "invalid value \"%s\" for flag -log_file_max_size: expected megabytes, 0 for "
                        "no limit\n", value);
                return -EINVAL;
        }
        if (kind == IMA_GO_INT)
                u = (uint64_t)i;
        /* more megabytes than a file can hold: no limit (klog's product would wrap around) */
        arg_log_output.max_size_mb = u > UINT64_MAX / (1024 * 1024) ? 0 : u;
        return 0;
}

static int parse_to_ports(const char *value)
{
        const char *reason = "";

        if (*value == '\0') { /* upstream's default: no port restriction */
                arg_model_opts.n_to_ports = 0;
                return 0;
        }
        if (ima_port_ranges_parse(value, arg_model_opts.to_ports, IMA_MAX_PORT_RANGES,
                                  &arg_model_opts.n_to_ports, &reason) < 0) {
                fprintf(stderr, "invalid value \"%s\" for flag -to-ports: %s\n", value, reason);
                return -EINVAL;
        }
        return 0;
}

/* A bad address is a usage error now, not a runtime failure once the daemon runs. */
static int parse_bind_address(const char *value, const char *flag, const char **ret)
{
        struct http_address a;
        const char *reason = "";

        if (*value != '\0' && http_address_parse(value, &a, &reason) < 0) {
                fprintf(stderr, "invalid value \"%s\" for flag -%s: %s\n", value, flag, reason);
                return -EINVAL;
        }
        *ret = value;
        return 0;
}

static int parse_health_bind_address(const char *value)
{
        return parse_bind_address(value, "health-bind-address", &arg_health_bind_address);
}

static int parse_metrics_bind_address(const char *value)
{
        return parse_bind_address(value, "metrics-bind-address", &arg_metrics_bind_address);
}

/* An integer, or nft's names: "srcnat", "srcnat+N", "srcnat-N" (spaces allowed, as nft lists them). */
static int parse_priority(const char *value)
{
        const char *p = value;
        long long base = 0, sign = 1, v;
        char *end;

        if (strncmp(p, "srcnat", 6) == 0) {
                base = IMA_SRCNAT_PRIORITY;
                for (p += 6; *p == ' '; p++)
                        ;
                if (*p == '\0') {
                        arg_model_opts.priority = IMA_SRCNAT_PRIORITY;
                        return 0;
                }
                if (*p != '+' && *p != '-')
                        goto invalid;
                sign = *p == '-' ? -1 : 1;
                for (p++; *p == ' '; p++)
                        ;
                if (*p < '0' || *p > '9')
                        goto invalid;
        }
        /* strtoll alone would take " 5" and "+5" */
        if (!(*p >= '0' && *p <= '9') && !(*p == '-' && !base && p[1] >= '0' && p[1] <= '9'))
                goto invalid;
        errno = 0;
        v = strtoll(p, &end, 10);
        if (*end != '\0' || errno || v < INT32_MIN || v > INT32_MAX)
                goto invalid;
        v = base + sign * v; /* both within int32: no overflow in long long */
        if (v < INT32_MIN || v > INT32_MAX)
                goto invalid;
        /* the kernel refuses a NAT chain that would run before conntrack (EOPNOTSUPP) */
        if (v <= IMA_CONNTRACK_PRIORITY) {
                fprintf(stderr, "invalid value \"%s\" for flag -priority: a NAT chain must come after conntrack, "
                                "above %d\n", value, IMA_CONNTRACK_PRIORITY);
                return -EINVAL;
        }
        arg_model_opts.priority = (int32_t)v;
        return 0;
invalid:
        fprintf(stderr, "invalid value \"%s\" for flag -priority: expected an integer, srcnat, srcnat+N or srcnat-N\n",
                value);
        return -EINVAL;
}

static int parse_table_ownership(const char *value)
{
        if (strcmp(value, "auto") == 0)
                arg_table_ownership = TABLE_OWNERSHIP_AUTO;
        else if (strcmp(value, "off") == 0)
                arg_table_ownership = TABLE_OWNERSHIP_OFF;
        else {
                fprintf(stderr, "invalid value \"%s\" for flag -table-ownership: expected auto or off\n", value);
                return -EINVAL;
        }
        return 0;
}

static int set_log_format(const char *flag, const char *value)
{
        enum log_format f;

        if (log_format_from_string(value, &f) < 0) {
                fprintf(stderr, "invalid value \"%s\" for flag -%s: expected text or json\n", value, flag);
                return -EINVAL;
        }
        log_set_format(f);
        return 0;
}

static int parse_log_format(const char *value)
{
        return set_log_format("log-format", value);
}

static int parse_logging_format(const char *value)
{
        return set_log_format("logging-format", value);
}

static const struct flag flags[] = {
        { "config", FLAG_STRING, &arg_config_path, NULL,
          "configuration file, YAML or JSON (default " IMA_CONFIG_DEFAULT_PATH ")" },
        { "enable-ipv6", FLAG_BOOL, &arg_config_opts.enable_ipv6, NULL,
          "also manage table ip6 ip-masq-agent and accept IPv6 CIDRs" },
        { "nomasq-all-reserved-ranges", FLAG_BOOL, &arg_config_opts.nomasq_all_reserved_ranges, NULL,
          "default NonMasqueradeCIDRs: all 11 reserved IPv4 ranges, not only RFC 1918" },
        { "random-fully", FLAG_BOOL, &arg_model_opts.random_fully, NULL,
          "masquerade with fully randomized source ports (default true)" },
        { "to-ports", FLAG_CUSTOM, NULL, parse_to_ports,
          "masquerade tcp, udp and sctp to these source port ranges, e.g. 1024-29999,32768-65535" },
        { "priority", FLAG_CUSTOM, NULL, parse_priority,
          "priority of the nat postrouting chain (default 101, srcnat+1: after iptables' and kube-proxy's)" },
        { "table-ownership", FLAG_CUSTOM, NULL, parse_table_ownership,
          "run: auto = own the tables (owner+persist) where the kernel supports it, off = repair from events" },
        { "cleanup-on-exit", FLAG_BOOL, &arg_cleanup_on_exit, NULL,
          "run: delete the tables on SIGTERM/SIGINT (standalone use; a DaemonSet keeps them)" },
        { "health-bind-address", FLAG_CUSTOM, NULL, parse_health_bind_address,
          "run: serve /healthz and /readyz on this address, e.g. 127.0.0.1:10266 or :10266 (default off)" },
        { "metrics-bind-address", FLAG_CUSTOM, NULL, parse_metrics_bind_address,
          "run: serve Prometheus /metrics on this address (default off; may equal the health address)" },
        { "log-format", FLAG_CUSTOM, NULL, parse_log_format, "text (klog lines, default) or json" },
        /* the spelling Kubernetes components (component-base's logs options) use */
        { "logging-format", FLAG_CUSTOM, NULL, parse_logging_format, "the same as --log-format" },
        { "masq-chain", FLAG_STRING, &arg_masq_chain, NULL,
          "the upstream agent's iptables chain (default IP-MASQ-AGENT), looked for and reported while it "
          "is still installed; this agent's rules are always in chain \"postrouting\" of table ip-masq-agent" },
        /* klog's flags, as klog.InitFlags() registers them for the upstream agent */
        { "v", FLAG_CUSTOM, NULL, parse_verbosity, "log verbosity (klog levels)" },
        { "vmodule", FLAG_CUSTOM, NULL, parse_vmodule,
          "per-file verbosity, e.g. daemon=4,watch=2 (file names without .c)" },
        { "logtostderr", FLAG_BOOL, &arg_log_output.to_stderr, NULL,
          "log to stderr only (default true); false: to --log_file or --log_dir" },
        { "alsologtostderr", FLAG_BOOL, &arg_log_output.also_to_stderr, NULL,
          "with log files, every line on stderr too" },
        { "stderrthreshold", FLAG_CUSTOM, NULL, parse_stderr_threshold,
          "with log files, lines at or above this severity on stderr too (default ERROR)" },
        { "alsologtostderrthreshold", FLAG_CUSTOM, NULL, parse_also_stderr_threshold,
          "with --alsologtostderr, lines at or above this severity on stderr (default INFO)" },
        { "legacy_stderr_threshold_behavior", FLAG_BOOL, &arg_legacy_stderr_threshold, NULL,
          "false: --stderrthreshold filters --logtostderr output too (default true: it does not)" },
        { "log_file", FLAG_STRING, &arg_log_output.file, NULL,
          "with --logtostderr=false, log to this file" },
        { "log_dir", FLAG_STRING, &arg_log_output.dir, NULL,
          "with --logtostderr=false and no --log_file, klog's per-severity files in this directory" },
        { "log_file_max_size", FLAG_CUSTOM, NULL, parse_log_file_max_size,
          "rotate a log file beyond this many MB, 0 = never (default 1800)" },
        { "one_output", FLAG_BOOL, &arg_log_output.one_output, NULL,
          "with --log_dir, each line only in its own severity's file" },
        { "skip_log_headers", FLAG_BOOL, &arg_log_output.skip_log_headers, NULL,
          "no header block at the top of new log files" },
        { "skip_headers", FLAG_BOOL, &arg_skip_headers, NULL, "log lines without the klog header" },
        { "add_dir_header", FLAG_BOOL, &arg_add_dir_header, NULL,
          "the header names the source file with its directory" },
        { "log_backtrace_at", FLAG_CUSTOM, NULL, parse_backtrace_at,
          "emit a stack trace when logging at file.c:LINE" },
        { "version", FLAG_BOOL, &arg_version, NULL, "print the version and exit" },
        { "help", FLAG_BOOL, &arg_help, NULL, "show this help" },
        { "h", FLAG_BOOL, &arg_help, NULL, NULL },
};

struct verb {
        const char *name;
        int (*run)(void);
        const char *help;
};

static int verb_version(void)
{
        printf("ip-masq-agent %s (nftables)\n", IMA_VERSION);
        return stdout_status(EXIT_OK);
}

static const struct verb verbs[] = {
        { "run", verb_run, "apply the configuration and keep it applied (default)" },
        { "apply", verb_apply, "apply the configuration once and exit" },
        { "diff", verb_diff, "show what apply would change (exit 0 in sync, 3 on drift)" },
        { "render", verb_render, "print the nft script of the desired state (no privileges needed)" },
        { "validate", verb_validate, "check the configuration and print the effective settings as JSON" },
        { "cleanup", verb_cleanup, "delete the agent's tables" },
        { "version", verb_version, "print the version" },
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: ip-masq-agent [COMMAND] [FLAGS]\n\nCommands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].help);
        fprintf(out, "\nFlags (-flag, --flag, --flag=value, --flag value; before or after the command):\n");
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (flags[i].help)
                        fprintf(out, "  --%-28s %s\n", flags[i].name, flags[i].help);
        fprintf(out, "\nExit codes: 0 ok, 1 runtime or kernel failure, 2 usage error or invalid configuration,\n"
                     "3 diff found the kernel differs\n");
}

/* Go's strconv.ParseBool. */
static int parse_go_bool(const char *s, bool *ret)
{
        static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
        static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (strcmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static const struct flag *find_flag(const char *name, size_t len)
{
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
                        return &flags[i];
        return NULL;
}

static int set_flag(const struct flag *f, const char *value, bool has_value)
{
        switch (f->type) {
        case FLAG_BOOL:
                /* Go's flag package answers -help and -h with the usage whatever their value: a
                 * "--help=false" must not fall through to the default command, the daemon */
                if (!has_value || f->ptr == &arg_help) {
                        *(bool *)f->ptr = true;
                        return 0;
                }
                if (parse_go_bool(value, (bool *)f->ptr) < 0) {
                        fprintf(stderr, "invalid boolean value \"%s\" for flag -%s\n", value, f->name);
                        return -EINVAL;
                }
                return 0;
        case FLAG_STRING:
                *(const char **)f->ptr = value;
                return 0;
        case FLAG_CUSTOM:
                return f->parse(value);
        }
        return -EINVAL;
}

/* One argument that starts with '-'; may consume the next one as its value. Returns the number
 * of arguments used, or -EINVAL. With apply false it only counts, silently: that is how another
 * process's command line is read. */
static int parse_flag(int argc, char **argv, int i, bool apply)
{
        const char *name = argv[i] + 1;
        const char *eq;
        const struct flag *f;
        size_t len;

        if (*name == '-')
                name++;
        if (*name == '\0' || *name == '-' || *name == '=') {
                if (apply)
                        fprintf(stderr, "bad flag syntax: %s\n", argv[i]);
                return -EINVAL;
        }
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        f = find_flag(name, len);
        if (!f) {
                if (apply)
                        fprintf(stderr, "flag provided but not defined: -%.*s\n"
                                        "Run 'ip-masq-agent --help' for usage.\n", (int)len, name);
                return -EINVAL;
        }
        if (!eq && f->type == FLAG_BOOL && i + 1 < argc) {
                bool unused;

                /* "--random-fully false", as upstream's README reads: Go would set the flag to true
                 * and stop at "false", ignoring it and every argument after it. Not a command here
                 * either; say what is meant rather than "unknown command". */
                if (parse_go_bool(argv[i + 1], &unused) == 0) {
                        if (apply)
                                fprintf(stderr, "flag -%s is boolean and takes its value only with '=': write "
                                                "--%s=%s (Go's flag parsing, as upstream's, would ignore \"%s\" "
                                                "and every argument after it)\n",
                                        f->name, f->name, argv[i + 1], argv[i + 1]);
                        return -EINVAL;
                }
        }
        if (eq || f->type == FLAG_BOOL) /* Go: a bool flag never takes the next argument */
                return !apply || set_flag(f, eq ? eq + 1 : NULL, eq != NULL) == 0 ? 1 : -EINVAL;
        if (i + 1 >= argc) {
                if (apply)
                        fprintf(stderr, "flag needs an argument: -%s\n", f->name);
                return -EINVAL;
        }
        return !apply || set_flag(f, argv[i + 1], true) == 0 ? 2 : -EINVAL;
}

/* Finds the command among the arguments (NULL when there are flags only), setting the flags when
 * apply is true. */
static int scan_args(int argc, char **argv, bool apply, const char **ret_verb_name)
{
        const char *verb_name = NULL;
        bool flags_done = false;

        for (int i = 1; i < argc;) {
                const char *a = argv[i];

                if (!flags_done && strcmp(a, "--") == 0) {
                        flags_done = true;
                        i++;
                } else if (!flags_done && a[0] == '-' && a[1] != '\0') {
                        int used = parse_flag(argc, argv, i, apply);

                        if (used < 0)
                                return -EINVAL;
                        i += used;
                        /* Go's flag package stops at -help and -h and answers with the usage:
                         * what follows them, a bad flag too, is not read */
                        if (apply && arg_help)
                                break;
                } else if (!verb_name) {
                        verb_name = a;
                        i++;
                } else {
                        if (apply)
                                fprintf(stderr, "unexpected argument \"%s\" after command \"%s\"\n", a, verb_name);
                        return -EINVAL;
                }
        }
        *ret_verb_name = verb_name;
        return 0;
}

static int parse_args(int argc, char **argv, const struct verb **ret)
{
        const char *verb_name;

        if (scan_args(argc, argv, true, &verb_name) < 0)
                return -EINVAL;
        *ret = &verbs[0];
        if (!verb_name)
                return 0;
        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                if (strcmp(verbs[i].name, verb_name) == 0) {
                        *ret = &verbs[i];
                        return 0;
                }
        fprintf(stderr, "unknown command \"%s\"\nRun 'ip-masq-agent --help' for usage.\n", verb_name);
        return -EINVAL;
}

bool args_run_daemon(int argc, char **argv)
{
        const char *verb_name;

        if (scan_args(argc, argv, false, &verb_name) < 0)
                return false; /* such a process stopped at its usage error */
        return !verb_name || strcmp(verb_name, "run") == 0;
}

/* "--config validate" with no file of that name: the command was taken as the flag's value, and
 * without one the agent would run the daemon on the defaults. A usage error instead. */
static bool config_path_is_a_command(void)
{
        struct stat st;

        for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
                if (strcmp(arg_config_path, verbs[i].name) == 0)
                        return stat(arg_config_path, &st) < 0 && errno == ENOENT;
        return false;
}

/* Flags only the daemon uses, given to another command: accepted (scripts share argument lists),
 * but said, since an "apply --table-ownership=off" or "--cleanup-on-exit" does nothing. */
static void warn_run_only_flags(const struct verb *verb)
{
        const char *given[4];
        size_t n = 0;

        if (verb->run == verb_run)
                return;
        if (arg_table_ownership != TABLE_OWNERSHIP_AUTO)
                given[n++] = "--table-ownership";
        if (arg_cleanup_on_exit)
                given[n++] = "--cleanup-on-exit";
        if (arg_health_bind_address)
                given[n++] = "--health-bind-address";
        if (arg_metrics_bind_address)
                given[n++] = "--metrics-bind-address";
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "warning: %s is for \"run\" only: \"%s\" ignores it\n", given[i], verb->name);
}

int main(int argc, char **argv)
{
        const struct verb *verb;
        int r;

        ima_model_options_init(&arg_model_opts);
        if (parse_args(argc, argv, &verb) < 0)
                return EXIT_USAGE;
        if (arg_help) {
                usage(stdout);
                return stdout_status(EXIT_OK);
        }
        if (arg_version)
                return verb_version();
        warn_run_only_flags(verb);
        if (arg_config_path[0] == '\0') { /* an unset variable, most likely: not "no file, defaults" */
                fprintf(stderr, "--config: the path is empty\n");
                return EXIT_USAGE;
        }
        /* upstream fails every sync on it; here it would quietly stop the check for its chain */
        if (arg_masq_chain && arg_masq_chain[0] == '\0') {
                fprintf(stderr, "--masq-chain: the chain name is empty (upstream's default is IP-MASQ-AGENT; "
                                "give the name the old DaemonSet used, or leave the flag out)\n");
                return EXIT_USAGE;
        }
        if (config_path_is_a_command()) {
                fprintf(stderr, "--config %s: no such file, and \"%s\" is a command; give the path after --config: "
                                "ip-masq-agent %s --config PATH\n", arg_config_path, arg_config_path, arg_config_path);
                return EXIT_USAGE;
        }
        log_set_headers(arg_skip_headers, arg_add_dir_header);
        arg_log_output.stderr_threshold_always = !arg_legacy_stderr_threshold;
        r = log_set_output(&arg_log_output);
        if (r < 0) {
                fprintf(stderr, "cannot open the log %s %s: %s\n", arg_log_output.file ? "file" : "directory",
                        arg_log_output.file ? arg_log_output.file : arg_log_output.dir, strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        arg_model_opts.enable_ipv6 = arg_config_opts.enable_ipv6;
        if (arg_masq_chain && (verb->run == verb_run || verb->run == verb_apply))
                log_info("--masq-chain=%s names the upstream agent's iptables chain, looked for and reported "
                         "if present; with nftables this agent's rules live in table ip ip-masq-agent, chain "
                         "postrouting (and table ip6 ip-masq-agent with --enable-ipv6)",
                         arg_masq_chain);
        return verb->run();
}
