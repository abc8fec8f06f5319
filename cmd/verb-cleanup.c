#include <string.h>

#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

int verb_cleanup(void)
{
        _cleanup_(ima_plan_freep) struct ima_plan *plan = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        int r;

        r = ima_plan_new(&plan);
        for (int f = 0; r >= 0 && f < IMA_FAMILY_COUNT; f++) {
                /* create-if-missing first, so that deleting an absent table is not an error */
                r = ima_plan_add(plan, &(struct ima_op){ .kind = IMA_OP_ADD_TABLE, .family = f, .if_missing = true });
                if (r >= 0)
                        r = ima_plan_add(plan, &(struct ima_op){ .kind = IMA_OP_DEL_TABLE, .family = f });
        }
        if (r < 0) {
                log_error("cleanup failed: %s", strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        if (open_netlink(&nl) < 0 || send_plan(nl, plan, 0) < 0)
                return EXIT_FAILURE_RUNTIME;
        log_info("removed tables ip and ip6 ip-masq-agent (where present)");
        return EXIT_OK;
}
