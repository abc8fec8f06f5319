/* build.h: model objects -> libnftnl objects -> batch messages. The interval encoding (start
 * element, end element at last+1 flagged INTERVAL_END, none for an all-ones end) and every rule's
 * expression list live here and nowhere else. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/model.h"
#include "lib/plan.h"

struct ima_batch;
struct nftnl_rule;
struct nftnl_set;

/* Most intervals per element message: 2 elements each keeps an IPv6 message near 36 KiB, under
 * the 64 KiB netlink attribute limit. */
#define IMA_BUILD_INTERVALS_PER_MSG 500

/* Appends the messages for one operation (element ops may take several). 0, -ENOMEM. */
int ima_build_op(struct ima_batch *b, const struct ima_op *op);

/* The rule as libnftnl object (table/chain/family set, no handle), for building and for
 * comparing against what the kernel holds. NULL on ENOMEM. */
struct nftnl_rule *ima_build_rule(enum ima_family f, const struct ima_rule *rule);

/* Element list for intervals [from, from+n) of s, as start/end elements, on a set object named
 * after set (table and family filled in). NULL on ENOMEM. */
struct nftnl_set *ima_build_elems(enum ima_family f, enum ima_set_id set, const struct ima_interval *v, size_t n);
