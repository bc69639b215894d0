/* Leveled logging to stderr. Each record is formatted into one local buffer and written
 * with a single fwrite so that lines of concurrent processes sharing stderr do not mix. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char log_name[64] = "rt";
static rt_log_level_t log_level = RT_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void rt_log_set_name(const char *prog)
{
    snprintf(log_name, sizeof log_name, "%s", prog ? prog : "rt");
}

void rt_log_set_level(rt_log_level_t level)
{
    if (level >= RT_LOG_ERROR && level <= RT_LOG_DEBUG)
        log_level = level;
}

rt_log_level_t rt_log_level(void)
{
    return log_level;
}

int rt_log_parse_level(const char *name, rt_log_level_t *out)
{
    if (!name)
        return -1;
    for (int i = RT_LOG_ERROR; i <= RT_LOG_DEBUG; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (rt_log_level_t)i;
            return 0;
        }
    }
    if (strcasecmp(name, "warning") == 0) {
        *out = RT_LOG_WARN;
        return 0;
    }
    return -1;
}

void rt_log(rt_log_level_t level, const char *fmt, ...)
{
    if (level > log_level || level < RT_LOG_ERROR)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, log_name, level_tags[level]);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m > 0)
        used += (size_t)m < sizeof line - used ? (size_t)m : sizeof line - used - 1;
    /* Long records are truncated; the newline always fits. */
    if (used > sizeof line - 2)
        used = sizeof line - 2;
    line[used++] = '\n';
    fwrite(line, 1, used, stderr);
}
