/* reconcile.h: one reconcile = know the kernel state (a fresh dump, or the state left by the
 * agent's own last commit when that is provably still current) -> diff -> at most ONE
 * transaction, pinned to the generation that state was read at. If the kernel refuses it because
 * something changed concurrently (generation moved; ENOENT, EEXIST or EBUSY from a racing edit),
 * or its answers were lost (ENOBUFS: the outcome is unknown), the state is read again and the
 * reconcile retried once. An in-sync kernel gets no write. When the kernel refuses the part of
 * one family only (its ops alone are named in the errors), for a reason a fresh read does not
 * settle, the other family's part goes out on its own: one family's missing kernel support must
 * not leave the other's pods without SNAT, as upstream's separate iptables and ip6tables runs do
 * not. Each family's tables still change in one transaction or not at all. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/model.h"
#include "lib/plan.h"

struct ima_nl;
struct ima_reconciler;

enum ima_trust {
        IMA_TRUST_NOTHING, /* always read the kernel state */
        IMA_TRUST_GENID,   /* reuse the state left by our last commit if the kernel's generation
                            * has not moved since (nobody committed anything) */
        IMA_TRUST_CACHE,   /* reuse it unconditionally: the caller knows (from nftables events)
                            * that nobody touched our tables; the transaction is still pinned */
};

enum ima_reconcile_mode {
        IMA_RECONCILE_APPLY,
        IMA_RECONCILE_DRY_RUN, /* compute the plan only */
};

struct ima_reconcile_report {
        struct ima_plan *plan;       /* what was (or in dry-run: would be) sent; owned */
        bool observed;               /* the kernel state was read (not taken from the cache) */
        unsigned attempts;           /* times the plan was sent: 2 when a conflict made it read the
                                      * kernel again and retry (0: nothing to send) */
        bool rejected;               /* the last attempt failed in a transaction the kernel refused */
        bool answers_lost;           /* plan went out, its answers were lost (ENOBUFS), and reading
                                      * the kernel back found it applied */
        unsigned committed;          /* transactions the kernel accepted, over all attempts, before a
                                      * later one failed (a plan may need two) */
        size_t n_msgs;               /* messages the last attempt sent (both transactions, when the
                                      * plan needs two) */
        size_t n_bytes;              /* their size on the wire */
        size_t n_intervals;          /* intervals added or deleted */
        uint64_t observe_usec;       /* wall time: reading kernel state */
        uint64_t diff_usec;          /* wall time: diff and rule signatures */
        uint64_t build_usec;         /* wall time: building the batch */
        uint64_t commit_usec;        /* wall time: sendmsg + all ACKs (kernel work) */
        char **errors;               /* "what: reason (kernel: text)" for each failure */
        size_t n_errors;
        /* Families (1 << family) of the ops the kernel refused in the last transaction; all of
         * them when a refusal names no op */
        unsigned refused_families;
        /* When the kernel kept refusing the part of one family only (a node whose kernel lacks
         * IPv6 NAT, say), the other family's part was then sent on its own: its bit, else 0. The
         * reconcile still fails (the refusal's errors stand), but that family is in force */
        unsigned applied_alone;
        /* Failed with -EPERM because another live process owns a table the plan changes (the
         * previous agent, during a rolling update): its netlink port, else 0 */
        uint32_t live_owner;
        /* ...and taking the tables over is all the plan would do: they hold the desired state */
        bool only_takeover;
};

/* nl is borrowed and must outlive the reconciler. -ENOMEM. */
int ima_reconciler_new(struct ima_nl *nl, struct ima_reconciler **ret);
struct ima_reconciler *ima_reconciler_free(struct ima_reconciler *rc);
DEFINE_FREEP(struct ima_reconciler, ima_reconciler_free)

/* Forgets the cached state: the next reconcile reads the kernel. */
void ima_reconciler_invalidate(struct ima_reconciler *rc);
/* Someone committed generation genid without touching our tables (the event stream says so):
 * if the cache was current just before it, it is current at genid too. Keeps transactions
 * pinned to the right generation without a dump while other tables churn. */
void ima_reconciler_skip_generation(struct ima_reconciler *rc, uint32_t genid);

/* A generation check (IMA_TRUST_GENID) that finds the kernel ahead of the cache calls fn before
 * giving up on the cache: once GETGEN has answered and ima_nl_barrier() has returned, the events
 * of every commit up to that generation are queued on the caller's event socket, and fn should
 * read them (calling ima_reconciler_skip_generation() for those that left our tables alone) and
 * return how many transactions it read. The check is then repeated, a few times at most, while fn returns more
 * than 0. Without it a commit to another table racing the check costs a full read. */
void ima_reconciler_set_catch_up(struct ima_reconciler *rc, int (*fn)(void *userdata), void *userdata);

/* fn is called right before a transaction is sent (before = true) and right after its answers
 * are read (before = false), with the number of intervals it adds or deletes: the daemon stops
 * listening to events around its own large commits (see ima_events_listen()). */
void ima_reconciler_set_commit_hook(struct ima_reconciler *rc, void (*fn)(void *userdata, bool before, size_t n_intervals),
                                    void *userdata);

/* Makes the kernel match want. Returns 0 (report filled; plan empty when in sync) or -errno with
 * report->errors explaining; -ENOMEM. The caller releases the report with
 * ima_reconcile_report_clear(). */
int ima_reconcile(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                  enum ima_reconcile_mode mode, struct ima_reconcile_report *report);
void ima_reconcile_report_clear(struct ima_reconcile_report *report);
