/* array.h: growing the arrays that modules append to, by doubling, so n appends cost O(n). */
#pragma once

#include <stddef.h>

/* Makes room in *items, an array of item_size-byte items with room for *cap of them, for item
 * number n: when n == *cap the block doubles (to first_cap items the first time). 0, or -ENOMEM
 * with *items and *cap unchanged, also when the new size would not fit in a size_t. */
int ima_array_reserve(void **items, size_t *cap, size_t n, size_t item_size, size_t first_cap);

/* The usual call: room for item n of the array p with capacity cap (lvalues of any item type). */
#define IMA_ARRAY_RESERVE(p, cap, n, first_cap) \
        ima_array_reserve((void **)&(p), &(cap), (n), sizeof(*(p)), (first_cap))

/* The same for an array that keeps no capacity, to save the field where there are many arrays
 * (one per node of a parsed document): it holds first_cap items (a power of two), then twice as
 * many each time its count n reaches a power of two. */
int ima_array_reserve_pow2(void **items, size_t n, size_t item_size, size_t first_cap);

#define IMA_ARRAY_RESERVE_POW2(p, n, first_cap) \
        ima_array_reserve_pow2((void **)&(p), (n), sizeof(*(p)), (first_cap))
