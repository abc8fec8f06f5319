/* probe.h: kernel capabilities the agent adapts to, found out with validate-only transactions
 * (no BATCH_END: the kernel checks every message, then aborts), so probing changes nothing; or,
 * where no transaction can tell, from the kernel's release. */
#pragma once

#include <stdbool.h>

struct ima_nl;

/* Whether the running kernel keeps the comments of tables and chains (their userdata, Linux
 * 5.10+); older ones accept the attribute and drop it, so a missing comment says nothing there.
 * From the kernel's release: no transaction can tell. */
bool ima_features_table_comments(void);

/* Whether tables can be owned by a socket AND persist when it closes (NFT_TABLE_F_OWNER |
 * NFT_TABLE_F_PERSIST, Linux 6.9+). Returns 1, 0, or -errno (e.g. -EPERM without privilege). */
int ima_features_table_persist(struct ima_nl *nl);
