#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json-text.h"

struct text_buf {
        char *p;
        size_t len, cap;
        bool failed; /* sticky: jansson may carry on after an append we refused */
};

static int append(const char *bytes, size_t n, void *data)
{
        struct text_buf *b = data;

        if (b->failed)
                return -1;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *p;

                while (cap < b->len + n + 1)
                        cap *= 2;
                p = realloc(b->p, cap);
                if (!p) {
                        b->failed = true;
                        return -1;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, bytes, n);
        b->len += n;
        b->p[b->len] = '\0';
        return 0;
}

char *ima_json_text(const json_t *v, size_t flags)
{
        struct text_buf b = { 0 };

        if (json_dump_callback(v, append, &b, flags) < 0 || b.failed || !b.p) {
                free(b.p);
                return NULL;
        }
        return b.p;
}
