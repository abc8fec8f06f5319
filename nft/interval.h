/* interval.h: how one closed interval [first,last] of an nftables interval set is written as set
 * elements, and how elements read back from the kernel become intervals again. Both directions
 * live here so they cannot disagree:
 *   start element KEY=first, flags 0;
 *   end element KEY=last+1 with NFT_SET_ELEM_INTERVAL_END, omitted when last is all-ones.
 * Pure: no netlink. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ipset.h"

struct ima_elem {
        ima_u128 key;
        bool end; /* NFT_SET_ELEM_INTERVAL_END */
};

/* Elements for v[0..n) in order; *ret_n gets the count (<= 2n). out must hold 2n. */
void ima_interval_encode(enum ima_family f, const struct ima_interval *v, size_t n, struct ima_elem *out,
                         size_t *ret_n);

/* Decodes elements in any order (the kernel dumps high to low) into intervals appended to set.
 * Sets *ret_malformed when the elements are not exactly what ima_interval_encode() would write
 * for some interval list: a stray end element, two starts in a row (a deleted end element makes
 * the kernel extend the range), an empty range. A leading end element with no start before it
 * is not malformed: nft adds one at the lowest address of every set it fills. Adjacent intervals
 * are kept apart, as the kernel holds them. May reorder elems. -ENOMEM. */
int ima_interval_decode(struct ima_elem *elems, size_t n, struct ima_ipset *set, bool *ret_malformed);
