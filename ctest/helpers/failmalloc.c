/* failmalloc: an LD_PRELOAD library that makes allocations fail, for the out-of-memory tests.
 * IMA_FAILMALLOC selects how:
 * - RATE:SEED:FILE: while FILE exists, each allocation fails with probability 1/RATE (ENOMEM),
 *   drawn from SEED (kernel/test-daemon-oom.sh). The file is looked at on every allocation:
 *   turned off, the failures stop at once, not after some more allocations of an idle daemon.
 *   Each failure adds a byte to FILE.failures, so that a test can tell the helper took.
 * - nth:N[:COUNTFILE]: the Nth allocation of the process fails, no other (0: none); at exit the
 *   number of allocations made is written to COUNTFILE (kernel/test-apply-oom.sh).
 * Otherwise glibc's allocator runs untouched. */
#include <errno.h>
#include <fcntl.h>
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
static char failures_file[272];
static unsigned long nth, calls;
static char count_file[256];

__attribute__((constructor)) static void init(void)
{
        const char *spec = getenv("IMA_FAILMALLOC");
        unsigned long long seed;
        int used = 0;

        if (spec && strncmp(spec, "nth:", 4) == 0) {
                if (sscanf(spec + 4, "%lu%n", &nth, &used) == 1 && spec[4 + used] == ':')
                        snprintf(count_file, sizeof(count_file), "%s", spec + 4 + used + 1);
                return;
        }
        if (!spec || sscanf(spec, "%lu:%llu:%n", &rate, &seed, &used) != 2 || !used || !rate)
                return;
        snprintf(control, sizeof(control), "%s", spec + used);
        snprintf(failures_file, sizeof(failures_file), "%s.failures", control);
        state = seed * 2 + 1;
}

__attribute__((destructor)) static void report(void)
{
        FILE *f;

        if (!count_file[0] || !(f = fopen(count_file, "w")))
                return;
        fprintf(f, "%lu\n", calls);
        fclose(f);
}

/* Plain system calls: this runs inside malloc. */
static void note_failure(void)
{
        int fd = open(failures_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

        if (fd < 0)
                return;
        (void)!write(fd, "x", 1);
        close(fd);
}

static bool fail_now(void)
{
        if (count_file[0] || nth) {
                if (++calls != nth)
                        return false;
                errno = ENOMEM;
                return true;
        }
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
        note_failure();
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
