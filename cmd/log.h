/* log.h: the agent's one logger. Kubernetes (klog) text lines on stderr
 * ("I1124 13:45:00.123456    1234 file.c:42] message"), verbosity gated by --v. */
#pragma once

#include <stdbool.h>

#include "lib/macro.h"

enum log_level {
        LOG_LEVEL_INFO,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_ERROR,
};

void log_set_verbosity(int v);
int log_get_verbosity(void);

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...) _printf_(4, 5);

#define log_info(...) log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
/* Info only when --v is at least level. */
#define log_v(level, ...)                                               \
        do {                                                            \
                if (log_get_verbosity() >= (level))                     \
                        log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__); \
        } while (0)
