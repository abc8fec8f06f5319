/* nftables-text.h: a chain's rules as nft writes them, through libnftables, loaded with dlopen()
 * for the diff command alone: the daemon, which never needs it, does not pay for it (with its
 * dependencies, over a megabyte), and an agent without it still works, showing rules it cannot
 * write itself as libnftnl's listing of their expressions. */
#pragma once

#include <stddef.h>

/* Lists chain of table in family ("ip", "ip6"): *ret holds the chain's *ret_n rules in order, each
 * one line of nft syntax without its handle or counter values (free with nftables_rules_free()).
 * -ENOPKG when libnftables cannot be loaded; -EIO when nft fails; -EBADMSG when its text cannot
 * be read as one rule per handle; -ENOMEM. On failure, reason (of reason_size bytes) says why. */
int nftables_chain_rules(const char *family, const char *table, const char *chain, char ***ret, size_t *ret_n,
                         char *reason, size_t reason_size);
void nftables_rules_free(char **rules, size_t n);

/* The part of nftables_chain_rules() that reads nft's text (`nft -a -s list chain ...`): the
 * rules between "chain CHAIN {" and its "}", each one line ended by " # handle N", after the
 * header lines ("comment ...", "type ..."). -EBADMSG for anything else, such as a rule over
 * several lines (a newline in its comment), which nft's syntax cannot show as one. */
int nftables_parse_chain_listing(const char *text, const char *chain, char ***ret, size_t *ret_n);
