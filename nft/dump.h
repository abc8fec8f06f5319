/* dump.h: reads the agent's two tables back from the kernel into a struct ima_observed: table
 * flags and owner, both sets (type, flags, elements decoded into intervals), the chain (type,
 * hook, priority, policy) and its rules as signatures, and whether anything else lives in the
 * table. A read torn by a concurrent commit (dump interrupted, parts from different generations,
 * generation moved between start and end) is retried. Reads nothing outside the two tables. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/observed.h"

struct ima_nl;

/* Returns 0 and the observation, -EAGAIN if every attempt was torn by concurrent commits, or
 * the kernel's -errno (e.g. -EPERM). */
int ima_dump_observe(struct ima_nl *nl, struct ima_observed **ret);

/* What the chain's counters say, per family: packets (first packets of connections: NAT rules see
 * no others) and bytes that were masqueraded, exempted by source, exempted by destination. */
enum ima_nat_action {
        IMA_NAT_MASQUERADED,
        IMA_NAT_EXEMPT_SOURCE,
        IMA_NAT_EXEMPT_DESTINATION,
};
#define IMA_NAT_ACTION_COUNT 3

struct ima_nat_counters {
        bool present[IMA_FAMILY_COUNT];
        uint64_t packets[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
        uint64_t bytes[IMA_FAMILY_COUNT][IMA_NAT_ACTION_COUNT];
};

/* Reads the counters of the postrouting chain's rules. A missing table leaves present false. */
int ima_dump_counters(struct ima_nl *nl, struct ima_nat_counters *ret);
