/* log.c - levelled log lines to stderr, one write(2) each. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int log_level = LOG_INFO;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
    log_level = level;
}

enum log_level log_level_from_syslog(int severity)
{
    if (severity <= 3)
        return LOG_ERROR;
    if (severity == 4)
        return LOG_WARN;
    return severity <= 6 ? LOG_INFO : LOG_DEBUG;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n, m;

    if ((int)level > log_level)
        return;
    n = snprintf(line, sizeof(line), "router: %s: ", log_names[level]);
    if (n < 0)
        return;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line so lines of several threads do not interleave. */
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return;
}
