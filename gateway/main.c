/* rt-gateway: the WebSocket edge. Parse config, build the core and the WebSocket loop,
 * run until SIGTERM/SIGINT, tear down. */
#include "config.h"
#include "gateway.h"
#include "log.h"
#include "wire_limits.h"
#include "ws.h"
#include <czmq.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct {
    char *listen, *path, *router, *static_dir;
    long long max_message, max_depth, rate_limit, rate_burst, max_queue, heartbeat;
    int log_level;
} options_t;

static int check_path(const char *v, char *why, size_t whylen)
{
    if (v[0] != '/') {
        snprintf(why, whylen, "must start with /");
        return -1;
    }
    return 0;
}

#define OPT(f) offsetof(options_t, f)
static const cfg_option_t options[] = {
    {"listen", CFG_STR, "0.0.0.0:8080", 0, 0, OPT(listen),
     "address:port to listen on (WebSocket and HTTP)", cfg_check_listen},
    {"path", CFG_STR, "/realtime", 0, 0, OPT(path), "WebSocket path", check_path},
    {"router", CFG_STR, "tcp://127.0.0.1:5555", 0, 0, OPT(router),
     "router ingress endpoints, comma-separated, first is primary", cfg_check_endpoint_list},
    {"static", CFG_STR, NULL, 0, 0, OPT(static_dir),
     "serve static files from this directory (/ -> index.html)", NULL},
    {"max-message", CFG_SIZE, "64K", 16, RT_MESSAGE_ENVELOPE_MAX, OPT(max_message),
     "largest client message in bytes (close 1009 above)", NULL},
    {"max-depth", CFG_INT, "32", 1, RT_PAYLOAD_DEPTH_MAX, OPT(max_depth),
     "deepest JSON nesting inside payload", NULL},
    {"rate-limit", CFG_INT, "100", 0, 1000000, OPT(rate_limit),
     "client frames per second (0 = off)", NULL},
    {"rate-burst", CFG_INT, "200", 1, 1000000, OPT(rate_burst), "client frames allowed in a burst",
     NULL},
    {"max-queue", CFG_SIZE, "1M", 1024, 1LL << 32, OPT(max_queue),
     "unsent bytes per client before close 4008", NULL},
    {"heartbeat", CFG_INT, "25", 1, 3600, OPT(heartbeat),
     "seconds between WebSocket pings (closed after 2 without pong)", NULL},
    {"log-level", CFG_LEVEL, "info", 0, 0, OPT(log_level), "error, warn, info or debug", NULL},
    CFG_END};

int main(int argc, char **argv)
{
    options_t o = {0};
    rt_log_set_name("rt-gateway");
    cfg_result_t r =
        cfg_parse(options, &o, argc, argv, "rt-gateway",
                  "WebSocket edge of realtime-core: JSON clients, msgpack to the router.");
    if (r != CFG_OK) {
        cfg_free(options, &o);
        return r == CFG_HELP ? 0 : 2;
    }
    rt_log_set_level((rt_log_level_t)o.log_level);

    /* Signals arrive through a signalfd in the event loop: block them before ZeroMQ starts
     * its threads, and keep CZMQ's own handler out of the way. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL);

    gateway_config_t gc = {
        .router = o.router,
        .max_depth = (long)o.max_depth,
        .rate_limit = (long)o.rate_limit,
        .rate_burst = (long)o.rate_burst,
        .max_queue = (long)o.max_queue,
        .heartbeat = (long)o.heartbeat,
        .headroom = ws_headroom(),
    };
    ws_config_t wc = {
        .listen = o.listen,
        .path = o.path,
        .static_dir = o.static_dir,
        .max_message = (long)o.max_message,
        .heartbeat = (long)o.heartbeat,
    };
    int rc = 1;
    gateway_t *gw = gateway_new(&gc);
    ws_t *ws = gw ? ws_new(&wc, gw) : NULL;
    if (ws)
        rc = ws_run(ws);
    ws_destroy(&ws);
    gateway_destroy(&gw);
    cfg_free(options, &o);
    zsys_shutdown();
    return rc;
}
