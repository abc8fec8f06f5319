#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cmd/log.h"

static int log_verbosity;

void log_set_verbosity(int v)
{
        log_verbosity = v;
}

int log_get_verbosity(void)
{
        return log_verbosity;
}

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
        static const char letters[] = { [LOG_LEVEL_INFO] = 'I', [LOG_LEVEL_WARNING] = 'W', [LOG_LEVEL_ERROR] = 'E' };
        const char *base = strrchr(file, '/');
        struct timeval tv;
        char *msg = NULL;
        struct tm tm;
        va_list ap;

        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        /* format the message first so the line goes out in one write */
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        fprintf(stderr, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] %s\n", letters[level], tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(),
                base ? base + 1 : file, line, msg ? msg : fmt);
        free(msg);
}
