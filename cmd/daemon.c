/* daemon.c: the resident agent's event loop. Everything runs on one thread: inotify (config),
 * the nf_tables event socket (drift), timerfds (debounce, heal back-off, resync) and signalfd.
 *
 * Trust in the reconciler's cached kernel state rests on the generation id: every transaction
 * is pinned to it, and the event stream moves the cached generation forward over transactions
 * that did not touch our tables, so other tables' churn costs no dump. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/daemon.h"
#include "cmd/http.h"
#include "cmd/log.h"
#include "cmd/metrics.h"
#include "cmd/peers.h"
#include "cmd/verbs.h"
#include "cmd/watch.h"
#include "ima-version.h"
#include "lib/diag.h"
#include "lib/duration.h"
#include "lib/json-text.h"
#include "lib/memstream.h"
#include "nft/dump.h"
#include "nft/events.h"
#include "nft/needs.h"
#include "nft/probe.h"
#include "nft/reconcile.h"
#include "nft/sock.h"

/* A change of the config path is read this long after its first inotify event, so a burst of
 * creations and deletions is read once, when it is over... */
#define RELOAD_DEBOUNCE_MS 20
/* ...except once the file is whole (closed after writing, or renamed into place, as kubelet's
 * "..data" swap is): then at once, bar the few microseconds the rest of kubelet's burst (the old
 * directory's removal) takes to arrive, so an update does not wait out a debounce for nothing. */
#define RELOAD_COMPLETE_DELAY_MS 1
/* A file that could not be read for want of memory or descriptors is tried again this soon. */
#define RELOAD_RETRY_MS 1000
/* A foreign change of our tables is repaired this long after its event... */
#define HEAL_FIRST_DELAY_MS 2
/* ...and, while someone keeps changing them, with a delay that doubles up to this... */
#define HEAL_MAX_DELAY_MS 10000
/* ...until nothing needed repair for this long: a process that changes our tables less often
 * than this is answered at once every time, which costs little; back-off is for fast fighters. */
#define HEAL_QUIET_MS 1000
/* How long the agent must have parsed nothing and written nothing before it gives malloc's free
 * memory back to the system (trim_when_quiet()). */
#define TRIM_QUIET_MS 2000
/* A repair delay this long means someone is fighting us: say so (once per fight). */
#define HEAL_FIGHT_MS 1000
/* A failed reconcile (e.g. the previous agent still owns the table during a rolling update) is
 * retried after this long, doubling up to the maximum, instead of waiting for the next resync. */
#define RETRY_FIRST_DELAY_MS 500
#define RETRY_MAX_DELAY_MS 30000
/* Tables owned by another live process (the previous agent, when a rolling update starts the
 * new pod first: maxSurge) cannot be changed until it exits, and the kernel sends no event when
 * it lets go. Whether it has is asked this often, one GETTABLE per family... */
#define OWNER_POLL_MS 200
/* ...and the agent counts as ready meanwhile (so the rollout can go on and stop the old pod)
 * for this long; then it says it is stuck. */
#define OWNER_WAIT_READY_MS (5 * 60 * 1000)
/* This often the kernel state is read in full at a resync, even if nothing says it changed: a
 * backstop costing about a second of CPU per check at 100,000 CIDRs, so time-based, not
 * per-resync (ResyncInterval may be short). */
#define FULL_CHECK_INTERVAL_MS (10 * 60 * 1000)
/* Our own commit of this many intervals or more is sent while our event socket is out of the
 * event group: the kernel builds a notification per element for each listener (with one, a
 * commit of 100,000 intervals is some 17 times slower: README, Performance), and at such sizes
 * they would overflow our queue anyway. The gap is then checked like a loss of events. */
#define DEAF_COMMIT_INTERVALS 1000
/* ResyncInterval below this is raised to it (README: Configuration). */
#define MIN_RESYNC_NSEC (100 * 1000000LL)

enum source {
        SOURCE_SIGNAL,
        SOURCE_WATCH,
        SOURCE_EVENTS,
        SOURCE_RELOAD_TIMER,
        SOURCE_HEAL_TIMER,
        SOURCE_RESYNC_TIMER,
        SOURCE_RETRY_TIMER,
        SOURCE_HTTP_RETRY_TIMER,
        SOURCE_HTTP,
        SOURCE_MOUNTS,
};

#define MAX_HTTP_SERVERS 2
/* An endpoint that cannot bind (the port is taken on a hostNetwork node, the address is not
 * there yet) is retried this often; the rules do not wait for it. */
#define HTTP_RETRY_MS 5000
/* An endpoint out of file descriptors is not polled for this long (libmicrohttpd would retry its
 * accept() at once, forever, with no connection of its own to close). */
#define HTTP_PAUSE_MS 1000
#define HTTP_PAUSE_NEWS_MS 60000

struct http_endpoint {
        const char *address;
        const char *flag;
        unsigned paths;             /* enum http_path mask */
        struct http_server *server; /* NULL while not bound */
        int last_error;             /* logged once per distinct error */
        uint64_t paused_until_ms;   /* out of file descriptors: not polled until then (0: polled) */
        uint64_t last_pause_ms;     /* ...when it last was: a pause a minute after it is news */
};

struct daemon {
        int epfd;
        int sigfd;
        int reload_tfd;
        int heal_tfd;
        int resync_tfd;
        int retry_tfd;
        int mounts_fd;             /* /proc/self/mountinfo: readable with EPOLLPRI when a mount changes */
        struct watch *watch;
        struct ima_nl *nl;
        struct ima_reconciler *rc;
        struct ima_events *events;
        struct metrics *metrics;
        struct http_endpoint http[MAX_HTTP_SERVERS];
        size_t n_http;
        int http_tfd;              /* retries binding endpoints that could not bind yet */

        struct ima_model *model;   /* desired state of the last valid configuration */
        struct ima_config *config; /* its effective configuration, to tell real changes */
        char *last_problem;        /* config problems last logged, to log each only once */
        char *last_bytes;          /* the file as last read (NULL: missing or never read) */
        size_t last_len;
        bool last_missing;
        bool read_once;
        int read_trouble;          /* -errno while the file cannot be read for want of resources */
        int file_watch_error;      /* why the config file itself was not watched, as last logged */
        int64_t interval_nsec;     /* current ResyncInterval */
        bool config_valid;         /* the file as it is now is valid */
        bool config_failed;        /* a read or parse failed, and no valid file was read since */
        bool reconcile_ok;         /* the last reconcile succeeded */
        uint64_t owner_wait_since_ms; /* another live process owns our tables since (0: none) */
        uint32_t owner_port;       /* ...its netlink port */
        bool owner_wait_expired;   /* ...and OWNER_WAIT_READY_MS have passed (logged) */
        struct failure_memory failures; /* to log a lasting failure once, not every retry */
        unsigned upstream_chains;  /* families where upstream's iptables chain was last seen */
        unsigned model_version;    /* bumped whenever the desired model changes */
        unsigned applied_version;  /* model_version the kernel was last brought to */
        uint64_t last_full_check_ms;
        uint64_t heal_delay_ms;
        uint64_t last_heal_ms;
        bool fight_reported;
        bool heal_for_others;      /* a change by another process is among what the pending repair answers */
        uint64_t retry_delay_ms;
        uint64_t retry_armed_ms;   /* the delay the pending retry was armed with */
        char culprit[64];          /* who changed our tables last */
        bool deaf;                 /* out of the event group (for our own large commit) */
        uint64_t trim_due_ms;      /* when to give malloc's free memory back (0: nothing to give) */
};

static int timer_set(int tfd, int64_t first_nsec, int64_t period_nsec)
{
        struct itimerspec its = {
                .it_value = { first_nsec / IMA_NSEC_PER_SEC, first_nsec % IMA_NSEC_PER_SEC },
                .it_interval = { period_nsec / IMA_NSEC_PER_SEC, period_nsec % IMA_NSEC_PER_SEC },
        };

        return timerfd_settime(tfd, 0, &its, NULL) < 0 ? -errno : 0;
}

static bool timer_armed(int tfd)
{
        struct itimerspec its;

        return timerfd_gettime(tfd, &its) == 0 && (its.it_value.tv_sec || its.it_value.tv_nsec);
}

static void timer_ack(int tfd)
{
        uint64_t expirations;

        (void)!read(tfd, &expirations, sizeof(expirations));
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static void daemon_free(struct daemon *d)
{
        for (size_t i = 0; i < d->n_http; i++)
                http_server_free(d->http[i].server);
        metrics_free(d->metrics);
        ima_events_free(d->events);
        ima_reconciler_free(d->rc);
        ima_nl_free(d->nl);
        watch_free(d->watch);
        ima_model_free(d->model);
        ima_config_free(d->config);
        free(d->last_problem);
        failure_memory_clear(&d->failures);
        free(d->last_bytes);
        close_fd(&d->sigfd);
        close_fd(&d->reload_tfd);
        close_fd(&d->heal_tfd);
        close_fd(&d->http_tfd);
        close_fd(&d->resync_tfd);
        close_fd(&d->retry_tfd);
        close_fd(&d->mounts_fd);
        close_fd(&d->epfd);
}

/* Whether a table of ours is there with its chain, though this agent has applied nothing: left
 * by a previous agent (they persist), and masquerading by its configuration. */
static bool tables_left_behind(struct daemon *d)
{
        for (int f = 0; d->nl && f < IMA_FAMILY_COUNT; f++)
                if (ima_dump_chain_exists(d->nl, (enum ima_family)f, IMA_TABLE_NAME, IMA_CHAIN_NAME) > 0)
                        return true;
        return false;
}

/* Logs the diag's entries, unless exactly these were logged last time. Returns whether it did. */
static bool log_problems_once(struct daemon *d, const struct ima_diag *diag, bool invalid)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return true;
        for (size_t i = 0; i < diag->n_entries; i++) {
                _cleanup_free_ char *line = ima_diag_entry_format(diag, &diag->entries[i]);

                fprintf(f, "%s\n", line ? line : "?");
        }
        /* out of memory, text is NULL: the entries are logged, and remembered as nothing */
        ima_memstream_close(f, &text);
        if (d->last_problem && text && strcmp(d->last_problem, text) == 0) {
                free(text);
                return false;
        }
        log_diag(diag);
        if (invalid)
                log_error_kv(0, "Configuration is invalid", LOG_STR("file", arg_config_path),
                             LOG_STR("action", d->model ? "keeping the last valid configuration in force and repairing it"
                                               : tables_left_behind(d)
                                                   ? "nothing is applied until it is fixed; the tables a previous "
                                                     "agent left keep masquerading by its configuration, unrepaired"
                                                   : "nothing is applied until it is fixed"));
        free(d->last_problem);
        d->last_problem = text;
        return true;
}

/* Beyond this many CIDRs the configuration is logged as counts: a list of 100,000 would make one
 * 2 MB line per change, and cost more to format than to apply. */
#define LOG_CONFIG_MAX_CIDRS 256

/* One line for the log: the effective configuration as validate prints it, without indentation,
 * and how long reading, parsing and turning it into the desired state took (the part of a
 * reload's latency that grows with the file). */
static void log_config(const char *what, const struct ima_config *c, uint64_t load_usec)
{
        const char *source = c->source == IMA_CONFIG_SOURCE_DEFAULTS ? "defaults (no file)" : "file";
        _cleanup_free_ char *text = NULL, *line = NULL;
        char interval[IMA_DURATION_STRLEN], load_time[IMA_DURATION_STRLEN];
        json_t *v;

        format_usec(load_usec, load_time);
        if (c->n_nomasq_dst + c->n_nomasq_src > LOG_CONFIG_MAX_CIDRS) {
                ima_duration_format(c->resync_interval_nsec, interval);
                log_info_kv(what, LOG_STR("file", arg_config_path), LOG_STR("source", source),
                            LOG_STR("loadTime", load_time),
                            LOG_INT("nonMasqueradeCIDRs", (int64_t)c->n_nomasq_dst),
                            LOG_INT("nonMasqueradeSrcCIDRs", (int64_t)c->n_nomasq_src),
                            LOG_INT("cidrLimit", c->cidr_limit),
                            LOG_BOOL("masqLinkLocal", c->masq_link_local),
                            LOG_BOOL("masqLinkLocalIPv6", c->masq_link_local_ipv6),
                            LOG_STR("resyncInterval", interval),
                            LOG_STR("lists", "counted, not listed: \"ip-masq-agent validate\" prints them"));
                return;
        }
        text = ima_config_to_json(c, NULL);
        v = text ? json_loads(text, 0, NULL) : NULL;
        if (v) {
                line = ima_json_text(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
                json_decref(v);
        }
        log_info_kv(what, LOG_STR("file", arg_config_path), LOG_STR("source", source),
                    LOG_STR("loadTime", load_time), LOG_STR("config", line ? line : text ? text : "(out of memory)"));
}

static void set_interval(struct daemon *d, int64_t nsec)
{
        char text[IMA_DURATION_STRLEN];

        /* a valid but tiny interval (1ns) would make the loop spin like upstream's zero does */
        if (nsec < MIN_RESYNC_NSEC)
                nsec = MIN_RESYNC_NSEC;
        if (nsec == d->interval_nsec)
                return;
        d->interval_nsec = nsec;
        ima_duration_format(nsec, text);
        log_info_kv("Resync interval set", LOG_STR("interval", text));
        (void)timer_set(d->resync_tfd, nsec, nsec);
}

/* Whether the file holds exactly what it held at the last read (or is still missing): then the
 * verdict of that read stands, and a 100,000-CIDR file need not be parsed every resync. Keeps
 * buf as the new "last read" otherwise. */
static bool same_as_last_read(struct daemon *d, bool missing, char **buf, size_t len)
{
        if (d->read_once && missing == d->last_missing &&
            (missing || (len == d->last_len && memcmp(*buf, d->last_bytes, len) == 0)))
                return true;
        free(d->last_bytes);
        d->last_bytes = missing ? NULL : TAKE_PTR(*buf);
        d->last_len = missing ? 0 : len;
        d->last_missing = missing;
        d->read_once = true;
        return false;
}

/* Work that leaves freed memory behind was done: trim once the agent is quiet again. */
static void heap_churned(struct daemon *d)
{
        d->trim_due_ms = ima_now_ms() + TRIM_QUIET_MS;
}

/* Reads the configuration. A valid one replaces the desired model when its effective content
 * differs; an invalid one keeps the last valid model (and is logged once). */
static void reload_config(struct daemon *d)
{
        _cleanup_(ima_diag_freep) struct ima_diag *diag = NULL;
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_free_ char *buf = NULL;
        uint64_t start = ima_now_usec();
        bool unreadable = false;
        size_t len = 0;
        int r;

        if (ima_diag_new(arg_config_path, &diag) < 0)
                return;
        r = ima_config_read_file(arg_config_path, diag, &buf, &len);
        if (r >= 0 || r == -ENOENT) {
                if (same_as_last_read(d, r == -ENOENT, &buf, len))
                        return; /* the same bytes: no new load to count */
                r = r == -ENOENT ? ima_config_new_defaults(&arg_config_opts, &config)
                                 : ima_config_parse(d->last_bytes, d->last_len, &arg_config_opts, diag, &config);
                heap_churned(d);
        } else {
                d->read_once = false; /* unreadable: try for real next time */
                unreadable = true;
        }
        if (r < 0 && r != -EINVAL) {
                /* no verdict on the file (the agent is out of memory or descriptors): not counted,
                 * nothing changes, and it is read again soon, not only at the next resync */
                d->read_once = false;
                if (d->read_trouble != r)
                        log_error("%s: %s: reading it again every %d s", arg_config_path, strerror(-r),
                                  RELOAD_RETRY_MS / 1000);
                d->read_trouble = r;
                (void)timer_set(d->reload_tfd, (int64_t)RELOAD_RETRY_MS * 1000000, 0);
                return;
        }
        if (d->read_trouble)
                log_info("%s: read again", arg_config_path);
        d->read_trouble = 0;
        if (r < 0) {
                d->config_valid = false;
                d->config_failed = true;
                /* a file that stays unreadable for the same reason is one failed load, not one
                 * per resync: there are no bytes to compare, the reason stands in for them */
                if (log_problems_once(d, diag, true) || !unreadable)
                        metrics_config_loaded(d->metrics, false);
                return;
        }
        metrics_config_loaded(d->metrics, true);
        log_problems_once(d, diag, false); /* warnings, or clears the memory of old problems */
        d->config_valid = true;
        if (d->config_failed) {
                /* the error was logged once; without this line the log would end on it */
                log_info_kv("Configuration is valid again", LOG_STR("file", arg_config_path));
                d->config_failed = false;
        }
        set_interval(d, config->resync_interval_nsec);
        /* upstream's behaviour, kept, but a ConfigMap key removed or renamed changes every node's
         * lists at once: worth more than the info line of a new configuration */
        if (d->config && d->config->source == IMA_CONFIG_SOURCE_FILE && config->source == IMA_CONFIG_SOURCE_DEFAULTS)
                log_warning_kv("The configuration file is gone: the defaults apply now", LOG_STR("file", arg_config_path),
                               LOG_STR("fix", "restore the file (the ConfigMap's key \"config\") if that was not meant"));
        if (d->config && ima_config_equal(d->config, config))
                return;
        if (build_model(config, &model) < 0) {
                d->read_once = false; /* try these bytes again next time */
                log_error("out of memory building the desired state");
                return;
        }
        log_config(d->model ? "New configuration" : "Using configuration", config, ima_now_usec() - start);
        ima_model_free(d->model);
        d->model = TAKE_PTR(model);
        d->model_version++;
        ima_config_free(d->config);
        d->config = TAKE_PTR(config);
}

static double wall_seconds(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What the kernel holds after a successful reconcile, and which kinds of drift it repaired.
 * Differences right after the desired state changed are the change itself, not drift. */
static void account(struct daemon *d, const struct ima_reconcile_report *rep)
{
        bool seen[IMA_REASON_COUNT] = { false }, rules_new[IMA_FAMILY_COUNT] = { false };

        for (size_t i = 0; i < rep->plan->n_ops; i++)
                if (rep->plan->ops[i].kind == IMA_OP_ADD_RULE)
                        rules_new[rep->plan->ops[i].family] = true;
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                if (rules_new[f]) /* the rules are replaced as a whole: all their counters start at 0 */
                        metrics_nat_restarted(d->metrics, (enum ima_family)f);
                if (!d->model->tables[f].present) {
                        metrics_forget_family(d->metrics, (enum ima_family)f);
                        continue;
                }
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        metrics_set_elements(d->metrics, (enum ima_family)f, (enum ima_set_id)s,
                                             d->model->tables[f].sets[s]->n);
        }
        if (d->applied_version != d->model_version) {
                d->applied_version = d->model_version;
                return;
        }
        for (size_t i = 0; i < rep->plan->n_ops; i++)
                seen[rep->plan->ops[i].reason] = true;
        for (int r = 0; r < IMA_REASON_COUNT; r++)
                if (seen[r])
                        metrics_drift_repaired(d->metrics, (enum ima_op_reason)r, 1);
}

/* Another live process owns our tables, so nothing can be changed until it exits: say so once
 * (not as an error: during a surge rollout it is how every update starts) and watch for it. */
static void wait_for_owner(struct daemon *d, const struct ima_reconcile_report *rep)
{
        if (!d->owner_wait_since_ms || d->owner_port != rep->live_owner) {
                d->owner_wait_since_ms = ima_now_ms();
                d->owner_port = rep->live_owner;
                d->owner_wait_expired = false;
                log_info_kv("The tables are owned by another process, most likely the other agent of a "
                            "rolling update: taking them over when it exits",
                            LOG_INT("ownerPort", (int64_t)rep->live_owner),
                            LOG_STR("tables", rep->only_takeover ? "hold this configuration already"
                                                                 : "differ from this configuration: applied when it exits"));
        }
        (void)timer_set(d->retry_tfd, (int64_t)OWNER_POLL_MS * 1000000, 0);
}

static bool owner_wait_ready(const struct daemon *d)
{
        return d->owner_wait_since_ms && ima_now_ms() - d->owner_wait_since_ms < OWNER_WAIT_READY_MS;
}

/* Whether another live process owns a table of ours: one that want has, or any when want is NULL
 * (an error reading it: no). */
static bool owned_by_other(struct daemon *d, const struct ima_model *want)
{
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                if ((!want || want->tables[f].present) &&
                    ima_dump_owned_by_other(d->nl, (enum ima_family)f, ima_nl_portid(d->nl)) > 0)
                        return true;
        return false;
}

/* Returns -errno, 0 when the kernel was in sync, 1 when something was sent. */
static int reconcile_for(struct daemon *d, enum ima_trust trust, const char *why, const char *changed_by)
{
        struct ima_reconcile_report rep = { 0 };
        uint64_t start, elapsed_usec;
        int r;

        if (!d->model)
                return 0;
        start = ima_now_usec();
        r = reconcile_logged(d->rc, d->model, trust, why, changed_by, &d->failures, &rep);
        elapsed_usec = ima_now_usec() - start;
        if (r != 0 || trust == IMA_TRUST_NOTHING || rep.plan->n_ops > 0)
                heap_churned(d);
        d->reconcile_ok = r >= 0;
        /* whatever made it read the kernel (SIGHUP, a retry, a cache found stale), that read is
         * the one a full check would make: the next is due 10 minutes after it */
        if (r >= 0 && rep.observed)
                d->last_full_check_ms = ima_now_ms();
        if (r == -EPERM && rep.live_owner) {
                wait_for_owner(d, &rep);
        } else if (r >= 0) {
                /* a pending retry would only read the whole ruleset back for nothing */
                d->retry_delay_ms = RETRY_FIRST_DELAY_MS;
                (void)timer_set(d->retry_tfd, 0, 0);
        } else if (!timer_armed(d->retry_tfd) || d->owner_wait_since_ms) {
                (void)timer_set(d->retry_tfd, (int64_t)d->retry_delay_ms * 1000000, 0);
                d->retry_armed_ms = d->retry_delay_ms;
                d->retry_delay_ms = d->retry_delay_ms * 2 < RETRY_MAX_DELAY_MS ? d->retry_delay_ms * 2 : RETRY_MAX_DELAY_MS;
        }
        if (!(r == -EPERM && rep.live_owner))
                d->owner_wait_since_ms = 0;
        metrics_reconcile_done(d->metrics,
                               r == -EPERM && rep.live_owner ? METRICS_RECONCILE_WAITING_FOR_OWNER
                               : r < 0                       ? METRICS_RECONCILE_ERROR
                               : rep.plan->n_ops > 0         ? METRICS_RECONCILE_CHANGED
                                                             : METRICS_RECONCILE_IN_SYNC,
                               (double)elapsed_usec / 1e6,
                               wall_seconds());
        /* waiting, but the previous agent's tables hold this configuration: what an alert on the
         * age of the last success asks is true */
        if (r == -EPERM && rep.live_owner && rep.only_takeover)
                metrics_kernel_matches(d->metrics, wall_seconds());
        /* in sync is worth a line (at v=0) only when a new configuration (or the start) found it so:
         * the tables a previous agent left behind are adopted as they are */
        if (r >= 0 && rep.plan->n_ops == 0 && d->applied_version != d->model_version)
                log_info_kv("The kernel already holds this configuration: nothing sent", LOG_STR("trigger", why));
        if (r >= 0) {
                account(d, &rep);
                r = rep.plan->n_ops > 0;
        }
        ima_reconcile_report_clear(&rep);
        return r;
}

static void check_upstream(struct daemon *d)
{
        d->upstream_chains = check_upstream_chains(d->nl, d->upstream_chains);
        metrics_set_upstream_chains(d->metrics, d->upstream_chains);
}

static void reconcile(struct daemon *d, enum ima_trust trust, const char *why)
{
        (void)reconcile_for(d, trust, why, NULL);
}

static void schedule_heal(struct daemon *d)
{
        if (timer_armed(d->heal_tfd))
                return;
        if (ima_now_ms() - d->last_heal_ms > HEAL_QUIET_MS) {
                d->heal_delay_ms = HEAL_FIRST_DELAY_MS;
                d->fight_reported = false;
        }
        (void)timer_set(d->heal_tfd, (int64_t)d->heal_delay_ms * 1000000, 0);
}

static void on_heal_timer(struct daemon *d)
{
        uint64_t start = ima_now_ms();
        char culprit[sizeof(d->culprit)];
        bool for_others = d->heal_for_others;
        int r;

        snprintf(culprit, sizeof(culprit), "%s", d->culprit[0] ? d->culprit : "unknown");
        /* the next repair names whoever the next event shows, never this one by default; events
         * the reconcile's catch-up reads name the next repair's culprit */
        d->culprit[0] = '\0';
        d->heal_for_others = false;

        timer_ack(d->heal_tfd);
        log_v_kv(1, "Checking the tables: another process may have changed them", LOG_STR("changedBy", culprit),
                 LOG_INT("afterMs", (int64_t)d->heal_delay_ms));
        r = reconcile_for(d, IMA_TRUST_GENID, "repair", culprit);
        /* A check after our own large commits (out of the event group, or events lost) that finds
         * nothing to repair is not a fight: a burst of big ConfigMap updates must not slow the
         * repairs down nor be reported as one. */
        if (!for_others && r == 0)
                return;
        d->last_heal_ms = start;
        d->heal_delay_ms = d->heal_delay_ms * 2 < HEAL_MAX_DELAY_MS ? d->heal_delay_ms * 2 : HEAL_MAX_DELAY_MS;
        if (d->heal_delay_ms >= HEAL_FIGHT_MS && !d->fight_reported) {
                log_warning_kv("Another process keeps changing table ip-masq-agent: repairs slow down until it stops",
                               LOG_STR("changedBy", culprit), LOG_INT("maxDelaySeconds", HEAL_MAX_DELAY_MS / 1000));
                d->fight_reported = true;
        }
}

/* Reads the queued events; returns how many transactions (besides our own) they held. */
static int read_events(struct daemon *d)
{
        struct ima_event_batch batch = { 0 };
        int n = 0, r;

        /* on an error, what was decoded before it still counts, and the rest counts as lost */
        r = ima_events_read(d->events, &batch);
        for (size_t i = 0; i < batch.n_txns; i++) {
                const struct ima_event_txn *t = &batch.txns[i];

                if (t->own)
                        continue;
                n++;
                metrics_kernel_events(d->metrics, 1);
                if (!t->touched) {
                        ima_reconciler_skip_generation(d->rc, t->genid);
                        continue;
                }
                snprintf(d->culprit, sizeof(d->culprit), "%s[%" PRIu32 "]", t->comm[0] ? t->comm : "?", t->pid);
                d->heal_for_others = true;
                log_v_kv(2, t->cut ? "Another process may have changed the tables (events were lost)"
                                   : "Another process changed the tables",
                         LOG_STR("changedBy", d->culprit), LOG_INT("generation", (int64_t)t->genid));
                schedule_heal(d);
        }
        if (batch.lost) {
                /* our own large commits overflow the queue with their element notifications; the
                 * repair's generation check tells whether anyone else committed meanwhile, and
                 * reads the ruleset only then */
                log_v(1, "nftables events were lost (%s): checking the generation",
                      r < 0 ? strerror(-r) : "receive queue overflow");
                snprintf(d->culprit, sizeof(d->culprit), "unknown (events lost)");
                schedule_heal(d);
        }
        ima_event_batch_clear(&batch);
        return n;
}

/* The reconciler's generation check found the kernel ahead: the events that explain it (a commit
 * to kube-proxy's table a moment ago, say) are queued; account for them before it gives up on its
 * cache and reads 100,000 elements back. */
static int catch_up_events(void *userdata)
{
        return read_events(userdata);
}

/* Rejoins the event group; what was committed while we were out of it can only be found by the
 * repair's generation check, as after a loss. Retried at each resync if it fails. */
static void listen_again(struct daemon *d)
{
        int r = ima_events_listen(d->events, true);
        uint32_t gen = 0;

        if (r < 0) {
                log_error("cannot rejoin the nftables event group: %s; changes by other processes are seen only "
                          "at resyncs until it succeeds", strerror(-r));
                return;
        }
        /* a commit by someone else under way as we joined delivers its NEWGEN but not its first
         * messages: judged by the rest, it could pass for one that left our tables alone and move
         * the cache over a change to them. Its generation is at most the one the kernel has now */
        r = ima_nl_getgen(d->nl, &gen); /* its own statement: beside gen in one call, the order is unspecified */
        ima_events_rejoined(d->events, r >= 0, gen);
        d->deaf = false;
        snprintf(d->culprit, sizeof(d->culprit), "unknown (not listening during our own commit)");
        schedule_heal(d);
}

static void on_commit(void *userdata, bool before, size_t n_intervals)
{
        struct daemon *d = userdata;

        if (n_intervals < DEAF_COMMIT_INTERVALS)
                return;
        if (before)
                d->deaf = ima_events_listen(d->events, false) >= 0;
        else if (d->deaf)
                listen_again(d);
}

/* Whether a failure is a want of memory or descriptors, which passes. */
static bool passing_trouble(int r)
{
        return r == -ENOMEM || r == -EMFILE || r == -ENFILE;
}

/* What an inotify failure asks of the node's operator, or "". */
static const char *inotify_hint(int r)
{
        if (r == -ENOSPC)
                return " (no inotify watch left: raise fs.inotify.max_user_watches)";
        if (r == -EMFILE)
                return " (no inotify instance left: fs.inotify.max_user_instances, or the open file limit)";
        return "";
}

/* Says how config changes are noticed when it is not simply the file's own directory. */
static void log_watch_state(const struct daemon *d)
{
        if (watch_active(d->watch))
                return;
        if (watch_ancestor(d->watch))
                log_info("the directory of %s does not exist: watching %s until it appears", arg_config_path,
                         watch_ancestor(d->watch));
        else
                log_error("cannot watch the directory of %s: %s%s; %s", arg_config_path,
                          strerror(-watch_error(d->watch)), inotify_hint(watch_error(d->watch)),
                          passing_trouble(watch_error(d->watch))
                                  ? "the file is read, and the watch tried again, every second until it works"
                                  : "config changes are seen only every resync");
}

/* The config file's own watch, when it fails or works again. Only writes through another path
 * than the config path need it (the source of a file bind-mounted over it): the directories'
 * watches see the rest, so the daemon goes on without it, and every resync tries it again. */
static void log_file_watch(struct daemon *d)
{
        int r;

        if (!d->watch)
                return; /* no inotify at all: logged as such */
        r = watch_file_error(d->watch);
        if (r == d->file_watch_error)
                return;
        if (r < 0)
                log_warning("cannot watch the config file %s itself: %s%s; writes through that path are seen when "
                            "the writer closes the file, but writes through another (the source of a file "
                            "bind-mounted over it) only at the next resync, which tries the watch again",
                            arg_config_path, strerror(-r), inotify_hint(r));
        else if (d->file_watch_error < 0)
                log_info("watching the config file %s itself again", arg_config_path);
        d->file_watch_error = r;
}

/* The watch failed for want of memory or descriptors: the reload timer tries it again soon
 * (on_reload_timer), not only at the next resync, a minute away by default. */
static void retry_watch_soon(struct daemon *d, int r)
{
        if (passing_trouble(r))
                (void)timer_set(d->reload_tfd, (int64_t)RELOAD_RETRY_MS * 1000000, 0);
}

static void on_watch(struct daemon *d)
{
        bool was_active = watch_active(d->watch);
        enum watch_change change;
        int r;

        r = watch_read(d->watch, &change);
        if (r < 0) {
                /* events were consumed but not understood: the file may have changed, so read it */
                change = WATCH_CHANGED;
                retry_watch_soon(d, r);
        }
        if (change == WATCH_UNCHANGED)
                return;
        if (!was_active && watch_active(d->watch))
                log_info("the directory of %s appeared: watching it", arg_config_path);
        else if (was_active && !watch_active(d->watch)) {
                log_watch_state(d);
                retry_watch_soon(d, watch_error(d->watch));
        }
        if (change == WATCH_COMPLETE)
                (void)timer_set(d->reload_tfd, (int64_t)RELOAD_COMPLETE_DELAY_MS * 1000000, 0);
        else if (!timer_armed(d->reload_tfd))
                (void)timer_set(d->reload_tfd, (int64_t)RELOAD_DEBOUNCE_MS * 1000000, 0);
}

static bool refresh_watch(struct daemon *d);

static void on_reload_timer(struct daemon *d)
{
        timer_ack(d->reload_tfd);
        if (!d->watch || !watch_active(d->watch))
                refresh_watch(d); /* after a failure that passes (retry_watch_soon) */
        /* whatever armed the timer (the old file's removal, say), the new one is still being
         * written: its writer's close brings the read (and the resync, if it never comes) */
        if (d->watch && watch_file_being_written(d->watch))
                return;
        reload_config(d);
        reconcile(d, IMA_TRUST_GENID, "config change");
}

static void on_retry_timer(struct daemon *d)
{
        timer_ack(d->retry_tfd);
        if (d->owner_wait_since_ms && d->model && owned_by_other(d, d->model)) {
                if (!owner_wait_ready(d) && !d->owner_wait_expired) {
                        d->owner_wait_expired = true;
                        log_error_kv(0, "The tables are still owned by another process: not ready",
                                     LOG_INT("ownerPort", (int64_t)d->owner_port),
                                     LOG_INT("waitedSeconds", OWNER_WAIT_READY_MS / 1000),
                                     LOG_STR("fix", "stop the other ip-masq-agent on this node"));
                }
                (void)timer_set(d->retry_tfd, (int64_t)OWNER_POLL_MS * 1000000, 0);
                return;
        }
        if (!d->owner_wait_since_ms)
                log_v_kv(2, "Retrying the reconcile", LOG_INT("afterMs", (int64_t)d->retry_armed_ms));
        reconcile(d, IMA_TRUST_NOTHING, d->owner_wait_since_ms ? "previous owner exited" : "retry");
}

static int start_watch(struct daemon *d);

/* For a watch that could not be added at all (inotify limits, permissions), for a directory on the
 * path renamed away (no event says so), and for an event lost: a symlink repointed, or an ancestor
 * watched whose directory is there (which would be watched for good, every change waiting for the
 * resync). The file is read right after, so a change the old watches missed is applied too. */
static bool refresh_watch(struct daemon *d)
{
        bool was_active, was_waiting, rearmed;
        int r;

        if (!d->watch) {
                r = start_watch(d);
                if (r < 0) {
                        retry_watch_soon(d, r);
                        return false;
                }
                log_info("inotify works again: watching %s", arg_config_path);
                log_watch_state(d);
                return true;
        }
        was_active = watch_active(d->watch);
        was_waiting = watch_ancestor(d->watch) != NULL;
        r = watch_refresh(d->watch, &rearmed);
        if (r < 0)
                retry_watch_soon(d, r);
        if (r < 0 || !rearmed)
                return rearmed;
        if (was_waiting)
                log_info("the directory of %s appeared: watching it", arg_config_path);
        else if (!was_active)
                log_info("watching the directory of %s again", arg_config_path);
        else
                log_info("a directory on the path of %s, or the file itself, is another one now: watching it",
                         arg_config_path);
        return true;
}

/* Something was mounted or unmounted in our mount namespace. A file system mounted over a
 * directory on the config path (a volume mounted again), or a file over the config file, changes
 * no watched directory: inotify says nothing, and the watch would stay on the directory (or file)
 * now hidden under the mount, the file read only at the next resync. When the path leads
 * elsewhere now, the watch moves and the file is read; other mounts cost a stat() per watched
 * directory, and one of the file. */
static void on_mounts(struct daemon *d)
{
        if (refresh_watch(d) && !timer_armed(d->reload_tfd))
                (void)timer_set(d->reload_tfd, (int64_t)RELOAD_DEBOUNCE_MS * 1000000, 0);
}

/* Mount changes are an EPOLLPRI on /proc/self/mountinfo; without /proc they are seen only by the
 * resync, as before. */
static void watch_mounts(struct daemon *d)
{
        struct epoll_event ev = { .events = EPOLLPRI, .data.u32 = SOURCE_MOUNTS };

        d->mounts_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (d->mounts_fd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->mounts_fd, &ev) < 0) {
                log_v(2, "cannot watch /proc/self/mountinfo: %m; a volume mounted over the config's directory is seen at the next resync");
                close_fd(&d->mounts_fd);
        }
}

/* The file is about to be read whatever state it is in: a file created and not closed since (a
 * slow writer, or a file hard-linked into place after its other name was removed, which no close
 * will ever end) holds up no later change read from the watch either. */
static void forget_writer(struct daemon *d)
{
        if (d->watch)
                watch_forget_writer(d->watch);
}

static void on_resync_timer(struct daemon *d)
{
        timer_ack(d->resync_tfd);
        if (d->deaf)
                listen_again(d);
        refresh_watch(d);
        forget_writer(d);
        reload_config(d);
        /* a slow backstop against anything the event stream and generation checks could miss */
        if (ima_now_ms() - d->last_full_check_ms >= FULL_CHECK_INTERVAL_MS) {
                d->last_full_check_ms = ima_now_ms();
                reconcile(d, IMA_TRUST_NOTHING, "resync (full check)");
                check_upstream(d);
        } else {
                reconcile(d, IMA_TRUST_GENID, "resync");
        }
}

/* Returns true when the loop should end. */
static bool on_signal(struct daemon *d)
{
        struct signalfd_siginfo si;

        if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
                return false;
        if (si.ssi_signo == SIGHUP) {
                log_info_kv("SIGHUP: reloading the configuration and reading the kernel state", LOG_STR("file", arg_config_path));
                refresh_watch(d);
                forget_writer(d);
                reload_config(d);
                reconcile(d, IMA_TRUST_NOTHING, "reload");
                check_upstream(d);
                return false;
        }
        log_info_kv("Exiting", LOG_STR("signal", sigabbrev_np((int)si.ssi_signo)));
        return true;
}

static int add_fd(struct daemon *d, int fd, enum source src)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = src };

        return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* The config watch, or -errno when not even an inotify instance can be had (the per-user limit,
 * fs.inotify.max_user_instances, is shared by every container of that user on the node). */
static int start_watch(struct daemon *d)
{
        int r;

        r = watch_new(arg_config_path, &d->watch);
        if (r < 0)
                return r;
        r = add_fd(d, watch_fd(d->watch), SOURCE_WATCH);
        if (r < 0)
                d->watch = watch_free(d->watch);
        return r;
}

/* In event-repair mode nothing stops a second daemon from editing the tables, and each repairs
 * what the other changed: with two configurations they take turns for good. Unless the other
 * owns them: then this one waits, and says so when it finds them owned. */
static void warn_other_daemon(struct daemon *d)
{
        char pid_text[16];
        pid_t pid;

        if (find_running_daemon(&pid) <= 0 || owned_by_other(d, NULL))
                return;
        snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
        log_warning_kv("Another ip-masq-agent daemon runs in this network namespace: with another configuration, "
                       "each will undo the other's changes",
                       LOG_STR("pid", pid_text),
                       LOG_STR("fix", "run one per node (a rolling update's old pod exits by itself)"));
}

static void choose_ownership(struct daemon *d)
{
        int r;

        metrics_set_ownership(d->metrics, METRICS_OWNERSHIP_EVENT_REPAIR);
        if (arg_table_ownership == TABLE_OWNERSHIP_OFF) {
                log_info_kv("Table ownership off: tables are repaired from nftables events",
                            LOG_STR("mode", "event_repair"), LOG_STR("reason", "--table-ownership=off"));
                warn_other_daemon(d);
                return;
        }
        r = ima_features_table_persist(d->nl);
        if (r <= 0) {
                const char *hint = r < 0 ? ima_needs_read_hint(r) : NULL;
                char reason[256];

                snprintf(reason, sizeof(reason), "%s%s%s",
                         r == 0 ? "kernel without persistent table ownership (Linux < 6.9)" : strerror(-r),
                         hint ? "; " : "", hint ? hint : "");
                log_info_kv("Table ownership unavailable: tables are repaired from nftables events",
                            LOG_STR("mode", "event_repair"), LOG_STR("reason", reason));
                warn_other_daemon(d);
                return;
        }
        /* owner AND persist: an owned table no one else can edit, that outlives this process */
        arg_model_opts.table_flags = IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST;
        arg_model_opts.table_owner = ima_nl_portid(d->nl);
        metrics_set_ownership(d->metrics, METRICS_OWNERSHIP_OWNER_PERSIST);
        log_info_kv(arg_cleanup_on_exit
                            ? "Table ownership on: only this agent can change its tables; --cleanup-on-exit deletes them when it exits"
                            : "Table ownership on: only this agent can change its tables; they stay when it exits",
                    LOG_STR("mode", "owner_persist"));
}

static bool http_ready(void *userdata, char *reason, size_t size)
{
        const struct daemon *d = userdata;

        if (!d->config_valid)
                snprintf(reason, size, "configuration %s is invalid%s", arg_config_path,
                         d->model ? " (the last valid one is still applied)" : "");
        else if (!d->reconcile_ok && d->owner_wait_since_ms && !owner_wait_ready(d))
                snprintf(reason, size, "the tables are still owned by another process (netlink port %u)",
                         d->owner_port);
        else if (!d->reconcile_ok && !owner_wait_ready(d))
                snprintf(reason, size, "the last reconcile failed");
        /* waiting for the previous agent to exit is ready: a surge rollout stops it only then */
        return d->config_valid && (d->reconcile_ok || owner_wait_ready(d));
}

static int http_metrics(void *userdata, char **ret, size_t *ret_len)
{
        const struct daemon *d = userdata;
        struct ima_nat_counters kernel, nat;

        /* counters come from the kernel, never from our own bookkeeping; the registry only keeps
         * them from going backwards when the kernel's restart */
        if (ima_dump_counters(d->nl, &kernel) < 0)
                kernel = (struct ima_nat_counters){ 0 };
        metrics_observe_nat(d->metrics, &kernel, &nat);
        return metrics_render(d->metrics, &nat, ret, ret_len);
}

/* Binds one endpoint; a failure is logged (once per distinct error) and retried later. */
static int bind_http(struct daemon *d, struct http_endpoint *ep)
{
        static const struct http_handlers handlers = { .readyz = http_ready, .metrics = http_metrics };
        char bound[HTTP_BOUND_MAX];
        const char *reason = "";
        int r;

        r = http_server_new(ep->address, ep->paths, &handlers, d, &ep->server, &reason);
        if (r < 0) {
                if (r != ep->last_error)
                        log_error("--%s=%s: %s: %s; the rules are applied regardless, retrying every %d s",
                                  ep->flag, ep->address, reason, strerror(-r), HTTP_RETRY_MS / 1000);
                ep->last_error = r;
                return r;
        }
        ep->last_error = 0;
        /* the address bound, not the flag's text: the port the kernel picked for ":0", and
         * 0.0.0.0 where ":port" fell back for want of IPv6, are what a scraper must be given */
        if (http_server_format_bound(ep->server, bound, sizeof(bound)) < 0)
                snprintf(bound, sizeof(bound), "%s", ep->address);
        log_info("serving %s on %s", ep->paths == HTTP_PATHS_ALL ? "/healthz, /readyz and /metrics"
                                     : ep->paths == HTTP_PATHS_HEALTH ? "/healthz and /readyz" : "/metrics",
                 bound);
        r = add_fd(d, http_server_get_fd(ep->server), SOURCE_HTTP);
        if (r < 0) {
                log_error("--%s=%s: %s", ep->flag, ep->address, strerror(-r));
                ep->server = http_server_free(ep->server);
        }
        return r;
}

/* Binds every endpoint not bound yet, and polls again those paused whose time is up; the timer
 * runs while one is missing or paused. */
static void bind_http_all(struct daemon *d)
{
        int64_t next_ms = 0;

        for (size_t i = 0; i < d->n_http; i++) {
                struct http_endpoint *ep = &d->http[i];

                if (ep->server && ep->paused_until_ms && ima_now_ms() >= ep->paused_until_ms &&
                    add_fd(d, http_server_get_fd(ep->server), SOURCE_HTTP) == 0)
                        ep->paused_until_ms = 0;
                if (ep->server && ep->paused_until_ms)
                        next_ms = next_ms && next_ms < HTTP_PAUSE_MS ? next_ms : HTTP_PAUSE_MS;
                else if (!ep->server && bind_http(d, ep) < 0)
                        next_ms = next_ms && next_ms < HTTP_RETRY_MS ? next_ms : HTTP_RETRY_MS;
        }
        (void)timer_set(d->http_tfd, next_ms * 1000000, 0);
}

/* libmicrohttpd could not accept for want of descriptors: stop polling it for a while, or the
 * loop spins at full CPU (while the rules still need it) until one is free. */
static void pause_http(struct daemon *d, struct http_endpoint *ep)
{
        (void)epoll_ctl(d->epfd, EPOLL_CTL_DEL, http_server_get_fd(ep->server), NULL);
        ep->paused_until_ms = ima_now_ms() + HTTP_PAUSE_MS;
        /* one error line per spell of shortage, not one a second while it lasts */
        if (!ep->last_pause_ms || ima_now_ms() - ep->last_pause_ms > HTTP_PAUSE_NEWS_MS)
                log_error("--%s=%s: out of file descriptors, connections wait: accepting again every %d s "
                          "(raise the open file limit)",
                          ep->flag, ep->address, HTTP_PAUSE_MS / 1000);
        else
                log_v(2, "--%s=%s: out of file descriptors again", ep->flag, ep->address);
        ep->last_pause_ms = ima_now_ms();
        bind_http_all(d);
}

static void add_http_endpoint(struct daemon *d, const char *address, unsigned paths, const char *flag)
{
        d->http[d->n_http++] = (struct http_endpoint){ .address = address, .paths = paths, .flag = flag };
}

/* One server per distinct address: health and metrics share it when the addresses are equal. */
static void plan_http_endpoints(struct daemon *d)
{
        const char *health = arg_health_bind_address, *metrics = arg_metrics_bind_address;
        struct http_address a, b;
        const char *reason;

        if (health && *health && metrics && *metrics && http_address_parse(health, &a, &reason) == 0 &&
            http_address_parse(metrics, &b, &reason) == 0 && http_address_equal(&a, &b)) {
                add_http_endpoint(d, health, HTTP_PATHS_ALL, "health-bind-address");
                return;
        }
        if (health && *health)
                add_http_endpoint(d, health, HTTP_PATHS_HEALTH, "health-bind-address");
        if (metrics && *metrics)
                add_http_endpoint(d, metrics, HTTP_PATH_METRICS, "metrics-bind-address");
}

/* The soft limit on open files up to the hard one, as Go programs (the upstream agent among them)
 * do at start: containers commonly get a soft 1024. Nothing here uses select(). */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int daemon_init(struct daemon *d)
{
        sigset_t mask;
        int r;

        raise_fd_limit();
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
            (d->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            (d->reload_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
            (d->heal_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
            (d->resync_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
            (d->retry_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
            (d->http_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
                return -errno;
        r = metrics_new(IMA_VERSION, &d->metrics);
        if (r < 0)
                return r;
        r = open_reconciler(&d->nl, &d->rc);
        if (r < 0)
                return r;
        /* subscribe before the first reconcile, so no change can slip between the two */
        r = ima_events_open(ima_nl_portid(d->nl), &d->events);
        if (r < 0) {
                log_error("cannot subscribe to nftables events: %s%s", strerror(-r),
                          r == -EPERM ? " (nf_tables needs CAP_NET_ADMIN in this network namespace: run as root, "
                                        "or give the container NET_ADMIN)" : "");
                return r;
        }
        ima_reconciler_set_catch_up(d->rc, catch_up_events, d);
        ima_reconciler_set_commit_hook(d->rc, on_commit, d);
        /* without inotify the rules go in all the same: the file is read every resync, or every
         * second while the watch waits for memory or descriptors */
        r = start_watch(d);
        if (r < 0) {
                log_error("cannot watch %s: %s%s; %s", arg_config_path, strerror(-r), inotify_hint(r),
                          passing_trouble(r) ? "the file is read, and the watch tried again, every second until it works"
                                             : "config changes are seen only every resync until the watch works again");
                retry_watch_soon(d, r);
        } else {
                log_watch_state(d);
        }
        if ((r = add_fd(d, d->sigfd, SOURCE_SIGNAL)) < 0 ||
            (r = add_fd(d, ima_events_fd(d->events), SOURCE_EVENTS)) < 0 ||
            (r = add_fd(d, d->reload_tfd, SOURCE_RELOAD_TIMER)) < 0 ||
            (r = add_fd(d, d->heal_tfd, SOURCE_HEAL_TIMER)) < 0 ||
            (r = add_fd(d, d->resync_tfd, SOURCE_RESYNC_TIMER)) < 0 ||
            (r = add_fd(d, d->retry_tfd, SOURCE_RETRY_TIMER)) < 0 ||
            (r = add_fd(d, d->http_tfd, SOURCE_HTTP_RETRY_TIMER)) < 0)
                return r;
        watch_mounts(d);
        plan_http_endpoints(d);
        bind_http_all(d);
        choose_ownership(d);
        return 0;
}

/* The soonest libmicrohttpd wants to be called (ms), or -1. */
static int http_timeout(const struct daemon *d)
{
        int t = -1;

        for (size_t i = 0; i < d->n_http; i++) {
                int s = d->http[i].server && !d->http[i].paused_until_ms ? http_server_get_timeout(d->http[i].server)
                                                                          : -1;

                if (s >= 0 && (t < 0 || s < t))
                        t = s;
        }
        return t;
}

/* A parse tree, a dump or a batch is freed in pieces that malloc keeps for reuse: a 100,000-CIDR
 * file would leave the agent at its parsing peak for good. The memory goes back once the agent has
 * been quiet for a while: trimmed after every change, the next one would fault it all in again
 * (bench-daemon.sh: 1 ms more per ConfigMap update at 64 CIDRs, 80 ms at 100,000). Returns the
 * epoll timeout that wakes the loop for it. */
static int trim_when_quiet(struct daemon *d, int timeout_ms)
{
        uint64_t now;

        if (!d->trim_due_ms)
                return timeout_ms;
        now = ima_now_ms();
        if (now >= d->trim_due_ms) {
                (void)malloc_trim(0);
                d->trim_due_ms = 0;
                return timeout_ms;
        }
        if (timeout_ms < 0 || d->trim_due_ms - now < (uint64_t)timeout_ms)
                return (int)(d->trim_due_ms - now);
        return timeout_ms;
}

static int cleanup_tables(struct daemon *d)
{
        _cleanup_(ima_model_freep) struct ima_model *nothing = NULL;
        int r;

        r = ima_model_new_empty(&nothing);
        if (r < 0)
                return r;
        return reconcile_logged(d->rc, nothing, IMA_TRUST_NOTHING, "cleanup on exit", NULL, NULL, NULL);
}

int daemon_run(void)
{
        struct daemon d = { .epfd = -1, .sigfd = -1, .reload_tfd = -1, .heal_tfd = -1, .resync_tfd = -1,
                            .retry_tfd = -1, .http_tfd = -1, .mounts_fd = -1, .heal_delay_ms = HEAL_FIRST_DELAY_MS,
                            .retry_delay_ms = RETRY_FIRST_DELAY_MS,
                            .failures = { .owner_wait_is_quiet = true } };
        bool done = false;
        int status = EXIT_OK;
        pid_t other;

        if (daemon_init(&d) < 0) {
                daemon_free(&d);
                return EXIT_FAILURE_RUNTIME;
        }
        reload_config(&d);
        d.last_full_check_ms = ima_now_ms();
        reconcile(&d, IMA_TRUST_NOTHING, "start");
        check_upstream(&d);
        if (d.interval_nsec == 0)
                set_interval(&d, IMA_CONFIG_DEFAULT_RESYNC_NSEC);
        while (!done) {
                struct epoll_event evs[8];
                int n;

                log_file_watch(&d); /* whichever source moved the watch */
                n = epoll_wait(d.epfd, evs, 8, trim_when_quiet(&d, http_timeout(&d)));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        log_error("epoll_wait: %m");
                        status = EXIT_FAILURE_RUNTIME;
                        break;
                }
                for (int i = 0; i < n && !done; i++) {
                        switch ((enum source)evs[i].data.u32) {
                        case SOURCE_SIGNAL:
                                done = on_signal(&d);
                                break;
                        case SOURCE_WATCH:
                                on_watch(&d);
                                break;
                        case SOURCE_EVENTS:
                                (void)read_events(&d);
                                break;
                        case SOURCE_RELOAD_TIMER:
                                on_reload_timer(&d);
                                break;
                        case SOURCE_HEAL_TIMER:
                                on_heal_timer(&d);
                                break;
                        case SOURCE_RESYNC_TIMER:
                                on_resync_timer(&d);
                                break;
                        case SOURCE_RETRY_TIMER:
                                on_retry_timer(&d);
                                break;
                        case SOURCE_HTTP_RETRY_TIMER:
                                timer_ack(d.http_tfd);
                                bind_http_all(&d);
                                break;
                        case SOURCE_MOUNTS:
                                on_mounts(&d);
                                break;
                        case SOURCE_HTTP:
                                break; /* served below, with the timeouts */
                        }
                }
                /* cheap when idle, and libmicrohttpd's own epoll set is edge-triggered */
                for (size_t i = 0; i < d.n_http; i++) {
                        struct http_endpoint *ep = &d.http[i];

                        if (!ep->server || ep->paused_until_ms)
                                continue;
                        if (http_server_process(ep->server) == -EIO) {
                                log_error("--%s=%s: the HTTP server failed: starting it again", ep->flag,
                                          ep->address);
                                ep->server = http_server_free(ep->server);
                                bind_http_all(&d);
                        } else if (http_server_out_of_fds(ep->server)) {
                                pause_http(&d, ep);
                        }
                }
        }
        /* a cleanup that failed left the tables: the exit status must say so. Tables another live
         * agent owns (this one waited for it) are its own to remove; and while another agent
         * runs here (the next one of a surge rollout, waiting for these tables) deleting them
         * would leave pods without SNAT until it made them again */
        if (arg_cleanup_on_exit && d.owner_wait_since_ms && owned_by_other(&d, NULL))
                log_info_kv("--cleanup-on-exit: the tables are another process's, left to it",
                            LOG_INT("ownerPort", (int64_t)d.owner_port));
        else if (arg_cleanup_on_exit && find_running_daemon(&other) > 0)
                log_info_kv("--cleanup-on-exit: another ip-masq-agent runs here, the tables are left to it",
                            LOG_INT("pid", (int64_t)other));
        else if (arg_cleanup_on_exit && cleanup_tables(&d) < 0)
                status = EXIT_FAILURE_RUNTIME;
        else if (!arg_cleanup_on_exit && d.model && d.owner_wait_since_ms)
                log_info("Leaving the tables to the agent that owns them: this one never held them");
        else if (!arg_cleanup_on_exit && d.model)
                log_info("Leaving the tables in place: pods keep their SNAT until the next agent takes over");
        daemon_free(&d);
        return status;
}
