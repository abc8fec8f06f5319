/* rule-sig.h: a canonical text for a rule, equal for the rule the agent builds and the same rule
 * dumped back from the kernel: libnftnl's expression listing without handle, position and
 * counter values, plus the rule's user data (its comment) in hex. */
#pragma once

#include "lib/model.h"
#include "lib/observed.h"

struct nftnl_rule;

/* Modifies r (counter values zeroed, handle and position unset). Returns 0 or -ENOMEM. */
int ima_rule_signature(struct nftnl_rule *r, char **ret);

/* Signatures of the desired rules of every family of m (empty lists for absent families). */
int ima_rule_sigs_from_model(const struct ima_model *m, struct ima_rule_sigs out[IMA_FAMILY_COUNT]);
