/* duration.h: Go time.Duration text, both ways: ParseDuration's full grammar ("1h30m", "-1.5s",
 * "300ms", "1µs", bare "0") and Duration.String()'s exact output ("1m0s", "1h30m0s", "300ms"). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IMA_NSEC_PER_SEC INT64_C(1000000000)
/* Longest Duration.String() output, with NUL ("-2562047h47m16.854775808s"). */
#define IMA_DURATION_STRLEN 32

/* Parses s (len bytes, UTF-8) as Go's time.ParseDuration. Returns 0, -EINVAL (syntax; reason set
 * to a static text) or -ERANGE (overflows int64 nanoseconds). */
int ima_duration_parse(const char *s, size_t len, int64_t *ret_nsec, const char **reason);
/* Formats as Go's Duration.String(). */
void ima_duration_format(int64_t nsec, char buf[static IMA_DURATION_STRLEN]);
