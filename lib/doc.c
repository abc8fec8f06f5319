#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "doc.h"

struct ima_doc_node *ima_doc_free(struct ima_doc_node *n)
{
        if (!n)
                return NULL;
        if (n->text != n->text_inline)
                free(n->text);
        free(n->source);
        if (n->type == IMA_DOC_SEQ)
                for (size_t i = 0; i < n->n; i++)
                        ima_doc_free(n->items[i]);
        if (n->type == IMA_DOC_MAP)
                for (size_t i = 0; i < n->n; i++) {
                        free(n->entries[i].key);
                        ima_doc_free(n->entries[i].value);
                }
        free(n->items);
        free(n->entries);
        free(n);
        return NULL;
}

struct ima_doc_node *ima_doc_node_new(enum ima_doc_type type, struct ima_pos pos)
{
        struct ima_doc_node *n = calloc(1, sizeof(*n));

        if (n) {
                n->type = type;
                n->pos = pos;
        }
        return n;
}

int ima_doc_set_text(struct ima_doc_node *n, const char *text, size_t len)
{
        char *t = len < sizeof(n->text_inline) ? n->text_inline : malloc(len + 1);

        if (!t)
                return -ENOMEM;
        /* memmove: still right if a caller passes text from this node itself */
        memmove(t, text, len);
        t[len] = '\0';
        if (n->text != n->text_inline)
                free(n->text);
        n->text = t;
        n->text_len = len;
        return 0;
}

int ima_doc_seq_append(struct ima_doc_node *seq, struct ima_doc_node *item)
{
        if (IMA_ARRAY_RESERVE_POW2(seq->items, seq->n, 4) < 0) {
                ima_doc_free(item);
                return -ENOMEM;
        }
        seq->items[seq->n++] = item;
        return 0;
}

int ima_doc_map_append(struct ima_doc_node *map, const char *key, size_t key_len,
                       struct ima_pos key_pos, struct ima_doc_node *value)
{
        char *k;

        if (IMA_ARRAY_RESERVE_POW2(map->entries, map->n, 4) < 0 || !(k = malloc(key_len + 1))) {
                ima_doc_free(value);
                return -ENOMEM;
        }
        memcpy(k, key, key_len);
        k[key_len] = '\0';
        map->entries[map->n++] = (struct ima_doc_entry){
                .key = k, .key_len = key_len, .key_pos = key_pos, .value = value,
        };
        return 0;
}

struct ima_doc_node *ima_doc_clone(const struct ima_doc_node *n)
{
        _cleanup_(ima_doc_freep) struct ima_doc_node *c = ima_doc_node_new(n->type, n->pos);

        if (!c)
                return NULL;
        c->boolean = n->boolean;
        c->num_kind = n->num_kind;
        c->num_float = n->num_float;
        c->no_json = n->no_json;
        if (n->text && ima_doc_set_text(c, n->text, n->text_len) < 0)
                return NULL;
        if (n->source && !(c->source = strdup(n->source)))
                return NULL;
        for (size_t i = 0; n->type == IMA_DOC_SEQ && i < n->n; i++) {
                struct ima_doc_node *item = ima_doc_clone(n->items[i]);

                if (!item || ima_doc_seq_append(c, item) < 0)
                        return NULL;
        }
        for (size_t i = 0; n->type == IMA_DOC_MAP && i < n->n; i++) {
                const struct ima_doc_entry *e = &n->entries[i];
                struct ima_doc_node *v = ima_doc_clone(e->value);

                if (!v || ima_doc_map_append(c, e->key, e->key_len, e->key_pos, v) < 0)
                        return NULL;
                c->entries[c->n - 1].key_no_json = e->key_no_json;
        }
        return TAKE_PTR(c);
}

const char *ima_doc_type_name(enum ima_doc_type t)
{
        static const char *const names[] = {
                [IMA_DOC_NULL] = "null",
                [IMA_DOC_BOOL] = "boolean",
                [IMA_DOC_NUMBER] = "number",
                [IMA_DOC_STRING] = "string",
                [IMA_DOC_SEQ] = "list",
                [IMA_DOC_MAP] = "mapping",
                [IMA_DOC_INVALID] = "invalid value",
        };
        return names[t];
}

/* Length of the character at s if Go's unicode.IsSpace() holds for it, else 0. Invalid UTF-8
 * decodes to U+FFFD in Go, which is not a space. */
static size_t go_space_len(const unsigned char *s, size_t n)
{
        unsigned cp;

        if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
                return 1;
        if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) /* NEL, NBSP */
                return 2;
        if (n < 3 || (s[0] & 0xf0) != 0xe0 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
                return 0;
        cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
        if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0x202f || cp == 0x205f || cp == 0x3000)
                return 3;
        return 0;
}

bool ima_doc_is_json(const char *buf, size_t len)
{
        /* The upstream decoder's test: JSON iff the first byte after leading Unicode spaces is '{'.
         * Its JSON reader then rejects the non-JSON spaces (\v, \f, NBSP...), and so does ours. */
        for (size_t i = 0; i < len;) {
                size_t k = go_space_len((const unsigned char *)buf + i, len - i);

                if (k == 0)
                        return buf[i] == '{';
                i += k;
        }
        return false;
}

int ima_doc_parse(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret)
{
        if (ima_doc_is_json(buf, len))
                return ima_doc_parse_json(buf, len, diag, ret);
        return ima_doc_parse_yaml(buf, len, diag, ret);
}
