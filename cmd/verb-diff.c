/* verb-diff.c: what apply would change, as nft-like +/- lines; exit 0 in sync, 3 on drift. */
#include <stdio.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/nftables-text.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

/* Others' rules in our chain, as nft writes them rather than as libnftnl lists their expressions
 * (`ip daddr 1.1.1.1 accept`, not `[ payload load 4b @ network header + 16 => reg 1 ] ...`).
 * libnftables reads the chain again: taken only when no commit came between the plan's read and
 * its (gen_before, the generation before the plan's read, is where the kernel still is), and
 * when its rules line up with those the plan shows. Else, or without libnftables, the plan keeps
 * libnftnl's listing, which says the same. */
static void name_foreign_rules(struct ima_nl *nl, struct ima_plan *p, uint32_t gen_before)
{
        for (int f = 0; f < IMA_FAMILY_COUNT; f++) {
                char **rules = NULL, reason[256];
                uint32_t gen_after;
                size_t n = 0;
                int r;

                if (!ima_plan_shows_expr_listing(p, (enum ima_family)f))
                        continue;
                r = nftables_chain_rules(ima_family_nft_name((enum ima_family)f), IMA_TABLE_NAME, IMA_CHAIN_NAME,
                                         &rules, &n, reason, sizeof(reason));
                if (r < 0) {
                        log_v(1, "diff: others' rules shown as libnftnl lists them: %s", reason);
                        continue;
                }
                if (ima_nl_getgen(nl, &gen_after) < 0 || gen_after != gen_before)
                        log_v(1, "diff: the ruleset changed while it was read: others' rules shown as libnftnl lists them");
                else if (ima_plan_name_rules(p, (enum ima_family)f, rules, n) < 0)
                        log_v(1, "diff: out of memory: others' rules shown as libnftnl lists them");
                nftables_rules_free(rules, n);
        }
}

int verb_diff(void)
{
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        struct ima_reconcile_report rep = { 0 };
        uint32_t gen_before;
        int r, rc_exit;
        bool gen_known;

        /* as apply sees them: the daemon's ownership of its tables is no drift */
        arg_model_opts.keep_table_ownership = true;
        r = load_desired_model("diff", NULL, &model);
        if (r != EXIT_OK)
                return r;
        if (open_reconciler(&nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        gen_known = ima_nl_getgen(nl, &gen_before) >= 0;
        r = ima_reconcile(rc, model, IMA_TRUST_NOTHING, IMA_RECONCILE_DRY_RUN, &rep);
        if (r < 0) {
                for (size_t i = 0; i < rep.n_errors; i++)
                        log_error("diff: %s", rep.errors[i]);
                ima_reconcile_report_clear(&rep);
                return EXIT_FAILURE_RUNTIME;
        }
        if (gen_known)
                name_foreign_rules(nl, rep.plan, gen_before);
        ima_plan_print(rep.plan, stdout);
        rc_exit = rep.plan->n_ops == 0 ? EXIT_OK : EXIT_DRIFT;
        ima_reconcile_report_clear(&rep);
        return stdout_status(rc_exit);
}
