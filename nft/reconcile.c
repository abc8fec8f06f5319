#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/diff.h"
#include "lib/observed.h"
#include "nft/batch.h"
#include "nft/build.h"
#include "nft/dump.h"
#include "nft/events.h"
#include "nft/needs.h"
#include "nft/reconcile.h"
#include "nft/rule-sig.h"
#include "nft/sock.h"

/* What the chain's rules depend on: rule signatures are rebuilt only when this changes. */
struct rules_key {
        bool present[IMA_FAMILY_COUNT];
        bool random_fully;
        struct ima_port_range to_ports[IMA_MAX_PORT_RANGES];
        size_t n_to_ports;
};

struct ima_reconciler {
        struct ima_nl *nl;
        struct ima_observed *cache; /* the kernel state after our last commit, or NULL */
        struct rules_key sigs_key;  /* the model the signatures below were made for */
        struct ima_rule_sigs sigs[IMA_FAMILY_COUNT];
        bool have_sigs;
        int (*catch_up)(void *userdata); /* reads queued events; see ima_reconciler_set_catch_up() */
        void *catch_up_data;
        void (*commit_hook)(void *userdata, bool before, size_t n_intervals);
        void *commit_hook_data;
};

/* Generation checks repeated after reading queued events, before a full read instead. */
#define CATCH_UP_ATTEMPTS 3
/* A commit refused because others moved the generation is sent again at the new one, when the
 * events show their commits left our tables alone, at most this many times... */
#define REPIN_ATTEMPTS 8
/* ...for plans this small: a witness listening to events during our own commit makes the kernel
 * build a notification per element for it, which makes a large commit many times dearer. */
#define REPIN_MAX_INTERVALS 1000

int ima_reconciler_new(struct ima_nl *nl, struct ima_reconciler **ret)
{
        struct ima_reconciler *rc = calloc(1, sizeof(*rc));

        if (!rc)
                return -ENOMEM;
        rc->nl = nl;
        *ret = rc;
        return 0;
}

static void clear_sigs(struct ima_reconciler *rc)
{
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                ima_rule_sigs_clear(&rc->sigs[f]);
        rc->have_sigs = false;
}

struct ima_reconciler *ima_reconciler_free(struct ima_reconciler *rc)
{
        if (rc) {
                ima_observed_free(rc->cache);
                clear_sigs(rc);
                free(rc);
        }
        return NULL;
}

/* The desired rules' signatures: building them takes libnftnl objects and text rendering, so
 * they are kept while the model's rule inputs stay the same (they do, resync after resync). */
static int desired_sigs(struct ima_reconciler *rc, const struct ima_model *want)
{
        struct rules_key key;
        int r;

        memset(&key, 0, sizeof(key)); /* compared with memcmp: no stale padding */
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                key.present[f] = want->tables[f].present;
        key.random_fully = want->random_fully;
        key.n_to_ports = want->n_to_ports;
        memcpy(key.to_ports, want->to_ports, sizeof(key.to_ports));
        if (rc->have_sigs && memcmp(&key, &rc->sigs_key, sizeof(key)) == 0)
                return 0;
        clear_sigs(rc);
        r = ima_rule_sigs_from_model(want, rc->sigs);
        if (r < 0) {
                clear_sigs(rc);
                return r;
        }
        memcpy(&rc->sigs_key, &key, sizeof(key)); /* an assignment need not copy the padding */
        rc->have_sigs = true;
        return 0;
}

void ima_reconciler_invalidate(struct ima_reconciler *rc)
{
        rc->cache = ima_observed_free(rc->cache);
}

void ima_reconciler_skip_generation(struct ima_reconciler *rc, uint32_t genid)
{
        if (rc->cache && ima_genid_next(rc->cache->genid) == genid)
                rc->cache->genid = genid;
}

void ima_reconciler_set_commit_hook(struct ima_reconciler *rc, void (*fn)(void *userdata, bool before, size_t n_intervals),
                                    void *userdata)
{
        rc->commit_hook = fn;
        rc->commit_hook_data = userdata;
}

void ima_reconciler_set_catch_up(struct ima_reconciler *rc, int (*fn)(void *userdata), void *userdata)
{
        rc->catch_up = fn;
        rc->catch_up_data = userdata;
}

/* Whether the cache is provably the kernel state now: the generation has not moved since, or
 * moved only over commits the event stream shows leaving our tables alone. */
static int cache_current(struct ima_reconciler *rc, bool *ret)
{
        uint32_t gen;
        int r;

        for (int attempt = 0;; attempt++) {
                r = ima_nl_getgen(rc->nl, &gen);
                if (r < 0)
                        return r;
                /* the catch-up may have dropped the cache */
                if (rc->cache && gen == rc->cache->genid) {
                        *ret = true;
                        return 0;
                }
                if (!rc->cache || !rc->catch_up || attempt == CATCH_UP_ATTEMPTS) {
                        *ret = false;
                        return 0;
                }
                /* the commits up to gen may still be applying: their events come at their end */
                r = ima_nl_barrier(rc->nl);
                if (r < 0)
                        return r;
                if (rc->catch_up(rc->catch_up_data) <= 0) {
                        *ret = false;
                        return 0;
                }
        }
}

void ima_reconcile_report_clear(struct ima_reconcile_report *report)
{
        ima_plan_free(report->plan);
        for (size_t i = 0; i < report->n_errors; i++)
                free(report->errors[i]);
        free(report->errors);
        *report = (struct ima_reconcile_report){ 0 };
}

static void add_error(struct ima_reconcile_report *rep, const char *fmt, ...) _printf_(2, 3);
static void add_error(struct ima_reconcile_report *rep, const char *fmt, ...)
{
        char **v = realloc(rep->errors, (rep->n_errors + 1) * sizeof(*v));
        va_list ap;

        if (!v)
                return;
        rep->errors = v;
        va_start(ap, fmt);
        if (vasprintf(&v[rep->n_errors], fmt, ap) >= 0)
                rep->n_errors++;
        va_end(ap);
}

/* The state to diff against: the cache when the trust level allows, else a fresh read. The
 * result is owned by the caller when *ret_owned. */
static int get_state(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                     struct ima_reconcile_report *rep, const struct ima_observed **ret, struct ima_observed **ret_owned,
                     struct ima_events **ret_witness)
{
        uint64_t start = ima_now_usec();
        bool current, contents[IMA_FAMILY_COUNT];
        int r;

        if (rc->cache && trust == IMA_TRUST_CACHE) {
                *ret = rc->cache;
                return 0;
        }
        if (rc->cache && trust == IMA_TRUST_GENID) {
                r = cache_current(rc, &current);
                if (r < 0)
                        return r;
                if (current) {
                        *ret = rc->cache;
                        rep->observe_usec += ima_now_usec() - start;
                        return 0;
                }
        }
        /* events from before the read: they let a read torn by others' commits count, and a
         * commit refused for others' commits be sent again without reading everything again */
        if (ret_witness && ima_events_open(ima_nl_portid(rc->nl), ret_witness) < 0)
                *ret_witness = NULL;
        /* a table the agent deletes is read alone: its elements would only be thrown away (the
         * cache is built from the model after a commit, never from this read) */
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                contents[f] = want->tables[f].present;
        r = ima_dump_observe_scoped(rc->nl, ret_witness ? *ret_witness : NULL, contents, ret_owned);
        rep->observe_usec += ima_now_usec() - start;
        if (r < 0)
                return r;
        rep->observed = true;
        *ret = *ret_owned;
        return 0;
}

/* The op of the plan that the batch's message msg came from: op_end[i] is the number of messages
 * the batch held once op i was built. NULL for the transaction's own messages. */
static const struct ima_op *op_of_msg(const struct ima_plan *plan, const size_t *op_end, size_t msg)
{
        for (size_t i = 0; msg != SIZE_MAX && i < plan->n_ops; i++)
                if (msg < op_end[i])
                        return &plan->ops[i];
        return NULL;
}

/* Containers of rules and elements: when adding one fails, what goes into it fails too */
static bool is_container_add(const struct ima_op *op)
{
        return op->kind == IMA_OP_ADD_TABLE || op->kind == IMA_OP_ADD_CHAIN || op->kind == IMA_OP_ADD_SET;
}

/* refused_again: this is the attempt after a fresh read, see ima_needs_hint() */
static void record_batch_errors(const struct ima_batch *b, int r, const struct ima_plan *plan, const size_t *op_end,
                                bool refused_again, struct ima_reconcile_report *rep)
{
        bool container_refused[IMA_FAMILY_COUNT] = { 0 };

        rep->refused_families = ima_batch_n_errors(b) == 0 ? IMA_ALL_FAMILIES : 0;
        if (ima_batch_n_errors(b) == 0) {
                if (r == -EMSGSIZE)
                        add_error(rep, "transaction of %zu bytes exceeds the socket send buffer (raise "
                                       "net.core.wmem_max, or run with CAP_NET_ADMIN in the initial user namespace)",
                                  ima_batch_size(b));
                else if (r == -ENOBUFS)
                        add_error(rep, "kernel answers were lost (receive buffer overrun): outcome unknown");
                else
                        add_error(rep, "sending the transaction: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < ima_batch_n_errors(b); i++) {
                const struct ima_op *op;
                struct ima_batch_error e;
                const char *hint = NULL;

                ima_batch_get_error(b, i, &e);
                op = op_of_msg(plan, op_end, e.index);
                rep->refused_families |= op ? 1u << op->family : IMA_ALL_FAMILIES;
                if (op) {
                        hint = ima_needs_hint(op, e.error, refused_again, container_refused[op->family]);
                        if (is_container_add(op))
                                container_refused[op->family] = true;
                }
                if (e.error == -ERESTART)
                        add_error(rep, "%s: the ruleset changed after it was read", e.what);
                else if (e.kernel)
                        add_error(rep, "%s: %s (kernel: %s)%s%s", e.what, strerror(-e.error), e.kernel,
                                  hint ? "; " : "", hint ? hint : "");
                else
                        add_error(rep, "%s: %s%s%s", e.what, strerror(-e.error), hint ? "; " : "", hint ? hint : "");
        }
}

/* Failures a fresh read settles: a concurrent edit of our tables, or answers the kernel dropped
 * (what a lost ACK's transaction did is unknown, and reading it again tells). */
static bool worth_retrying(int r)
{
        return r == -ERESTART || r == -ENOENT || r == -EEXIST || r == -EBUSY || r == -ENOBUFS;
}

/* Sends the plan's ops of one transaction (0 or 1) and of the families in the mask families;
 * retry: this is the attempt after a fresh read. */
static int send_plan(struct ima_reconciler *rc, const struct ima_plan *plan, unsigned transaction, unsigned families,
                     uint32_t genid, bool retry, struct ima_reconcile_report *rep)
{
        _cleanup_(ima_batch_freep) struct ima_batch *b = NULL;
        /* which op each message comes from, to say what a refused one needs */
        _cleanup_free_ size_t *op_end = calloc(plan->n_ops ? plan->n_ops : 1, sizeof(*op_end));
        uint64_t start = ima_now_usec();
        int r;

        if (!op_end)
                return -ENOMEM;
        r = ima_batch_new(rc->nl, genid, &b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < plan->n_ops; i++) {
                if (plan->ops[i].transaction == transaction && (families & (1u << plan->ops[i].family))) {
                        r = ima_build_op(b, &plan->ops[i]);
                        if (r < 0)
                                return r;
                }
                op_end[i] = ima_batch_n_msgs(b);
        }
        rep->build_usec += ima_now_usec() - start;
        if (rc->commit_hook)
                rc->commit_hook(rc->commit_hook_data, true, rep->n_intervals);
        start = ima_now_usec();
        r = ima_batch_commit(b, IMA_BATCH_COMMIT);
        rep->commit_usec += ima_now_usec() - start;
        if (rc->commit_hook)
                rc->commit_hook(rc->commit_hook_data, false, rep->n_intervals);
        /* the second of two transactions adds to the first */
        rep->attempts += transaction == 0;
        rep->n_msgs = (transaction > 0 ? rep->n_msgs : 0) + ima_batch_n_msgs(b);
        rep->n_bytes = (transaction > 0 ? rep->n_bytes : 0) + ima_batch_size(b);
        if (r < 0)
                record_batch_errors(b, r, plan, op_end, retry, rep);
        /* refused by the kernel, message by message: not lost answers (ENOBUFS, the outcome
         * unknown) nor a batch that never went out (EMSGSIZE) */
        if (r < 0 && ima_batch_n_errors(b) > 0)
                rep->rejected = true;
        return r;
}

/* After a commit refused because the generation moved since genid: whether the commits since
 * then all left our tables alone, as the daemon's event stream (state from its cache) or the
 * witness (state read with it) shows. 1 and the generation to send at in *ret, 0, or -errno. */
static int repin(struct ima_reconciler *rc, bool from_cache, struct ima_events *witness, uint32_t genid,
                 uint32_t *ret)
{
        bool current;
        int r;

        if (from_cache) {
                r = cache_current(rc, &current);
                if (r < 0 || !current)
                        return r;
                *ret = rc->cache->genid;
                return 1;
        }
        return witness ? ima_dump_untouched_since(rc->nl, witness, genid, ret) : 0;
}

/* send_plan(), and while the kernel refuses it only because others committed meanwhile to other
 * tables (kube-proxy's, a CNI's: the generation is global), again at the new generation. */
static int send_pinned(struct ima_reconciler *rc, const struct ima_plan *plan, unsigned transaction, unsigned families,
                       uint32_t *genid, bool from_cache, struct ima_events *witness, bool retry,
                       struct ima_reconcile_report *rep)
{
        for (int attempt = 0;; attempt++) {
                size_t n_errors = rep->n_errors;
                int r = send_plan(rc, plan, transaction, families, *genid, retry, rep), k;

                if (r != -ERESTART || attempt == REPIN_ATTEMPTS)
                        return r;
                k = repin(rc, from_cache, witness, *genid, genid);
                if (k <= 0)
                        return k < 0 ? k : r;
                /* answered: the refusal is no error of this reconcile */
                while (rep->n_errors > n_errors)
                        free(rep->errors[--rep->n_errors]);
                rep->rejected = false;
        }
}

/* Sends the plan's transactions from the first on, restricted to the families in the mask: the
 * second once the first has committed. *genid: the generation to pin to; on return, the one
 * to pin the next transaction to (after the last commit). *ret_failed: the transaction that
 * failed, on failure. */
static int send_transactions(struct ima_reconciler *rc, const struct ima_plan *plan, unsigned first, unsigned families,
                             uint32_t *genid, bool from_cache, struct ima_events *witness, bool retry,
                             struct ima_reconcile_report *rep, unsigned *ret_failed)
{
        bool sent = false;

        for (unsigned t = first; t <= 1; t++) {
                int r;

                if (!ima_plan_has_ops(plan, t, families))
                        continue;
                if (sent) {
                        rep->committed++;
                        *genid = ima_genid_next(*genid);
                        /* the cache is of the state before the first: only the witness can tell */
                        from_cache = false;
                }
                r = send_pinned(rc, plan, t, families, genid, from_cache, witness, retry, rep);
                if (r < 0) {
                        *ret_failed = t;
                        return r;
                }
                sent = true;
        }
        if (sent)
                *genid = ima_genid_next(*genid);
        return 0;
}

/* The kernel refused the plan's transaction number failed for the ops of some families only,
 * for a reason reading the state again did not settle (a module the kernel lacks, say): sends
 * the other families' part of it, and of the transaction after it, on its own. The refusal
 * stands (its errors are kept); a failure here adds its own. */
static void send_other_families(struct ima_reconciler *rc, const struct ima_plan *plan, unsigned failed, uint32_t genid,
                                struct ima_events *witness, struct ima_reconcile_report *rep)
{
        unsigned others = IMA_ALL_FAMILIES & ~rep->refused_families, refused = rep->refused_families, t;

        if (!rep->rejected || refused == 0 || others == 0 ||
            !(ima_plan_has_ops(plan, failed, others) || ima_plan_has_ops(plan, 1, others)))
                return;
        if (send_transactions(rc, plan, failed, others, &genid, false, witness, true, rep, &t) == 0)
                rep->applied_alone = others;
        /* what the report says was refused is the first refusal, not what this one found */
        rep->refused_families = refused;
        rep->rejected = true;
}

/* A table owned by another live socket refuses every change (EPERM, message by message); say
 * once, and plainly, who is in the way instead of sending a transaction bound to fail. */
static int check_ownership(struct ima_reconciler *rc, const struct ima_observed *have, struct ima_reconcile_report *rep)
{
        int r = 0;

        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                const struct ima_observed_table *t = &have->tables[f];
                bool touched = false;

                for (size_t i = 0; i < rep->plan->n_ops; i++)
                        touched = touched || rep->plan->ops[i].family == (enum ima_family)f;
                if (!touched || !t->present || !(t->flags & IMA_TABLE_F_OWNER) || t->owner == ima_nl_portid(rc->nl))
                        continue;
                add_error(rep, "table %s %s is owned by another process (netlink port %u), most likely a running "
                               "ip-masq-agent: only it can change the table",
                          ima_family_nft_name((enum ima_family)f), IMA_TABLE_NAME, t->owner);
                if (!rep->live_owner)
                        rep->live_owner = t->owner;
                r = -EPERM;
        }
        if (r < 0) {
                rep->only_takeover = true;
                for (size_t i = 0; i < rep->plan->n_ops; i++)
                        rep->only_takeover = rep->only_takeover && rep->plan->ops[i].kind == IMA_OP_ADD_TABLE;
        }
        return r;
}

/* retry: the attempt after a fresh read, once the first failed */
static int reconcile_once(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                          enum ima_reconcile_mode mode, const struct ima_rule_sigs sigs[IMA_FAMILY_COUNT], bool retry,
                          struct ima_reconcile_report *rep)
{
        _cleanup_(ima_observed_freep) struct ima_observed *fresh = NULL;
        _cleanup_(ima_events_freep) struct ima_events *witness = NULL;
        const struct ima_observed *have = NULL;
        struct ima_observed *next = NULL;
        bool from_cache;
        uint64_t start;
        uint32_t genid;
        int r;

        rep->rejected = false;
        r = get_state(rc, want, trust, rep, &have, &fresh, mode == IMA_RECONCILE_DRY_RUN ? NULL : &witness);
        if (r < 0) {
                const char *hint = ima_needs_read_hint(r);

                add_error(rep, "reading the kernel state: %s%s%s%s",
                          r == -EAGAIN    ? "the ruleset kept changing"
                          : r == -ENOBUFS ? "kernel answers were lost (receive buffer overrun)"
                                          : strerror(-r),
                          r == -EPERM ? " (nf_tables needs CAP_NET_ADMIN in this network namespace: run as root, "
                                        "or give the container NET_ADMIN)" : "",
                          hint ? "; " : "", hint ? hint : "");
                return r;
        }
        genid = have->genid;
        from_cache = have == rc->cache;
        start = ima_now_usec();
        rep->plan = ima_plan_free(rep->plan);
        r = ima_diff(want, sigs, have, &rep->plan);
        rep->diff_usec += ima_now_usec() - start;
        if (r < 0)
                return r;
        rep->n_intervals = ima_plan_count_intervals(rep->plan);
        if (mode == IMA_RECONCILE_DRY_RUN)
                return 0;
        r = check_ownership(rc, have, rep);
        if (r < 0)
                return r;
        if (rep->plan->n_ops > 0) {
                unsigned failed = 0;

                if (rep->n_intervals >= REPIN_MAX_INTERVALS)
                        witness = ima_events_free(witness);
                r = send_transactions(rc, rep->plan, 0, IMA_ALL_FAMILIES, &genid, from_cache, witness, retry, rep,
                                      &failed);
                if (r < 0) {
                        /* whatever we knew is in doubt now */
                        ima_reconciler_invalidate(rc);
                        /* a refusal that a fresh read settles is retried whole first */
                        if (retry || !worth_retrying(r))
                                send_other_families(rc, rep->plan, failed, genid, witness, rep);
                        return r;
                }
        } else if (have == rc->cache) {
                return 0;
        }
        /* the kernel now holds exactly want, at generation genid */
        r = ima_observed_from_model(want, sigs, genid, &next);
        if (r < 0) {
                ima_reconciler_invalidate(rc);
                return r;
        }
        ima_observed_free(rc->cache);
        rc->cache = next;
        return 0;
}

int ima_reconcile(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                  enum ima_reconcile_mode mode, struct ima_reconcile_report *rep)
{
        _cleanup_(ima_plan_freep) struct ima_plan *unknown_outcome = NULL;
        uint64_t start = ima_now_usec();
        unsigned sent;
        int r;

        rep->committed = 0;
        r = desired_sigs(rc, want);
        rep->diff_usec += ima_now_usec() - start;
        if (r < 0)
                return r;
        sent = rep->attempts;
        r = reconcile_once(rc, want, trust, mode, rc->sigs, false, rep);
        for (int retry = 0; worth_retrying(r) && retry < 2; retry++) {
                bool lost = r == -ENOBUFS && rep->attempts > sent; /* the answers to a plan sent */

                /* Read once more only when the first of two transactions lost its answers (so the
                 * second was not sent), the read after it found it applied and sent the rest, and
                 * that lost its answers too */
                if (retry > 0 && !(lost && unknown_outcome && ima_plan_has_second_transaction(unknown_outcome)))
                        break;
                /* someone edited the ruleset between our read and our commit, or answers were
                 * lost: read it again. The first attempt's errors go: the second one's say why
                 * it failed, if it fails */
                for (size_t i = 0; i < rep->n_errors; i++)
                        free(rep->errors[i]);
                rep->n_errors = 0;
                if (lost && !unknown_outcome)
                        unknown_outcome = TAKE_PTR(rep->plan);
                sent = rep->attempts;
                r = reconcile_once(rc, want, IMA_TRUST_NOTHING, mode, rc->sigs, true, rep);
                /* The kernel holds want now and nothing was left to send: the transaction whose
                 * answers were lost went through, and what it changed is what this reconcile
                 * changed (not "in sync"). */
                if (r == 0 && unknown_outcome && rep->plan && rep->plan->n_ops == 0) {
                        ima_plan_free(rep->plan);
                        rep->plan = TAKE_PTR(unknown_outcome);
                        rep->answers_lost = true;
                }
        }
        return r;
}
