/* clock.h: CLOCK_MONOTONIC in milliseconds, the time base of the daemon's delays, of
 * failure_memory and of the HTTP request deadlines; in microseconds, for durations that are
 * logged. */
#pragma once

#include <stdint.h>

uint64_t now_ms(void);
uint64_t now_usec(void);
