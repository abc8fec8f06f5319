/* needs.h: the kernel features (modules, config options) the agent's objects need, named for the
 * operator when the kernel refuses one: an nf_tables kernel without a module the agent uses
 * answers only "No such file or directory" for the chain or rule that needs it. */
#pragma once

#include <stdbool.h>

#include "lib/plan.h"

/* What to do when the kernel refused op with error (a negative errno), or NULL when the refusal
 * names no missing feature. ENOENT is also the answer to an edit that deleted the table, chain or
 * set under the agent: a hint is given only for an op refused again after a fresh read of the
 * kernel state (refused_again), worded "if this persists", and not for an op that follows a
 * refused addition of a table, chain or set of its family in the same transaction
 * (container_refused): that failure is the likelier cause. */
const char *ima_needs_hint(const struct ima_op *op, int error, bool refused_again, bool container_refused);

/* The same for a failure to read the kernel state (error, a negative errno): nfnetlink answers
 * EINVAL to a request for a subsystem the kernel does not have, here nf_tables. */
const char *ima_needs_read_hint(int error);
