/* common.h: the pipeline steps every verb shares: config file -> validated config (problems
 * printed once), config -> desired model, model -> kernel through the reconciler (one line of
 * log per change, every error against the operation that caused it). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/clock.h"
#include "lib/config.h"
#include "lib/duration.h"
#include "lib/model.h"
#include "lib/plan.h"
#include "nft/reconcile.h"

struct ima_nl;

/* How a one-shot command reports the configuration's problems. Both print every warning and
 * error as a bare "FILE:LINE:COL: KEY[INDEX]: message (value "…")" line, the form editors and
 * CI jump to; the daemon logs them as structured lines instead (log_diag()). */
enum diag_style {
        DIAG_LINES,              /* only those lines (validate) */
        DIAG_LINES_THEN_SUMMARY, /* and, when invalid, a log line saying nothing changed (apply, ...) */
};

/* Loads arg_config_path with the command-line options. Prints every warning and error.
 * Returns 0, -EINVAL (invalid: nothing may be applied) or -ENOMEM. */
int load_config(enum diag_style style, struct ima_config **ret);

/* What a one-shot command wrote to stdout reached it: a full disk or a closed pipe is a failure,
 * logged. Returns exit_code, or EXIT_FAILURE_RUNTIME when the output was lost. */
int stdout_status(int exit_code);

/* Desired model for the config and the command-line options. */
int build_model(const struct ima_config *c, struct ima_model **ret);

/* The one-shot commands' first step: the config file (problems logged) and its model. Returns
 * an exit code: EXIT_OK, EXIT_USAGE (invalid configuration) or EXIT_FAILURE_RUNTIME; verb names
 * the command in the error message. ret_config may be NULL. */
int load_desired_model(const char *verb, struct ima_config **ret_config, struct ima_model **ret_model);

/* A netfilter socket and a reconciler on it, with the error logged. 0 or -errno. */
int open_reconciler(struct ima_nl **ret_nl, struct ima_reconciler **ret_rc);

/* Opens the netfilter socket, explaining the usual permission problem. */
int open_netlink(struct ima_nl **ret);

/* "ip nomasq-dst +10.0.0.0/12 -10.0.0.0/8; ip6: table created": what a plan changes, CIDRs
 * listed for small deltas, counts for big ones, of the ops of the families in the mask
 * (IMA_ALL_FAMILIES: all). malloc'd; NULL on ENOMEM. */
char *plan_summary(const struct ima_plan *p, unsigned families);

/* What a long-running caller remembers of failed reconciles, so that a lasting failure (the
 * previous agent still owning the table, a kernel refusing the ruleset) is logged when it starts,
 * when its reasons change and as a reminder every few minutes, not at every retry; and so that
 * its end is logged too. Zero-initialized; cleared with failure_memory_clear(). */
struct failure_memory {
        char *reasons;      /* the failing reconcile's errors, NULL while reconciles succeed */
        unsigned failures;  /* consecutive failed reconciles */
        unsigned unlogged;  /* of these, failures with the same reasons not logged at error level */
        uint64_t logged_ms; /* CLOCK_MONOTONIC time the reasons were last logged */
        /* set by the caller: a table held by another live owner is not logged as a failure (the
         * daemon waits for that owner to exit, and says so itself) */
        bool owner_wait_is_quiet;
};

void failure_memory_clear(struct failure_memory *m);

/* Go's time.Duration form ("412µs", "1.5s"), as Kubernetes components log elapsed times. */
void format_usec(uint64_t usec, char buf[static IMA_DURATION_STRLEN]);

/* One reconcile, logged as structured lines: "Reconciled" when something changed (trigger, what,
 * messages, elapsed time; changedBy: who made a repair necessary, or NULL), a v=3 line when in
 * sync, every error on failure (only the first time in a row when mem is not NULL). Returns 0 or
 * -errno. When ret_report is not NULL the report is handed over (the caller clears it), else it
 * is cleared here. */
int reconcile_logged(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                     const char *trigger, const char *changed_by, struct failure_memory *mem,
                     struct ima_reconcile_report *ret_report);

/* Logs every entry of a configuration diagnosis as a structured line: file, line, column, key,
 * value and the problem (with what to write instead, where the parser knows). */
void log_diag(const struct ima_diag *d);

/* The upstream agent leaves its iptables chain (--masq-chain, default IP-MASQ-AGENT, in table nat)
 * behind when its DaemonSet is replaced. Under iptables-nft that chain is an nftables chain in
 * table ip|ip6 nat, hooked at the same priority as ours, and it keeps masquerading by its old
 * list: traffic this agent exempts can still be masqueraded. Checks both families (a read, never
 * a change: the table is not ours), warns for each family where the chain is present (each call
 * is a check someone asked for, or the periodic one), notes where it went away since previously
 * (bit 1 << family), and returns the families where it is present now. Chains of iptables-legacy
 * are invisible to nftables and not reported. */
unsigned check_upstream_chains(struct ima_nl *nl, unsigned previously);
