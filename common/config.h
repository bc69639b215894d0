/* Command-line and environment configuration driven by one table per program.
 * Every option is a long flag --NAME VALUE (or --NAME=VALUE) and an environment
 * variable RT_NAME (upper case, '-' -> '_'); the flag wins over the environment,
 * the environment over the default. --help prints the table. */
#ifndef RT_CONFIG_H
#define RT_CONFIG_H

#include <stddef.h>
#include <stdbool.h>

typedef enum {
    CFG_STR,    /* char *  (owned by the options struct after parsing; free with cfg_free) */
    CFG_INT,    /* long long, checked against [min, max] */
    CFG_SIZE,   /* long long bytes; accepts a K/M/G suffix (1024-based), checked against [min, max] */
    CFG_BOOL,   /* bool: true/false/1/0/yes/no/on/off; a bare "--flag" means true */
    CFG_LEVEL   /* int log level (rt_log_level_t): error/warn/info/debug */
} cfg_type_t;

typedef struct {
    const char *name;      /* long flag without "--", e.g. "max-message" */
    cfg_type_t type;
    const char *def;       /* default as text; NULL = unset (CFG_STR stays NULL) */
    long long min, max;    /* bounds for CFG_INT / CFG_SIZE (ignored when min > max) */
    size_t offset;         /* offsetof(options struct, field) */
    const char *help;      /* one line */
    /* Optional extra validation of the text value; returns 0, or -1 and writes a short reason. */
    int (*check)(const char *value, char *why, size_t whylen);
} cfg_option_t;

#define CFG_END { NULL, CFG_STR, NULL, 0, 0, 0, NULL, NULL }

typedef enum { CFG_OK = 0, CFG_HELP = 1, CFG_ERROR = 2 } cfg_result_t;

/* Fill opts from defaults, then RT_* env, then argv. On a bad flag or value prints one line
 * "PROG: --flag: reason" to stderr and returns CFG_ERROR (callers exit 2). On --help prints
 * usage with every option, its env var and default to stdout and returns CFG_HELP (exit 0). */
cfg_result_t cfg_parse(const cfg_option_t *table, void *opts, int argc, char **argv,
                       const char *prog, const char *summary);

/* Free the strings cfg_parse stored in opts. */
void cfg_free(const cfg_option_t *table, void *opts);

/* Reusable checks */
int cfg_check_endpoint(const char *value, char *why, size_t whylen);      /* tcp://host:port, ipc://, inproc:// */
int cfg_check_endpoint_list(const char *value, char *why, size_t whylen); /* comma-separated endpoints */
int cfg_check_listen(const char *value, char *why, size_t whylen);        /* host:port or :port */

#endif
