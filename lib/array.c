#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

int ima_array_reserve(void **items, size_t *cap, size_t n, size_t item_size, size_t first_cap)
{
        size_t new_cap = *cap ? *cap : first_cap;
        void *p;

        if (n < *cap)
                return 0;
        if (*cap) {
                if (*cap > SIZE_MAX / 2)
                        return -ENOMEM;
                new_cap = *cap * 2;
        }
        if (new_cap == 0 || new_cap > SIZE_MAX / item_size)
                return -ENOMEM;
        p = realloc(*items, new_cap * item_size);
        if (!p)
                return -ENOMEM;
        *items = p;
        *cap = new_cap;
        return 0;
}

int ima_array_reserve_pow2(void **items, size_t n, size_t item_size, size_t first_cap)
{
        size_t cap;

        if (n == 0)
                cap = 0;
        else if (n < first_cap || (n & (n - 1)) != 0)
                return 0; /* room left */
        else
                cap = n; /* full */
        return ima_array_reserve(items, &cap, n, item_size, first_cap);
}
