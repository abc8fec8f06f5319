#include <string.h>

#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/peers.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_cleanup(void)
{
        _cleanup_(ima_model_freep) struct ima_model *nothing = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        struct ima_reconcile_report rep = { 0 };
        bool changed;

        if (ima_model_new_empty(&nothing) < 0 || open_reconciler(&nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        /* reconciling to "no tables" deletes what exists and sends nothing when nothing does */
        if (reconcile_logged(rc, nothing, IMA_TRUST_NOTHING, "cleanup", NULL, NULL, &rep) < 0) {
                ima_reconcile_report_clear(&rep);
                return EXIT_FAILURE_RUNTIME;
        }
        changed = rep.plan->n_ops > 0;
        ima_reconcile_report_clear(&rep);
        if (!changed)
                log_info("cleanup: no ip-masq-agent tables present");
        else
                warn_if_daemon_undoes("cleanup");
        return EXIT_OK;
}
