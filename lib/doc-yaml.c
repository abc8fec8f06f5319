/* doc-yaml.c: YAML 1.1 (libyaml events) into the document tree, producing what the upstream
 * agent's decoder (go-yaml v2 into interface{}, then sigs.k8s.io/yaml's conversion and
 * json.Marshal) would produce: scalars resolved by go-yaml's rules and explicit tags, numbers
 * written as json.Marshal writes them, aliases expanded (bounded), merge keys applied where they
 * stand, keys turned into JSON strings, repeated keys collapsed to the one set last (a repeat at
 * the top level is warned about), and mapping keys sorted bytewise as json.Marshal orders a map.
 * Only the first document is read. libyaml is the C original that go-yaml was ported from, so
 * both see the same events. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "array.h"
#include "doc.h"
#include "goconv.h"
#include "memstream.h"

#define YAML_MAX_DEPTH 1000

struct anchor {
        char *name;
        struct ima_doc_node *node;
        size_t weight; /* values go-yaml decodes for each alias of it: the node, its keys, and what
                        * the aliases inside it expand to (counted each time) */
        size_t bytes; /* the same for the text of its scalars, keys included: what each alias copies */
        size_t next; /* 1 + index of the next anchor in the same hash bucket; 0 ends the chain */
};

/* One step from the document root to the value being read: a mapping key or a list index. */
struct path_step {
        const char *key; /* NULL: a list item */
        size_t key_len;
        size_t index;
};

/* The counts when an alias had been expanded, for go-yaml's rule against alias bombs. */
struct alias_check {
        size_t n_nodes, n_alias_values;
        struct ima_pos pos;
        const char *name; /* the anchor's, owned by the anchor table */
};

struct reader {
        yaml_parser_t parser;
        const char *buf; /* the document, for hints on syntax errors */
        size_t len;
        struct ima_diag *diag;
        struct path_step *path; /* where the reader is, to name the key in messages */
        size_t n_path, cap_path;
        struct anchor *anchors;
        size_t n_anchors, cap_anchors;
        size_t *buckets; /* 1 + index of the newest anchor per bucket; 0 = empty */
        size_t n_buckets;
        size_t n_nodes;        /* values decoded so far, keys and alias expansions included... */
        size_t n_alias_values; /* ...of which expansions of aliases */
        size_t n_bytes;        /* bytes of scalars read so far, keys and alias expansions included... */
        size_t n_alias_bytes;  /* ...of which expansions of aliases; and of the copies anchors keep */
        size_t n_anchor_values; /* values in the copies anchors keep (an anchor in n anchors: n copies);
                                 * with n_nodes, bounded by IMA_DOC_MAX_NODES */
        size_t n_no_json; /* values and keys marked for report_no_json(): none, no walk */
        /* inside a merge key's list (which go-yaml decodes last item first) the checks of that
         * rule are recorded here, to be made in go-yaml's order: see read_merge_list() */
        unsigned deferring;
        struct alias_check *checks;
        size_t n_checks, cap_checks;
        bool merge_list_next; /* the sequence read_node() reads next is a merge key's list */
};

static struct ima_pos mark_pos(const yaml_mark_t *m)
{
        return (struct ima_pos){ .line = (unsigned)m->line + 1, .col = (unsigned)m->column + 1 };
}

/* The byte ahead bytes after a mark (which counts characters, after any BOM); NUL past the end. */
static char byte_at_mark(const struct reader *r, const yaml_mark_t *m, size_t ahead)
{
        size_t chars = 0, i = r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

        for (; i < r->len; i++) {
                if (((unsigned char)r->buf[i] & 0xc0) == 0x80) /* a UTF-8 continuation byte */
                        continue;
                if (chars++ == m->index)
                        return i + ahead < r->len ? r->buf[i + ahead] : '\0';
        }
        return '\0';
}

/* The input as libyaml's reader sees it: its encoding, from the byte-order mark, and where the
 * text starts after that mark (which is no character, and takes no column). */
enum input_enc { INPUT_UTF8, INPUT_UTF16LE, INPUT_UTF16BE };

static size_t input_start(const unsigned char *b, size_t len, enum input_enc *ret)
{
        *ret = INPUT_UTF8;
        if (len >= 2 && b[0] == 0xff && b[1] == 0xfe)
                *ret = INPUT_UTF16LE;
        else if (len >= 2 && b[0] == 0xfe && b[1] == 0xff)
                *ret = INPUT_UTF16BE;
        else
                return len >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
        return 2;
}

/* The 16-bit unit at b (2 bytes there). */
static unsigned utf16_unit(const unsigned char *b, enum input_enc enc)
{
        return enc == INPUT_UTF16LE ? (unsigned)(b[0] | b[1] << 8) : (unsigned)(b[0] << 8 | b[1]);
}

/* The length a UTF-8 lead byte announces; 1 for a byte that leads nothing. */
static size_t utf8_width(unsigned char lead)
{
        return lead >= 0xf8 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/* The character at b (left > 0 bytes): its code point, or what of it tells a line break, and its
 * length in *ret_len, at least 1. Input before a reader error decoded cleanly, so no checks. */
static unsigned input_char(const unsigned char *b, size_t left, enum input_enc enc, size_t *ret_len)
{
        size_t n;
        unsigned cp;

        if (enc != INPUT_UTF8) {
                cp = left >= 2 ? utf16_unit(b, enc) : 0;
                *ret_len = left >= 4 && (cp & 0xfc00) == 0xd800 ? 4 : 2; /* a surrogate pair is one */
                return cp;
        }
        n = utf8_width(b[0]) < left ? utf8_width(b[0]) : left;
        cp = n == 1 ? b[0] : b[0] & (0x3fu >> (n - 1));
        for (size_t i = 1; i < n; i++)
                cp = cp << 6 | (b[i] & 0x3fu);
        *ret_len = n;
        return cp;
}

/* Where byte off of the input is, as a libyaml mark counts: characters, from 1, after the
 * byte-order mark, with CR LF, LF, CR, NEL, LS and PS each ending a line. */
static struct ima_pos offset_pos(const unsigned char *b, size_t off, enum input_enc enc, size_t start)
{
        struct ima_pos pos = { .line = 1, .col = 1 };

        for (size_t i = start, n, next; i < off; i += n) {
                unsigned cp = input_char(b + i, off - i, enc, &n);

                if (cp == '\r' && i + n < off && input_char(b + i + n, off - i - n, enc, &next) == '\n')
                        n += next; /* CR LF is one break */
                if (cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
                        pos.line++;
                        pos.col = 1;
                } else {
                        pos.col++;
                }
        }
        return pos;
}

/* The bad character libyaml's reader stopped at: *ret_at its first byte, *ret_len its bytes
 * (no more than the sequence it starts holds). The reader names the byte that broke a sequence,
 * not the sequence: a lead byte before it whose sequence it cut short starts the character. */
static void bad_char(const unsigned char *b, size_t len, size_t off, enum input_enc enc, size_t start,
                     size_t *ret_at, size_t *ret_len)
{
        size_t n = 0;

        if (enc == INPUT_UTF8) {
                for (size_t p = off; p > start && off - p < 3 && (b[p - 1] & 0x80); p--)
                        if (b[p - 1] >= 0xc0) {
                                if (utf8_width(b[p - 1]) > off - p + 1) {
                                        *ret_at = p - 1;
                                        *ret_len = off - p + 1;
                                        return;
                                }
                                break;
                        }
                if (off < len)
                        for (n = 1; n < utf8_width(b[off]) && off + n < len && (b[off + n] & 0xc0) == 0x80; n++)
                                ;
        } else if (off >= start + 2 && (utf16_unit(b + off - 2, enc) & 0xfc00) == 0xd800) {
                *ret_at = off - 2; /* a high surrogate with no low one after it */
                *ret_len = 2;
                return;
        } else if (off < len) {
                input_char(b + off, len - off, enc, &n);
                n = n < len - off ? n : len - off;
        }
        *ret_at = off;
        *ret_len = n;
}

/* libyaml's reader (bytes that are not UTF-8 or UTF-16, control characters, NUL) sets no mark,
 * only the byte offset of the bad byte: reported where a mark would put its character, whose
 * bytes are shown as the value, since an editor may not show them at all. */
static int reader_error(struct reader *r, const char *problem)
{
        const unsigned char *b = (const unsigned char *)r->buf;
        size_t off = r->parser.problem_offset < r->len ? r->parser.problem_offset : r->len;
        size_t start, at, n;
        enum input_enc enc;

        start = input_start(b, r->len, &enc);
        bad_char(b, r->len, off, enc, start, &at, &n);
        return ima_diag_error_n(r->diag, offset_pos(b, at, enc, start), NULL, n ? r->buf + at : NULL, n,
                                "YAML syntax error: %s", problem);
}

static int next_event(struct reader *r, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&r->parser, ev)) {
                const yaml_mark_t *mark = &r->parser.problem_mark;
                struct ima_pos pos = mark_pos(mark);
                const char *problem = r->parser.problem ? r->parser.problem : "unknown problem";
                const char *hint = "";
                char context_start[64] = "";

                if (r->parser.error == YAML_MEMORY_ERROR)
                        return -ENOMEM;
                if (r->parser.error == YAML_READER_ERROR)
                        return reader_error(r, problem);
                /* inside [...] or {...} a ':' always separates a key from its value, in go-yaml too */
                if (byte_at_mark(r, mark, 0) == ':' && byte_at_mark(r, mark, 1) == ':')
                        hint = "; inside [...] or {...} an IPv6 address that starts with \"::\" must be quoted "
                               "(\"::/0\") or written as a \"- \" list item";
                /* a quote or bracket left open is noticed lines later, often at the end of the file:
                 * where it starts is where the mistake is */
                if (r->parser.context && r->parser.context_mark.line != mark->line) {
                        struct ima_pos start = mark_pos(&r->parser.context_mark);

                        snprintf(context_start, sizeof(context_start), " that starts at line %u, column %u",
                                 start.line, start.col);
                }
                return ima_diag_error(r->diag, pos, NULL, NULL, "YAML syntax error: %s%s%s%s%s", problem,
                                      r->parser.context ? " " : "", r->parser.context ? r->parser.context : "",
                                      context_start, hint);
        }
        return 0;
}

static int path_push(struct reader *r, const char *key, size_t key_len, size_t index)
{
        if (IMA_ARRAY_RESERVE(r->path, r->cap_path, r->n_path, 16) < 0)
                return -ENOMEM;
        r->path[r->n_path++] = (struct path_step){ .key = key, .key_len = key_len, .index = index };
        return 0;
}

/* "NonMasqueradeCIDRs[2]", "a.b[0].c": the form lib/config.c names keys in. NULL at the root. */
static int path_format(const struct reader *r, char **ret)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        *ret = NULL;
        if (r->n_path == 0)
                return 0;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_path; i++) {
                const struct path_step *p = &r->path[i];

                if (!p->key)
                        fprintf(f, "[%zu]", p->index);
                else
                        fprintf(f, "%s%.*s", i ? "." : "", (int)strnlen(p->key, p->key_len), p->key);
        }
        if (!ima_memstream_close(f, &buf))
                return -ENOMEM;
        *ret = buf;
        return 0;
}

/* A well-formed value with no JSON form. Upstream's YAML-to-JSON step fails the whole file on
 * it; here it is recorded under the key it belongs to, n becomes IMA_DOC_INVALID, and reading
 * goes on so that one run reports every such value. Returns 0, or -ENOMEM. */
static int _printf_(5, 6) value_error(struct reader *r, struct ima_doc_node *n, struct ima_pos pos,
                                      const char *value, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL, *key = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0 || path_format(r, &key) < 0)
                return -ENOMEM;
        if (ima_diag_error(r->diag, pos, key, value, "%s", msg) == -ENOMEM)
                return -ENOMEM;
        if (n)
                n->type = IMA_DOC_INVALID;
        return 0;
}

#define TAG_BINARY "tag:yaml.org,2002:binary"
#define TAG_MERGE "tag:yaml.org,2002:merge"

/* What go-yaml's resolve() decides a scalar is. */
enum rtag {
        RTAG_NONE, /* no tag given: resolve freely */
        RTAG_NULL,
        RTAG_BOOL,
        RTAG_INT,
        RTAG_FLOAT,
        RTAG_STR,
        RTAG_TIMESTAMP,
};

static const char *const rtag_names[] = {
        [RTAG_NONE] = "", [RTAG_NULL] = "!!null", [RTAG_BOOL] = "!!bool", [RTAG_INT] = "!!int",
        [RTAG_FLOAT] = "!!float", [RTAG_STR] = "!!str", [RTAG_TIMESTAMP] = "!!timestamp",
};

/* The tags resolve() interprets; any other tag leaves the text a string. */
static bool resolvable_tag(const char *tag, enum rtag *ret)
{
        static const struct {
                const char *tag;
                enum rtag rtag;
        } map[] = {
                { YAML_STR_TAG, RTAG_STR }, { YAML_BOOL_TAG, RTAG_BOOL }, { YAML_INT_TAG, RTAG_INT },
                { YAML_FLOAT_TAG, RTAG_FLOAT }, { YAML_NULL_TAG, RTAG_NULL },
                { YAML_TIMESTAMP_TAG, RTAG_TIMESTAMP },
        };

        if (!tag) {
                *ret = RTAG_NONE;
                return true;
        }
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (strcmp(tag, map[i].tag) == 0) {
                        *ret = map[i].rtag;
                        return true;
                }
        return false;
}

/* go-yaml's table of special plain words (YAML 1.1 booleans, nulls, infinities). */
static enum rtag lookup_word(const char *s, struct ima_doc_node *n)
{
        static const struct {
                const char *word;
                enum rtag rtag;
                int value; /* bool; or for floats 1 = +inf, -1 = -inf, 0 = nan */
        } words[] = {
                { "y", RTAG_BOOL, 1 }, { "Y", RTAG_BOOL, 1 }, { "yes", RTAG_BOOL, 1 }, { "Yes", RTAG_BOOL, 1 },
                { "YES", RTAG_BOOL, 1 }, { "true", RTAG_BOOL, 1 }, { "True", RTAG_BOOL, 1 },
                { "TRUE", RTAG_BOOL, 1 }, { "on", RTAG_BOOL, 1 }, { "On", RTAG_BOOL, 1 }, { "ON", RTAG_BOOL, 1 },
                { "n", RTAG_BOOL, 0 }, { "N", RTAG_BOOL, 0 }, { "no", RTAG_BOOL, 0 }, { "No", RTAG_BOOL, 0 },
                { "NO", RTAG_BOOL, 0 }, { "false", RTAG_BOOL, 0 }, { "False", RTAG_BOOL, 0 },
                { "FALSE", RTAG_BOOL, 0 }, { "off", RTAG_BOOL, 0 }, { "Off", RTAG_BOOL, 0 },
                { "OFF", RTAG_BOOL, 0 },
                { "", RTAG_NULL, 0 }, { "~", RTAG_NULL, 0 }, { "null", RTAG_NULL, 0 }, { "Null", RTAG_NULL, 0 },
                { "NULL", RTAG_NULL, 0 },
                { ".nan", RTAG_FLOAT, 0 }, { ".NaN", RTAG_FLOAT, 0 }, { ".NAN", RTAG_FLOAT, 0 },
                { ".inf", RTAG_FLOAT, 1 }, { ".Inf", RTAG_FLOAT, 1 }, { ".INF", RTAG_FLOAT, 1 },
                { "+.inf", RTAG_FLOAT, 1 }, { "+.Inf", RTAG_FLOAT, 1 }, { "+.INF", RTAG_FLOAT, 1 },
                { "-.inf", RTAG_FLOAT, -1 }, { "-.Inf", RTAG_FLOAT, -1 }, { "-.INF", RTAG_FLOAT, -1 },
        };

        /* the words' first characters and their length (5 at most): a CIDR or a number skips the
         * table (100,000 of them do), IPv6 ones in fd00::/8 included, which start with an 'f' */
        if (s[0] && (!strchr("yYtToOnNfF~.+-", s[0]) || strnlen(s, 6) > 5))
                return RTAG_NONE;
        for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
                if (strcmp(s, words[i].word) != 0)
                        continue;
                if (words[i].rtag == RTAG_BOOL) {
                        n->type = IMA_DOC_BOOL;
                        n->boolean = words[i].value;
                } else if (words[i].rtag == RTAG_NULL) {
                        n->type = IMA_DOC_NULL;
                } else {
                        n->type = IMA_DOC_NUMBER;
                        n->num_kind = IMA_DOC_NUM_FLOAT;
                        n->num_float = words[i].value ? words[i].value * (double)INFINITY : (double)NAN;
                }
                return words[i].rtag;
        }
        return RTAG_NONE;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
        const char *p = s;

        if (*p == '+' || *p == '-')
                p++;
        if (*p == '.') {
                if (!(p[1] >= '0' && p[1] <= '9'))
                        return false;
                for (p++; *p >= '0' && *p <= '9'; p++)
                        ;
        } else {
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
                if (*p == '.')
                        for (p++; *p >= '0' && *p <= '9'; p++)
                                ;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

static int set_int(struct ima_doc_node *n, enum ima_go_int kind, int64_t iv, uint64_t uv, enum rtag *ret)
{
        char buf[32];

        n->type = IMA_DOC_NUMBER;
        n->num_kind = kind == IMA_GO_INT ? IMA_DOC_NUM_INT : IMA_DOC_NUM_UINT;
        if (kind == IMA_GO_INT)
                snprintf(buf, sizeof(buf), "%" PRId64, iv);
        else
                snprintf(buf, sizeof(buf), "%" PRIu64, uv);
        *ret = RTAG_INT;
        return ima_doc_set_text(n, buf, strlen(buf));
}

static int set_float(struct ima_doc_node *n, double v, enum rtag *ret)
{
        char buf[IMA_GO_FLOAT_STRLEN];

        n->type = IMA_DOC_NUMBER;
        n->num_kind = IMA_DOC_NUM_FLOAT;
        n->num_float = v;
        ima_go_format_float(v, IMA_GO_FLOAT_JSON, buf); /* what json.Marshal writes */
        *ret = RTAG_FLOAT;
        return ima_doc_set_text(n, buf, strlen(buf));
}

/* Ints, floats and timestamps: go-yaml's branch for scalars starting with a digit or a sign.
 * Leaves *ret alone when none matches. */
static int resolve_numeric(const char *s, enum rtag want, struct ima_doc_node *n, enum rtag *ret)
{
        _cleanup_free_ char *plain = NULL;
        enum ima_go_int kind;
        int64_t iv = 0;
        uint64_t uv = 0;
        size_t k = 0;
        double f;

        /* no int, float or timestamp form holds a '/': a CIDR, the scalar these files are made
         * of, need not be tried as all three (a tenth of the time to read 100,000 of them) */
        if (strchr(s, '/'))
                return 0;
        if ((want == RTAG_NONE || want == RTAG_TIMESTAMP) && ima_go_is_timestamp(s, strlen(s))) {
                *ret = RTAG_TIMESTAMP;
                return 0;
        }
        plain = malloc(strlen(s) + 1);
        if (!plain)
                return -ENOMEM;
        for (const char *p = s; *p; p++)
                if (*p != '_')
                        plain[k++] = *p;
        plain[k] = '\0';
        kind = ima_go_parse_int(plain, 0, &iv, &uv);
        if (kind != IMA_GO_NOT_INT)
                return set_int(n, kind, iv, uv, ret);
        if (yaml_style_float(plain) && ima_go_parse_float(plain, &f))
                return set_float(n, f, ret);
        /* go-yaml's own fallback for "0b...": base 2 of the rest, which may carry a sign */
        if (strncmp(plain, "0b", 2) == 0) {
                kind = ima_go_parse_int(plain + 2, 2, &iv, &uv);
                if (kind != IMA_GO_NOT_INT)
                        return set_int(n, kind, iv, uv, ret);
        }
        return 0;
}

/* go-yaml v2's resolve() plus decoder.scalar() into interface{}: the JSON value a scalar with
 * this tag (NULL: plain, untagged) and text becomes. */
static int resolve(struct reader *r, struct ima_doc_node *n, const char *tag, const char *s, size_t len)
{
        enum rtag want, got = RTAG_STR;
        bool nul_inside = strlen(s) != len;
        double f;
        int k;

        n->type = IMA_DOC_STRING;
        if (!resolvable_tag(tag, &want)) {
                _cleanup_free_ char *bin = NULL;
                size_t bin_len;

                if (strcmp(tag, TAG_BINARY) != 0) /* "!", "!custom", ...: the text itself */
                        return ima_doc_set_text(n, s, len);
                bin = malloc(len + 1);
                if (!bin)
                        return -ENOMEM;
                if (ima_go_base64_decode(s, len, bin, &bin_len) < 0)
                        return value_error(r, n, n->pos, s, "!!binary value is not valid base64");
                return ima_doc_set_text(n, bin, bin_len);
        }
        if (want != RTAG_STR && !nul_inside) {
                got = lookup_word(s, n);
                if (got == RTAG_NONE && s[0] == '.' && ima_go_parse_float(s, &f)) {
                        k = set_float(n, f, &got);
                        if (k < 0)
                                return k;
                } else if (got == RTAG_NONE && ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-')) {
                        k = resolve_numeric(s, want, n, &got);
                        if (k < 0)
                                return k;
                }
                if (got == RTAG_NONE || got == RTAG_TIMESTAMP) {
                        /* timestamps stay strings in interface{} (go-yaml v2 keeps them so) */
                        n->type = IMA_DOC_STRING;
                        got = got == RTAG_NONE ? RTAG_STR : got;
                }
        }
        if (want != RTAG_NONE && want != RTAG_STR && want != got) {
                if (want == RTAG_FLOAT && got == RTAG_INT && n->num_kind == IMA_DOC_NUM_INT) {
                        int64_t iv = strtoll(n->text, NULL, 10);

                        return set_float(n, (double)iv, &got);
                }
                return value_error(r, n, n->pos, s, "cannot decode %s as %s",
                                   rtag_names[got == RTAG_NONE ? RTAG_STR : got], rtag_names[want]);
        }
        if (n->type == IMA_DOC_STRING)
                return ima_doc_set_text(n, s, len);
        return 0;
}

static int read_scalar(struct reader *r, const yaml_event_t *ev, struct ima_doc_node *n)
{
        const char *value = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        int k;

        /* what the node holds, near enough: the text (shorter if it became a number) and the
         * source as written */
        r->n_bytes += len;
        /* untagged quoted and block scalars are strings; a tag, even "!", sends it to resolve() */
        if (!tag && !ev->data.scalar.plain_implicit) {
                n->type = IMA_DOC_STRING;
                return ima_doc_set_text(n, value, len);
        }
        k = resolve(r, n, tag, value, len);
        if (k < 0 || n->type == IMA_DOC_STRING)
                return k;
        /* "CidrLimit: 0x40" is quoted as 0x40 in messages, not as the 64 it became */
        n->source = strndup(value, len);
        return n->source ? 0 : -ENOMEM;
}

static int read_node(struct reader *r, yaml_event_t *ev, unsigned depth, struct ima_doc_node **ret);

static size_t hash_name(const char *s)
{
        size_t h = 14695981039346656037u;

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211u;
        return h;
}

static int anchors_rehash(struct reader *r)
{
        size_t n = r->n_buckets ? r->n_buckets * 2 : 64;
        size_t *b = calloc(n, sizeof(*b));

        if (!b)
                return -ENOMEM;
        /* oldest first, so each chain keeps the newest definition of a name at its head */
        for (size_t i = 0; i < r->n_anchors; i++) {
                size_t h = hash_name(r->anchors[i].name) & (n - 1);

                r->anchors[i].next = b[h];
                b[h] = i + 1;
        }
        free(r->buckets);
        r->buckets = b;
        r->n_buckets = n;
        return 0;
}

/* A later anchor of the same name shadows the earlier one, as in go-yaml, from the moment the
 * anchored node starts: an alias inside it refers to it (and fails as recursive). The table
 * keeps its own copy of the finished node, which itself moves into the tree. Hashed, so that
 * many anchors and aliases stay linear. Returns 1 + the index of the entry. */
static int anchor_begin(struct reader *r, const yaml_char_t *name, size_t *ret)
{
        _cleanup_free_ char *dup = strdup((const char *)name);
        size_t h;

        if (!dup)
                return -ENOMEM;
        if (IMA_ARRAY_RESERVE(r->anchors, r->cap_anchors, r->n_anchors, 16) < 0)
                return -ENOMEM;
        if (r->n_anchors >= r->n_buckets && anchors_rehash(r) < 0)
                return -ENOMEM;
        h = hash_name(dup) & (r->n_buckets - 1);
        r->anchors[r->n_anchors] = (struct anchor){ .name = TAKE_PTR(dup), .next = r->buckets[h] };
        r->buckets[h] = ++r->n_anchors;
        *ret = r->n_anchors;
        return 0;
}

/* Keeps a copy of n for the aliases of anchor idx. The copy costs what an alias does, and counts
 * against the same bounds: an anchor inside 1,000 others is copied 1,000 times, so a file of 1 MB
 * without a single alias would otherwise take gigabytes. */
static int anchor_end(struct reader *r, size_t idx, struct ima_pos pos, const struct ima_doc_node *n, size_t weight,
                      size_t bytes)
{
        const char *name = r->anchors[idx - 1].name;

        r->n_anchor_values += weight;
        r->n_alias_bytes += bytes;
        if (r->n_nodes + r->n_anchor_values > IMA_DOC_MAX_NODES)
                return ima_diag_error(r->diag, pos, NULL, name,
                                      "document has more than %d values, counting the copies its anchors keep "
                                      "(an anchor inside another is copied for each)", IMA_DOC_MAX_NODES);
        if (r->n_alias_bytes > IMA_DOC_MAX_ALIAS_BYTES)
                return ima_diag_error(r->diag, pos, NULL, name,
                                      "anchors and aliases copy more than %u bytes of text (16 MiB, as much as the "
                                      "largest file holds)", IMA_DOC_MAX_ALIAS_BYTES);
        r->anchors[idx - 1].weight = weight;
        r->anchors[idx - 1].bytes = bytes;
        r->anchors[idx - 1].node = ima_doc_clone(n);
        return r->anchors[idx - 1].node ? 0 : -ENOMEM;
}

/* go-yaml v2's rule against alias bombs, so that a file upstream refuses is refused here: over
 * 100 of more than 1,000 values decoded so far came from aliases, and over 99% of them (from
 * 400,000 values on, go-yaml allows a smaller share; this reader stops before that). Only an
 * expansion raises the share: checked at the end of each, with the counts go-yaml has there. */
static int check_aliasing(struct reader *r, const struct alias_check *c)
{
        if (r->deferring) {
                if (IMA_ARRAY_RESERVE(r->checks, r->cap_checks, r->n_checks, 16) < 0)
                        return -ENOMEM;
                r->checks[r->n_checks++] = *c;
                return 0;
        }
        if (c->n_alias_values > 100 && c->n_nodes > 1000 && (double)c->n_alias_values / (double)c->n_nodes > 0.99)
                return ima_diag_error(r->diag, c->pos, NULL, c->name,
                                      "document contains excessive aliasing: %zu of the %zu values read so far "
                                      "come from aliases, over the 99%% upstream's YAML decoder allows",
                                      c->n_alias_values, c->n_nodes);
        return 0;
}

static int expand_alias(struct reader *r, const yaml_event_t *ev, struct ima_doc_node **ret)
{
        const char *name = (const char *)ev->data.alias.anchor;
        struct ima_pos pos = mark_pos(&ev->start_mark);
        size_t i = r->n_buckets ? r->buckets[hash_name(name) & (r->n_buckets - 1)] : 0;
        const char *problem = "unknown anchor referenced by alias";
        int k;

        for (; i; i = r->anchors[i - 1].next) {
                const struct anchor *a = &r->anchors[i - 1];

                if (strcmp(a->name, name) != 0)
                        continue;
                if (!a->node) {
                        problem = "alias refers to the node that contains it";
                        break;
                }
                r->n_nodes += a->weight;
                r->n_alias_values += a->weight;
                if (r->n_nodes + r->n_anchor_values > IMA_DOC_MAX_NODES) /* a bound on memory: no point reading on */
                        return ima_diag_error(r->diag, pos, NULL, name,
                                              "aliases expand to more than %d values", IMA_DOC_MAX_NODES);
                /* and the values may be long: checked before the copy is made */
                r->n_bytes += a->bytes;
                r->n_alias_bytes += a->bytes;
                if (r->n_alias_bytes > IMA_DOC_MAX_ALIAS_BYTES)
                        return ima_diag_error(r->diag, pos, NULL, name,
                                              "anchors and aliases copy more than %u bytes of text (16 MiB, as "
                                              "much as the largest file holds)", IMA_DOC_MAX_ALIAS_BYTES);
                k = check_aliasing(r, &(struct alias_check){ .n_nodes = r->n_nodes,
                                                             .n_alias_values = r->n_alias_values,
                                                             .pos = pos, .name = a->name });
                if (k < 0)
                        return k;
                *ret = ima_doc_clone(a->node);
                return *ret ? 0 : -ENOMEM;
        }
        *ret = ima_doc_node_new(IMA_DOC_INVALID, pos);
        if (!*ret)
                return -ENOMEM;
        return value_error(r, *ret, pos, name, "%s", problem);
}

/* The JSON key a go-yaml key becomes in sigs.k8s.io/yaml's conversion: strings as they are,
 * ints in decimal, floats as FormatFloat(v, 'g', -1, 32), booleans as "true"/"false". A null or
 * an unsigned key has no JSON form: *ret_no_json says why, and *ret is the key as written (the
 * conversion fails only if the mapping survives, see report_no_json()). A list or mapping as a
 * key fails go-yaml itself, at once. */
static int key_text(struct reader *r, const struct ima_doc_node *k, char fbuf[static IMA_GO_FLOAT_STRLEN],
                    const char **ret, size_t *ret_len, const char **ret_no_json)
{
        *ret_no_json = NULL;
        switch (k->type) {
        case IMA_DOC_STRING:
                *ret = k->text;
                *ret_len = k->text_len;
                return 0;
        case IMA_DOC_NUMBER:
                if (k->num_kind == IMA_DOC_NUM_UINT) {
                        *ret_no_json = "a number above 2^63-1 cannot be a mapping key here: "
                                       "upstream's YAML-to-JSON step refuses it";
                        break;
                }
                if (k->num_kind == IMA_DOC_NUM_FLOAT) {
                        ima_go_format_float(k->num_float, IMA_GO_FLOAT_G32, fbuf);
                        *ret = fbuf;
                        *ret_len = strlen(fbuf);
                        return 0;
                }
                *ret = k->text;
                *ret_len = k->text_len;
                return 0;
        case IMA_DOC_BOOL:
                *ret = k->boolean ? "true" : "false";
                *ret_len = strlen(*ret);
                return 0;
        case IMA_DOC_NULL:
                *ret_no_json = "a null cannot be a mapping key here: upstream's YAML-to-JSON step refuses it";
                break;
        case IMA_DOC_INVALID: /* reported already */
                *ret = NULL;
                return 0;
        case IMA_DOC_SEQ:
        case IMA_DOC_MAP:
                *ret = NULL;
                return value_error(r, NULL, k->pos, NULL, "a %s cannot be a mapping key here: go-yaml refuses it",
                                   ima_doc_type_name(k->type));
        }
        *ret = k->source ? k->source : k->text ? k->text : "";
        *ret_len = strlen(*ret);
        return 0;
}

/* JSON has no NaN or infinity: json.Marshal fails on them, and so the whole file does. */
static void mark_no_json_value(struct reader *r, struct ima_doc_node *n)
{
        if (n->type == IMA_DOC_NUMBER && n->num_kind == IMA_DOC_NUM_FLOAT && !isfinite(n->num_float)) {
                n->no_json = "infinity and NaN have no JSON form, so the upstream agent rejects them";
                r->n_no_json++;
        }
}

/* Entries of one mapping in the order go-yaml sets them into its Go map; see finish_mapping(). */
struct pending {
        struct ima_doc_node *map;
        bool *merged; /* per entry: came from a "<<" merge */
        size_t cap;
};

static int pending_add(struct pending *p, const char *key, size_t key_len, const char *key_no_json,
                       struct ima_pos pos, struct ima_doc_node *value, bool merged)
{
        int k;

        if (IMA_ARRAY_RESERVE(p->merged, p->cap, p->map->n, 16) < 0) {
                ima_doc_free(value);
                return -ENOMEM;
        }
        p->merged[p->map->n] = merged;
        k = ima_doc_map_append(p->map, key, key_len, pos, value);
        if (k < 0)
                return k;
        p->map->entries[p->map->n - 1].key_no_json = key_no_json;
        return 0;
}

/* "<<: *base" or "<<: [*a, *b]": go-yaml sets the entries of the merged mappings at this point,
 * stepping backwards through a list so that earlier mappings take precedence. An alias (alias:
 * where it was written, else NULL) must name a mapping, not a list of them: go-yaml v2's merge()
 * refuses "<<: *list". Consumes src. */
static int apply_merge(struct reader *r, struct pending *p, struct ima_doc_node *src, const struct ima_pos *alias)
{
        int k = 0;

        if (src->type == IMA_DOC_SEQ && alias) {
                k = value_error(r, NULL, *alias, NULL,
                                "a merge key (<<) takes a mapping or a list of mappings, and an alias there "
                                "must name a mapping, not a list");
                ima_doc_free(src);
                return k;
        }
        if (src->type == IMA_DOC_SEQ) {
                bool all_maps = true;

                for (size_t i = src->n; k >= 0 && i-- > 0;)
                        if (src->items[i]->type != IMA_DOC_MAP) {
                                k = value_error(r, NULL, src->items[i]->pos, src->items[i]->source,
                                                "a merge key (<<) takes a mapping or a list of mappings");
                                all_maps = false;
                        }
                for (size_t i = src->n; all_maps && k >= 0 && i-- > 0;)
                        k = apply_merge(r, p, TAKE_PTR(src->items[i]), NULL);
                ima_doc_free(src);
                return k;
        }
        if (src->type != IMA_DOC_MAP) {
                k = src->type == IMA_DOC_INVALID
                            ? 0
                            : value_error(r, NULL, src->pos, src->source ? src->source : src->text,
                                          "a merge key (<<) takes a mapping or a list of mappings");
                ima_doc_free(src);
                return k;
        }
        for (size_t i = 0; k >= 0 && i < src->n; i++) {
                struct ima_doc_entry *e = &src->entries[i];

                k = pending_add(p, e->key, e->key_len, e->key_no_json, e->key_pos, TAKE_PTR(e->value), true);
        }
        ima_doc_free(src);
        return k;
}

static int index_cmp(const void *a, const void *b, void *arg)
{
        const struct ima_doc_entry *v = arg;
        const struct ima_doc_entry *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = memcmp(x->key, y->key, n);

        if (c != 0)
                return c;
        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        if (!x->key_no_json != !y->key_no_json) /* "~" the null is not "~" the string */
                return x->key_no_json ? 1 : -1;
        return *(const size_t *)a < *(const size_t *)b ? -1 : 1; /* keep the order of setting */
}

/* Collapses each repeated key to the value set last (a Go map keeps one value per key) and
 * sorts the keys bytewise, as json.Marshal orders a map's keys. n log n, not n^2. Keys with no
 * JSON form are all kept, to be reported. */
static int finish_mapping(struct reader *r, struct pending *p, unsigned depth)
{
        struct ima_doc_node *map = p->map;
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ struct ima_doc_entry *out = NULL;
        size_t n_out = 0;

        if (map->n == 0)
                return 0;
        order = malloc(map->n * sizeof(*order));
        out = malloc(map->n * sizeof(*out));
        if (!order || !out)
                return -ENOMEM;
        for (size_t i = 0; i < map->n; i++)
                order[i] = i;
        qsort_r(order, map->n, sizeof(*order), index_cmp, map->entries);
        for (size_t i = 0; i < map->n; i++) {
                struct ima_doc_entry *e = &map->entries[order[i]];
                const struct ima_doc_entry *next = i + 1 < map->n ? &map->entries[order[i + 1]] : NULL;
                bool last = !next || e->key_no_json || next->key_no_json || e->key_len != next->key_len ||
                            memcmp(e->key, next->key, e->key_len) != 0;

                if (last) {
                        out[n_out++] = *e;
                        continue;
                }
                if (depth == 0 && !p->merged[order[i]]) {
                        int k = ima_diag_warn(r->diag, e->key_pos, e->key, NULL,
                                              "ignored: the same key is given again at line %u, and the later one wins",
                                              next->key_pos.line);

                        if (k < 0)
                                return k;
                }
                free(e->key);
                ima_doc_free(e->value);
        }
        free(map->entries);
        map->entries = TAKE_PTR(out);
        map->n = n_out;
        return 0;
}

static bool is_merge_key(const yaml_event_t *ev)
{
        const char *tag = (const char *)ev->data.scalar.tag;

        /* go-yaml's isMerge(): "<<" untagged and plain (or tagged "!"), or tagged !!merge */
        return ev->type == YAML_SCALAR_EVENT && strcmp((const char *)ev->data.scalar.value, "<<") == 0 &&
               (ev->data.scalar.plain_implicit || (tag && strcmp(tag, TAG_MERGE) == 0));
}

static int read_mapping_entries(struct reader *r, unsigned depth, struct pending *p)
{
        for (;;) {
                _cleanup_(ima_doc_freep) struct ima_doc_node *key = NULL, *value = NULL;
                char fbuf[IMA_GO_FLOAT_STRLEN];
                const char *text = NULL, *key_no_json = NULL;
                size_t len = 0;
                yaml_event_t ev;
                struct ima_pos value_pos;
                bool merge, alias;
                int k;

                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                merge = is_merge_key(&ev);
                k = read_node(r, &ev, depth + 1, &key);
                if (k < 0)
                        return k;
                if (merge) {
                        text = "<<";
                        len = 2;
                        r->n_nodes--; /* go-yaml decodes only what a merge key names, not the key */
                } else {
                        k = key_text(r, key, fbuf, &text, &len, &key_no_json);
                        if (k < 0)
                                return k;
                }
                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                alias = ev.type == YAML_ALIAS_EVENT;
                value_pos = mark_pos(&ev.start_mark);
                /* nor, of "<<: [*a, *b]", the list: only the mappings in it (an alias of that
                 * list elsewhere counts it, and its anchor's weight does) */
                if (merge && ev.type == YAML_SEQUENCE_START_EVENT) {
                        r->n_nodes--;
                        r->merge_list_next = true;
                }
                /* values under a key that failed go-yaml are read, checked, dropped; those under a
                 * key with no JSON form are kept until that key is reported */
                k = text && !key_no_json ? path_push(r, text, len, 0) : 0;
                if (k < 0) {
                        yaml_event_delete(&ev);
                        return k;
                }
                k = read_node(r, &ev, depth + 1, &value);
                if (text && !key_no_json)
                        r->n_path--;
                if (k < 0)
                        return k;
                mark_no_json_value(r, value);
                r->n_no_json += key_no_json != NULL;
                if (merge)
                        k = apply_merge(r, p, TAKE_PTR(value), alias ? &value_pos : NULL);
                else if (text)
                        k = pending_add(p, text, len, key_no_json, key->pos, TAKE_PTR(value), false);
                if (k < 0)
                        return k;
        }
}

static int read_mapping(struct reader *r, unsigned depth, struct ima_doc_node *map)
{
        struct pending p = { .map = map };
        int k;

        k = read_mapping_entries(r, depth, &p);
        if (k >= 0)
                k = finish_mapping(r, &p, depth);
        free(p.merged);
        return k;
}

/* Where one item of a merge key's list starts and ends: the counts, and its recorded checks. */
struct merge_item {
        size_t n_nodes, n_alias_values, first_check;
        size_t end_nodes, end_alias_values, end_check;
};

/* go-yaml decodes the mappings of "<<: [a, b, c]" as c, b, a (so that earlier ones take
 * precedence), and its alias rule sees the counts in that order: a long mapping that comes
 * first in the file is decoded after an alias that follows it. The checks recorded while each
 * item was read are made again here, shifted to where go-yaml's order puts the item. */
static int replay_merge_checks(struct reader *r, const struct merge_item *items, size_t n)
{
        _cleanup_free_ struct alias_check *rec = NULL;
        size_t base = n ? items[0].first_check : r->n_checks, n_rec = r->n_checks - base;
        size_t nodes = n ? items[0].n_nodes : 0, aliased = n ? items[0].n_alias_values : 0;
        int k;

        if (n_rec == 0)
                return 0;
        /* checking may record again, for an enclosing list: from a copy */
        rec = malloc(n_rec * sizeof(*rec));
        if (!rec)
                return -ENOMEM;
        memcpy(rec, r->checks + base, n_rec * sizeof(*rec));
        r->n_checks = base;
        for (size_t i = n; i-- > 0;) {
                const struct merge_item *it = &items[i];

                for (size_t j = it->first_check; j < it->end_check; j++) {
                        struct alias_check c = rec[j - base];

                        c.n_nodes = nodes + (c.n_nodes - it->n_nodes);
                        c.n_alias_values = aliased + (c.n_alias_values - it->n_alias_values);
                        k = check_aliasing(r, &c);
                        if (k < 0)
                                return k;
                }
                nodes += it->end_nodes - it->n_nodes;
                aliased += it->end_alias_values - it->n_alias_values;
        }
        return 0;
}

static int read_sequence(struct reader *r, unsigned depth, struct ima_doc_node *seq, bool merge_list)
{
        _cleanup_free_ struct merge_item *items = NULL;
        size_t cap_items = 0;

        for (;;) {
                struct ima_doc_node *item = NULL;
                yaml_event_t ev;
                int k;

                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return merge_list ? replay_merge_checks(r, items, seq->n) : 0;
                }
                k = path_push(r, NULL, 0, seq->n);
                if (k == 0 && merge_list)
                        k = IMA_ARRAY_RESERVE(items, cap_items, seq->n, 16);
                if (k < 0) {
                        yaml_event_delete(&ev);
                        return k;
                }
                if (merge_list) {
                        items[seq->n] = (struct merge_item){ .n_nodes = r->n_nodes,
                                                             .n_alias_values = r->n_alias_values,
                                                             .first_check = r->n_checks };
                        r->deferring++;
                }
                k = read_node(r, &ev, depth + 1, &item);
                r->n_path--;
                if (merge_list) {
                        r->deferring--;
                        items[seq->n].end_nodes = r->n_nodes;
                        items[seq->n].end_alias_values = r->n_alias_values;
                        items[seq->n].end_check = r->n_checks;
                }
                if (k < 0)
                        return k;
                mark_no_json_value(r, item);
                k = ima_doc_seq_append(seq, item);
                if (k < 0)
                        return k;
        }
}

static const yaml_char_t *event_anchor(const yaml_event_t *ev)
{
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                return ev->data.scalar.anchor;
        case YAML_SEQUENCE_START_EVENT:
                return ev->data.sequence_start.anchor;
        case YAML_MAPPING_START_EVENT:
                return ev->data.mapping_start.anchor;
        default:
                return NULL;
        }
}

/* Consumes ev (always deleted) and the events of the node it starts. */
static int read_node(struct reader *r, yaml_event_t *ev, unsigned depth, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *n = NULL;
        const yaml_char_t *anchor = event_anchor(ev);
        size_t anchor_idx = 0, counted_before = r->n_nodes, bytes_before = r->n_bytes;
        bool merge_list = r->merge_list_next;
        int k = 0;

        r->merge_list_next = false;

        if (depth > YAML_MAX_DEPTH)
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL,
                                   "YAML nested deeper than %d levels", YAML_MAX_DEPTH);
        else if (++r->n_nodes + r->n_anchor_values > IMA_DOC_MAX_NODES)
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL,
                                   "document has more than %d values: the agent's bound on memory (two lists of "
                                   "100,000 CIDRs fit)", IMA_DOC_MAX_NODES);
        else if (ev->type == YAML_ALIAS_EVENT)
                k = expand_alias(r, ev, &n);
        else if (!(n = ima_doc_node_new(IMA_DOC_NULL, mark_pos(&ev->start_mark))))
                k = -ENOMEM;
        else if (anchor && (k = anchor_begin(r, anchor, &anchor_idx)) < 0)
                ;
        else if (ev->type == YAML_SCALAR_EVENT)
                k = read_scalar(r, ev, n);
        else if (ev->type == YAML_SEQUENCE_START_EVENT) {
                n->type = IMA_DOC_SEQ;
                k = read_sequence(r, depth, n, merge_list);
        } else if (ev->type == YAML_MAPPING_START_EVENT) {
                n->type = IMA_DOC_MAP;
                k = read_mapping(r, depth, n);
        } else {
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL, "unexpected YAML event");
        }
        if (k >= 0 && anchor_idx)
                k = anchor_end(r, anchor_idx, mark_pos(&ev->start_mark), n, r->n_nodes - counted_before,
                               r->n_bytes - bytes_before);
        yaml_event_delete(ev);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(n);
        return 0;
}

/* Upstream converts the Go value go-yaml built, in which a repeated key kept only its last
 * value: so only what survived in the final tree can fail the conversion. Reports each value and
 * key with no JSON form there, under its key; the values become IMA_DOC_INVALID, the keys go. */
static int report_no_json(struct reader *r, struct ima_doc_node *n)
{
        size_t kept = 0;
        int k = 0;

        if (n->no_json) {
                k = value_error(r, n, n->pos, n->source, "%s", n->no_json);
                n->no_json = NULL;
                return k;
        }
        for (size_t i = 0; n->type == IMA_DOC_SEQ && i < n->n; i++) {
                k = path_push(r, NULL, 0, i);
                if (k < 0)
                        return k;
                k = report_no_json(r, n->items[i]);
                r->n_path--;
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; n->type == IMA_DOC_MAP && i < n->n; i++) {
                struct ima_doc_entry *e = &n->entries[i];

                if (k >= 0 && e->key_no_json) {
                        k = value_error(r, NULL, e->key_pos, e->key_len ? e->key : NULL, "%s", e->key_no_json);
                        free(e->key);
                        ima_doc_free(e->value);
                        continue;
                }
                if (k >= 0 && (k = path_push(r, e->key, e->key_len, 0)) >= 0) {
                        k = report_no_json(r, e->value);
                        r->n_path--;
                }
                n->entries[kept++] = *e;
        }
        if (n->type == IMA_DOC_MAP)
                n->n = kept;
        return k;
}

/* The line (from 1) of the first byte-order mark that starts a line other than the first, or 0.
 * libyaml skips such a mark between tokens; go-yaml v2 keeps it as part of the key after it, so
 * the upstream agent ignores that key as unknown, and the two would read the file differently. */
static unsigned line_starting_with_bom(const char *buf, size_t len)
{
        /* one search for the rare case, not one memchr() per line of a 100,000-line file */
        const char *bom = memmem(buf, len, "\n\xef\xbb\xbf", 4);
        unsigned line = 1;

        if (!bom)
                return 0;
        for (const char *p = buf; p <= bom; p++)
                line += *p == '\n';
        return line;
}

int ima_doc_parse_yaml(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        /* n_nodes: go-yaml decodes the document itself first */
        struct reader r = { .buf = buf, .len = len, .diag = diag, .n_nodes = 1 };
        unsigned bom_line = line_starting_with_bom(buf, len);
        yaml_event_t ev;
        int k;

        if (bom_line > 0)
                return ima_diag_error(diag, (struct ima_pos){ .line = bom_line, .col = 1 }, NULL, NULL,
                                      "a byte-order mark (U+FEFF) starts this line: the upstream agent reads it as "
                                      "part of the key that follows (and ignores that key), this agent's YAML parser "
                                      "would skip it; remove it (files joined together often carry one)");
        if (!yaml_parser_initialize(&r.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
        for (;;) {
                k = next_event(&r, &ev);
                if (k < 0)
                        break;
                if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
                        yaml_event_delete(&ev);
                        break; /* only the first document counts */
                }
                if (ev.type == YAML_DOCUMENT_START_EVENT && ev.data.document_start.version_directive &&
                    (ev.data.document_start.version_directive->major != 1 ||
                     ev.data.document_start.version_directive->minor != 1)) {
                        /* libyaml reads "%YAML 1.2" documents; go-yaml refuses all but 1.1 */
                        k = ima_diag_error(r.diag, mark_pos(&ev.start_mark), NULL, NULL,
                                           "YAML syntax error: found incompatible YAML document (%%YAML %d.%d): "
                                           "upstream's YAML 1.1 parser refuses it; remove the directive",
                                           ev.data.document_start.version_directive->major,
                                           ev.data.document_start.version_directive->minor);
                        yaml_event_delete(&ev);
                        break;
                }
                if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
                        yaml_event_delete(&ev);
                        continue;
                }
                k = read_node(&r, &ev, 0, &root);
                if (k < 0)
                        break;
                mark_no_json_value(&r, root);
                /* a walk of the whole tree, 100,000 nodes for a long list: only if needed */
                k = r.n_no_json ? report_no_json(&r, root) : 0;
                if (k < 0)
                        break;
        }
        for (size_t i = 0; i < r.n_anchors; i++) {
                free(r.anchors[i].name);
                ima_doc_free(r.anchors[i].node);
        }
        free(r.anchors);
        free(r.buckets);
        free(r.checks);
        free(r.path);
        yaml_parser_delete(&r.parser);
        if (k < 0)
                return k;
        /* a document that is only "null" or "~" means the same as an empty one */
        if (root && root->type == IMA_DOC_NULL)
                root = ima_doc_free(root);
        *ret = TAKE_PTR(root);
        return 0;
}
