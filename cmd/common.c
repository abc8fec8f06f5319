#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "lib/diag.h"
#include "lib/duration.h"
#include "lib/memstream.h"
#include "nft/dump.h"
#include "nft/sock.h"

/* Deltas up to this many intervals per set are logged CIDR by CIDR. */
#define SUMMARY_LIST_MAX 8
/* A failure that lasts is logged again this often (at error level), with how often it recurred. */
#define FAILURE_REMIND_MS (5 * 60 * 1000)

/* The daemon logs this many problems of one file, and counts the rest in one line: a list of
 * 100,000 CIDRs with host bits set would otherwise log 100,000 lines (28 MB) at every change of
 * it, rotating everything else out of the container's log; validate prints every one. */
#define LOG_DIAG_MAX_ENTRIES 100

void log_diag(const struct ima_diag *d)
{
        size_t more_errors = 0, more_warnings = 0;

        for (size_t i = LOG_DIAG_MAX_ENTRIES; i < d->n_entries; i++) {
                if (d->entries[i].level == IMA_DIAG_ERROR)
                        more_errors++;
                else
                        more_warnings++;
        }
        for (size_t i = 0; i < d->n_entries && i < LOG_DIAG_MAX_ENTRIES; i++) {
                const struct ima_diag_entry *e = &d->entries[i];
                struct log_field fields[8];
                size_t n = 0;

                fields[n++] = LOG_STR("file", d->file);
                if (e->pos.line > 0) {
                        fields[n++] = LOG_INT("line", (int64_t)e->pos.line);
                        fields[n++] = LOG_INT("column", (int64_t)e->pos.col);
                }
                if (e->key)
                        fields[n++] = LOG_STR("key", e->key);
                if (e->key && e->key_bytes > strlen(e->key)) /* the entry keeps its start only */
                        fields[n++] = LOG_INT("keyBytes", (int64_t)e->key_bytes);
                if (e->value)
                        fields[n++] = LOG_STR("value", e->value);
                if (e->value && e->value_bytes > strlen(e->value))
                        fields[n++] = LOG_INT("valueBytes", (int64_t)e->value_bytes);
                fields[n++] = LOG_STR("problem", e->message);
                if (e->level == IMA_DIAG_ERROR)
                        log_write_kv(LOG_LEVEL_ERROR, 0, 0, __FILE__, __LINE__, "Invalid configuration", fields, n);
                else
                        log_write_kv(LOG_LEVEL_WARNING, 0, 0, __FILE__, __LINE__, "Configuration warning", fields,
                                     n);
        }
        if (more_errors + more_warnings > 0) {
                struct log_field fields[] = {
                        LOG_STR("file", d->file),
                        LOG_INT("errors", (int64_t)more_errors),
                        LOG_INT("warnings", (int64_t)more_warnings),
                        LOG_STR("fix", "\"ip-masq-agent validate --config FILE\" lists every one"),
                };

                log_write_kv(more_errors ? LOG_LEVEL_ERROR : LOG_LEVEL_WARNING, 0, 0, __FILE__, __LINE__,
                             "More problems in the configuration, not logged", fields, ARRAY_SIZE(fields));
        }
}

static void print_diag(const struct ima_diag *d)
{
        for (size_t i = 0; i < d->n_entries; i++) {
                _cleanup_free_ char *text = ima_diag_entry_format(d, &d->entries[i]);

                if (text)
                        fprintf(stderr, "%s\n", text);
        }
}

int load_config(enum diag_style style, struct ima_config **ret)
{
        _cleanup_(ima_diag_freep) struct ima_diag *diag = NULL;
        int r;

        r = ima_diag_new(arg_config_path, &diag);
        if (r < 0)
                return r;
        r = ima_config_load(arg_config_path, &arg_config_opts, diag, ret);
        ima_diag_sort(diag);
        print_diag(diag);
        if (r == -EINVAL && style == DIAG_LINES_THEN_SUMMARY)
                log_error("%s: %zu error%s in the configuration; nothing was changed", arg_config_path,
                          diag->n_errors, diag->n_errors == 1 ? "" : "s");
        return r;
}

int stdout_status(int exit_code)
{
        int err = fflush(stdout) != 0 ? errno : 0;

        if (!err && !ferror(stdout))
                return exit_code;
        /* an earlier write failed: its errno is gone by now */
        log_error("writing to standard output failed: %s", strerror(err ? err : EIO));
        return EXIT_FAILURE_RUNTIME;
}

int build_model(const struct ima_config *c, struct ima_model **ret)
{
        return ima_model_build(c, &arg_model_opts, ret);
}

int load_desired_model(const char *verb, struct ima_config **ret_config, struct ima_model **ret_model)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        int r;

        r = load_config(DIAG_LINES_THEN_SUMMARY, &config);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r < 0 || (r = build_model(config, ret_model)) < 0) {
                log_error("%s failed: %s", verb, strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        if (ret_config)
                *ret_config = TAKE_PTR(config);
        return EXIT_OK;
}

int open_reconciler(struct ima_nl **ret_nl, struct ima_reconciler **ret_rc)
{
        int r = open_netlink(ret_nl);

        if (r < 0)
                return r;
        r = ima_reconciler_new(*ret_nl, ret_rc);
        if (r < 0)
                log_error("cannot set up the reconciler: %s", strerror(-r));
        return r;
}

int open_netlink(struct ima_nl **ret)
{
        int r = ima_nl_open(ret);

        if (r < 0)
                log_error("cannot open the netfilter netlink socket: %s", strerror(-r));
        return r;
}

struct set_delta {
        const struct ima_ipset *add;
        const struct ima_ipset *del;
};

static void summarize_set(FILE *f, enum ima_family fam, enum ima_set_id s, const struct set_delta *d, bool *first)
{
        size_t n_add = d->add ? d->add->n : 0, n_del = d->del ? d->del->n : 0;

        if (n_add + n_del == 0)
                return;
        fprintf(f, "%s%s %s", *first ? "" : "; ", ima_family_nft_name(fam), ima_set_name(s));
        *first = false;
        if (n_add + n_del > SUMMARY_LIST_MAX) {
                fprintf(f, " +%zu -%zu intervals", n_add, n_del);
                return;
        }
        for (size_t i = 0; i < n_add; i++) {
                char t[IMA_RANGE_STRLEN];

                ima_interval_format(fam, &d->add->v[i], t);
                fprintf(f, " +%s", t);
        }
        for (size_t i = 0; i < n_del; i++) {
                char t[IMA_RANGE_STRLEN];

                ima_interval_format(fam, &d->del->v[i], t);
                fprintf(f, " -%s", t);
        }
}

char *plan_summary(const struct ima_plan *p, unsigned families)
{
        struct set_delta deltas[IMA_FAMILY_COUNT][IMA_SET_COUNT] = { 0 };
        bool first = true, created[IMA_FAMILY_COUNT] = { 0 }, deleted[IMA_FAMILY_COUNT] = { 0 },
             rules[IMA_FAMILY_COUNT] = { 0 };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return NULL;
        for (size_t i = 0; i < p->n_ops; i++) {
                const struct ima_op *op = &p->ops[i];
                const char *fam = ima_family_nft_name(op->family);
                const char *sep = first ? "" : "; ";

                if (!(families & (1u << op->family)))
                        continue;
                /* a table created from scratch is one fact, not a list of its parts */
                if (created[op->family] && op->kind != IMA_OP_DEL_TABLE)
                        continue;
                switch (op->kind) {
                case IMA_OP_ADD_TABLE:
                        /* re-created for its flags is created all the same */
                        if (op->reason == IMA_REASON_TABLE_FLAGS && !deleted[op->family]) {
                                /* updated in place: say how, since "restored" at every restart reads
                                 * as if someone had changed the table */
                                bool adopted = op->table_update && (op->table_flags & IMA_TABLE_F_OWNER) &&
                                               !(op->old_table_flags & IMA_TABLE_F_OWNER);
                                bool woken = op->table_update && (op->old_table_flags & IMA_TABLE_F_DORMANT);

                                fprintf(f, "%s%s: table %s", sep, fam,
                                        adopted && woken ? "adopted and woken (was dormant)"
                                        : adopted        ? "adopted"
                                        : woken          ? "woken (was dormant)"
                                                         : "flags restored");
                        } else {
                                fprintf(f, "%s%s: table created (%s)", sep, fam, ima_op_reason_name(op->reason));
                                created[op->family] = true;
                        }
                        break;
                case IMA_OP_DEL_TABLE:
                        fprintf(f, "%s%s: table deleted (%s)", sep, fam, ima_op_reason_name(op->reason));
                        deleted[op->family] = true;
                        break;
                case IMA_OP_ADD_ELEMS:
                        if (op->reason == IMA_REASON_ELEMENTS)
                                deltas[op->family][op->set].add = op->elems;
                        continue;
                case IMA_OP_DEL_ELEMS:
                        deltas[op->family][op->set].del = op->elems;
                        continue;
                case IMA_OP_ADD_SET:
                case IMA_OP_FLUSH_SET:
                case IMA_OP_DEL_SET:
                        fprintf(f, "%s%s %s: refilled (%s)", sep, fam, ima_set_name(op->set), ima_op_reason_name(op->reason));
                        break;
                case IMA_OP_ADD_CHAIN:
                case IMA_OP_DEL_CHAIN:
                case IMA_OP_FLUSH_CHAIN:
                        if (rules[op->family])
                                continue;
                        fprintf(f, "%s%s %s: rules rebuilt (%s)", sep, fam, IMA_CHAIN_NAME, ima_op_reason_name(op->reason));
                        rules[op->family] = true;
                        break;
                case IMA_OP_ADD_RULE:
                case IMA_OP_FLUSH_OTHER_CHAIN:
                        continue;
                case IMA_OP_DEL_OTHER:
                        fprintf(f, "%s%s: %s %s removed (%s)", sep, fam, ima_other_kind_name(&op->other),
                                op->other.name, ima_op_reason_name(op->reason));
                        break;
                }
                first = false;
        }
        for (int fam = 0; fam < IMA_FAMILY_COUNT; fam++)
                for (int s = 0; s < IMA_SET_COUNT; s++)
                        summarize_set(f, (enum ima_family)fam, (enum ima_set_id)s, &deltas[fam][s], &first);
        ima_memstream_close(f, &buf);
        return buf;
}

void format_usec(uint64_t usec, char buf[static IMA_DURATION_STRLEN])
{
        ima_duration_format((int64_t)usec * 1000, buf);
}

void failure_memory_clear(struct failure_memory *m)
{
        free(m->reasons);
        *m = (struct failure_memory){ .owner_wait_is_quiet = m->owner_wait_is_quiet };
}

/* Everything a failed reconcile said, to tell one lasting failure from a new one. NULL on ENOMEM. */
static char *failure_reasons(int r, const struct ima_reconcile_report *rep)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fprintf(f, "%s", strerror(-r));
        for (size_t i = 0; i < rep->n_errors; i++)
                fprintf(f, "\n%s", rep->errors[i]);
        ima_memstream_close(f, &buf);
        return buf;
}

/* Whether this failure only repeats the one logged last, recently enough to stay quiet about it.
 * Updates mem either way. */
static bool failure_is_repeat(struct failure_memory *mem, int r, const struct ima_reconcile_report *rep)
{
        uint64_t now = ima_now_ms();
        char *reasons;

        if (!mem)
                return false;
        mem->failures++;
        reasons = failure_reasons(r, rep);
        if (reasons && mem->reasons && strcmp(reasons, mem->reasons) == 0 &&
            now - mem->logged_ms < FAILURE_REMIND_MS) {
                free(reasons);
                mem->unlogged++;
                return true;
        }
        free(mem->reasons);
        mem->reasons = reasons;
        mem->logged_ms = now;
        return false;
}

/* "ip", "ip6" or "ip, ip6": the families in the mask, as nft names them. */
static const char *families_text(unsigned families)
{
        for (int f = 0; f < IMA_FAMILY_COUNT; f++)
                if ((families & IMA_ALL_FAMILIES) == 1u << f)
                        return ima_family_nft_name((enum ima_family)f);
        return "ip, ip6";
}

/* What a failed reconcile changed all the same: a change is logged even when the failure that
 * came with it is a repeat (the family the kernel takes repaired, while the other's refusal lasts). */
static void log_applied_alone(const struct ima_reconcile_report *rep, const char *trigger)
{
        _cleanup_free_ char *applied = plan_summary(rep->plan, rep->applied_alone);

        log_warning_kv("The kernel refused the changes of one family only: the other's were applied on their own",
                       LOG_STR("trigger", trigger), LOG_STR("refused", families_text(rep->refused_families)),
                       LOG_STR("applied", applied ? applied : "?"));
}

static void log_failure(int r, const struct ima_reconcile_report *rep, const char *trigger, struct failure_memory *mem)
{
        unsigned unlogged = mem ? mem->unlogged : 0;

        if (failure_is_repeat(mem, r, rep)) {
                log_v_kv(2, "Reconcile failed again, for the same reason", LOG_STR("trigger", trigger),
                         LOG_INT("failuresInARow", (int64_t)mem->failures));
                if (rep->applied_alone)
                        log_applied_alone(rep, trigger);
                return;
        }
        if (mem && mem->failures > 1)
                log_error_kv(0, "Reconcile keeps failing", LOG_STR("trigger", trigger),
                             LOG_INT("failuresInARow", (int64_t)mem->failures),
                             LOG_INT("notLoggedSinceLastTime", (int64_t)unlogged));
        if (mem)
                mem->unlogged = 0;
        for (size_t i = 0; i < rep->n_errors; i++)
                log_error_kv(0, "Reconcile failed", LOG_STR("trigger", trigger), LOG_STR("reason", rep->errors[i]));
        if (rep->n_errors == 0) {
                log_error_kv(r, "Reconcile failed", LOG_STR("trigger", trigger));
        } else if (rep->applied_alone) {
                log_applied_alone(rep, trigger);
        } else if (rep->rejected && rep->committed == 0) {
                log_error_kv(0, "The kernel rejected the transaction: nothing of it was applied",
                             LOG_STR("trigger", trigger));
        } else if (rep->rejected) {
                log_error_kv(0, "The kernel rejected a transaction after accepting an earlier one of the same "
                                "plan, which left the tables consistent",
                             LOG_STR("trigger", trigger));
        }
}

static void log_success(const struct ima_reconcile_report *rep, const char *trigger, const char *changed_by)
{
        char total[IMA_DURATION_STRLEN], read[IMA_DURATION_STRLEN], commit[IMA_DURATION_STRLEN];
        _cleanup_free_ char *summary = NULL;
        struct log_field fields[10];
        size_t n = 0;

        if (rep->plan->n_ops == 0) {
                log_v_kv(3, "In sync, nothing sent", LOG_STR("trigger", trigger),
                         LOG_STR("kernelState", rep->observed ? "read" : "known from the last commit"));
                return;
        }
        format_usec(rep->observe_usec + rep->diff_usec + rep->build_usec + rep->commit_usec, total);
        format_usec(rep->observe_usec, read);
        format_usec(rep->commit_usec, commit);
        summary = plan_summary(rep->plan, IMA_ALL_FAMILIES);
        fields[n++] = LOG_STR("trigger", trigger);
        if (changed_by)
                fields[n++] = LOG_STR("changedBy", changed_by);
        fields[n++] = LOG_STR("changes", summary ? summary : "?");
        fields[n++] = LOG_INT("messages", (int64_t)rep->n_msgs);
        fields[n++] = LOG_INT("bytes", (int64_t)rep->n_bytes);
        fields[n++] = LOG_INT("attempts", (int64_t)rep->attempts);
        if (rep->answers_lost)
                fields[n++] = LOG_STR("answers", "lost, the change read back from the kernel");
        fields[n++] = LOG_STR("elapsed", total);
        fields[n++] = LOG_STR("read", read);
        fields[n++] = LOG_STR("commit", commit);
        log_write_kv(LOG_LEVEL_INFO, 0, 0, __FILE__, __LINE__, "Reconciled", fields, n);
}

int reconcile_logged(struct ima_reconciler *rc, const struct ima_model *want, enum ima_trust trust,
                     const char *trigger, const char *changed_by, struct failure_memory *mem,
                     struct ima_reconcile_report *ret_report)
{
        struct ima_reconcile_report rep = { 0 };
        int r;

        r = ima_reconcile(rc, want, trust, IMA_RECONCILE_APPLY, &rep);
        if (r == -EPERM && rep.live_owner && mem && mem->owner_wait_is_quiet) {
                /* nothing was sent, nothing failed: the caller says, once, who holds the tables */
        } else if (r < 0) {
                log_failure(r, &rep, trigger, mem);
        } else {
                if (mem && mem->failures > 0) {
                        log_info_kv("Reconcile succeeded after failing", LOG_STR("trigger", trigger),
                                    LOG_INT("failuresInARow", (int64_t)mem->failures));
                        failure_memory_clear(mem);
                }
                log_success(&rep, trigger, changed_by);
        }
        if (ret_report)
                *ret_report = rep;
        else
                ima_reconcile_report_clear(&rep);
        return r;
}

unsigned check_upstream_chains(struct ima_nl *nl, unsigned previously)
{
        const char *chain = arg_masq_chain ? arg_masq_chain : "IP-MASQ-AGENT";
        unsigned present = 0;

        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                const char *tool = f == IMA_FAMILY_IPV4 ? "iptables" : "ip6tables";
                unsigned bit = 1u << f;
                _cleanup_free_ char *fix = NULL;
                int r = ima_dump_chain_exists(nl, (enum ima_family)f, "nat", chain);

                if (r < 0) {
                        log_v(2, "cannot check for the upstream agent's chain in table %s nat: %s",
                              ima_family_nft_name((enum ima_family)f), strerror(-r));
                        present |= previously & bit; /* unknown: keep what we knew */
                        continue;
                }
                if (r > 0)
                        present |= bit;
                /* at every check made on purpose (start, apply, SIGHUP, the full check): that it is
                 * not logged again must mean that it is gone */
                if (r > 0) {
                        /* no backslash: the log quotes its values, and the commands are copied from it */
                        if (asprintf(&fix, "%s -t nat -F %s (it then masquerades nothing); to remove it too: "
                                           "%s -t nat -S POSTROUTING | grep -- '-j %s$' | sed 's/^-A/-D/' | "
                                           "xargs -r -L1 %s -t nat && %s -t nat -X %s",
                                     tool, chain, tool, chain, tool, tool, chain) < 0)
                                fix = NULL;
                        log_warning_kv("The upstream ip-masq-agent's iptables chain is still installed: it masquerades by "
                                       "its own rules, beside this agent's, and can masquerade traffic this agent exempts",
                                       LOG_STR("table", f == IMA_FAMILY_IPV4 ? "ip nat" : "ip6 nat"),
                                       LOG_STR("chain", chain), LOG_STR("fix", fix ? fix : "flush and delete the chain"));
                } else if (r == 0 && (previously & bit)) {
                        log_info_kv("The upstream ip-masq-agent's iptables chain is gone",
                                    LOG_STR("table", f == IMA_FAMILY_IPV4 ? "ip nat" : "ip6 nat"), LOG_STR("chain", chain));
                }
        }
        return present;
}
