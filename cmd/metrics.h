/* metrics.h: the daemon's Prometheus metrics. Owns the values the event loop reports (reconciles,
 * their duration, drift repairs, config loads, set sizes, ownership mode) and renders them, plus
 * the kernel's NAT rule counters the loop reads at scrape time, in the text exposition format
 * 0.0.4. Does no I/O, reads no clock (the loop passes the time in) and never logs; serving the
 * text is http.h's job.
 *
 * Metric families come out sorted by name, samples in a fixed order, every family with HELP and
 * TYPE, and every label value the agent can produce is present from the start (at 0), so
 * dashboards and alerts see a series before its first event. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/cidr.h"
#include "lib/macro.h"
#include "lib/model.h"
#include "lib/observed.h"
#include "lib/plan.h"

struct metrics;

enum metrics_reconcile_result {
        METRICS_RECONCILE_CHANGED, /* a transaction was committed */
        METRICS_RECONCILE_IN_SYNC, /* the kernel already matched; nothing sent */
        METRICS_RECONCILE_ERROR,
        /* the tables are held by the previous agent of an overlapping rolling update: a wait the
         * rollout ends, not an error to alert on (and not a success either) */
        METRICS_RECONCILE_WAITING_FOR_OWNER,
};
#define METRICS_RECONCILE_RESULT_COUNT 4

enum metrics_ownership {
        METRICS_OWNERSHIP_NONE,          /* not decided yet: both mode series are 0 */
        METRICS_OWNERSHIP_OWNER_PERSIST, /* tables owned by the agent and persistent (kernel >= 6.9) */
        METRICS_OWNERSHIP_EVENT_REPAIR,  /* no ownership: nftables events trigger repairs */
};

/* What the agent's postrouting chain decided about the packets that reached it; the value of the
 * "action" label. */
/* A registry with every counter at 0. version: the build_info label (copied). -ENOMEM. */
int metrics_new(const char *version, struct metrics **ret);
/* Accepts NULL; returns NULL. */
struct metrics *metrics_free(struct metrics *m);
DEFINE_FREEP(struct metrics, metrics_free)

/* One reconcile finished: counts it by result, observes seconds (its wall time) in the duration
 * histogram and, unless it failed, sets the last-success timestamp to now (Unix seconds). */
void metrics_reconcile_done(struct metrics *m, enum metrics_reconcile_result result, double seconds, double now);
/* The kernel was found to hold the configuration without a reconcile of this agent's succeeding:
 * the previous agent's tables, waited for, hold it already. Sets the last-success time only. */
void metrics_kernel_matches(struct metrics *m, double now);

/* Elements (intervals, i.e. merged CIDRs) now in one kernel set. Reported after each successful
 * reconcile; a family starts absent and gets samples from its first call. */
void metrics_set_elements(struct metrics *m, enum ima_family f, enum ima_set_id s, uint64_t n);
/* The family's table is gone (e.g. IPv6 switched off): its set_elements samples disappear. */
void metrics_forget_family(struct metrics *m, enum ima_family f);

/* A committed transaction repaired n drifts of kind reason (the loop calls this once per reason
 * present in the plan, n = 1, or with a count it prefers). IMA_REASON_CONFIG is a configuration
 * change, not drift: it is ignored, so callers may pass every reason of a plan. */
void metrics_drift_repaired(struct metrics *m, enum ima_op_reason reason, uint64_t n);

/* The configuration file was read (at start, on change, SIGHUP or resync): counts the load, and
 * an error when invalid; config_valid follows the latest load. */
void metrics_config_loaded(struct metrics *m, bool valid);

/* n nftables transactions were committed by other processes (their notifications arrived). */
void metrics_kernel_events(struct metrics *m, uint64_t n);

void metrics_set_ownership(struct metrics *m, enum metrics_ownership mode);

/* Families (bit 1 << family) where the upstream agent's iptables chain is still installed. */
void metrics_set_upstream_chains(struct metrics *m, unsigned families);

/* The kernel's NAT rule counters (read at scrape time) as counters that never go backwards: the
 * kernel's start again from 0 whenever the chain or the table is re-created (a repair after
 * "nft flush ruleset", an option change) or someone resets them, and a Prometheus counter may
 * only fall when the process restarts. Each rule is followed by its handle: one read before adds
 * what it counted since; one new since the last reading, or whose counter fell (the kernel started
 * it over), adds all it holds; one gone adds nothing more, so removing one of several rules of an
 * action (--to-ports) is not taken for all of them starting over. Counting done between the last
 * reading and a restart is lost (nobody can read it any more); so is a restart by someone else
 * that keeps the handles (a reset, or a table made again with the same handles) and counted past
 * the previous reading before the next one. A family absent from kernel keeps what it had
 * counted, for when its table comes back. ret: what to render. */
void metrics_observe_nat(struct metrics *m, const struct ima_nat_counters *kernel, struct ima_nat_counters *ret);

/* The agent has just (re)created the family's rules, so their counters start from 0 whatever the
 * next reading shows (a table made again reuses handles): it adds all they hold. */
void metrics_nat_restarted(struct metrics *m, enum ima_family family);

/* The exposition text (Content-Type "text/plain; version=0.0.4; charset=utf-8"), malloc'd, NUL
 * terminated; *ret_len excludes the NUL. nat may be NULL (no NAT samples). -ENOMEM. */
int metrics_render(const struct metrics *m, const struct ima_nat_counters *nat, char **ret, size_t *ret_len);

/* The histogram's upper bounds, in seconds, ascending (+Inf is implicit). For tests and docs. */
extern const double metrics_duration_buckets[];
extern const size_t metrics_n_duration_buckets;
