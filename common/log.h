/* Leveled logging to stderr, one line per record:
 *   2026-11-25T23:30:00.123Z rt-router WARN text
 * The level and the program name are process-wide. */
#ifndef RT_LOG_H
#define RT_LOG_H

typedef enum { RT_LOG_ERROR = 0, RT_LOG_WARN, RT_LOG_INFO, RT_LOG_DEBUG } rt_log_level_t;

void rt_log_set_name(const char *prog);
void rt_log_set_level(rt_log_level_t level);
rt_log_level_t rt_log_level(void);
/* "error" | "warn" | "info" | "debug" -> level; returns 0, or -1 for an unknown name. */
int rt_log_parse_level(const char *name, rt_log_level_t *out);
void rt_log(rt_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rt_error(...) rt_log(RT_LOG_ERROR, __VA_ARGS__)
#define rt_warn(...)  rt_log(RT_LOG_WARN, __VA_ARGS__)
#define rt_info(...)  rt_log(RT_LOG_INFO, __VA_ARGS__)
#define rt_debug(...) do { if (rt_log_level() >= RT_LOG_DEBUG) rt_log(RT_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
