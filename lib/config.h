/* config.h: the agent's configuration file (YAML or JSON, the upstream/TKE keys) into a fully
 * validated struct ima_config, with defaults for what the file leaves out. Every problem is
 * recorded in a struct ima_diag with its line, key and value; the kernel is not this module's
 * business. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "diag.h"
#include "macro.h"

struct ima_model;

/* Files above this size are refused: 100,000 IPv6 CIDRs in block style take about 5 MiB. */
#define IMA_CONFIG_MAX_BYTES (16u << 20)
#define IMA_CONFIG_DEFAULT_PATH "/etc/config/ip-masq-agent"
#define IMA_CONFIG_DEFAULT_CIDR_LIMIT 64
#define IMA_CONFIG_DEFAULT_RESYNC_NSEC (60 * INT64_C(1000000000))

/* Command-line flags that change how a file is read. */
struct ima_config_options {
        bool enable_ipv6;                /* --enable-ipv6: IPv6 CIDRs allowed */
        bool nomasq_all_reserved_ranges; /* --nomasq-all-reserved-ranges: bigger default list */
};

enum ima_config_source {
        IMA_CONFIG_SOURCE_DEFAULTS, /* no file: built-in defaults */
        IMA_CONFIG_SOURCE_FILE,
};

struct ima_config {
        enum ima_config_source source;
        struct ima_cidr *nomasq_dst;     /* NonMasqueradeCIDRs, as written (validated, aligned) */
        size_t n_nomasq_dst;
        struct ima_cidr *nomasq_src;     /* NonMasqueradeSrcCIDRs, as written */
        size_t n_nomasq_src;
        bool masq_link_local;            /* MasqLinkLocal */
        bool masq_link_local_ipv6;       /* MasqLinkLocalIPv6 */
        int64_t resync_interval_nsec;    /* ResyncInterval, > 0 */
        int64_t cidr_limit;              /* CidrLimit */
};

struct ima_config *ima_config_free(struct ima_config *c);
DEFINE_FREEP(struct ima_config, ima_config_free)

/* The configuration used when there is no file. -ENOMEM. */
int ima_config_new_defaults(const struct ima_config_options *o, struct ima_config **ret);

/* Parses a document held in memory. Returns 0 and a config, -EINVAL with every problem recorded
 * in diag (warnings may be recorded on success too), or -ENOMEM. */
int ima_config_parse(const char *buf, size_t len, const struct ima_config_options *o,
                     struct ima_diag *diag, struct ima_config **ret);

/* Reads and parses path. A missing file (ENOENT, also a dangling ConfigMap symlink) yields the
 * defaults with source IMA_CONFIG_SOURCE_DEFAULTS. Unreadable, oversized or non-regular files are
 * errors recorded in diag (-EINVAL), as are parse errors. */
/* Reads path into a malloc'd buffer with the checks ima_config_load() applies (regular file,
 * size bound). Returns 0, -ENOENT when there is no file, -EINVAL with the problem recorded in
 * diag, or -ENOMEM, -EMFILE, -ENFILE (the agent's own resources, not the file's fault). Lets a
 * caller skip parsing a file whose bytes it has seen before. */
int ima_config_read_file(const char *path, struct ima_diag *diag, char **ret, size_t *ret_len);

int ima_config_load(const char *path, const struct ima_config_options *o, struct ima_diag *diag,
                    struct ima_config **ret);

/* True if a and b mean the same configuration, lists in the same order included (where it came
 * from does not count). What ima_config_to_json() would tell, without formatting 100,000 CIDRs. */
bool ima_config_equal(const struct ima_config *a, const struct ima_config *b);

/* The effective configuration as one JSON document with upstream's camelCase keys in a fixed
 * order (nonMasqueradeCIDRs, nonMasqueradeSrcCIDRs, cidrLimit, masqLinkLocal, masqLinkLocalIPv6,
 * resyncInterval as Go's Duration.String() writes it), then, if m is not NULL, "sets": the
 * normalized intervals of each table m holds, as nft lists set elements. Newline-terminated.
 * Returns a malloc'd string or NULL on ENOMEM. */
char *ima_config_to_json(const struct ima_config *c, const struct ima_model *m);
