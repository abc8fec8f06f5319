#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"

struct ima_doc_node *ima_doc_free(struct ima_doc_node *n)
{
        if (!n)
                return NULL;
        free(n->text);
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
        char *t = malloc(len + 1);

        if (!t)
                return -ENOMEM;
        memcpy(t, text, len);
        t[len] = '\0';
        free(n->text);
        n->text = t;
        n->text_len = len;
        return 0;
}

/* Arrays hold 4, 8, 16, ... slots: n (the count before the append) reaching a power of two
 * at or above 4 means the array is full, so no capacity field is needed. */
static int grow(void **v, size_t n, size_t size)
{
        void *p;

        if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
                return 0;
        p = realloc(*v, (n ? n * 2 : 4) * size);
        if (!p)
                return -ENOMEM;
        *v = p;
        return 0;
}

int ima_doc_seq_append(struct ima_doc_node *seq, struct ima_doc_node *item)
{
        if (grow((void **)&seq->items, seq->n, sizeof(*seq->items)) < 0) {
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

        if (grow((void **)&map->entries, map->n, sizeof(*map->entries)) < 0 || !(k = malloc(key_len + 1))) {
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
        if (n->text && ima_doc_set_text(c, n->text, n->text_len) < 0)
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
        }
        return TAKE_PTR(c);
}

size_t ima_doc_count(const struct ima_doc_node *n)
{
        size_t total = 1;

        if (n->type == IMA_DOC_SEQ)
                for (size_t i = 0; i < n->n; i++)
                        total += ima_doc_count(n->items[i]);
        if (n->type == IMA_DOC_MAP)
                for (size_t i = 0; i < n->n; i++)
                        total += ima_doc_count(n->entries[i].value);
        return total;
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
        };
        return names[t];
}

int ima_doc_parse(const char *buf, size_t len, struct ima_diag *diag, struct ima_doc_node **ret)
{
        /* the upstream decoder's test: JSON iff the first non-whitespace byte is '{' */
        for (size_t i = 0; i < len; i++) {
                if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
                        continue;
                if (buf[i] == '{')
                        return ima_doc_parse_json(buf, len, diag, ret);
                break;
        }
        return ima_doc_parse_yaml(buf, len, diag, ret);
}
