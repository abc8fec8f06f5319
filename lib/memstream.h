/* memstream.h: closing a stream of open_memstream() without taking a partial text for a whole. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Closes f, which writes to *buf. True when every write reached *buf; else *buf is freed and
 * NULL. Needed because, out of memory, a write that cannot grow the buffer only sets the error
 * flag, and glibc's fclose() returns 0 even when the final resize fails (setting *buf to NULL). */
static inline bool ima_memstream_close(FILE *f, char **buf)
{
        bool written = !ferror(f);

        written = fclose(f) == 0 && written && *buf;
        if (!written) {
                free(*buf);
                *buf = NULL;
        }
        return written;
}
