/* doc-json.c: strict JSON (RFC 8259) into the document tree, with Go encoding/json's leniencies
 * (invalid UTF-8 and lone surrogates become U+FFFD, repeated keys are kept for the caller to
 * resolve) and with a line:column on every node, which no library reader provides. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "doc.h"

#define JSON_MAX_DEPTH 1000

struct reader {
        const char *buf;
        size_t len;
        size_t off;
        struct ima_pos pos;
        size_t n_nodes;
        struct ima_diag *diag;
        char *scratch; /* the string being decoded: one buffer for all of them */
        size_t scratch_cap;
};

static void advance(struct reader *r)
{
        unsigned char c = (unsigned char)r->buf[r->off++];

        if (c == '\n') {
                r->pos.line++;
                r->pos.col = 1;
        } else if ((c & 0xc0) != 0x80) { /* count characters, not UTF-8 continuation bytes */
                r->pos.col++;
        }
}

static void skip_ws(struct reader *r)
{
        while (r->off < r->len) {
                char c = r->buf[r->off];

                if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
                        break;
                advance(r);
        }
}

static int syntax_error(struct reader *r, const char *what)
{
        char found[32];

        if (r->off >= r->len)
                snprintf(found, sizeof(found), "end of file");
        else if ((unsigned char)r->buf[r->off] < 0x20 || (unsigned char)r->buf[r->off] >= 0x7f)
                snprintf(found, sizeof(found), "byte 0x%02x", (unsigned char)r->buf[r->off]);
        else
                snprintf(found, sizeof(found), "'%c'", r->buf[r->off]);
        return ima_diag_error(r->diag, r->pos, NULL, NULL, "JSON syntax error: %s, found %s", what, found);
}

static int utf8_encode(char *out, unsigned cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | cp >> 12);
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | cp >> 18);
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* Length of a valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
        unsigned cp;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, cp = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, cp = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

static int read_hex4(struct reader *r, unsigned *ret)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c;

                if (r->off >= r->len)
                        return syntax_error(r, "expected 4 hex digits after \\u");
                c = r->buf[r->off];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned)(c - 'A' + 10);
                else
                        return syntax_error(r, "expected 4 hex digits after \\u");
                advance(r);
        }
        *ret = v;
        return 0;
}

/* Decodes an escape after the backslash into out (up to 4 bytes); returns the byte count. */
static int read_escape(struct reader *r, char *out)
{
        static const char simple[][2] = {
                { '"', '"' }, { '\\', '\\' }, { '/', '/' }, { 'b', '\b' },
                { 'f', '\f' }, { 'n', '\n' }, { 'r', '\r' }, { 't', '\t' },
        };
        unsigned cp, lo;
        int r2;

        if (r->off >= r->len)
                return syntax_error(r, "unterminated string");
        for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
                if (r->buf[r->off] == simple[i][0]) {
                        advance(r);
                        out[0] = simple[i][1];
                        return 1;
                }
        if (r->buf[r->off] != 'u')
                return syntax_error(r, "invalid escape in string");
        advance(r);
        r2 = read_hex4(r, &cp);
        if (r2 < 0)
                return r2;
        if (cp >= 0xd800 && cp < 0xdc00) {
                /* a high surrogate pairs only with an immediately following \u low surrogate */
                if (r->off + 1 < r->len && r->buf[r->off] == '\\' && r->buf[r->off + 1] == 'u') {
                        struct reader save = *r;

                        advance(r);
                        advance(r);
                        r2 = read_hex4(r, &lo);
                        if (r2 < 0)
                                return r2;
                        if (lo >= 0xdc00 && lo < 0xe000)
                                return utf8_encode(out, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
                        *r = save;
                }
                cp = 0xfffd;
        } else if (cp >= 0xdc00 && cp < 0xe000) {
                cp = 0xfffd;
        }
        return utf8_encode(out, cp);
}

static int scratch_reserve(struct reader *r, size_t need)
{
        size_t cap = r->scratch_cap ? r->scratch_cap : 64;
        char *p;

        if (need <= r->scratch_cap)
                return 0;
        while (cap < need)
                cap *= 2;
        p = realloc(r->scratch, cap);
        if (!p)
                return -ENOMEM;
        r->scratch = p;
        r->scratch_cap = cap;
        return 0;
}

/* Printable ASCII other than the quote and the backslash stands for itself and is one column:
 * such runs, all of most strings, are copied whole rather than byte by byte through advance(). */
static size_t plain_run(const struct reader *r)
{
        size_t i = r->off;

        while (i < r->len && r->buf[i] >= 0x20 && r->buf[i] < 0x7f && r->buf[i] != '"' && r->buf[i] != '\\')
                i++;
        return i - r->off;
}

/* Decodes the string at r into r->scratch (NUL-terminated, valid until the next string). */
static int read_string(struct reader *r, size_t *ret_len)
{
        size_t n = 0;

        advance(r); /* opening quote */
        for (;;) {
                size_t run = plain_run(r);
                unsigned char c;
                char tmp[4];
                int k;

                if (scratch_reserve(r, n + run + sizeof(tmp) + 1) < 0)
                        return -ENOMEM;
                memcpy(r->scratch + n, r->buf + r->off, run);
                n += run;
                r->off += run;
                r->pos.col += (unsigned)run;
                if (r->off >= r->len)
                        return syntax_error(r, "unterminated string");
                c = (unsigned char)r->buf[r->off];
                if (c == '"') {
                        advance(r);
                        break;
                }
                if (c < 0x20)
                        return syntax_error(r, "control character in string");
                if (c == '\\') {
                        advance(r);
                        k = read_escape(r, tmp);
                        if (k < 0)
                                return k;
                } else {
                        size_t v = utf8_valid_len((const unsigned char *)r->buf + r->off, r->len - r->off);

                        if (v == 0) { /* Go replaces each invalid byte with U+FFFD */
                                k = utf8_encode(tmp, 0xfffd);
                                advance(r);
                        } else {
                                memcpy(tmp, r->buf + r->off, v);
                                k = (int)v;
                                for (size_t i = 0; i < v; i++)
                                        advance(r);
                        }
                }
                memcpy(r->scratch + n, tmp, (size_t)k);
                n += (size_t)k;
        }
        r->scratch[n] = '\0';
        *ret_len = n;
        return 0;
}

static bool is_digit(struct reader *r)
{
        return r->off < r->len && r->buf[r->off] >= '0' && r->buf[r->off] <= '9';
}

static int read_number(struct reader *r, struct ima_doc_node *n)
{
        size_t start = r->off;

        if (r->buf[r->off] == '-')
                advance(r);
        if (!is_digit(r))
                return syntax_error(r, "expected a digit in number");
        if (r->buf[r->off] == '0')
                advance(r);
        else
                while (is_digit(r))
                        advance(r);
        if (r->off < r->len && r->buf[r->off] == '.') {
                advance(r);
                if (!is_digit(r))
                        return syntax_error(r, "expected a digit after the decimal point");
                while (is_digit(r))
                        advance(r);
        }
        if (r->off < r->len && (r->buf[r->off] == 'e' || r->buf[r->off] == 'E')) {
                advance(r);
                if (r->off < r->len && (r->buf[r->off] == '+' || r->buf[r->off] == '-'))
                        advance(r);
                if (!is_digit(r))
                        return syntax_error(r, "expected a digit in exponent");
                while (is_digit(r))
                        advance(r);
        }
        return ima_doc_set_text(n, r->buf + start, r->off - start);
}

static int read_value(struct reader *r, unsigned depth, struct ima_doc_node **ret);

static int read_literal(struct reader *r, const char *word, struct ima_doc_node *n)
{
        size_t len = strlen(word);

        if (r->len - r->off < len || memcmp(r->buf + r->off, word, len) != 0)
                return syntax_error(r, "expected a value");
        for (size_t i = 0; i < len; i++)
                advance(r);
        return 0;
}

static int read_array(struct reader *r, unsigned depth, struct ima_doc_node *n)
{
        advance(r); /* [ */
        skip_ws(r);
        if (r->off < r->len && r->buf[r->off] == ']') {
                advance(r);
                return 0;
        }
        for (;;) {
                struct ima_doc_node *item = NULL;
                int k = read_value(r, depth + 1, &item);

                if (k < 0)
                        return k;
                k = ima_doc_seq_append(n, item);
                if (k < 0)
                        return k;
                skip_ws(r);
                if (r->off < r->len && r->buf[r->off] == ',') {
                        advance(r);
                        continue;
                }
                if (r->off < r->len && r->buf[r->off] == ']') {
                        advance(r);
                        return 0;
                }
                return syntax_error(r, "expected ',' or ']' after list item");
        }
}

static int read_object(struct reader *r, unsigned depth, struct ima_doc_node *n)
{
        advance(r); /* { */
        skip_ws(r);
        if (r->off < r->len && r->buf[r->off] == '}') {
                advance(r);
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *key = NULL;
                struct ima_doc_node *value = NULL;
                struct ima_pos key_pos;
                size_t key_len;
                int k;

                skip_ws(r);
                if (r->off >= r->len || r->buf[r->off] != '"')
                        return syntax_error(r, "expected a quoted key (a file that starts with '{' is read "
                                               "as JSON, as upstream reads it: quote keys and strings)");
                key_pos = r->pos;
                k = read_string(r, &key_len);
                if (k < 0)
                        return k;
                /* the value is read into the scratch buffer next (a key may hold NULs: no strndup) */
                key = malloc(key_len + 1);
                if (!key)
                        return -ENOMEM;
                memcpy(key, r->scratch, key_len + 1);
                skip_ws(r);
                if (r->off >= r->len || r->buf[r->off] != ':')
                        return syntax_error(r, "expected ':' after key");
                advance(r);
                k = read_value(r, depth + 1, &value);
                if (k < 0)
                        return k;
                k = ima_doc_map_append(n, key, key_len, key_pos, value);
                if (k < 0)
                        return k;
                skip_ws(r);
                if (r->off < r->len && r->buf[r->off] == ',') {
                        advance(r);
                        continue;
                }
                if (r->off < r->len && r->buf[r->off] == '}') {
                        advance(r);
                        return 0;
                }
                return syntax_error(r, "expected ',' or '}' after object member");
        }
}

static int read_value(struct reader *r, unsigned depth, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *n = NULL;
        size_t len;
        int k;

        skip_ws(r);
        if (r->off >= r->len)
                return syntax_error(r, "expected a value");
        if (depth > JSON_MAX_DEPTH)
                return ima_diag_error(r->diag, r->pos, NULL, NULL, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
        if (++r->n_nodes > IMA_DOC_MAX_NODES)
                return ima_diag_error(r->diag, r->pos, NULL, NULL, "document has more than %d values: the agent's "
                                      "bound on memory (two lists of 100,000 CIDRs fit)", IMA_DOC_MAX_NODES);
        n = ima_doc_node_new(IMA_DOC_NULL, r->pos);
        if (!n)
                return -ENOMEM;
        switch (r->buf[r->off]) {
        case '{':
                n->type = IMA_DOC_MAP;
                k = read_object(r, depth, n);
                break;
        case '[':
                n->type = IMA_DOC_SEQ;
                k = read_array(r, depth, n);
                break;
        case '"':
                n->type = IMA_DOC_STRING;
                k = read_string(r, &len);
                if (k >= 0)
                        k = ima_doc_set_text(n, r->scratch, len);
                break;
        case 't':
        case 'f':
                n->type = IMA_DOC_BOOL;
                n->boolean = r->buf[r->off] == 't';
                k = read_literal(r, n->boolean ? "true" : "false", n);
                break;
        case 'n':
                k = read_literal(r, "null", n);
                break;
        default:
                if (r->buf[r->off] != '-' && !is_digit(r))
                        return syntax_error(r, "expected a value");
                n->type = IMA_DOC_NUMBER;
                k = read_number(r, n);
                break;
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(n);
        return 0;
}

int ima_doc_parse_json(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        struct reader r = { .buf = buf, .len = len, .pos = { 1, 1 }, .diag = diag };
        int k;

        k = read_value(&r, 0, &root);
        if (k >= 0) {
                skip_ws(&r);
                if (r.off < r.len)
                        k = syntax_error(&r, "unexpected data after the top-level value");
        }
        free(r.scratch);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(root);
        return 0;
}
