/* The document tree must hold what upstream's decoder sees: for YAML, the JSON text that
 * sigs.k8s.io/yaml's YAMLToJSON (go-yaml v2, then json.Marshal) produces. Every expected string
 * below was produced by running that Go code path on the input. */
#include <errno.h>
#include <stdlib.h>

#include "lib/doc.h"
#include "tests.h"

/* json.Marshal's string escaping: <, >, & and U+2028/9 as \u, control bytes as \u00XX. */
static void put_string(FILE *f, const char *s, size_t len)
{
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\r')
                        fputs("\\r", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20 || c == '<' || c == '>' || c == '&')
                        fprintf(f, "\\u%04x", c);
                else if (c == 0xe2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                         ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
                        fprintf(f, "\\u20%s", (unsigned char)s[i + 2] == 0xa8 ? "28" : "29");
                        i += 2;
                } else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void put_node(FILE *f, const struct ima_doc_node *n)
{
        switch (n->type) {
        case IMA_DOC_NULL:
                fputs("null", f);
                return;
        case IMA_DOC_INVALID:
                fputs("invalid", f);
                return;
        case IMA_DOC_BOOL:
                fputs(n->boolean ? "true" : "false", f);
                return;
        case IMA_DOC_NUMBER:
                fputs(n->text, f);
                return;
        case IMA_DOC_STRING:
                put_string(f, n->text, n->text_len);
                return;
        case IMA_DOC_SEQ:
                fputc('[', f);
                for (size_t i = 0; i < n->n; i++) {
                        if (i)
                                fputc(',', f);
                        put_node(f, n->items[i]);
                }
                fputc(']', f);
                return;
        case IMA_DOC_MAP:
                fputc('{', f);
                for (size_t i = 0; i < n->n; i++) {
                        if (i)
                                fputc(',', f);
                        put_string(f, n->entries[i].key, n->entries[i].key_len);
                        fputc(':', f);
                        put_node(f, n->entries[i].value);
                }
                fputc('}', f);
                return;
        }
}

/* The tree as compact JSON, "null" for an empty document, or "error: <first message>". */
static char *to_json(const char *yaml)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        if (ima_diag_new("-", &d) < 0)
                return NULL;
        r = ima_doc_parse(yaml, strlen(yaml), d, &root);
        f = open_memstream(&buf, &len);
        if (!f)
                return NULL;
        if (r < 0 || d->n_errors) {
                const char *msg = strerror(-r);

                for (size_t i = d->n_entries; i-- > 0;) /* the first error; warnings may precede it */
                        if (d->entries[i].level == IMA_DIAG_ERROR)
                                msg = d->entries[i].message;
                fprintf(f, "error: %s", msg);
        }
        else if (!root)
                fputs("null", f);
        else
                put_node(f, root);
        fclose(f);
        return buf;
}

static void test_yaml_to_json_like_upstream(void)
{
        static const struct {
                const char *yaml, *json;
        } cases[] = {
                /* integers: go-yaml's ParseInt(base 0) after dropping '_', then ParseUint, floats */
                { "a: 0x40", "{\"a\":64}" },
                { "a: 1_000", "{\"a\":1000}" },
                { "a: 08", "{\"a\":8}" },   /* not octal, so a float 8 */
                { "a: 010", "{\"a\":8}" },  /* YAML 1.1 octal */
                { "a: 0o17", "{\"a\":15}" },
                { "a: 0B101", "{\"a\":5}" },
                { "a: 0b-101", "{\"a\":-5}" }, /* go-yaml's own 0b fallback takes a sign */
                { "a: -0", "{\"a\":0}" },
                { "a: 9223372036854775808", "{\"a\":9223372036854775808}" },
                { "a: +18446744073709551615", "{\"a\":18446744073709552000}" }, /* no sign for uint */
                { "a: 18446744073709551616", "{\"a\":18446744073709552000}" },
                /* floats, printed as json.Marshal prints a float64 */
                { "a: 64.0", "{\"a\":64}" },
                { "a: 6.4e1", "{\"a\":64}" },
                { "a: .5", "{\"a\":0.5}" },
                { "a: .5_5", "{\"a\":0.55}" },
                { "a: -0.0", "{\"a\":-0}" },
                { "a: 1234567890123456789.0", "{\"a\":1234567890123456800}" },
                { "a: 1e400", "{\"a\":\"1e400\"}" }, /* overflow: ParseFloat fails, so a string */
                { "a: 1e-400", "{\"a\":0}" },
                { "a: 1e-7", "{\"a\":1e-7}" },
                { "a: 1e21", "{\"a\":1e+21}" },
                { "a: 123456789e13", "{\"a\":1.23456789e+21}" },
                { "a: 0.000001", "{\"a\":0.000001}" },
                { "a: .inf", "error: infinity and NaN have no JSON form, so the upstream agent rejects them" },
                { "a: [.NaN]", "error: infinity and NaN have no JSON form, so the upstream agent rejects them" },
                /* go-yaml keeps only the last of a repeated key, so an overridden value is never converted */
                { "a: .inf\na: 1", "{\"a\":1}" },
                { "a: {~: 1, b: [.nan]}\na: 2", "{\"a\":2}" },
                { "b: &b {a: .inf}\nc: {<<: *b, a: 1}", "error: infinity and NaN have no JSON form, so the upstream agent rejects them" },
                { "c: {<<: {a: -.inf, x: 1}, a: 1}", "{\"c\":{\"a\":1,\"x\":1}}" },
                { "a: &x .inf\na: 1\nb: *x", "error: infinity and NaN have no JSON form, so the upstream agent rejects them" },
                { "a: 1\na: .inf", "error: infinity and NaN have no JSON form, so the upstream agent rejects them" },
                /* YAML 1.1 booleans and nulls: only these spellings */
                { "a: [y, Y, yes, Yes, YES, yEs, on, On, ON, oN, true, True, TRUE, tRUE]",
                  "{\"a\":[true,true,true,true,true,\"yEs\",true,true,true,\"oN\",true,true,true,\"tRUE\"]}" },
                { "a: [n, N, no, No, NO, nO, off, Off, OFF, oFF, false, False, FALSE, fALSE]",
                  "{\"a\":[false,false,false,false,false,\"nO\",false,false,false,\"oFF\",false,false,false,\"fALSE\"]}" },
                { "a: [~, null, Null, NULL, nUll, '']", "{\"a\":[null,null,null,null,\"nUll\",\"\"]}" },
                { "a: [fd00::/8, falsey, f, Fals]", "{\"a\":[\"fd00::/8\",\"falsey\",\"f\",\"Fals\"]}" },
                /* timestamps stay strings in go-yaml v2's interface{} */
                { "a: [2001-12-14, 2001-12-14t21:59:43.10-05:00, 2001-13-14]",
                  "{\"a\":[\"2001-12-14\",\"2001-12-14t21:59:43.10-05:00\",\"2001-13-14\"]}" },
                /* tags */
                { "a: [!!str 10, !!int \"10\", !!float 10, ! yes, !foo yes, !!bool \"on\"]",
                  "{\"a\":[\"10\",10,10,\"yes\",\"yes\",true]}" },
                { "a: !!binary aGVsbG8=", "{\"a\":\"hello\"}" },
                { "a: !!binary aGVsbG8", "error: !!binary value is not valid base64" },
                { "a: !!int abc", "error: cannot decode !!str as !!int" },
                { "a: !!float 18446744073709551615", "error: cannot decode !!int as !!float" },
                { "a: !!timestamp 2001-02-29", "error: cannot decode !!str as !!timestamp" },
                { "a: !!timestamp 2004-02-29 1:2:3.5", "{\"a\":\"2004-02-29 1:2:3.5\"}" },
                { "a: \"<>&\\u2028\"", "{\"a\":\"\\u003c\\u003e\\u0026\\u2028\"}" },
                /* keys become JSON strings: floats as FormatFloat(v, 'g', -1, 32), booleans */
                { "1e8: a", "{\"1e+08\":\"a\"}" },
                { "1.5: b", "{\"1.5\":\"b\"}" },
                { "100000000: c", "{\"100000000\":\"c\"}" },
                { "0.1: d", "{\"0.1\":\"d\"}" },
                { "1234567.0: e", "{\"1.234567e+06\":\"e\"}" },
                { "3.14159265358979: f", "{\"3.1415927\":\"f\"}" },
                { "yes: g", "{\"true\":\"g\"}" },
                { "y: g", "{\"true\":\"g\"}" },
                { ".inf: x", "{\".inf\":\"x\"}" },
                { "18446744073709551615: a",
                  "error: a number above 2^63-1 cannot be a mapping key here: upstream's YAML-to-JSON step refuses it" },
                { "~: a", "error: a null cannot be a mapping key here: upstream's YAML-to-JSON step refuses it" },
                { "~: a\n~: b", "error: a null cannot be a mapping key here: upstream's YAML-to-JSON step refuses it" },
                { "\"~\": a\n~: b\n\"~\": c", "error: a null cannot be a mapping key here: upstream's YAML-to-JSON step refuses it" },
                /* ...also in the copy an alias makes, of an anchor whose own key was overridden */
                { "a: &x {~: 1}\na: 1\nb: *x", "error: a null cannot be a mapping key here: upstream's YAML-to-JSON step refuses it" },
                { "? [a]\n: 1\nx: 2\nx: 3", "error: a list cannot be a mapping key here: go-yaml refuses it" },
                /* merge keys: set where they stand, earlier list entries take precedence */
                { "b: &b {x: 1, z: 2}\nc: {<<: *b, z: 3}", "{\"b\":{\"x\":1,\"z\":2},\"c\":{\"x\":1,\"z\":3}}" },
                { "b: &b {x: 1, z: 2}\nc: {z: 3, <<: *b}", "{\"b\":{\"x\":1,\"z\":2},\"c\":{\"x\":1,\"z\":2}}" },
                { "a: &a {k: 1}\nb: &b {k: 2}\nc: {<<: [*a, *b]}", "{\"a\":{\"k\":1},\"b\":{\"k\":2},\"c\":{\"k\":1}}" },
                { "\"<<\": 1", "{\"\\u003c\\u003c\":1}" },
                { "!!merge \"<<\": {z: 1}", "{\"z\":1}" },
                { "<<: 5", "error: a merge key (<<) takes a mapping or a list of mappings" },
                /* repeated keys: the last wins; keys sorted bytewise */
                { "k: 1\nK: 2\nk: 3", "{\"K\":2,\"k\":3}" },
                /* anchors */
                { "x: &x [*x]", "error: alias refers to the node that contains it" },
                { "a: &x 1\nb: &x [*x]", "error: alias refers to the node that contains it" },
                { "a: *nope", "error: unknown anchor referenced by alias" },
                /* syntax errors: a leading "::" in a flow list or mapping is a key separator, in go-yaml too */
                { "a: [fd00::/8, ::/0]", "error: YAML syntax error: did not find expected node content while parsing a "
                  "flow node; inside [...] or {...} an IPv6 address that starts with \"::\" must be quoted (\"::/0\") or "
                  "written as a \"- \" list item" },
                { "\xef\xbb\xbf# \xc3\xa9\xc3\xa9\na: [\xc3\xa9, ::1/128]", "error: YAML syntax error: did not find expected "
                  "node content while parsing a flow node; inside [...] or {...} an IPv6 address that starts with \"::\" must be "
                  "quoted (\"::/0\") or written as a \"- \" list item" },
                { "a: {::/0}", "error: YAML syntax error: did not find expected node content while parsing a "
                  "flow node; inside [...] or {...} an IPv6 address that starts with \"::\" must be quoted (\"::/0\") or "
                  "written as a \"- \" list item" },
                { "a: [b: c: d]", "error: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence" },
                { "a:\n- ::/0\n- \"::1/128\"", "{\"a\":[\"::/0\",\"::1/128\"]}" },
                /* documents */
                { "%YAML 1.2\n---\na: 1", "error: YAML syntax error: found incompatible YAML document (%YAML 1.2): "
                  "upstream's YAML 1.1 parser refuses it; remove the directive" },
                { "%YAML 1.1\n---\na: 1", "{\"a\":1}" },
                { "a: 1\n---\n%YAML 1.2\n---\nb: 2", "{\"a\":1}" }, /* only the first document is read */
                { "", "null" },
                { "# only a comment\n", "null" },
                { "null", "null" },
                { "~", "null" },
                { "--- |\n  literal\n", "\"literal\\n\"" },
                { "a: 1\n---\nb: 2", "{\"a\":1}" },
                { "a: [1, [2, [3]], {b: c}]", "{\"a\":[1,[2,[3]],{\"b\":\"c\"}]}" },
                /* JSON: chosen by the first non-space character, kept as written */
                { "{\"kept\": \"as json\", \"x\": 1.50}", "{\"kept\":\"as json\",\"x\":1.50}" },
                { "\xc2\xa0{\"a\": 1}", "error: JSON syntax error: expected a value, found byte 0xc2" },
                { "\v{\"a\": 1}", "error: JSON syntax error: expected a value, found byte 0x0b" },
                { "\xe3\x80\x80{\"a\": 1}", "error: JSON syntax error: expected a value, found byte 0xe3" }, /* U+3000 */
                { "{a: 1}", "error: JSON syntax error: expected a quoted key (a file that starts with '{' is read as JSON, "
                  "as upstream reads it: quote keys and strings), found 'a'" },
                /* strings as Go's encoding/json decodes them: surrogate pairs joined, a lone
                 * surrogate or a byte that is not UTF-8 becomes U+FFFD */
                { "{\"a\": \"\\ud83d\\ude00 \\u00e9\\u20AC\\/\\b\"}", "{\"a\":\"\xf0\x9f\x98\x80 \xc3\xa9\xe2\x82\xac/\\u0008\"}" },
                { "{\"a\": \"\\ud800\\u0041\"}", "{\"a\":\"\xef\xbf\xbd" "A\"}" },
                { "{\"a\": \"\\udc00x\"}", "{\"a\":\"\xef\xbf\xbdx\"}" },
                { "{\"a\": \"\xff\xe2\x82\"}", "{\"a\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}" }, /* one per byte, as Go */
                { "{\"a\": \"\xf0\x9f\x98\x80\"}", "{\"a\":\"\xf0\x9f\x98\x80\"}" },
                { "{\"a\": \"x\ty\"}", "error: JSON syntax error: control character in string, found byte 0x09" },
                { "{\"a\": \"\\x41\"}", "error: JSON syntax error: invalid escape in string, found 'x'" },
                { "{\"a\": \"\\u12G4\"}", "error: JSON syntax error: expected 4 hex digits after \\u, found 'G'" },
                { "{\"a\": \"abc", "error: JSON syntax error: unterminated string, found end of file" },
                /* numbers: Go's grammar */
                { "{\"a\": -}", "error: JSON syntax error: expected a digit in number, found '}'" },
                { "{\"a\": 1.}", "error: JSON syntax error: expected a digit after the decimal point, found '}'" },
                { "{\"a\": 1e+}", "error: JSON syntax error: expected a digit in exponent, found '}'" },
                { "{\"a\": 1E5}", "{\"a\":1E5}" },
                /* no leading zeros: Go stops after the 0 ("invalid character '6' after object key:value
                 * pair"), where a YAML 064 is an octal number */
                { "{\"a\": 064}", "error: JSON syntax error: expected ',' or '}' after object member, found '6'" },
                { "{\"a\": [-00]}", "error: JSON syntax error: expected ',' or ']' after list item, found '0'" },
                /* structure */
                { "{\"a\" 1}", "error: JSON syntax error: expected ':' after key, found '1'" },
                { "{\"a\": [1 2]}", "error: JSON syntax error: expected ',' or ']' after list item, found '2'" },
                { "{\"a\": 1 \"b\": 2}", "error: JSON syntax error: expected ',' or '}' after object member, found '\"'" },
                { "{\"a\": }", "error: JSON syntax error: expected a value, found '}'" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_free_ char *got = to_json(cases[i].yaml);

                CHECK_STR(got, cases[i].json);
        }
}

static void test_positions(void)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *y = NULL, *j = NULL;
        const char *yaml = "# c\nb:\n  - x\n  -   y\na: 1\n";
        const char *json = "{\n  \"b\": [\"x\",\n    \"\xc3\xa9y\", 2]}";

        CHECK_INT(ima_diag_new("-", &d), 0);
        CHECK_INT(ima_doc_parse(yaml, strlen(yaml), d, &y), 0);
        CHECK_STR(y->entries[0].key, "a"); /* sorted */
        CHECK_INT(y->entries[0].key_pos.line, 5);
        CHECK_INT(y->entries[1].value->items[1]->pos.line, 4);
        CHECK_INT(y->entries[1].value->items[1]->pos.col, 7);
        CHECK_INT(ima_doc_parse(json, strlen(json), d, &j), 0);
        CHECK_INT(j->entries[0].key_pos.line, 2);
        CHECK_INT(j->entries[0].key_pos.col, 3);
        CHECK_INT(j->entries[0].value->items[1]->pos.line, 3);
        CHECK_INT(j->entries[0].value->items[1]->pos.col, 5);
        CHECK_INT(j->entries[0].value->items[2]->pos.col, 11); /* a two-byte é is one column */
}

#define BYTES(s) s, sizeof(s) - 1

/* libyaml's reader (bytes that are not UTF-8, control characters, NUL) reports a byte offset,
 * not a mark: the error is placed where a mark would place that character (columns in
 * characters, after the byte-order mark, every line break libyaml counts), at the start of a
 * sequence cut short, and shows its bytes. */
static void test_reader_errors(void)
{
        static const struct {
                const char *yaml;
                size_t len;
                unsigned line, col;
                const char *message;
                const char *value;
                size_t value_len;
        } cases[] = {
                { BYTES("a: 1\nb: caf\xe9\n"), 2, 7, "incomplete UTF-8 octet sequence", BYTES("\xe9") },
                { BYTES("a: \xf0\x9f\x98" "x"), 1, 4, "invalid trailing UTF-8 octet", BYTES("\xf0\x9f\x98") },
                { BYTES("a: 1\r\nb: \"a\x01" "b\""), 2, 6, "control characters are not allowed", BYTES("\x01") },
                { BYTES("a: 1\rb: [x, \0]"), 2, 8, "control characters are not allowed", BYTES("\0") },
                { BYTES("a:\t\x7f"), 1, 4, "control characters are not allowed", BYTES("\x7f") },
                /* a lone CR, then a character ending in 0x85 (which is no NEL) */
                { BYTES("# c\r\xc3\x85\r\x01\n"), 3, 1, "control characters are not allowed", BYTES("\x01") },
                { BYTES("\xef\xbb\xbf# \xc3\xa9\xc3\xa9\xe2\x80\xa8x: \xc3\xa9\xff"), 2, 5,
                  "invalid leading UTF-8 octet", BYTES("\xff") },
                { BYTES("a: \xc2\x80"), 1, 4, "control characters are not allowed", BYTES("\xc2\x80") },
                { BYTES("a: 1\xc2\x85" "b: \xc0\xaf"), 2, 4, "invalid length of a UTF-8 sequence", BYTES("\xc0\xaf") },
                { BYTES("a: \xed\xa0\x80"), 1, 4, "invalid Unicode character", BYTES("\xed\xa0\x80") },
                { BYTES("\xff\xfe" "a\0:\0 \0\x01\0"), 1, 4, "control characters are not allowed", BYTES("\x01\0") },
                { BYTES("\xff\xfe" "a\0\n\0\x00\xd8" "b\0"), 2, 1, "expected low surrogate area", BYTES("\x00\xd8") },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
                _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
                _cleanup_free_ char *msg = NULL;
                const struct ima_diag_entry *e;

                CHECK_INT(ima_diag_new("-", &d), 0);
                CHECK_INT(ima_doc_parse_yaml(cases[i].yaml, cases[i].len, d, &root), -EINVAL);
                CHECK_INT(d->n_entries, 1);
                if (d->n_entries != 1)
                        continue;
                e = &d->entries[0];
                CHECK_INT(e->pos.line, cases[i].line);
                CHECK_INT(e->pos.col, cases[i].col);
                CHECK(strstr(e->message, cases[i].message) != NULL);
                CHECK_INT(e->value_bytes, cases[i].value_len);
                CHECK(e->value && memcmp(e->value, cases[i].value, cases[i].value_len) == 0);
                if (i > 0)
                        continue;
                msg = ima_diag_entry_format(d, e);
                CHECK_STR(msg, "-:2:7: YAML syntax error: incomplete UTF-8 octet sequence (value \"\\xe9\")");
        }
}

/* A construct left open (a quote, a bracket) is noticed only where libyaml gives up, often at the
 * end of the file: the message also says where it starts, which is where the mistake is. */
static void test_syntax_error_start(void)
{
        static const struct {
                const char *yaml;
                unsigned line, col;
                const char *message;
        } cases[] = {
                { "a: [\"10.0.0.0/8]\nb: true\n", 3, 1,
                  "YAML syntax error: found unexpected end of stream while scanning a quoted scalar that starts at "
                  "line 1, column 5" },
                { "a: [10.0.0.0/8\nb: true\n", 2, 2,
                  "YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence that starts at "
                  "line 1, column 4" },
                /* on the same line the position says it already */
                { "a: [b: c: d]", 1, 9, "YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
                _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;

                CHECK_INT(ima_diag_new("-", &d), 0);
                CHECK_INT(ima_doc_parse_yaml(cases[i].yaml, strlen(cases[i].yaml), d, &root), -EINVAL);
                CHECK_INT(d->n_entries, 1);
                if (d->n_entries != 1)
                        continue;
                CHECK_INT(d->entries[0].pos.line, cases[i].line);
                CHECK_INT(d->entries[0].pos.col, cases[i].col);
                CHECK_STR(d->entries[0].message, cases[i].message);
        }
}

/* "base: &a [0, ... (k zeros)]" and then "x: [*a, ... (m aliases)]", after prefix. */
static char *aliased_text(const char *prefix, int k, int m)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        fputs(prefix, f);
        fputs("base: &a [0", f);
        for (int i = 1; i < k; i++)
                fputs(", 0", f);
        fputs("]\nx: [*a", f);
        for (int i = 1; i < m; i++)
                fputs(", *a", f);
        fputs("]\n", f);
        fclose(f);
        return buf;
}

/* Reads a YAML document that defines an anchored list of k values and aliases it m times under
 * another key; returns what ima_doc_parse() did, and the first message in *ret_msg. */
static int parse_aliased(int k, int m, char **ret_msg)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        _cleanup_free_ char *buf = aliased_text("", k, m);
        int r;

        CHECK_INT(ima_diag_new("-", &d), 0);
        r = ima_doc_parse(buf, strlen(buf), d, &root);
        *ret_msg = strdup(d->n_entries ? d->entries[0].message : "");
        return r;
}

/* Reads a YAML document; returns what ima_doc_parse() did, and the first message in *ret_msg. */
static int parse_text(const char *text, char **ret_msg)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        int r;

        CHECK_INT(ima_diag_new("-", &d), 0);
        r = ima_doc_parse(text, strlen(text), d, &root);
        *ret_msg = strdup(d->n_entries ? d->entries[0].message : "");
        return r;
}

/* "a: &a <len bytes>" (or the same as a key, "a: &a {? <len bytes>: 0}"), then "x: [*a, ... (m
 * aliases)]". */
static char *long_alias_text(bool key, size_t len, int m)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        fputs(key ? "a: &a {? " : "a: &a ", f); /* a plain implicit key is at most 1024 characters */
        for (size_t i = 0; i < len; i++)
                fputc('b', f);
        fputs(key ? ": 0}\nx: [*a" : "\nx: [*a", f);
        for (int i = 1; i < m; i++)
                fputs(", *a", f);
        fputs("]\n", f);
        fclose(f);
        return buf;
}

/* A value counts once whatever its length, so the bound on values alone let a 100 KiB string
 * aliased 100,000 times (an 800 KB file) ask for 10 GB. Expansion is bounded in bytes too: at
 * most IMA_DOC_MAX_ALIAS_BYTES (16 MiB) of text, keys included, the copy the anchor keeps among
 * it, refused at the alias that passes it, naming the anchor. */
static void test_alias_bytes(void)
{
        static const struct {
                bool key;
                size_t len;
                int m;
                int want;
        } cases[] = {
                { false, 100 * 1024, 162, 0 },        /* 163 copies, 16.7 MB: just under */
                { false, 100 * 1024, 163, -EINVAL },  /* 16.8 MB: the 163rd alias passes 16 MiB */
                { false, 100 * 1024, 2000, -EINVAL },
                { true, 100 * 1024, 163, -EINVAL },   /* a key's bytes count */
                { false, 49, 5000, 0 },               /* the longest CIDR, often: values bound it */
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
                _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
                _cleanup_free_ char *text = long_alias_text(cases[i].key, cases[i].len, cases[i].m);

                CHECK_INT(ima_diag_new("-", &d), 0);
                CHECK_INT(ima_doc_parse(text, strlen(text), d, &root), cases[i].want);
                if (cases[i].want == 0 || d->n_entries == 0)
                        continue;
                CHECK_STR(d->entries[0].message, "anchors and aliases copy more than 16777216 bytes of text (16 "
                                                 "MiB, as much as the largest file holds)");
                CHECK_STR(d->entries[0].value, "a");
                CHECK_INT(d->entries[0].pos.line, 2);
                CHECK_INT(d->entries[0].pos.col, 5 + 4 * 162); /* "x: [", then "*a, " per alias */
        }
}

/* "foo: &a0 [&a1 [ ... &a(depth-1) [inner] ... ]]": no alias at all. */
static char *nested_anchor_text(int depth, const char *inner)
{
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        fputs("foo: ", f);
        for (int i = 0; i < depth; i++)
                fprintf(f, "&a%d [", i);
        fputs(inner, f);
        for (int i = 0; i < depth; i++)
                fputc(']', f);
        fputc('\n', f);
        fclose(f);
        return buf;
}

/* Each anchor keeps a copy of what it names for its aliases, and an anchor inside others is in
 * each of their copies: 990 anchors around a 1 MB string asked for a gigabyte without a single
 * alias. The copies count against the bounds aliases have, values and bytes, naming the anchor
 * whose copy passes them (the innermost are complete first). */
static void test_nested_anchors(void)
{
        _cleanup_free_ char *long_string = malloc(1000001);
        _cleanup_free_ char *zeros = NULL;
        static const char *const msgs[] = {
                "anchors and aliases copy more than 16777216 bytes of text (16 MiB, as much as the largest file "
                "holds)",
                "document has more than 250000 values, counting the copies its anchors keep (an anchor inside "
                "another is copied for each)",
        };
        struct {
                int depth;
                const char *inner;
                const char *msg;
                const char *anchor;
        } cases[] = {
                { 990, NULL, msgs[0], NULL }, /* 1 MB copied at each level: refused at the 17th */
                { 300, NULL, msgs[1], NULL }, /* 1,000 values copied at each level */
                { 5, "10.0.0.0/8, 192.168.0.0/16", NULL, NULL },
        };
        size_t zn = 0;
        FILE *z = open_memstream(&zeros, &zn);

        for (int i = 0; i < 1000; i++)
                fputs(i ? ", 0" : "0", z);
        fclose(z);
        memset(long_string, 'x', 1000000);
        long_string[1000000] = '\0';
        cases[0].inner = long_string;
        cases[0].anchor = "a973"; /* 17 copies of 1 MB pass 16 MiB; the innermost are complete first */
        cases[1].inner = zeros;
        cases[1].anchor = "a76"; /* 1,001 values and more a level: the 224th copy, with the 1,300 values
                                  * read, passes 250,000 */
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
                _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
                _cleanup_free_ char *text = nested_anchor_text(cases[i].depth, cases[i].inner);

                CHECK_INT(ima_diag_new("-", &d), 0);
                CHECK_INT(ima_doc_parse(text, strlen(text), d, &root), cases[i].msg ? -EINVAL : 0);
                if (!cases[i].msg || d->n_entries == 0)
                        continue;
                CHECK_STR(d->entries[0].message, cases[i].msg);
                CHECK_STR(d->entries[0].value, cases[i].anchor);
        }
}

/* Expansion is bounded: a "billion laughs" file fails cleanly instead of eating memory, by the
 * rule upstream's go-yaml v2 applies (a file it refuses is refused, one it reads is read) and,
 * beyond that, by the bound on values. */
static void test_alias_bomb(void)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        char *buf = NULL, *msg;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        fprintf(f, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
                fprintf(f, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1,
                        i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
        fclose(f);
        CHECK_INT(ima_diag_new("-", &d), 0);
        CHECK_INT(ima_doc_parse(buf, len, d, &root), -EINVAL);
        CHECK(root == NULL);
        CHECK_INT(d->n_errors, 1);
        CHECK(d->n_entries > 0 && strstr(d->entries[0].message, "document contains excessive aliasing"));
        free(buf);

        /* go-yaml counts 1 (the document) + 1 (the mapping) + 2 keys + 201 + 1 (the list) +
         * m * (1 + 201) values, m * 201 of them through aliases: 98.0% with m = 100, read; 99.2%
         * with m = 300, refused at the 200th alias, the first to pass 99% (decode.go, the upstream
         * oracle, agrees on both) */
        CHECK_INT(parse_aliased(200, 100, &msg), 0);
        free(msg);
        CHECK_INT(parse_aliased(200, 300, &msg), -EINVAL);
        CHECK(strstr(msg, "excessive aliasing: 40200 of the 40606 values read so far come from aliases") != NULL);
        free(msg);
        /* 5,000 values aliased 60 times is 98.3% (go-yaml reads it), but 300,000 values */
        CHECK_INT(parse_aliased(5000, 60, &msg), -EINVAL);
        CHECK(strstr(msg, "aliases expand to more than 250000 values") != NULL);
        free(msg);
}

/* go-yaml counts what a merge key merges, but not a list of mappings after it: "<<: [{}]"
 * adds one value (the mapping) to the count, as "<<: {}" does. With 201 aliases of 201 values
 * that one value is the difference: 40401 of 40809 values (99.0002%) is refused by go-yaml
 * (decode.go agrees on both prefixes); 40401 of 40810 (98.998%) would be read. */
static void test_alias_merge_list(void)
{
        const char *prefixes[] = { "<<: {}\n", "<<: [{}]\n" };
        char *msg;

        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
                _cleanup_free_ char *text = aliased_text(prefixes[i], 200, 200);

                CHECK_INT(parse_text(text, &msg), 0);
                free(msg);
                free(text);
                text = aliased_text(prefixes[i], 200, 201);
                CHECK_INT(parse_text(text, &msg), -EINVAL);
                CHECK(strstr(msg, "excessive aliasing: 40401 of the 40809 values read so far") != NULL);
                free(msg);
        }
}

/* "m: &m {k: [0, ... (200 zeros)]}", "x: [*m, ... (198 aliases)]", then a merge key's list of
 * a mapping of 103 values and *m, in that order or the other. */
static char *merge_order_text(bool alias_first)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        fputs("m: &m {k: [0", f);
        for (int i = 1; i < 200; i++)
                fputs(", 0", f);
        fputs("]}\nx: [*m", f);
        for (int i = 1; i < 198; i++)
                fputs(", *m", f);
        fputs(alias_first ? "]\n<<: [*m, {f: [0" : "]\n<<: [{f: [0", f);
        for (int i = 1; i < 100; i++)
                fputs(", 0", f);
        fputs(alias_first ? "]}]\n" : "]}, *m]\n", f);
        fclose(f);
        return buf;
}

/* go-yaml decodes a merge key's list last item first, and its alias rule counts in that order:
 * with the alias last in the list it is decoded before the 103 values of the mapping, and 40397
 * of 40804 values (99.0002%) fail; with the alias first, the mapping comes before it and 40397 of
 * 40907 pass. decode.go agrees on both. */
static void test_alias_merge_order(void)
{
        _cleanup_free_ char *last = merge_order_text(false), *first = merge_order_text(true);
        char *msg;

        CHECK_INT(parse_text(last, &msg), -EINVAL);
        CHECK(strstr(msg, "excessive aliasing: 40397 of the 40804 values read so far") != NULL);
        free(msg);
        CHECK_INT(parse_text(first, &msg), 0);
        free(msg);
}

/* Nesting is bounded in both syntaxes (1000 levels below the top mapping; a ConfigMap needs 2):
 * deeper fails cleanly, without exhausting the stack, and both readers draw the line alike. */
static void test_nesting_bound(void)
{
        for (int json = 0; json < 2; json++)
                for (int depth = 999; depth <= 1001; depth++) {
                        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
                        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
                        _cleanup_free_ char *buf = NULL;
                        size_t len = 0;
                        FILE *f = open_memstream(&buf, &len);

                        fputs(json ? "{\"a\": " : "a: ", f);
                        for (int i = 0; i < depth; i++)
                                fputc('[', f);
                        for (int i = 0; i < depth; i++)
                                fputc(']', f);
                        fputs(json ? "}" : "\n", f);
                        fclose(f);
                        CHECK_INT(ima_diag_new("-", &d), 0);
                        CHECK_INT(ima_doc_parse(buf, len, d, &root), depth > 1000 ? -EINVAL : 0);
                        CHECK(depth > 1000 ? d->n_entries > 0 && strstr(d->entries[0].message, "nested deeper than 1000")
                                          : d->n_errors == 0);
                }
}

int main(void)
{
        TEST_RUN(test_yaml_to_json_like_upstream);
        TEST_RUN(test_positions);
        TEST_RUN(test_reader_errors);
        TEST_RUN(test_syntax_error_start);
        TEST_RUN(test_alias_bomb);
        TEST_RUN(test_alias_bytes);
        TEST_RUN(test_nested_anchors);
        TEST_RUN(test_alias_merge_list);
        TEST_RUN(test_alias_merge_order);
        TEST_RUN(test_nesting_bound);
        TEST_EXIT();
}
