/* failmalloc: an LD_PRELOAD library that makes allocations fail at random, for the daemon's
 * out-of-memory test (kernel/test-daemon-oom.sh). IMA_FAILMALLOC=RATE:SEED:FILE: while FILE
 * exists, each allocation fails with probability 1/RATE (ENOMEM), drawn from SEED; otherwise
 * glibc's allocator runs untouched. The file is looked at on every allocation: turned off, the
 * failures stop at once, not after some more allocations of an idle daemon. */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

static unsigned long rate;
static uint64_t state;
static char control[256];

__attribute__((constructor)) static void init(void)
{
        const char *spec = getenv("IMA_FAILMALLOC");
        unsigned long long seed;
        int used = 0;

        if (!spec || sscanf(spec, "%lu:%llu:%n", &rate, &seed, &used) != 2 || !used || !rate)
                return;
        snprintf(control, sizeof(control), "%s", spec + used);
        state = seed * 2 + 1;
}

static bool fail_now(void)
{
        if (!rate || !control[0])
                return false;
        if (access(control, F_OK) != 0)
                return false;
        /* xorshift64 */
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if (state % rate != 0)
                return false;
        errno = ENOMEM;
        return true;
}

void *malloc(size_t size)
{
        return fail_now() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
        return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
        if (p && size && fail_now())
                return NULL;
        return __libc_realloc(p, size);
}

void *memalign(size_t align, size_t size)
{
        return fail_now() ? NULL : __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
        return memalign(align, size);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
        void *p = memalign(align, size);

        if (!p)
                return ENOMEM;
        *ret = p;
        return 0;
}
