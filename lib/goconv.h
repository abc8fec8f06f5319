/* goconv.h: the Go standard library's text conversions that the upstream agent's YAML->JSON path
 * applies to scalars (strconv integers and floats, encoding/json float output, time.Parse of
 * YAML timestamps, base64 of !!binary), re-done so that lib/doc-yaml.c produces the same JSON
 * the Go code would. Pure functions on bytes; no YAML, no config semantics. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text ima_go_format_float() writes, with NUL. */
#define IMA_GO_FLOAT_STRLEN 40

enum ima_go_int {
        IMA_GO_NOT_INT,
        IMA_GO_INT,  /* fits int64: *ret_i */
        IMA_GO_UINT, /* only unsigned, above INT64_MAX: *ret_u */
};

/* strconv.ParseInt(s, base, 64), and if that fails strconv.ParseUint(s, base, 64) (which takes
 * no sign). base is 0 (prefixes 0x, 0o, 0b, leading 0 = octal; '_' between digits, as Go
 * literals write them) or 2..16 (no '_'). */
enum ima_go_int ima_go_parse_int(const char *s, unsigned base, int64_t *ret_i, uint64_t *ret_u);

/* strconv.ParseFloat(s, 64) for decimal text: true and *ret if s is a finite decimal float with
 * Go's underscore rules; false on a syntax error or overflow (Go's ErrRange). */
bool ima_go_parse_float(const char *s, double *ret);

enum ima_go_float_style {
        IMA_GO_FLOAT_JSON,  /* encoding/json's encoder: 'f', or 'e' below 1e-6 / from 1e21 */
        IMA_GO_FLOAT_G32,   /* strconv.FormatFloat(v, 'g', -1, 32): how YAML float keys become JSON keys */
};

/* Shortest text that reads back as v, in the given style. Non-finite values are written as
 * go-yaml spells them in keys (".inf", "-.inf", ".nan"). */
void ima_go_format_float(double v, enum ima_go_float_style style, char buf[static IMA_GO_FLOAT_STRLEN]);

/* Whether go-yaml's parseTimestamp() accepts s (time.Parse with the layouts "2006-1-2",
 * "2006-1-2 15:4:5.999999999", "2006-1-2T15:4:5.999999999Z07:00" and the same with 't'). */
bool ima_go_is_timestamp(const char *s, size_t len);

/* base64.StdEncoding.DecodeString: padded standard alphabet, '\r' and '\n' ignored. Writes at
 * most len * 3 / 4 bytes to out. Returns the decoded length or -EINVAL. */
int ima_go_base64_decode(const char *s, size_t len, char *out, size_t *ret_len);
