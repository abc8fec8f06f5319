#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_apply(void)
{
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        int r;

        /* a running daemon's tables are its own: in sync when their contents are (and a change
         * to them is refused, saying who owns them); an orphan stays adoptable */
        arg_model_opts.keep_table_ownership = true;
        r = load_desired_model("apply", NULL, &model);
        if (r != EXIT_OK)
                return r;
        if (open_reconciler(&nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        r = reconcile_logged(rc, model, IMA_TRUST_NOTHING, "apply", NULL, NULL, NULL);
        (void)check_upstream_chains(nl, 0);
        return r < 0 ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}
