/* dump.h: reads the agent's two tables back from the kernel into a struct ima_observed: table
 * flags and owner, both sets (type, flags, elements decoded into intervals), the chain (type,
 * hook, priority, policy) and its rules as signatures, and whether anything else lives in the
 * table. A read torn by a concurrent commit (dump interrupted, parts from different generations,
 * generation moved between start and end) is retried; a retry listens to the event stream, and
 * counts when the commits that tore it left our tables alone (others' commits move the global
 * generation too). Reads nothing outside the two tables, except, on request, whether another
 * table holds a chain of a given name. */
#pragma once

#include "lib/observed.h"

struct ima_events;
struct ima_nl;

/* Returns 0 and the observation (its genid the generation it holds at: the last one of the read),
 * -EAGAIN if every attempt was torn by commits to our tables (or by ones the events could not
 * clear), or the kernel's -errno (e.g. -EPERM). */
int ima_dump_observe(struct ima_nl *nl, struct ima_observed **ret);
/* The same with the caller's witness, a subscription to nf_tables events made before the call:
 * reads torn by others' commits count from the first attempt on, and the witness can then tell
 * (ima_dump_untouched_since()) whether commits after the read touched our tables. */
int ima_dump_observe_witnessed(struct ima_nl *nl, struct ima_events *witness, struct ima_observed **ret);
/* The same, reading what a table holds only for the families where contents[f] is true (all
 * when contents is NULL); the others' tables are read alone (flags and owner, all that deleting
 * one needs: a cleanup at 100,000 CIDRs then reads no elements) and marked contents_unread. */
int ima_dump_observe_scoped(struct ima_nl *nl, struct ima_events *witness, const bool contents[IMA_FAMILY_COUNT],
                            struct ima_observed **ret);
/* Whether every commit since generation from left our tables alone, as witness (subscribed while
 * from was current, or before) shows: 1 and the generation now in *ret_now, 0 when one touched
 * them or it cannot be told, or -errno. */
int ima_dump_untouched_since(struct ima_nl *nl, struct ima_events *witness, uint32_t from, uint32_t *ret_now);

/* Reads the counters of the postrouting chain's rules. A missing table leaves present false. */
int ima_dump_counters(struct ima_nl *nl, struct ima_nat_counters *ret);

/* Whether table ip|ip6 ip-masq-agent is owned by a live process other than port ours (a GETTABLE
 * of that one table): 1, 0 (not owned by another, or absent) or -errno. For a caller waiting for
 * the previous owner to exit: the kernel sends no event when an owner lets go of a table. */
int ima_dump_owned_by_other(struct ima_nl *nl, enum ima_family f, uint32_t ours);

/* Whether table TABLE of family f holds a chain named CHAIN (a GETCHAIN of that one chain, a
 * read only): 1, 0 (no such table or chain) or -errno. */
int ima_dump_chain_exists(struct ima_nl *nl, enum ima_family f, const char *table, const char *chain);
