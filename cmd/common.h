/* common.h: the pipeline steps every verb shares: config file -> validated config (problems
 * printed once), config -> desired model, plan -> kernel (errors printed per operation). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/config.h"
#include "lib/model.h"
#include "lib/plan.h"

struct ima_nl;

enum diag_style {
        DIAG_AS_LOG,   /* klog lines (daemon, apply) */
        DIAG_AS_PLAIN, /* bare "FILE:LINE:COL: ..." lines (validate) */
};

/* Loads arg_config_path with the command-line options. Prints every warning and error.
 * Returns 0, -EINVAL (invalid: nothing may be applied) or -ENOMEM. */
int load_config(enum diag_style style, struct ima_config **ret);

/* Desired model for the config and the command-line options. */
int build_model(const struct ima_config *c, struct ima_model **ret);

/* Sends the plan as one transaction (pinned to genid when not 0). Prints each kernel error
 * against the operation that caused it. Returns 0 or the first -errno. */
int send_plan(struct ima_nl *nl, const struct ima_plan *p, uint32_t genid);

/* Opens the netfilter socket, explaining the usual permission problem. */
int open_netlink(struct ima_nl **ret);
