#include <errno.h>
#include <string.h>

#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_apply(void)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        int r;

        r = load_config(DIAG_AS_LOG, &config);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r < 0 || (r = build_model(config, &model)) < 0) {
                log_error("apply failed: %s", strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        if (open_netlink(&nl) < 0 || ima_reconciler_new(nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        r = reconcile_logged(rc, model, IMA_TRUST_NOTHING, "apply", NULL);
        return r < 0 ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}
