/* ipset.h: a set of addresses of ONE family as sorted, disjoint, non-adjacent closed intervals
 * [first, last]. Closed intervals because the all-ones address has no successor: the kernel's
 * "open" end and the /0 case are then ordinary values here. No config syntax, no netlink. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "macro.h"

struct ima_interval {
        ima_u128 first;
        ima_u128 last;
};

struct ima_ipset {
        enum ima_family family;
        struct ima_interval *v; /* normalized after ima_ipset_normalize() */
        size_t n;
        size_t cap;
        unsigned refs; /* its owners (ima_ipset_ref()): one set held by several is never changed */
};

/* Returns an empty set. -ENOMEM. */
int ima_ipset_new(enum ima_family family, struct ima_ipset **ret);
/* Drops one owner's hold; the last one frees the set. */
struct ima_ipset *ima_ipset_free(struct ima_ipset *s);
/* One more owner of s, for a set that no one changes any more (a built model's): sharing it costs
 * nothing, where a copy of 100,000 intervals costs more than the diff that finds a change. */
struct ima_ipset *ima_ipset_ref(struct ima_ipset *s);
DEFINE_FREEP(struct ima_ipset, ima_ipset_free)
/* Deep copy. -ENOMEM. */
int ima_ipset_dup(const struct ima_ipset *s, struct ima_ipset **ret);

/* Appends without normalizing (first <= last, both within the family). -ENOMEM. */
int ima_ipset_add(struct ima_ipset *s, ima_u128 first, ima_u128 last);
/* Appends the range the prefix covers; the family must match. -ENOMEM. */
int ima_ipset_add_cidr(struct ima_ipset *s, const struct ima_cidr *c);
/* Sorts and merges overlapping and adjacent intervals, so that equal address sets have equal
 * interval lists whatever the input order or split. */
void ima_ipset_normalize(struct ima_ipset *s);

bool ima_ipset_equal(const struct ima_ipset *a, const struct ima_ipset *b);
bool ima_ipset_contains(const struct ima_ipset *s, ima_u128 addr);
/* Number of addresses covered, saturating at UINT128 max (::/0 cannot be counted in 128 bits). */
ima_u128 ima_ipset_size(const struct ima_ipset *s);

/* Both inputs normalized. Intervals of have that are not in want exactly go to *ret_del, those of
 * want not in have go to *ret_add: applying del then add to have yields want. -ENOMEM. */
int ima_ipset_diff(const struct ima_ipset *have, const struct ima_ipset *want,
                   struct ima_ipset **ret_del, struct ima_ipset **ret_add);

/* If [first,last] is exactly one prefix, returns true and its length. */
bool ima_interval_prefix_len(enum ima_family f, const struct ima_interval *iv, unsigned *ret_len);
/* "10.0.0.0/8", "10.0.0.1" (single address) or "10.0.0.1-10.0.0.5", as nft lists elements. */
void ima_interval_format(enum ima_family f, const struct ima_interval *iv, char buf[static IMA_RANGE_STRLEN]);
