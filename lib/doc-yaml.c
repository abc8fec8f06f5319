/* doc-yaml.c: YAML 1.1 (libyaml events) into the document tree, producing what the upstream
 * agent's decoder (go-yaml v2 into interface{}, then JSON) would produce: plain scalars resolved
 * by YAML 1.1 rules, aliases expanded (bounded), merge keys applied, keys turned into JSON
 * strings, repeated keys collapsed to the last, and mapping keys sorted bytewise as Go's JSON
 * encoder orders them. Only the first document is read. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "doc.h"

#define YAML_MAX_DEPTH 1000

struct anchor {
        char *name;
        struct ima_doc_node *node;
};

struct reader {
        yaml_parser_t parser;
        struct ima_diag *diag;
        struct anchor *anchors;
        size_t n_anchors;
        size_t n_nodes;
};

static struct ima_pos mark_pos(const yaml_mark_t *m)
{
        return (struct ima_pos){ .line = (unsigned)m->line + 1, .col = (unsigned)m->column + 1 };
}

static int next_event(struct reader *r, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&r->parser, ev)) {
                struct ima_pos pos = mark_pos(&r->parser.problem_mark);
                const char *problem = r->parser.problem ? r->parser.problem : "unknown problem";

                if (r->parser.error == YAML_MEMORY_ERROR)
                        return -ENOMEM;
                if (r->parser.context)
                        return ima_diag_error(r->diag, pos, NULL, NULL, "YAML syntax error: %s %s",
                                              problem, r->parser.context);
                return ima_diag_error(r->diag, pos, NULL, NULL, "YAML syntax error: %s", problem);
        }
        return 0;
}

static bool in_list(const char *s, const char *const *list)
{
        for (; *list; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

/* Go's strconv.ParseInt/ParseUint with base 0 on underscore-free text. Returns 1 for int64, 2 for
 * uint64 beyond int64, 0 if not an integer. */
static int go_parse_int(const char *s, int64_t *ret_i, uint64_t *ret_u)
{
        bool neg = false;
        unsigned base = 10;
        uint64_t v = 0;
        const char *p = s;

        if (*p == '+' || *p == '-')
                neg = *p++ == '-';
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                base = 16, p += 2;
        else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
                base = 8, p += 2;
        else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
                base = 2, p += 2;
        else if (p[0] == '0' && p[1])
                base = 8, p += 1;
        if (!*p)
                return 0;
        for (; *p; p++) {
                unsigned d;

                if (*p >= '0' && *p <= '9')
                        d = (unsigned)(*p - '0');
                else if (*p >= 'a' && *p <= 'f')
                        d = (unsigned)(*p - 'a' + 10);
                else if (*p >= 'A' && *p <= 'F')
                        d = (unsigned)(*p - 'A' + 10);
                else
                        return 0;
                if (d >= base || v > (UINT64_MAX - d) / base)
                        return 0;
                v = v * base + d;
        }
        if (neg) {
                if (v > (uint64_t)INT64_MAX + 1)
                        return 0;
                *ret_i = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
                return 1;
        }
        if (v <= INT64_MAX) {
                *ret_i = (int64_t)v;
                return 1;
        }
        *ret_u = v;
        return 2;
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

/* JSON text of a float as Go's encoder writes it: integral values without a fraction. */
static int set_float(struct reader *r, struct ima_doc_node *n, double v, const char *as_written)
{
        char buf[64];

        if (isnan(v) || isinf(v))
                return ima_diag_error(r->diag, n->pos, NULL, as_written,
                                      "infinity and NaN have no JSON form, so the upstream agent rejects them");
        if (v == floor(v) && fabs(v) < 1e21)
                snprintf(buf, sizeof(buf), "%.0f", v);
        else
                snprintf(buf, sizeof(buf), "%.17g", v);
        n->type = IMA_DOC_NUMBER;
        return ima_doc_set_text(n, buf, strlen(buf));
}

/* YAML 1.1 resolution of an untagged plain scalar, as go-yaml v2's resolve() does it. */
static int resolve_plain(struct reader *r, struct ima_doc_node *n, const char *s, size_t len)
{
        static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                           "on", "On", "ON", NULL };
        static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                          "off", "Off", "OFF", NULL };
        static const char *const null[] = { "", "~", "null", "Null", "NULL", NULL };
        static const char *const special_float[] = { ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
                                                     "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                                                     "-.INF", NULL };
        _cleanup_free_ char *plain = NULL;
        char buf[32];
        int64_t iv;
        uint64_t uv;
        char *end;
        size_t k = 0;

        if (strlen(s) != len) /* NUL inside: cannot be any of the special forms */
                return ima_doc_set_text(n, s, len);
        if (in_list(s, yes) || in_list(s, no)) {
                n->type = IMA_DOC_BOOL;
                n->boolean = in_list(s, yes);
                return 0;
        }
        if (in_list(s, null)) {
                n->type = IMA_DOC_NULL;
                return 0;
        }
        if (in_list(s, special_float))
                return set_float(r, n, NAN, s);
        if (s[0] == '.') {
                double v = strtod(s, &end);

                if (*end == '\0' && end != s)
                        return set_float(r, n, v, s);
        }
        if ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-') {
                plain = malloc(len + 1);
                if (!plain)
                        return -ENOMEM;
                for (size_t i = 0; i < len; i++)
                        if (s[i] != '_')
                                plain[k++] = s[i];
                plain[k] = '\0';
                switch (go_parse_int(plain, &iv, &uv)) {
                case 1:
                        snprintf(buf, sizeof(buf), "%" PRId64, iv);
                        n->type = IMA_DOC_NUMBER;
                        return ima_doc_set_text(n, buf, strlen(buf));
                case 2:
                        snprintf(buf, sizeof(buf), "%" PRIu64, uv);
                        n->type = IMA_DOC_NUMBER;
                        return ima_doc_set_text(n, buf, strlen(buf));
                }
                if (yaml_style_float(plain))
                        return set_float(r, n, strtod(plain, NULL), s);
        }
        n->type = IMA_DOC_STRING;
        return ima_doc_set_text(n, s, len);
}

static int read_scalar(struct reader *r, const yaml_event_t *ev, struct ima_doc_node *n)
{
        const char *value = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;

        n->type = IMA_DOC_STRING;
        if (tag && strcmp(tag, YAML_STR_TAG) == 0)
                return ima_doc_set_text(n, value, len);
        if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && !tag)
                return ima_doc_set_text(n, value, len);
        return resolve_plain(r, n, value, len);
}

static int read_node(struct reader *r, yaml_event_t *ev, unsigned depth, struct ima_doc_node **ret);

static int remember_anchor(struct reader *r, const yaml_char_t *name, const struct ima_doc_node *n)
{
        struct anchor *v;
        struct ima_doc_node *copy;

        if (!name)
                return 0;
        /* a later anchor of the same name shadows the earlier one, as in go-yaml */
        copy = ima_doc_clone(n);
        if (!copy)
                return -ENOMEM;
        v = realloc(r->anchors, (r->n_anchors + 1) * sizeof(*v));
        if (!v) {
                ima_doc_free(copy);
                return -ENOMEM;
        }
        r->anchors = v;
        v[r->n_anchors].name = strdup((const char *)name);
        v[r->n_anchors].node = copy;
        if (!v[r->n_anchors].name) {
                ima_doc_free(copy);
                return -ENOMEM;
        }
        r->n_anchors++;
        return 0;
}

static int expand_alias(struct reader *r, const yaml_event_t *ev, struct ima_doc_node **ret)
{
        const char *name = (const char *)ev->data.alias.anchor;
        struct ima_pos pos = mark_pos(&ev->start_mark);

        for (size_t i = r->n_anchors; i-- > 0;) {
                struct ima_doc_node *copy;

                if (strcmp(r->anchors[i].name, name) != 0)
                        continue;
                r->n_nodes += ima_doc_count(r->anchors[i].node);
                if (r->n_nodes > IMA_DOC_MAX_NODES)
                        return ima_diag_error(r->diag, pos, NULL, name,
                                              "aliases expand to more than %d values", IMA_DOC_MAX_NODES);
                copy = ima_doc_clone(r->anchors[i].node);
                if (!copy)
                        return -ENOMEM;
                *ret = copy;
                return 0;
        }
        return ima_diag_error(r->diag, pos, NULL, name, "unknown anchor referenced by alias");
}

/* The JSON key go-yaml's value becomes after sigs.k8s.io/yaml's conversion. */
static int key_text(struct reader *r, const struct ima_doc_node *k, const char **ret, size_t *ret_len)
{
        switch (k->type) {
        case IMA_DOC_STRING:
        case IMA_DOC_NUMBER:
                *ret = k->text;
                *ret_len = k->text_len;
                return 0;
        case IMA_DOC_BOOL:
                *ret = k->boolean ? "true" : "false";
                *ret_len = strlen(*ret);
                return 0;
        case IMA_DOC_NULL:
        case IMA_DOC_SEQ:
        case IMA_DOC_MAP:
                break;
        }
        return ima_diag_error(r->diag, k->pos, NULL, NULL, "a %s cannot be a mapping key",
                              ima_doc_type_name(k->type));
}

/* Sets key=value in map, replacing an existing entry of the same key (go-yaml decodes into a Go
 * map, so the later value wins). Takes ownership of value. */
static int map_set(struct ima_doc_node *map, const char *key, size_t key_len, struct ima_pos key_pos,
                   struct ima_doc_node *value)
{
        for (size_t i = 0; i < map->n; i++) {
                struct ima_doc_entry *e = &map->entries[i];

                if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
                        ima_doc_free(e->value);
                        e->value = value;
                        e->key_pos = key_pos;
                        return 0;
                }
        }
        return ima_doc_map_append(map, key, key_len, key_pos, value);
}

/* "<<: *base" or "<<: [*a, *b]": copies the entries of the referenced mappings into map. */
static int apply_merge(struct reader *r, struct ima_doc_node *map, const struct ima_doc_node *src)
{
        if (src->type == IMA_DOC_SEQ) {
                for (size_t i = 0; i < src->n; i++) {
                        int k;

                        if (src->items[i]->type != IMA_DOC_MAP)
                                return ima_diag_error(r->diag, src->items[i]->pos, NULL, NULL,
                                                      "map merge requires a mapping or a list of mappings");
                        k = apply_merge(r, map, src->items[i]);
                        if (k < 0)
                                return k;
                }
                return 0;
        }
        if (src->type != IMA_DOC_MAP)
                return ima_diag_error(r->diag, src->pos, NULL, NULL,
                                      "map merge requires a mapping or a list of mappings");
        for (size_t i = 0; i < src->n; i++) {
                const struct ima_doc_entry *e = &src->entries[i];
                struct ima_doc_node *v = ima_doc_clone(e->value);
                int k;

                if (!v)
                        return -ENOMEM;
                k = map_set(map, e->key, e->key_len, e->key_pos, v);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int entry_cmp(const void *a, const void *b)
{
        const struct ima_doc_entry *x = a, *y = b;
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = memcmp(x->key, y->key, n);

        if (c != 0)
                return c;
        return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static int read_mapping(struct reader *r, unsigned depth, struct ima_doc_node *map)
{
        for (;;) {
                _cleanup_(ima_doc_freep) struct ima_doc_node *key = NULL, *value = NULL;
                yaml_event_t ev;
                bool merge;
                const char *text = NULL;
                size_t len = 0;
                int k;

                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                merge = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                        strcmp((const char *)ev.data.scalar.value, "<<") == 0;
                k = read_node(r, &ev, depth + 1, &key);
                if (k < 0)
                        return k;
                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                k = read_node(r, &ev, depth + 1, &value);
                if (k < 0)
                        return k;
                if (merge) {
                        k = apply_merge(r, map, value);
                        if (k < 0)
                                return k;
                        continue;
                }
                k = key_text(r, key, &text, &len);
                if (k < 0)
                        return k;
                k = map_set(map, text, len, key->pos, TAKE_PTR(value));
                if (k < 0)
                        return k;
        }
        qsort(map->entries, map->n, sizeof(*map->entries), entry_cmp);
        return 0;
}

static int read_sequence(struct reader *r, unsigned depth, struct ima_doc_node *seq)
{
        for (;;) {
                struct ima_doc_node *item = NULL;
                yaml_event_t ev;
                int k;

                k = next_event(r, &ev);
                if (k < 0)
                        return k;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                k = read_node(r, &ev, depth + 1, &item);
                if (k < 0)
                        return k;
                k = ima_doc_seq_append(seq, item);
                if (k < 0)
                        return k;
        }
}

/* Consumes ev (always deleted) and the events of the node it starts. */
static int read_node(struct reader *r, yaml_event_t *ev, unsigned depth, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *n = NULL;
        const yaml_char_t *anchor = NULL;
        int k = 0;

        if (depth > YAML_MAX_DEPTH)
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL,
                                   "YAML nested deeper than %d levels", YAML_MAX_DEPTH);
        else if (++r->n_nodes > IMA_DOC_MAX_NODES)
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL,
                                   "document has more than %d values", IMA_DOC_MAX_NODES);
        else if (ev->type == YAML_ALIAS_EVENT)
                k = expand_alias(r, ev, &n);
        else if (!(n = ima_doc_node_new(IMA_DOC_NULL, mark_pos(&ev->start_mark))))
                k = -ENOMEM;
        else if (ev->type == YAML_SCALAR_EVENT) {
                anchor = ev->data.scalar.anchor;
                k = read_scalar(r, ev, n);
        } else if (ev->type == YAML_SEQUENCE_START_EVENT) {
                anchor = ev->data.sequence_start.anchor;
                n->type = IMA_DOC_SEQ;
                k = read_sequence(r, depth, n);
        } else if (ev->type == YAML_MAPPING_START_EVENT) {
                anchor = ev->data.mapping_start.anchor;
                n->type = IMA_DOC_MAP;
                k = read_mapping(r, depth, n);
        } else {
                k = ima_diag_error(r->diag, mark_pos(&ev->start_mark), NULL, NULL, "unexpected YAML event");
        }
        if (k >= 0 && anchor)
                k = remember_anchor(r, anchor, n);
        yaml_event_delete(ev);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(n);
        return 0;
}

int ima_doc_parse_yaml(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *root = NULL;
        struct reader r = { .diag = diag };
        yaml_event_t ev;
        int k;

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
                if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
                        yaml_event_delete(&ev);
                        continue;
                }
                k = read_node(&r, &ev, 0, &root);
                if (k < 0)
                        break;
        }
        for (size_t i = 0; i < r.n_anchors; i++) {
                free(r.anchors[i].name);
                ima_doc_free(r.anchors[i].node);
        }
        free(r.anchors);
        yaml_parser_delete(&r.parser);
        if (k < 0)
                return k;
        /* a document that is only "null" or "~" means the same as an empty one */
        if (root && root->type == IMA_DOC_NULL)
                root = ima_doc_free(root);
        *ret = TAKE_PTR(root);
        return 0;
}
