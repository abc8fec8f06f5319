#include <errno.h>
#include <string.h>
#include <time.h>

#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "nft/sock.h"

static int64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int verb_apply(void)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_plan_freep) struct ima_plan *plan = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        int64_t start = now_usec();
        int r;

        r = load_config(DIAG_AS_LOG, &config);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r < 0)
                goto fail;
        r = build_model(config, &model);
        if (r < 0)
                goto fail;
        r = ima_plan_full(model, &plan);
        if (r < 0)
                goto fail;
        r = open_netlink(&nl);
        if (r < 0)
                return EXIT_FAILURE_RUNTIME;
        r = send_plan(nl, plan, 0);
        if (r < 0)
                return EXIT_FAILURE_RUNTIME;
        log_info("applied %s: ip nomasq-dst %zu intervals, nomasq-src %zu intervals%s in %.1f ms",
                 config->source == IMA_CONFIG_SOURCE_FILE ? "configuration" : "defaults (no configuration file)",
                 model->tables[IMA_FAMILY_IPV4].sets[IMA_SET_DST]->n,
                 model->tables[IMA_FAMILY_IPV4].sets[IMA_SET_SRC]->n,
                 model->tables[IMA_FAMILY_IPV6].present ? ", ip6 table too" : "",
                 (double)(now_usec() - start) / 1000.0);
        return EXIT_OK;
fail:
        log_error("apply failed: %s", strerror(-r));
        return EXIT_FAILURE_RUNTIME;
}
