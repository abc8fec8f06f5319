/* verb-diff.c: what apply would change, as nft-like +/- lines; exit 0 in sync, 3 on drift. */
#include <stdio.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_diff(void)
{
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        struct ima_reconcile_report rep = { 0 };
        int r, rc_exit;

        /* as apply sees them: the daemon's ownership of its tables is no drift */
        arg_model_opts.keep_table_ownership = true;
        r = load_desired_model("diff", NULL, &model);
        if (r != EXIT_OK)
                return r;
        if (open_reconciler(&nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        r = ima_reconcile(rc, model, IMA_TRUST_NOTHING, IMA_RECONCILE_DRY_RUN, &rep);
        if (r < 0) {
                for (size_t i = 0; i < rep.n_errors; i++)
                        log_error("diff: %s", rep.errors[i]);
                ima_reconcile_report_clear(&rep);
                return EXIT_FAILURE_RUNTIME;
        }
        ima_plan_print(rep.plan, stdout);
        rc_exit = rep.plan->n_ops == 0 ? EXIT_OK : EXIT_DRIFT;
        ima_reconcile_report_clear(&rep);
        return stdout_status(rc_exit);
}
