/* The rt-router configuration table (see options.h). */
#include "options.h"
#include "log.h"
#include "router.h"
#include <czmq.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

static int check_secret_cert(const char *value, char *why, size_t whylen)
{
    zcert_t *cert = value && *value ? zcert_load(value) : NULL;
    static const byte zero[32] = {0};
    bool ok = cert && memcmp(zcert_secret_key(cert), zero, 32) != 0;
    zcert_destroy(&cert);
    if (!ok)
        snprintf(why, whylen, "'%s' is not a readable zcert secret certificate",
                 value ? value : "");
    return ok ? 0 : -1;
}

static int check_dir(const char *value, char *why, size_t whylen)
{
    struct stat st;
    if (!value || stat(value, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "'%s' is not a directory", value ? value : "");
        return -1;
    }
    return 0;
}

static const cfg_option_t table[] = {
    {"node-id", CFG_STR, NULL, 0, -1, offsetof(router_opts_t, node_id),
     "node id in connection ids and events (default: random)", NULL},
    {"ingress", CFG_STR, "tcp://*:5555", 0, -1, offsetof(router_opts_t, ingress),
     "gateway ingress (ZeroMQ ROUTER, bound)", cfg_check_endpoint},
    {"fanout", CFG_STR, "tcp://*:5556", 0, -1, offsetof(router_opts_t, fanout),
     "gateway fan-out (ZeroMQ PUB, bound)", cfg_check_endpoint},
    {"api", CFG_STR, "tcp://*:5557", 0, -1, offsetof(router_opts_t, api),
     "service API (ZeroMQ ROUTER, bound)", cfg_check_endpoint},
    {"events", CFG_STR, "tcp://*:5558", 0, -1, offsetof(router_opts_t, events),
     "service events (ZeroMQ PUB, bound)", cfg_check_endpoint},
    {"mesh-bind", CFG_STR, "tcp://*:9090", 0, -1, offsetof(router_opts_t, mesh_bind),
     "mesh endpoint of this node (ZeroMQ PUB, bound)", cfg_check_endpoint},
    {"mesh-peers", CFG_STR, NULL, 0, -1, offsetof(router_opts_t, mesh_peers),
     "comma-separated mesh endpoints of the other nodes (tcp://HOST:PORT#Z85KEY names the "
     "peer's CURVE public key; default: this node's own)",
     cfg_check_endpoint_list},
    {"curve-secret-key", CFG_STR, NULL, 0, -1, offsetof(router_opts_t, curve_secret_key),
     "zcert secret certificate: CurveZMQ on the mesh, api and events sockets (with "
     "--curve-allow)",
     check_secret_cert},
    {"curve-allow", CFG_STR, NULL, 0, -1, offsetof(router_opts_t, curve_allow),
     "directory of the zcert public certificates of the allowed clients and peers", check_dir},
    {"auto-join", CFG_BOOL, "false", 0, -1, offsetof(router_opts_t, auto_join),
     "a room message from a non-member joins it first", NULL},
    {"max-rooms", CFG_INT, "128", 1, 1000000, offsetof(router_opts_t, max_rooms),
     "rooms per connection", NULL},
    {"service-timeout", CFG_INT, "5000", 1, 3600000, offsetof(router_opts_t, service_timeout),
     "ms a service has to answer a client message", NULL},
    {"peer-timeout", CFG_INT, "5000", 1, 3600000, offsetof(router_opts_t, peer_timeout),
     "ms within which a silent mesh peer is declared down", NULL},
    {"gateway-timeout", CFG_INT, "3000", 1, 3600000, offsetof(router_opts_t, gateway_timeout),
     "ms of silence before a gateway's connections leave their rooms", NULL},
    {"log-level", CFG_LEVEL, "info", 0, -1, offsetof(router_opts_t, log_level),
     "error, warn, info or debug", NULL},
    CFG_END};

const cfg_option_t *options_router(void)
{
    return table;
}

router_t *router_from_args(int argc, char **argv, const char *prog, const char *summary,
                           int *exit_code)
{
    router_opts_t opts = {0};
    rt_log_set_name(prog);
    cfg_result_t res = cfg_parse(table, &opts, argc, argv, prog, summary);
    router_t *r = NULL;
    if (res == CFG_OK && !opts.curve_secret_key != !opts.curve_allow) {
        fprintf(stderr, "%s: %s: needs %s too\n", prog,
                opts.curve_secret_key ? "--curve-secret-key" : "--curve-allow",
                opts.curve_secret_key ? "--curve-allow" : "--curve-secret-key");
        res = CFG_ERROR;
    }
    if (res == CFG_OK) {
        rt_log_set_level((rt_log_level_t)opts.log_level);
        r = router_new(&opts);
    }
    cfg_free(table, &opts);
    *exit_code = res == CFG_HELP ? 0 : res == CFG_ERROR ? 2 : 1;
    return r;
}
