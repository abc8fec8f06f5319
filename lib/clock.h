/* clock.h: CLOCK_MONOTONIC, in milliseconds for the daemon's delays, failure_memory and the HTTP
 * request deadlines, in microseconds for durations that are logged and reported. */
#pragma once

#include <stdint.h>

uint64_t ima_now_ms(void);
uint64_t ima_now_usec(void);
