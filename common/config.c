/* Table-driven configuration: defaults, then RT_* environment variables, then argv.
 * Every value, whatever its source, goes through the same parse + bounds + check path, so
 * an environment variable is validated exactly like the flag it stands for. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define WHY_MAX 160

/* "max-message" -> "RT_MAX_MESSAGE" */
static void env_name(const char *name, char *out, size_t outlen)
{
    size_t i = 0;
    int n = snprintf(out, outlen, "RT_");
    if (n < 0 || (size_t)n >= outlen)
        return;
    for (i = 0; name[i] && (size_t)n + i + 1 < outlen; i++)
        out[n + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    out[n + i] = '\0';
}

static int parse_ll(const char *text, long long *out, char *why, size_t whylen)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || isspace((unsigned char)text[0])) {
        snprintf(why, whylen, "not an integer: '%s'", text);
        return -1;
    }
    if (errno == ERANGE) {
        snprintf(why, whylen, "out of range: '%s'", text);
        return -1;
    }
    *out = v;
    return (int)(end - text); /* bytes consumed */
}

/* An integer with an optional K/M/G suffix (1024-based; "KB"/"KiB" spellings accepted). */
static int parse_size(const char *text, long long *out, char *why, size_t whylen)
{
    long long v;
    int used = parse_ll(text, &v, why, whylen);
    if (used < 0)
        return -1;
    const char *s = text + used;
    long long mult = 1;
    if (*s) {
        switch (toupper((unsigned char)*s)) {
        case 'K':
            mult = 1LL << 10;
            break;
        case 'M':
            mult = 1LL << 20;
            break;
        case 'G':
            mult = 1LL << 30;
            break;
        default:
            mult = 0;
            break;
        }
        s++;
        if (mult && (strcasecmp(s, "") == 0 || strcasecmp(s, "b") == 0 || strcasecmp(s, "ib") == 0))
            s = "";
        if (!mult || *s) {
            snprintf(why, whylen, "not a size (use e.g. 65536, 64K, 1M, 1G): '%s'", text);
            return -1;
        }
    }
    if (v > LLONG_MAX / mult || v < LLONG_MIN / mult) {
        snprintf(why, whylen, "out of range: '%s'", text);
        return -1;
    }
    *out = v * mult;
    return 0;
}

static int parse_bool(const char *text, bool *out, char *why, size_t whylen)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    snprintf(why, whylen, "not a boolean (true/false, yes/no, on/off, 1/0): '%s'", text);
    return -1;
}

/* Parses, bounds-checks and checks one text value and stores it into opts. */
static int set_value(const cfg_option_t *o, void *opts, const char *text, char *why, size_t whylen)
{
    char *field = (char *)opts + o->offset;
    long long ll = 0;
    bool b = false;
    rt_log_level_t lvl = RT_LOG_INFO;

    switch (o->type) {
    case CFG_STR:
        break;
    case CFG_INT: {
        int used = parse_ll(text, &ll, why, whylen);
        if (used < 0)
            return -1;
        if (text[used] != '\0') {
            snprintf(why, whylen, "not an integer: '%s'", text);
            return -1;
        }
        break;
    }
    case CFG_SIZE:
        if (parse_size(text, &ll, why, whylen) < 0)
            return -1;
        break;
    case CFG_BOOL:
        if (parse_bool(text, &b, why, whylen) < 0)
            return -1;
        break;
    case CFG_LEVEL:
        if (rt_log_parse_level(text, &lvl) < 0) {
            snprintf(why, whylen, "not a log level (error, warn, info, debug): '%s'", text);
            return -1;
        }
        break;
    }
    if ((o->type == CFG_INT || o->type == CFG_SIZE) && o->min <= o->max &&
        (ll < o->min || ll > o->max)) {
        snprintf(why, whylen, "%s is out of bounds [%lld, %lld]", text, o->min, o->max);
        return -1;
    }
    if (o->check && o->check(text, why, whylen) < 0) {
        if (!why[0])
            snprintf(why, whylen, "invalid value '%s'", text);
        return -1;
    }
    switch (o->type) {
    case CFG_STR: {
        char *copy = strdup(text);
        if (!copy) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = copy;
        break;
    }
    case CFG_INT:
    case CFG_SIZE:
        memcpy(field, &ll, sizeof ll);
        break;
    case CFG_BOOL:
        memcpy(field, &b, sizeof b);
        break;
    case CFG_LEVEL: {
        int l = (int)lvl;
        memcpy(field, &l, sizeof l);
        break;
    }
    }
    return 0;
}

static const cfg_option_t *find(const cfg_option_t *table, const char *name, size_t len)
{
    for (const cfg_option_t *o = table; o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static const char *type_meta(cfg_type_t t)
{
    switch (t) {
    case CFG_INT:
        return "N";
    case CFG_SIZE:
        return "SIZE";
    case CFG_BOOL:
        return "[BOOL]";
    case CFG_LEVEL:
        return "LEVEL";
    default:
        return "TEXT";
    }
}

static void usage(const cfg_option_t *table, const char *prog, const char *summary)
{
    char env[96];
    printf("Usage: %s [--option value | --option=value]...\n", prog);
    if (summary && *summary)
        printf("%s\n", summary);
    printf("\nOptions (each also read from the environment variable shown; flags win):\n");
    for (const cfg_option_t *o = table; o->name; o++) {
        env_name(o->name, env, sizeof env);
        char flag[128];
        snprintf(flag, sizeof flag, "--%s %s", o->name, type_meta(o->type));
        printf("  %-28s %s\n", flag, o->help ? o->help : "");
        printf("  %-28s env %s, default: %s", "", env,
               o->def ? (*o->def ? o->def : "\"\"") : "(none)");
        if ((o->type == CFG_INT || o->type == CFG_SIZE) && o->min <= o->max)
            printf(", range %lld..%lld", o->min, o->max);
        printf("\n");
    }
    printf("  %-28s show this help and exit\n", "--help");
}

static cfg_result_t fail(const char *prog, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, why);
    return CFG_ERROR;
}

cfg_result_t cfg_parse(const cfg_option_t *table, void *opts, int argc, char **argv,
                       const char *prog, const char *summary)
{
    char why[WHY_MAX], what[128];
    if (!prog)
        prog = argc > 0 && argv[0] ? argv[0] : "rt";

    /* --help wins over everything, even over bad values before it. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(table, prog, summary);
            return CFG_HELP;
        }
    }

    for (const cfg_option_t *o = table; o->name; o++) {
        why[0] = '\0';
        if (o->def && set_value(o, opts, o->def, why, sizeof why) < 0) {
            snprintf(what, sizeof what, "--%s (built-in default)", o->name);
            return fail(prog, what, why);
        }
    }

    /* An empty environment variable counts as unset (compose files often write VAR=). */
    for (const cfg_option_t *o = table; o->name; o++) {
        env_name(o->name, what, sizeof what);
        const char *val = getenv(what);
        why[0] = '\0';
        if (val && *val && set_value(o, opts, val, why, sizeof why) < 0)
            return fail(prog, what, why);
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            return fail(prog, arg, "unexpected argument (options are --name value)");
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const cfg_option_t *o = find(table, name, nlen);
        snprintf(what, sizeof what, "--%.*s", (int)nlen, name);
        if (!o)
            return fail(prog, what, "unknown option (see --help)");
        const char *val;
        if (eq) {
            val = eq + 1;
        } else if (o->type == CFG_BOOL) {
            /* A bare boolean flag means true; "--flag false" is also understood. */
            bool dummy;
            char ignore[WHY_MAX];
            if (i + 1 < argc && parse_bool(argv[i + 1], &dummy, ignore, sizeof ignore) == 0)
                val = argv[++i];
            else
                val = "true";
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return fail(prog, what, "missing value");
        }
        why[0] = '\0';
        if (set_value(o, opts, val, why, sizeof why) < 0)
            return fail(prog, what, why);
    }
    return CFG_OK;
}

void cfg_free(const cfg_option_t *table, void *opts)
{
    for (const cfg_option_t *o = table; o->name; o++) {
        if (o->type != CFG_STR)
            continue;
        char **slot = (char **)(void *)((char *)opts + o->offset);
        free(*slot);
        *slot = NULL;
    }
}

/* ---- reusable checks ---- */

static int check_port(const char *p, size_t len, bool star_ok, char *why, size_t whylen)
{
    if (star_ok && len == 1 && p[0] == '*')
        return 0;
    long port = 0;
    if (len == 0 || len > 5)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i]))
            goto bad;
        port = port * 10 + (p[i] - '0');
    }
    if (port >= 1 && port <= 65535)
        return 0;
bad:
    snprintf(why, whylen, "bad port '%.*s' (1-65535)", (int)len, p);
    return -1;
}

/* Host part of host:port: non-empty, no spaces or commas; [v6] accepted. */
static int check_host(const char *h, size_t len, char *why, size_t whylen)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= ' ' || c == ',' || c == '/' || c >= 0x7f) {
            snprintf(why, whylen, "bad host '%.*s'", (int)len, h);
            return -1;
        }
    }
    if (len == 0) {
        snprintf(why, whylen, "missing host");
        return -1;
    }
    return 0;
}

/* One endpoint of length len. A tcp endpoint may end in "#KEY" (a 40-char Z85 CURVE
 * public key, docs/mesh.md). */
static int check_one_endpoint(const char *v, size_t len, char *why, size_t whylen)
{
    if (len > 6 && strncmp(v, "ipc://", 6) == 0)
        return 0;
    if (len > 9 && strncmp(v, "inproc://", 9) == 0)
        return 0;
    if (len < 6 || strncmp(v, "tcp://", 6) != 0) {
        snprintf(why, whylen, "'%.*s' is not tcp://HOST:PORT, ipc://PATH or inproc://NAME",
                 (int)len, v);
        return -1;
    }
    const char *h = v + 6, *end = v + len;
    const char *hash = memchr(h, '#', (size_t)(end - h));
    if (hash) {
        if (end - hash - 1 != 40) {
            snprintf(why, whylen, "the key after '#' must be 40 Z85 characters");
            return -1;
        }
        end = hash;
    }
    const char *colon = NULL;
    for (const char *p = end; p > h; p--)
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    if (!colon) {
        snprintf(why, whylen, "'%.*s' has no :PORT", (int)len, v);
        return -1;
    }
    if (check_host(h, (size_t)(colon - h), why, whylen) < 0)
        return -1;
    return check_port(colon + 1, (size_t)(end - colon - 1), true, why, whylen);
}

int cfg_check_endpoint(const char *value, char *why, size_t whylen)
{
    if (!value) {
        snprintf(why, whylen, "missing endpoint");
        return -1;
    }
    return check_one_endpoint(value, strlen(value), why, whylen);
}

int cfg_check_endpoint_list(const char *value, char *why, size_t whylen)
{
    if (!value || !*value) {
        snprintf(why, whylen, "needs at least one endpoint");
        return -1;
    }
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            snprintf(why, whylen, "empty entry in the list");
            return -1;
        }
        if (check_one_endpoint(p, len, why, whylen) < 0)
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int cfg_check_listen(const char *value, char *why, size_t whylen)
{
    const char *colon = value ? strrchr(value, ':') : NULL;
    if (!colon) {
        snprintf(why, whylen, "expected HOST:PORT or :PORT");
        return -1;
    }
    size_t hlen = (size_t)(colon - value);
    if (hlen && check_host(value, hlen, why, whylen) < 0)
        return -1;
    return check_port(colon + 1, strlen(colon + 1), false, why, whylen);
}
