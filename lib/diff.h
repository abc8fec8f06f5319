/* diff.h: desired model vs observed kernel state -> the plan that makes the kernel match, with
 * the smallest change that is still safe: set elements only when only CIDRs differ; rules only
 * when rules differ; a whole-table re-creation only for damage that cannot be patched (foreign
 * objects, wrong set types, ownership). Pure: no I/O, deterministic order, deletions of elements
 * before additions. An empty plan means "in sync": nothing must be sent. */
#pragma once

#include "model.h"
#include "observed.h"
#include "plan.h"

int ima_diff(const struct ima_model *want, const struct ima_rule_sigs want_rules[IMA_FAMILY_COUNT],
             const struct ima_observed *have, struct ima_plan **ret);
