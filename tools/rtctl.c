/* rtctl: the operator's command line over the router's service API (docs/services.md).
 * One command, one request, the result as JSON on stdout. Exit codes: 0 ok, 1 error reply
 * from the router, 2 usage error, 3 router unreachable or no answer in time.
 *
 * Its options are parsed by hand rather than by config.h: they mix with subcommand
 * arguments (send ... --room R), which the cfg table does not model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "envelope.h"
#include "jsonb.h"
#include "log.h"
#include "service.h"

#define EXIT_REPLY 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define JSON_DEPTH 64

static const char usage_text[] =
    "usage: rtctl [--api ENDPOINT] [--timeout MS] [--curve-secret-key FILE\n"
    "             [--curve-server-key Z85]] COMMAND ARGS...\n"
    "\n"
    "Operator tool for the rt-router service API; prints the result as JSON on stdout.\n"
    "\n"
    "commands:\n"
    "  publish ROOM TYPE JSON            every member of ROOM gets {type, room, payload: JSON}\n"
    "  send CONN TYPE JSON [--room R]    one connection gets {type, [room], payload: JSON}\n"
    "  presence ROOM                     {room, members: [{id, user, meta}]}\n"
    "  rooms                             [{room, members: N}]\n"
    "  stats                             the router's counters\n"
    "  disconnect CONN [CODE [REASON]]   close a client (CODE 1000 or 4000-4999, default 1000)\n"
    "  join CONN ROOM [META_JSON]        join a connection to a room (presence:join included)\n"
    "  leave CONN ROOM                   remove a connection from a room\n"
    "\n"
    "options (also from the environment as RT_API / RT_TIMEOUT / RT_CURVE_SECRET_KEY /\n"
    "RT_CURVE_SERVER_KEY; flags win):\n"
    "  --api ENDPOINT    the router's service API (default tcp://127.0.0.1:5557)\n"
    "  --timeout MS      how long to wait for the answer (default 3000)\n"
    "  --room R          (send) the room the event carries\n"
    "  --curve-secret-key FILE  CurveZMQ client key (zcert secret certificate) for a router\n"
    "                    started with --curve-secret-key; its public certificate must be in\n"
    "                    the router's --curve-allow directory\n"
    "  --curve-server-key Z85   the router's public key (default: that of FILE)\n"
    "  --help            this text\n"
    "\n"
    "exit codes: 0 ok, 1 error reply from the router (its code on stderr), 2 usage error,\n"
    "3 router unreachable or no answer within the timeout.\n";

typedef struct {
    bool done;
    int rc;
    const char *api;
} outcome_t;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "rtctl: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (rtctl --help)\n");
    return EXIT_USAGE;
}

static void on_result(svc_t *svc, const svc_result_t *res, void *arg)
{
    outcome_t *o = arg;
    o->done = true;
    if (!res->ok) {
        if (res->local)
            fprintf(stderr, "rtctl: unreachable: %s: %s\n", o->api, res->message);
        else
            fprintf(stderr, "rtctl: %s: %s\n", res->code, res->message);
        o->rc = res->local ? EXIT_UNREACHABLE : EXIT_REPLY;
        return;
    }
    buf_t out = BUF_INIT;
    if (!mp_present(res->result))
        buf_puts(&out, "{}");
    else if (jsonb_from_mp(res->result, &out) != 0) {
        fprintf(stderr, "rtctl: internal: the router's result is not valid msgpack\n");
        o->rc = EXIT_REPLY;
        buf_free(&out);
        return;
    }
    printf("%.*s\n", (int)out.len, out.data ? out.data : "");
    fflush(stdout);
    buf_free(&out);
    o->rc = 0;
}

/* Appends key + the msgpack form of JSON text; 0, or prints the reason and returns -1. */
static int put_json(mpw_t *w, const char *key, const char *json, const char *what)
{
    mpw_cstr(w, key);
    char why[160] = "";
    if (jsonb_to_mp(json, strlen(json), JSON_DEPTH, w, why, sizeof why) != JSONB_OK) {
        fprintf(stderr, "rtctl: %s is not valid JSON: %s (rtctl --help)\n", what, why);
        return -1;
    }
    return 0;
}

static bool parse_int(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end)
        return false;
    *out = v;
    return true;
}

/* Builds the op's fields map into w from the positional arguments; returns 0 or an exit code. */
static int build(const char *cmd, int n, char **a, const char *room, mpw_t *w, const char **op)
{
    *op = cmd;
#define NEED(lo, hi)                                                                               \
    do {                                                                                           \
        if (n < (lo) || n > (hi))                                                                  \
            return usage_error("%s: wrong number of arguments", cmd);                              \
    } while (0)
    if (room && strcmp(cmd, "send") != 0)
        return usage_error("--room applies to send only, not %s", cmd);
    if (strcmp(cmd, "publish") == 0) {
        NEED(3, 3);
        mpw_map(w, 3);
        mpw_kstr(w, "room", a[0]);
        mpw_kstr(w, "type", a[1]);
        return put_json(w, "payload", a[2], "JSON") ? EXIT_USAGE : 0;
    }
    if (strcmp(cmd, "send") == 0) {
        NEED(3, 3);
        mpw_map(w, 3 + (room != NULL));
        mpw_kstr(w, "to", a[0]);
        mpw_kstr(w, "type", a[1]);
        if (room)
            mpw_kstr(w, "room", room);
        return put_json(w, "payload", a[2], "JSON") ? EXIT_USAGE : 0;
    }
    if (strcmp(cmd, "presence") == 0) {
        NEED(1, 1);
        mpw_map(w, 1);
        mpw_kstr(w, "room", a[0]);
        return 0;
    }
    if (strcmp(cmd, "rooms") == 0 || strcmp(cmd, "stats") == 0) {
        NEED(0, 0);
        mpw_map(w, 0);
        return 0;
    }
    if (strcmp(cmd, "disconnect") == 0) {
        NEED(1, 3);
        long code = 0;
        if (n >= 2 &&
            (!parse_int(a[1], &code) || !(code == 1000 || (code >= 4000 && code <= 4999))))
            return usage_error("disconnect: CODE must be 1000 or 4000-4999, not '%s'", a[1]);
        mpw_map(w, (uint32_t)n);
        mpw_kstr(w, "conn", a[0]);
        if (n >= 2)
            mpw_kint(w, "code", code);
        if (n >= 3)
            mpw_kstr(w, "reason", a[2]);
        return 0;
    }
    if (strcmp(cmd, "join") == 0) {
        NEED(2, 3);
        mpw_map(w, (uint32_t)n);
        mpw_kstr(w, "conn", a[0]);
        mpw_kstr(w, "room", a[1]);
        if (n == 3 && put_json(w, "meta", a[2], "META_JSON"))
            return EXIT_USAGE;
        return 0;
    }
    if (strcmp(cmd, "leave") == 0) {
        NEED(2, 2);
        mpw_map(w, 2);
        mpw_kstr(w, "conn", a[0]);
        mpw_kstr(w, "room", a[1]);
        return 0;
    }
#undef NEED
    return usage_error("unknown command '%s'", cmd);
}

/* --name VALUE or --name=VALUE at argv[*i]; advances *i. NULL when argv[*i] is not --name. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t len = strlen(name);
    const char *s = argv[*i];
    if (strncmp(s, name, len) != 0)
        return NULL;
    if (s[len] == '=')
        return s + len + 1;
    if (s[len] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    rt_log_set_name("rtctl");
    rt_log_set_level(RT_LOG_ERROR);
    const char *api = getenv("RT_API") ? getenv("RT_API") : "tcp://127.0.0.1:5557";
    const char *timeout_text = getenv("RT_TIMEOUT") ? getenv("RT_TIMEOUT") : "3000";
    const char *room = NULL;
    const char *curve_secret = getenv("RT_CURVE_SECRET_KEY");
    const char *curve_server = getenv("RT_CURVE_SERVER_KEY");
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos)
        return EXIT_USAGE;
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            free(pos);
            return 0;
        } else if ((v = opt_value(argc, argv, &i, "--api", &missing)) != NULL) {
            api = v;
        } else if ((v = opt_value(argc, argv, &i, "--timeout", &missing)) != NULL) {
            timeout_text = v;
        } else if ((v = opt_value(argc, argv, &i, "--room", &missing)) != NULL) {
            room = v;
        } else if ((v = opt_value(argc, argv, &i, "--curve-secret-key", &missing)) != NULL) {
            curve_secret = v;
        } else if ((v = opt_value(argc, argv, &i, "--curve-server-key", &missing)) != NULL) {
            curve_server = v;
        } else if (missing) {
            free(pos);
            return usage_error("%s: a value is required", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] != '\0') {
            free(pos);
            return usage_error("unknown option '%s'", argv[i]);
        } else {
            pos[npos++] = argv[i];
        }
    }
    long timeout = 0;
    if (!parse_int(timeout_text, &timeout) || timeout < 1 || timeout > 3600000) {
        free(pos);
        return usage_error("--timeout: '%s' is not a number of ms (1..3600000)", timeout_text);
    }
    char why[160];
    if (cfg_check_endpoint(api, why, sizeof why) != 0) {
        free(pos);
        fprintf(stderr, "rtctl: --api: %s (rtctl --help)\n", why);
        return EXIT_USAGE;
    }
    if (curve_server && (!curve_secret || strlen(curve_server) != 40)) {
        free(pos);
        return usage_error("%s", "--curve-server-key: 40 Z85 characters, with --curve-secret-key");
    }
    if (npos == 0) {
        free(pos);
        return usage_error("%s", "a command is required");
    }
    mpw_t w = MPW_INIT;
    const char *op = NULL;
    int rc = build(pos[0], npos - 1, pos + 1, room, &w, &op);
    free(pos);
    if (rc != 0) {
        mpw_free(&w);
        return rc;
    }
    svc_t *svc = svc_new(api, "rtctl");
    if (svc && curve_secret && svc_set_curve(svc, curve_secret, curve_server) != 0) {
        svc_destroy(&svc);
        fprintf(stderr, "rtctl: --curve-secret-key: '%s' is not a zcert secret certificate\n",
                curve_secret);
        mpw_free(&w);
        return EXIT_USAGE;
    }
    if (!svc) {
        fprintf(stderr, "rtctl: unavailable: cannot open a socket to %s\n", api);
        mpw_free(&w);
        return EXIT_UNREACHABLE;
    }
    svc_set_timeout(svc, (int)timeout);
    outcome_t o = {false, EXIT_UNREACHABLE, api};
    if (svc_call(svc, op, mpw_view(&w), on_result, &o) != 0) {
        fprintf(stderr, "rtctl: unavailable: cannot send to %s\n", api);
        o.done = true;
    }
    mpw_free(&w);
    while (!o.done)
        if (svc_poll(svc, 100) < 0)
            break; /* interrupted */
    svc_destroy(&svc);
    return o.rc;
}
