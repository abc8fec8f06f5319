/* rule-sig.h: a canonical text for a rule, equal for the rule the agent builds and the same rule
 * dumped back from the kernel: libnftnl's expression listing without handle, position and
 * counter values, plus the rule's user data (its comment) in hex. Also a dumped rule's text for
 * people, which diff shows for the rules it removes. */
#pragma once

#include "lib/model.h"
#include "lib/observed.h"

struct nftnl_rule;

/* Modifies r (counter values zeroed, handle and position unset). Returns 0 or -ENOMEM. */
int ima_rule_signature(struct nftnl_rule *r, char **ret);

/* The rule r of family f (whose signature is sig) as people read it, for diff: in nft syntax when
 * it is one of the rules the agent writes (any options: it must rebuild to sig exactly), else
 * libnftnl's listing of its expressions on one line ("[ payload load 4b @ network header + 16
 * => reg 1 ] [ cmp eq reg 1 0x01010101 ] [ immediate reg 0 accept ]", counter values left out)
 * and its comment. Returns 0 or -ENOMEM. */
int ima_rule_text(enum ima_family f, struct nftnl_rule *r, const char *sig, char **ret);

/* Signatures of the desired rules of every family of m (empty lists for absent families). */
int ima_rule_sigs_from_model(const struct ima_model *m, struct ima_rule_sigs out[IMA_FAMILY_COUNT]);
