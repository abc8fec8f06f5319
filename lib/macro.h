/* macro.h: cleanup attributes and a few helpers shared by every module. Nothing else. */
#pragma once

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _must_check_ __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hands ownership of *p to the caller and clears p, so a _cleanup_ on p does nothing. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _tp_ = (p);       \
                (p) = NULL;                     \
                _tp_;                           \
        })

/* Defines name##p(T **) for use with _cleanup_, calling fn(*p) when *p is set. */
#define DEFINE_FREEP(T, fn)                                     \
        static inline void fn##p(T **p)                         \
        {                                                       \
                if (*p)                                         \
                        fn(*p);                                 \
        }

static inline void freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)
