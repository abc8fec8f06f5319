/* diag.h: problems found in user input (config file, flags): where, which key, which value, what is
 * wrong. Collects all of them so one run can report every mistake. Formats, never prints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct ima_pos {
        unsigned line; /* 1-based; 0 = unknown */
        unsigned col;  /* 1-based; 0 = unknown */
};

enum ima_diag_level {
        IMA_DIAG_ERROR,
        IMA_DIAG_WARNING,
};

/* How much of a key or value an entry keeps: a 10 MB value would make a 10 MB message (and log
 * line, which log shippers split or drop). */
#define IMA_DIAG_SHOWN_MAX 200

struct ima_diag_entry {
        enum ima_diag_level level;
        struct ima_pos pos;
        char *key;     /* "NonMasqueradeCIDRs[2]", or NULL */
        char *value;   /* the offending value as written, or NULL; may hold NULs (a JSON "\u0000") */
        size_t key_bytes;   /* their full lengths: key and value keep IMA_DIAG_SHOWN_MAX bytes */
        size_t value_bytes;
        char *message;
        size_t seq;    /* order of recording: ties in ima_diag_sort() keep it */
};

struct ima_diag {
        char *file; /* shown in every formatted entry */
        struct ima_diag_entry *entries;
        size_t n_entries;
        size_t cap_entries;
        size_t n_errors;
        /* an entry could not be recorded (out of memory): an error may be missing, so whatever
         * was being checked has no verdict (callers that go on after an error ignore the -ENOMEM
         * ima_diag_error() returns; this remembers it) */
        bool lost;
};

/* Returns a diag for messages about FILE (copied). -ENOMEM. */
int ima_diag_new(const char *file, struct ima_diag **ret);
struct ima_diag *ima_diag_free(struct ima_diag *d);
DEFINE_FREEP(struct ima_diag, ima_diag_free)

/* Records an error. Returns -EINVAL so callers can "return ima_diag_error(...)"; -ENOMEM if
 * it could not be recorded. key and value may be NULL. */
int ima_diag_error(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value,
                   const char *fmt, ...) _printf_(5, 6);
/* The same, for a value of value_len bytes that may hold NULs: they are shown (\x00), not taken
 * for its end. */
int ima_diag_error_n(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value, size_t value_len,
                     const char *fmt, ...) _printf_(6, 7);
/* Records a warning. Returns 0, or -ENOMEM. */
int ima_diag_warn(struct ima_diag *d, struct ima_pos pos, const char *key, const char *value,
                  const char *fmt, ...) _printf_(5, 6);

/* Orders the entries by line and column (problems without a position first), so that a person
 * reads them top to bottom; entries at the same place keep the order they were recorded in. */
void ima_diag_sort(struct ima_diag *d);

/* "FILE:LINE:COL: KEY: message (value "…")"; parts that are unknown are left out; key and value
 * show control bytes, invisible characters (U+200B, U+00A0, U+0085, ...) and bytes that are not
 * UTF-8 escaped; a key that is empty or has a space at either end is quoted too. Returns a
 * malloc'd string or NULL (ENOMEM). */
char *ima_diag_entry_format(const struct ima_diag *d, const struct ima_diag_entry *e);
