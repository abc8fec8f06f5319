/* render.h: the desired model as nft(8) text, deterministic and loadable with "nft -f". Pure
 * formatting: no socket, no privileges. Rules read exactly as "nft list" shows them (without the
 * counters' current values). */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* One rule as nft lists it, e.g. 'ip daddr @nomasq-dst counter return comment "…"'.
 * Returns the length (snprintf semantics). */
int ima_render_rule(enum ima_family f, const struct ima_rule *r, char *buf, size_t size);

/* "priority srcnat", "priority srcnat - 5": how nft names the chain priority. */
void ima_render_priority(int32_t prio, char *buf, size_t size);

/* The whole ruleset script: for each family either the table's full definition (preceded by an
 * add+delete pair so that loading it replaces an older copy atomically) or, when the family is
 * off, a delete of any stale table. header_comment is printed as '#' lines first (may be NULL).
 * Returns 0 or -errno from writing. */
int ima_render_model(const struct ima_model *m, const char *header_comment, FILE *out);

/* Writes the elements of a set as "a, b, c" wrapped at about 80 columns with indent after each
 * line break. */
int ima_render_elements(const struct ima_ipset *s, const char *indent, FILE *out);
