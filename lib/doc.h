/* doc.h: the generic document tree both config syntaxes are read into, holding what the upstream
 * agent's decoder would see after its YAML->JSON step: null, bool, number (as JSON literal text),
 * string, sequence, mapping (keys in file order, repeats kept). Every node remembers where it was
 * written. The tree knows nothing of ip-masq-agent keys; lib/config.c gives it meaning. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "macro.h"

enum ima_doc_type {
        IMA_DOC_NULL,
        IMA_DOC_BOOL,
        IMA_DOC_NUMBER,
        IMA_DOC_STRING,
        IMA_DOC_SEQ,
        IMA_DOC_MAP,
        IMA_DOC_INVALID, /* a YAML value upstream's decoder cannot convert: already reported in the
                          * diag, so readers of the tree fail on it without a second message */
};

struct ima_doc_node;

struct ima_doc_entry {
        char *key;              /* decoded key text, NUL-terminated (may hold NULs: see key_len) */
        size_t key_len;
        struct ima_pos key_pos;
        struct ima_doc_node *value;
        /* YAML reader only, while it builds the tree: why this key has no JSON form (key then
         * holds it as written). Reported, and the entry removed, once repeated keys are settled. */
        const char *key_no_json;
};

/* How go-yaml typed a YAML number: the YAML->JSON step turns mapping keys into strings
 * differently per type (and refuses unsigned ones). JSON numbers are IMA_DOC_NUM_JSON. */
enum ima_doc_num_kind {
        IMA_DOC_NUM_JSON,
        IMA_DOC_NUM_INT,   /* fits int64 */
        IMA_DOC_NUM_UINT,  /* above int64, fits uint64 */
        IMA_DOC_NUM_FLOAT,
};

/* Room for a value's text inside its node: a config file is mostly CIDRs, every IPv4 one and
 * most IPv6 ones shorter than this, and a separate allocation for each of 100,000 of them was a
 * good part of a reload's malloc work. 23, after the members ordered to leave no padding, makes
 * the node 104 bytes: malloc's 112-byte size class. */
#define IMA_DOC_TEXT_INLINE 23

struct ima_doc_node {
        enum ima_doc_type type;
        struct ima_pos pos;
        enum ima_doc_num_kind num_kind; /* NUMBER only */
        char *text;             /* STRING: decoded value; NUMBER: JSON literal; else NULL. May point
                                 * at text_inline: set it with ima_doc_set_text() only */
        size_t text_len;        /* strings may hold NUL bytes */
        char *source;           /* a YAML scalar that did not stay a string, as written ("0x40",
                                 * "yes", "~"): what messages quote; NULL otherwise */
        double num_float;               /* NUMBER of kind FLOAT: the value */
        struct ima_doc_node **items;    /* SEQ */
        struct ima_doc_entry *entries;  /* MAP */
        size_t n;                       /* items or entries */
        /* YAML reader only, while it builds the tree: why this value has no JSON form. A value a
         * repeated key overrides never reaches upstream's JSON step, so this is reported only once
         * the tree is final; the node then becomes IMA_DOC_INVALID. */
        const char *no_json;
        bool boolean;
        char text_inline[IMA_DOC_TEXT_INLINE];
};

/* Bound on the values one document may hold, keys and aliases expanded, so that reading any file
 * stays inside the DaemonSet's 64 MiB: a value costs 150 to 175 bytes with the tree's arrays and
 * malloc's overhead (ctest/bench/bench-config-memory.sh measures). 100,000 destination plus
 * 100,000 source CIDRs fit, with room for the rest of the file. */
#define IMA_DOC_MAX_NODES 250000

/* Bound on the text that expanding aliases adds to a document (the bytes of every scalar copied,
 * keys included, and of the copies anchors keep for their aliases, one for each anchor a node is
 * in): the bound on values does not see how long a value is, and one 100 KiB string aliased
 * 100,000 times would ask for 10 GB. It is the largest file's size (IMA_CONFIG_MAX_BYTES),
 * so aliases add no more text than a file could hold written out without them. That admits every
 * expansion a config can use: the bound on values leaves room for at most 250,000 CIDRs of at
 * most 49 characters, 12 MB. Several times more would not fit 64 MiB next to a document of
 * 250,000 values (ctest/bench/bench-config-memory.sh measures both at once). */
#define IMA_DOC_MAX_ALIAS_BYTES (16u << 20)

/* Reads buf (len bytes) into a tree. A buffer whose first non-space character (Go's
 * unicode.IsSpace) is '{' is JSON, as the upstream agent decides; anything else is YAML 1.1.
 * An empty or comment-only document yields *ret == NULL and 0. Syntax errors are recorded in diag
 * and return -EINVAL; -ENOMEM. A YAML value that is well-formed but has no JSON form (an
 * infinity, a tag its text does not fit, a mapping as a key...) fails the whole file upstream;
 * here it is recorded in diag as an error naming its key, left in the tree as IMA_DOC_INVALID,
 * and reading goes on, so one run reports them all: callers must check diag->n_errors. */
int ima_doc_parse(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret);
/* The test ima_doc_parse() makes: true if buf is read as JSON. */
bool ima_doc_is_json(const char *buf, size_t len);
int ima_doc_parse_json(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret);
int ima_doc_parse_yaml(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret);

struct ima_doc_node *ima_doc_free(struct ima_doc_node *n);
DEFINE_FREEP(struct ima_doc_node, ima_doc_free)

/* Allocation helpers shared by the two readers. */
struct ima_doc_node *ima_doc_node_new(enum ima_doc_type type, struct ima_pos pos);
/* Copies len bytes and a NUL into n->text, replacing any text it had. -ENOMEM. */
int ima_doc_set_text(struct ima_doc_node *n, const char *text, size_t len);
/* Appends; the container takes ownership of item even on failure. */
int ima_doc_seq_append(struct ima_doc_node *seq, struct ima_doc_node *item);
int ima_doc_map_append(struct ima_doc_node *map, const char *key, size_t key_len,
                       struct ima_pos key_pos, struct ima_doc_node *value);
/* Deep copy (YAML aliases are expanded by copying). NULL on ENOMEM. */
struct ima_doc_node *ima_doc_clone(const struct ima_doc_node *n);
/* "string", "number", ...: for "expected a list, got a string" messages. */
const char *ima_doc_type_name(enum ima_doc_type t);
