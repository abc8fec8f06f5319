#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/peers.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_apply(void)
{
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        struct ima_reconcile_report rep = { 0 };
        bool changed;
        int r;

        /* a running daemon's tables are its own: in sync when their contents are (and a change
         * to them is refused, saying who owns them); an orphan stays adoptable */
        arg_model_opts.keep_table_ownership = true;
        r = load_desired_model("apply", NULL, &model);
        if (r != EXIT_OK)
                return r;
        if (open_reconciler(&nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        r = reconcile_logged(rc, model, IMA_TRUST_NOTHING, "apply", NULL, NULL, &rep);
        changed = r >= 0 && rep.plan->n_ops > 0;
        ima_reconcile_report_clear(&rep);
        if (changed)
                warn_if_daemon_undoes("apply");
        (void)check_upstream_chains(nl, 0);
        return r < 0 ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}
