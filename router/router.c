/* The router: owns the tables (rooms, conns, gateways, dispatch), runs the ingress loop of
 * docs/internals.md and implements the actions of router.h. Every outgoing event is encoded
 * once (msgpack, mpw) and the same bytes go to every gateway that has members of the room. */
#include "router.h"
#include "api.h"
#include "builtins.h"
#include "conns.h"
#include "dispatch.h"
#include "events.h"
#include "forwards.h"
#include "gateways.h"
#include "ids.h"
#include "jsonb.h"
#include "log.h"
#include "mesh.h"
#include "peers.h"
#include "rooms.h"
#include "zmqio.h"
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define ROUTER_TICK_MS 100
#define ROUTER_PUB_HWM 100000 /* PUB and ingress: bursts must not hit the drop-at-HWM */
#define ROUTER_META_MAX 1024
#define ROUTER_BATCH 1024 /* ingress messages handled before timers get a look */
#define ROUTER_OBSERVERS 8

struct router {
    router_opts_t opts;
    char node[RT_CONN_MAX + 1];
    char epoch[17];
    zsock_t *ingress;
    zsock_t *fanout;
    zpoller_t *poller;
    rooms_t *rooms;
    conns_t *conns;
    gateways_t *gws;
    dispatch_t *first;    /* router_on_first: before the services' patterns */
    dispatch_t *dispatch; /* router_on, and the reserved namespaces */
    struct {
        router_observer_t ops;
        void *arg;
    } obs[ROUTER_OBSERVERS];
    size_t nobs;
    api_t *api;          /* service API, NULL when not configured */
    events_t *events;    /* events PUB, NULL when not configured */
    mesh_t *mesh;        /* mesh PUB/SUB, NULL without --mesh-peers */
    zcert_t *curve;      /* the CURVE key pair, NULL without --curve-secret-key */
    zactor_t *auth;      /* zauth with the --curve-allow list, NULL without CURVE */
    peers_t *peers;      /* the other nodes of the mesh */
    forwards_t *fwd;     /* client requests awaiting a service of another node */
    zhashx_t *snaps;     /* node -> ids seen so far in its snapshot being received (zhashx) */
    bool want_snap;      /* a peer asked for our snapshot: send it at the next tick */
    int64_t next_hb;     /* monotonic ms of the next mesh heartbeat */
    int64_t last_join;   /* join time given to the latest local join (wall clock us) */
    int64_t started;     /* monotonic ms of router_new */
    bool warm;           /* every mesh peer synced once, or MESH_WARMUP_MS passed */
    mpw_t w;             /* scratch for one outgoing message at a time */
    const rt_msg_t *cur; /* the request being dispatched */
    bool cur_answered;
    bool cur_failed; /* the request being dispatched was answered with an error */
    volatile bool stop;
    int64_t next_tick; /* monotonic ms of the next timer check */
    router_stats_t stats;
};

/* How long a request we answered for a lost service node stays remembered (its late answer is
 * dropped rather than delivered twice). */
#define FORWARD_TOMBSTONE_MS 60000
/* At most this long after its start a router in a mesh waits for its peers' snapshots before
 * it lets gateways attach (mesh_warm). */
#define MESH_WARMUP_MS 2000

static volatile sig_atomic_t router_signalled;
static const uint8_t empty_map[1] = {0x80};
#define MP_EMPTY_MAP ((mp_t){empty_map, 1})
#define MP_NIL ((mp_t){(const uint8_t *)"\xc0", 1})

static void on_signal(int sig)
{
    (void)sig;
    router_signalled = 1;
}

/* Before the sockets are bound: a supervisor that sees the ports open may signal at once. */
static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void router_opts_default(router_opts_t *opts)
{
    /* the strings point at static text; router_new copies them */
    *opts = (router_opts_t){
        .node_id = NULL,
        .ingress = (char *)"tcp://*:5555",
        .fanout = (char *)"tcp://*:5556",
        .api = (char *)"tcp://*:5557",
        .events = (char *)"tcp://*:5558",
        .mesh_bind = (char *)"tcp://*:9090",
        .mesh_peers = NULL,
        .auto_join = false,
        .max_rooms = 128,
        .service_timeout = 5000,
        .peer_timeout = 5000,
        .gateway_timeout = 3000,
        .log_level = RT_LOG_INFO,
    };
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void opts_free(router_opts_t *o)
{
    free(o->node_id);
    free(o->ingress);
    free(o->fanout);
    free(o->api);
    free(o->events);
    free(o->mesh_bind);
    free(o->mesh_peers);
    free(o->curve_secret_key);
    free(o->curve_allow);
}

/* A bound socket like zmqio_socket's, plus ZMQ_MAXMSGSIZE set before the bind (it only
 * applies to listeners made afterwards): without it a peer that writes garbage on the TCP port
 * makes libzmq allocate whatever size a bogus ZMTP frame header claims (also on a PUB, which
 * reads subscriptions). */
/* Loads the key pair and starts zauth with the allow list (a CURVE server without a zauth
 * actor accepts any client key). Without CURVE, warns about mesh and service sockets that
 * are reachable from other hosts. 0 or -1. */
static int setup_curve(router_t *r)
{
    const router_opts_t *o = &r->opts;
    if (!o->curve_secret_key && !o->curve_allow) {
        const char *eps[] = {o->api, o->events,
                             o->mesh_peers && *o->mesh_peers ? o->mesh_bind : NULL};
        const char *names[] = {"service api", "events", "mesh"};
        for (size_t i = 0; i < 3; i++)
            if (eps[i] && !zmqio_local_only(eps[i]))
                rt_warn("%s %s is reachable from other hosts without CURVE "
                        "(--curve-secret-key, --curve-allow)",
                        names[i], eps[i]);
        return 0;
    }
    if (!o->curve_secret_key || !o->curve_allow) {
        rt_error("--curve-secret-key and --curve-allow go together");
        return -1;
    }
    r->curve = zcert_load(o->curve_secret_key);
    static const byte zero[32] = {0};
    if (!r->curve || memcmp(zcert_secret_key(r->curve), zero, 32) == 0) {
        rt_error("--curve-secret-key: %s is not a zcert secret certificate", o->curve_secret_key);
        return -1;
    }
    r->auth = zactor_new(zauth, NULL);
    if (!r->auth || zstr_sendx(r->auth, "CURVE", o->curve_allow, NULL) != 0 ||
        zsock_wait(r->auth) != 0) {
        rt_error("--curve-allow: cannot start the authenticator");
        return -1;
    }
    rt_info("CURVE on mesh, api and events: public key %s, allow list %s",
            zcert_public_txt(r->curve), o->curve_allow);
    return 0;
}

/* Destructor of r->snaps' items. */
static void seen_free(void **item)
{
    zhashx_destroy((zhashx_t **)item);
}

router_t *router_new(const router_opts_t *opts)
{
    router_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->opts = *opts;
    r->opts.node_id = dup_or_null(opts->node_id);
    r->opts.ingress = dup_or_null(opts->ingress);
    r->opts.fanout = dup_or_null(opts->fanout);
    r->opts.api = dup_or_null(opts->api);
    r->opts.events = dup_or_null(opts->events);
    r->opts.mesh_bind = dup_or_null(opts->mesh_bind);
    r->opts.mesh_peers = dup_or_null(opts->mesh_peers);
    r->opts.curve_secret_key = dup_or_null(opts->curve_secret_key);
    r->opts.curve_allow = dup_or_null(opts->curve_allow);
    if (r->opts.max_rooms < 1)
        r->opts.max_rooms = 1;
    if (r->opts.gateway_timeout < 1)
        r->opts.gateway_timeout = 3000;
    if (opts->node_id && ids_valid_conn(opts->node_id, strlen(opts->node_id)))
        snprintf(r->node, sizeof r->node, "%s", opts->node_id);
    else {
        if (opts->node_id)
            rt_warn("node id '%s' is not valid, using a random one", opts->node_id);
        ids_random(r->node, 8);
    }
    ids_random(r->epoch, 16);

    zsys_handler_set(NULL); /* our own SIGINT/SIGTERM handling */
    install_signals();
    r->rooms = rooms_new();
    r->conns = conns_new((size_t)r->opts.max_rooms);
    r->gws = gateways_new();
    r->first = dispatch_new();
    r->dispatch = dispatch_new();
    if (!r->rooms || !r->conns || !r->gws || !r->first || !r->dispatch || !r->opts.ingress ||
        !r->opts.fanout) {
        rt_error("out of memory");
        router_destroy(&r);
        return NULL;
    }
    if (setup_curve(r) != 0) {
        router_destroy(&r);
        return NULL;
    }
    r->ingress = zmqio_socket(ZMQ_ROUTER, r->opts.ingress, true, ROUTER_PUB_HWM);
    r->fanout = zmqio_socket(ZMQ_PUB, r->opts.fanout, true, ROUTER_PUB_HWM);
    if (!r->ingress || !r->fanout) {
        rt_error("cannot bind ingress %s / fan-out %s", r->opts.ingress, r->opts.fanout);
        router_destroy(&r);
        return NULL;
    }
    if (r->opts.events && (!(r->events = events_new(r->opts.events, r->node, r->curve)) ||
                           events_attach(r->events, r) != 0)) {
        rt_error("cannot bind events %s", r->opts.events);
        router_destroy(&r);
        return NULL;
    }
    if (r->opts.api && !(r->api = api_new(r, r->opts.api, r->opts.service_timeout, r->curve))) {
        rt_error("cannot bind service api %s", r->opts.api);
        router_destroy(&r);
        return NULL;
    }
    if (r->opts.mesh_peers && *r->opts.mesh_peers && r->opts.mesh_bind) {
        r->mesh = mesh_new(r->opts.mesh_bind, r->opts.mesh_peers, r->node, r->epoch, r->curve);
        r->peers = peers_new();
        if (r->opts.peer_timeout < 1)
            r->opts.peer_timeout = 5000;
        /* the service's node answers by --service-timeout, or is declared down by
         * --peer-timeout; past both the answer was lost */
        r->fwd = forwards_new(r->opts.service_timeout + r->opts.peer_timeout, FORWARD_TOMBSTONE_MS);
        r->snaps = zhashx_new();
        if (r->snaps)
            zhashx_set_destructor(r->snaps, seen_free);
        if (!r->mesh || !r->peers || !r->fwd || !r->snaps) {
            rt_error("cannot set up the mesh on %s", r->opts.mesh_bind);
            router_destroy(&r);
            return NULL;
        }
    }
    r->started = ids_mono_ms();
    r->poller = zpoller_new(r->ingress, NULL);
    if (r->poller && r->api && zpoller_add(r->poller, api_socket(r->api)) != 0)
        zpoller_destroy(&r->poller);
    if (r->poller && r->mesh && zpoller_add(r->poller, mesh_socket(r->mesh)) != 0)
        zpoller_destroy(&r->poller);
    if (!r->poller || builtins_register(r) != 0) {
        rt_error("cannot set up the router");
        router_destroy(&r);
        return NULL;
    }
    rt_info("node %s epoch %s: ingress %s, fan-out %s, api %s, events %s, mesh %s", r->node,
            r->epoch, r->opts.ingress, r->opts.fanout, r->api ? r->opts.api : "-",
            r->events ? r->opts.events : "-", r->mesh ? r->opts.mesh_bind : "-");
    return r;
}

void router_destroy(router_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    router_t *r = *self_p;
    zpoller_destroy(&r->poller);
    mesh_destroy(&r->mesh);
    peers_destroy(&r->peers);
    forwards_destroy(&r->fwd);
    zhashx_destroy(&r->snaps);
    api_destroy(&r->api);
    events_destroy(&r->events);
    zsock_destroy(&r->ingress);
    zsock_destroy(&r->fanout);
    rooms_destroy(&r->rooms);
    conns_destroy(&r->conns);
    gateways_destroy(&r->gws);
    dispatch_destroy(&r->first);
    dispatch_destroy(&r->dispatch);
    zactor_destroy(&r->auth); /* after every CURVE socket */
    zcert_destroy(&r->curve);
    mpw_free(&r->w);
    opts_free(&r->opts);
    free(r);
    *self_p = NULL;
}

const char *router_node_id(const router_t *r)
{
    return r->node;
}

void router_stop(router_t *r)
{
    r->stop = true;
}

int router_on(router_t *r, const char *pattern, rt_handler_fn fn, void *arg)
{
    /* A handler for a built-in's own type replaces the built-in where it stands, before the
     * services' patterns, as it did when both lived in one table. */
    rt_handler_fn had;
    void *had_arg;
    if (strchr(pattern, '*') == NULL &&
        dispatch_find(r->first, pattern, &had, &had_arg) == DISPATCH_HANDLER)
        return dispatch_on(r->first, pattern, fn, arg);
    return dispatch_on(r->dispatch, pattern, fn, arg);
}

int router_on_first(router_t *r, const char *pattern, rt_handler_fn fn, void *arg)
{
    return dispatch_on(r->first, pattern, fn, arg);
}

int router_observe(router_t *r, const router_observer_t *ops, void *arg)
{
    if (r->nobs == ROUTER_OBSERVERS)
        return -1;
    r->obs[r->nobs].ops = *ops;
    r->obs[r->nobs].arg = arg;
    r->nobs++;
    return 0;
}

/* Calls hook `h` of every observer that has one, with the arguments that follow. */
#define NOTIFY(r, h, ...)                                                                          \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < (r)->nobs; i_++)                                                  \
            if ((r)->obs[i_].ops.h)                                                                \
                (r)->obs[i_].ops.h((r)->obs[i_].arg, __VA_ARGS__);                                 \
    } while (0)

void router_notify_message(router_t *r, const rt_msg_t *m)
{
    NOTIFY(r, message, m);
}

int router_use(router_t *r, rt_middleware_fn fn, void *arg)
{
    return dispatch_use(r->dispatch, fn, arg);
}

/* ---- output: everything to a gateway goes over the fan-out PUB under its topic ---- */

static bool is_remote(const char *gw);

/* Connections of other nodes are kept in the tables under the pseudo-gateway "@NODE" ('@' is
 * not allowed in gateway ids, so they can never clash). */
static bool is_remote(const char *gw)
{
    return gw && gw[0] == '@';
}

const char *router_conn_node(const router_t *r, const char *conn)
{
    const char *gw = conns_gw(r->conns, conn);
    return is_remote(gw) ? gw + 1 : r->node;
}

/* Whether room has members on other nodes (some) / on this node (local). */
static void room_spread(router_t *r, const char *room, bool *remote, bool *local)
{
    const rooms_gw_t *gws;
    size_t n = rooms_gateways(r->rooms, room, &gws);
    *remote = *local = false;
    for (size_t i = 0; i < n; i++) {
        if (is_remote(gws[i].gw))
            *remote = true;
        else
            *local = true;
    }
}

/* Keeps the mesh subscription to room's events in step with having local members there. */
static void mesh_sub_update(router_t *r, const char *room)
{
    if (!r->mesh)
        return;
    bool remote, local;
    room_spread(r, room, &remote, &local);
    mesh_room_sub(r->mesh, room, local);
}

static void pub(router_t *r, const char *gw, mp_t v)
{
    if (is_remote(gw)) { /* a frame for a connection of another node: its node delivers */
        if (r->mesh && mp_present(v))
            mesh_pub_node(r->mesh, gw + 1, v);
        else
            r->stats.pub_dropped++;
        return;
    }
    if (r->w.oom || zmqio_send(r->fanout, gw, strlen(gw), true) != 0 ||
        zmqio_send_mp(r->fanout, v, false) != 0)
        r->stats.pub_dropped++;
}

/* Writes the client-visible event {type, room?, from?, payload}. */
static void enc_event(mpw_t *w, const char *type, const char *room, const char *from, mp_t payload)
{
    mpw_map(w, 2 + (room ? 1 : 0) + (from ? 1 : 0));
    mpw_kstr(w, "type", type);
    if (room)
        mpw_kstr(w, "room", room);
    if (from)
        mpw_kstr(w, "from", from);
    mpw_kraw(w, "payload", mp_present(payload) ? payload : MP_NIL);
}

/* {t:"out", c, f} to the gateway of conn; f written by the caller right after. */
static void enc_out_conn(mpw_t *w, const char *conn)
{
    mpw_reset(w);
    mpw_map(w, 3);
    mpw_kstr(w, "t", "out");
    mpw_kstr(w, "c", conn);
    mpw_cstr(w, "f");
}

/* Sends the encoded out in r->w to every gateway with members in room, skipping a gateway
 * whose only local member is `except`, and gateway `skip_gw` (when not NULL). */
static void pub_room_v(router_t *r, const char *room, const char *except, const char *skip_gw,
                       mp_t v);
static void pub_room(router_t *r, const char *room, const char *except, const char *skip_gw)
{
    pub_room_v(r, room, except, skip_gw, mpw_view(&r->w));
}

static void pub_room_v(router_t *r, const char *room, const char *except, const char *skip_gw,
                       mp_t v)
{
    const rooms_gw_t *gws;
    size_t n = rooms_gateways(r->rooms, room, &gws);
    const rooms_member_t *ex = except ? rooms_member(r->rooms, room, except) : NULL;
    const char *exgw = ex ? rooms_member_gw(ex) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (is_remote(gws[i].gw))
            continue; /* members on other nodes: their node delivers (mesh "r:") */
        if (exgw && gws[i].count == 1 && strcmp(gws[i].gw, exgw) == 0)
            continue;
        if (skip_gw && strcmp(gws[i].gw, skip_gw) == 0)
            continue;
        r->stats.msgs_out++;
        pub(r, gws[i].gw, v);
    }
}

static void room_event(router_t *r, const char *room, const char *type, const char *from,
                       mp_t payload, const char *except)
{
    mpw_reset(&r->w);
    mpw_map(&r->w, except ? 4 : 3);
    mpw_kstr(&r->w, "t", "out");
    mpw_kstr(&r->w, "r", room);
    if (except)
        mpw_kstr(&r->w, "x", except);
    mpw_cstr(&r->w, "f");
    enc_event(&r->w, type, room, from, payload);
    pub_room(r, room, except, NULL);
    /* Once per room event, whether or not we know of members elsewhere yet: each node with
     * members in room subscribed to r:ROOM| before it acked their join, and the PUB's filter
     * keeps it from the others. So a member that joined on another node a moment ago gets it
     * even while its join delta is still on its way to us. Each node delivers to its own. */
    if (r->mesh)
        mesh_pub_room(r->mesh, room, mpw_view(&r->w));
}

static void enc_member(mpw_t *w, const char *conn, const char *user, mp_t meta, bool with_meta)
{
    mpw_map(w, with_meta ? 3 : 2);
    mpw_kstr(w, "id", conn);
    mpw_kstr(w, "user", user);
    if (with_meta)
        mpw_kraw(w, "meta", mp_present(meta) ? meta : MP_EMPTY_MAP);
}

/* presence:join / presence:leave of conn to the other members of room (but those on gateway
 * skip_gw, when not NULL). */
static void presence_event(router_t *r, const char *room, const char *conn, const char *user,
                           mp_t meta, bool join, const char *skip_gw)
{
    mpw_reset(&r->w);
    mpw_map(&r->w, 4);
    mpw_kstr(&r->w, "t", "out");
    mpw_kstr(&r->w, "r", room);
    mpw_kstr(&r->w, "x", conn);
    mpw_cstr(&r->w, "f");
    mpw_map(&r->w, 3);
    mpw_kstr(&r->w, "type", join ? "presence:join" : "presence:leave");
    mpw_kstr(&r->w, "room", room);
    mpw_cstr(&r->w, "payload");
    enc_member(&r->w, conn, user, meta, join);
    pub_room(r, room, conn, skip_gw);
}

static void send_membership(router_t *r, const char *gw, const char *conn, const char *room,
                            mp_t meta, bool joined)
{
    mpw_reset(&r->w);
    mpw_map(&r->w, joined ? 4 : 3);
    mpw_kstr(&r->w, "t", joined ? "joined" : "left");
    mpw_kstr(&r->w, "c", conn);
    mpw_kstr(&r->w, "r", room);
    if (joined)
        mpw_kraw(&r->w, "m", meta);
    pub(r, gw, mpw_view(&r->w));
}

/* An error frame to conn on gateway gw (id 0: without id). */
static void send_error(router_t *r, const char *gw, const char *conn, int64_t id, rt_err_t code,
                       const char *message)
{
    enc_out_conn(&r->w, conn);
    mpw_map(&r->w, id ? 3 : 2);
    mpw_kstr(&r->w, "type", "error");
    if (id)
        mpw_kint(&r->w, "id", id);
    mpw_cstr(&r->w, "payload");
    mpw_map(&r->w, 2);
    mpw_kstr(&r->w, "code", rt_err_code(code));
    mpw_kstr(&r->w, "message", message ? message : rt_err_code(code));
    r->stats.msgs_out++;
    pub(r, gw, mpw_view(&r->w));
}

/* ---- answers ---- */

/* True when m may still be answered (and marks it answered). */
static bool take_answer(router_t *r, const rt_msg_t *m)
{
    if (m == r->cur) {
        if (r->cur_answered)
            return false;
        r->cur_answered = true;
    }
    return true;
}

/* Whether v (a handler's or a service's value) can travel to a client inside an `out`: a
 * client payload is bounded by the gateway already, but what a handler or a service makes up is
 * not, and a frame too deep or too large would be dropped on the way without a word. */
static bool fits_out(mp_t v)
{
    return !mp_present(v) || (v.n <= RT_MESSAGE_ENVELOPE_MAX &&
                              mp_check(v.p, v.n, RT_OUT_VALUE_DEPTH_MAX, NULL) == 0);
}

void router_ack(router_t *r, const rt_msg_t *m, mp_t result)
{
    if (!m->id || !take_answer(r, m))
        return;
    const char *gw = conns_gw(r->conns, m->conn);
    if (!gw)
        return;
    if (!fits_out(result)) {
        if (m == r->cur)
            r->cur_failed = true;
        send_error(r, gw, m->conn, m->id, RT_E_INTERNAL, "answer too large or nested too deep");
        return;
    }
    enc_out_conn(&r->w, m->conn);
    mpw_map(&r->w, 3);
    mpw_kstr(&r->w, "type", "ack");
    mpw_kint(&r->w, "id", m->id);
    mpw_kraw(&r->w, "payload", mp_present(result) ? result : MP_EMPTY_MAP);
    r->stats.msgs_out++;
    pub(r, gw, mpw_view(&r->w));
}

void router_error(router_t *r, const rt_msg_t *m, rt_err_t code, const char *message)
{
    if (!take_answer(r, m))
        return;
    if (m == r->cur)
        r->cur_failed = true;
    const char *gw = conns_gw(r->conns, m->conn);
    if (gw)
        send_error(r, gw, m->conn, m->id, code, message);
}

rt_err_t router_reply(router_t *r, const char *conn, int64_t id, rt_err_t code, const char *message,
                      mp_t result)
{
    rt_msg_t m = {.conn = conn, .id = id};
    if (!conns_exists(r->conns, conn))
        return RT_E_PEER_NOT_FOUND;
    if (code == RT_OK)
        router_ack(r, &m, result);
    else
        router_error(r, &m, code, message);
    return RT_OK;
}

/* ---- mesh deltas: this node's connections and memberships, on the control stream ---- */

static void delta_conn(router_t *r, const char *conn, const char *user)
{
    if (!r->mesh)
        return;
    mpw_t *w = mesh_ctl(r->mesh, "o", 3);
    mpw_kstr(w, "c", conn);
    mpw_kstr(w, "u", user);
    mpw_cstr(w, "g");
    mpw_uint(w, conns_gen(r->conns, conn));
    mesh_ctl_send(r->mesh);
}

static void delta_join(router_t *r, const char *conn, const char *user, const char *room, mp_t meta,
                       int64_t ts)
{
    if (!r->mesh)
        return;
    mpw_t *w = mesh_ctl(r->mesh, "j", 6);
    mpw_kstr(w, "c", conn);
    mpw_kstr(w, "u", user);
    mpw_kstr(w, "r", room);
    mpw_kraw(w, "m", meta);
    mpw_kint(w, "ts", ts);
    mpw_cstr(w, "g");
    mpw_uint(w, conns_gen(r->conns, conn));
    mesh_ctl_send(r->mesh);
}

/* The join time of a local join: the wall clock in microseconds, strictly increasing. Members
 * are listed by (join time, conn) on every node (docs/mesh.md), so the owner's time travels
 * with the membership. */
static int64_t join_time(router_t *r)
{
    int64_t now = ids_now_us();
    r->last_join = now > r->last_join ? now : r->last_join + 1;
    return r->last_join;
}

static void delta_leave(router_t *r, const char *conn, const char *room)
{
    if (!r->mesh)
        return;
    mpw_t *w = mesh_ctl(r->mesh, "l", 2);
    mpw_kstr(w, "c", conn);
    mpw_kstr(w, "r", room);
    mesh_ctl_send(r->mesh);
}

static void delta_close(router_t *r, const char *conn)
{
    if (!r->mesh)
        return;
    mpw_t *w = mesh_ctl(r->mesh, "x", 1);
    mpw_kstr(w, "c", conn);
    mesh_ctl_send(r->mesh);
}

/* ---- actions ---- */

static rt_err_t check_meta(mp_t meta)
{
    if (!mp_present(meta) || mp_is_nil(meta))
        return RT_OK;
    if (mp_type(meta) != MP_MAP || jsonb_size(meta) > ROUTER_META_MAX)
        return RT_E_BAD_REQUEST;
    return RT_OK;
}

/* Adds conn to room, joined at ts (< 0: now, for a local join); `notify` sends joined to its
 * gateway, `presence` presence:join to the others (but to those on gateway skip_gw, when not
 * NULL). Returns RT_OK also when already a member (nothing changes but a remote member's join
 * time). */
static rt_err_t join_x(router_t *r, const char *conn, const char *room, mp_t meta, bool notify,
                       bool presence, const char *skip_gw, int64_t ts)
{
    const char *gw = conns_gw(r->conns, conn);
    if (!gw)
        return RT_E_PEER_NOT_FOUND;
    if (!room || !ids_valid_room(room, strlen(room)) || check_meta(meta) != RT_OK)
        return RT_E_BAD_REQUEST;
    if (rooms_is_member(r->rooms, room, conn)) {
        if (ts >= 0 && is_remote(gw)) /* the owner's join time wins (it re-attached it) */
            rooms_set_ts(r->rooms, room, conn, ts);
        return RT_OK;
    }
    if (!mp_present(meta) || mp_is_nil(meta))
        meta = MP_EMPTY_MAP;
    rt_err_t e = conns_room_add(r->conns, conn, room);
    if (e != RT_OK)
        return e;
    const char *user = conns_user(r->conns, conn);
    if (ts < 0)
        ts = join_time(r);
    if (rooms_add_at(r->rooms, room, conn, user, gw, meta, ts) < 0) {
        conns_room_remove(r->conns, conn, room);
        return RT_E_INTERNAL;
    }
    if (notify && !is_remote(gw))
        send_membership(r, gw, conn, room, meta, true);
    if (presence)
        presence_event(r, room, conn, user, meta, true, skip_gw);
    if (!is_remote(gw)) { /* lifecycle events and replication: by the owner node only */
        NOTIFY(r, join, room, conn, user, meta);
        delta_join(r, conn, user, room, meta, ts);
        mesh_sub_update(r, room);
    }
    return RT_OK;
}

/* {t:"join"|"leave", c, r, m?, k?, n?} to the owner node behind gw: it joins / leaves conn (and
 * replicates); with token k it answers {t:"done", k, e?, msg?} to node n (us). */
static void forward_member_op(router_t *r, const char *gw, bool join, const char *conn,
                              const char *room, mp_t meta, const char *token)
{
    mpw_reset(&r->w);
    mpw_map(&r->w, 3 + (join ? 1 : 0) + (token ? 2 : 0));
    mpw_kstr(&r->w, "t", join ? "join" : "leave");
    mpw_kstr(&r->w, "c", conn);
    mpw_kstr(&r->w, "r", room);
    if (join)
        mpw_kraw(&r->w, "m", mp_present(meta) ? meta : MP_NIL);
    if (token) {
        mpw_kstr(&r->w, "k", token);
        mpw_kstr(&r->w, "n", r->node);
    }
    pub(r, gw, mpw_view(&r->w));
}

static rt_err_t join(router_t *r, const char *conn, const char *room, mp_t meta, bool notify,
                     bool presence, int64_t ts)
{
    return join_x(r, conn, room, meta, notify, presence, NULL, ts);
}

rt_err_t router_join(router_t *r, const char *conn, const char *room, mp_t meta)
{
    const char *gw = conns_gw(r->conns, conn);
    if (is_remote(gw)) { /* the owner node joins it (and replicates) */
        if (!room || !ids_valid_room(room, strlen(room)) || check_meta(meta) != RT_OK)
            return RT_E_BAD_REQUEST;
        forward_member_op(r, gw, true, conn, room, meta, NULL);
        return RT_OK;
    }
    return join(r, conn, room, meta, true, true, -1);
}

rt_err_t router_member_op_remote(router_t *r, bool join, const char *conn, const char *room,
                                 mp_t meta, const char *token)
{
    const char *gw = conns_gw(r->conns, conn);
    if (!is_remote(gw) || !r->mesh)
        return RT_E_PEER_NOT_FOUND;
    if (!room || !ids_valid_room(room, strlen(room)) || (join && check_meta(meta) != RT_OK))
        return RT_E_BAD_REQUEST;
    forward_member_op(r, gw, join, conn, room, meta, token);
    return RT_OK;
}

/* Removes conn from room with presence:leave to the others (but to those on gateway skip_gw,
 * when not NULL); `notify` sends left to its gateway (not needed when the connection or its
 * gateway is gone). */
static rt_err_t leave_x(router_t *r, const char *conn, const char *room, bool notify,
                        const char *skip_gw)
{
    if (!conns_exists(r->conns, conn))
        return RT_E_PEER_NOT_FOUND;
    if (!room || !rooms_is_member(r->rooms, room, conn))
        return RT_E_NOT_IN_ROOM;
    char user[512];
    const char *u = conns_user(r->conns, conn);
    if (u)
        snprintf(user, sizeof user, "%s", u);
    char roomc[RT_ROOM_MAX + 1]; /* room may point into the tables we change */
    snprintf(roomc, sizeof roomc, "%s", room);
    rooms_remove(r->rooms, roomc, conn);
    conns_room_remove(r->conns, conn, roomc);
    bool local = !is_remote(conns_gw(r->conns, conn));
    if (notify && local)
        send_membership(r, conns_gw(r->conns, conn), conn, roomc, MP_NONE, false);
    presence_event(r, roomc, conn, u ? user : NULL, MP_NONE, false, skip_gw);
    if (local) {
        NOTIFY(r, leave, roomc, conn, u ? user : NULL);
        delta_leave(r, conn, roomc);
        mesh_sub_update(r, roomc);
    }
    return RT_OK;
}

static rt_err_t leave(router_t *r, const char *conn, const char *room, bool notify)
{
    return leave_x(r, conn, room, notify, NULL);
}

rt_err_t router_leave(router_t *r, const char *conn, const char *room)
{
    const char *gw = conns_gw(r->conns, conn);
    if (is_remote(gw)) { /* the owner node makes it leave (and replicates) */
        if (!room || !rooms_is_member(r->rooms, room, conn))
            return RT_E_NOT_IN_ROOM;
        forward_member_op(r, gw, false, conn, room, MP_NONE, NULL);
        return RT_OK;
    }
    return leave(r, conn, room, true);
}

rt_err_t router_publish(router_t *r, const char *room, const char *type, const char *from,
                        mp_t payload, const char *except)
{
    if (!room || !type || !fits_out(payload))
        return RT_E_BAD_REQUEST;
    room_event(r, room, type, from, payload, except);
    return RT_OK;
}

/* {type, room?, from?, payload} to conn `to` on gateway gw. */
static void send_event(router_t *r, const char *gw, const char *to, const char *type,
                       const char *room, const char *from, mp_t payload)
{
    enc_out_conn(&r->w, to);
    enc_event(&r->w, type, room, from, payload);
    r->stats.msgs_out++;
    pub(r, gw, mpw_view(&r->w));
}

rt_err_t router_send(router_t *r, const char *to, const char *type, const char *room,
                     const char *from, mp_t payload)
{
    const char *gw = conns_gw(r->conns, to);
    if (!gw)
        return RT_E_PEER_NOT_FOUND;
    if (!type || !fits_out(payload))
        return RT_E_BAD_REQUEST;
    send_event(r, gw, to, type, room, from, payload);
    return RT_OK;
}

rt_err_t router_disconnect(router_t *r, const char *conn, int code, const char *reason)
{
    const char *gw = conns_gw(r->conns, conn);
    if (!gw)
        return RT_E_PEER_NOT_FOUND;
    if (code == 0)
        code = 1000;
    if (code != 1000 && (code < 4000 || code > 4999))
        return RT_E_BAD_REQUEST;
    mpw_reset(&r->w);
    mpw_map(&r->w, reason ? 4 : 3);
    mpw_kstr(&r->w, "t", "kick");
    mpw_kstr(&r->w, "c", conn);
    mpw_kint(&r->w, "code", code);
    if (reason)
        mpw_kstr(&r->w, "reason", reason);
    pub(r, gw, mpw_view(&r->w));
    return RT_OK;
}

bool router_is_member(router_t *r, const char *conn, const char *room)
{
    return rooms_is_member(r->rooms, room, conn);
}

bool router_conn_exists(router_t *r, const char *conn)
{
    return conns_exists(r->conns, conn);
}

rt_err_t router_presence(router_t *r, const char *room, mpw_t *w)
{
    size_t n = rooms_size(r->rooms, room);
    mpw_map(w, 2);
    mpw_kstr(w, "room", room);
    mpw_cstr(w, "members");
    mpw_array(w, (uint32_t)n);
    for (const rooms_member_t *m = rooms_first(r->rooms, room); m; m = rooms_next(m))
        enc_member(w, rooms_member_conn(m), rooms_member_user(m), rooms_member_meta(m), true);
    return RT_OK;
}

static void enc_room_size(const char *room, size_t members, void *arg)
{
    mpw_t *w = arg;
    mpw_map(w, 2);
    mpw_kstr(w, "room", room);
    mpw_cstr(w, "members");
    mpw_uint(w, members);
}

rt_err_t router_rooms(router_t *r, mpw_t *w)
{
    mpw_array(w, (uint32_t)rooms_count(r->rooms));
    rooms_each(r->rooms, enc_room_size, w);
    return RT_OK;
}

/* True when conns a and b are both in some room. */
static bool share_room(router_t *r, const char *a, const char *b)
{
    const char *const *rooms;
    size_t n = conns_rooms(r->conns, a, &rooms);
    for (size_t i = 0; i < n; i++)
        if (rooms_is_member(r->rooms, rooms[i], b))
            return true;
    return false;
}

void router_default_route(router_t *r, const rt_msg_t *m)
{
    if (!m->room && !m->to) {
        router_error(r, m, RT_E_BAD_REQUEST, "room or to required");
        return;
    }
    if (m->room) {
        if (!rooms_is_member(r->rooms, m->room, m->conn)) {
            if (!r->opts.auto_join) {
                router_error(r, m, RT_E_NOT_IN_ROOM, "not a member of this room");
                return;
            }
            rt_err_t e = router_join(r, m->conn, m->room, MP_NONE);
            if (e != RT_OK) {
                router_error(r, m, e, "cannot join the room");
                return;
            }
        }
        if (m->to) {
            if (!rooms_is_member(r->rooms, m->room, m->to)) {
                router_error(r, m, RT_E_PEER_NOT_FOUND, "no such member in this room");
                return;
            }
            send_event(r, conns_gw(r->conns, m->to), m->to, m->type, m->room, m->conn,
                       m->payload); /* a client payload: bounded by its gateway already */
        } else {
            room_event(r, m->room, m->type, m->conn, m->payload, m->echo ? NULL : m->conn);
        }
    } else {
        if (!conns_exists(r->conns, m->to) || !share_room(r, m->conn, m->to)) {
            router_error(r, m, RT_E_PEER_NOT_FOUND, "no such peer in a shared room");
            return;
        }
        send_event(r, conns_gw(r->conns, m->to), m->to, m->type, NULL, m->conn, m->payload);
    }
    router_ack(r, m, MP_NONE);
}

/* ---- ingress ---- */

/* A connection ended (close, or its gateway was dropped): it leaves every room. */
static void conn_gone(router_t *r, const char *conn)
{
    const char *const *rooms;
    size_t n;
    if (!conns_exists(r->conns, conn))
        return;
    while ((n = conns_rooms(r->conns, conn, &rooms)) > 0) {
        char room[RT_ROOM_MAX + 1];
        snprintf(room, sizeof room, "%s", rooms[n - 1]);
        if (leave(r, conn, room, false) != RT_OK)
            conns_room_remove(r->conns, conn, room); /* tables disagree: never loop */
    }
    if (is_remote(conns_gw(r->conns, conn))) {
        conns_remove(r->conns, conn);
        return;
    }
    delta_close(r, conn);
    char user[256];
    const char *u = conns_user(r->conns, conn);
    if (u)
        snprintf(user, sizeof user, "%s", u);
    conns_remove(r->conns, conn);
    NOTIFY(r, conn_close, conn, u ? user : NULL);
}

/* Every connection of gateway gw (a pseudo-gateway @NODE too) that is not in keep (NULL: none
 * is) is gone. Returns how many. */
static size_t conns_gone_of(router_t *r, const char *gw, zhashx_t *keep)
{
    size_t n = 0, gone = 0;
    char **list = conns_of_gateway(r->conns, gw, &n);
    for (size_t i = 0; list && list[i]; i++)
        if (!keep || !zhashx_lookup(keep, list[i])) {
            conn_gone(r, list[i]);
            gone++;
        }
    conns_list_free(&list);
    return gone;
}

static void drop_gateway(router_t *r, const char *gw)
{
    char id[RT_CONN_MAX + 1];
    snprintf(id, sizeof id, "%s", gw);
    size_t n = conns_gone_of(r, id, NULL);
    rt_warn("gateway %s silent for %lld ms: dropped its %zu connections", id,
            r->opts.gateway_timeout, n);
    gateways_drop(r->gws, id);
}

/* The registration generation `g` of a map (gateway open/attach, mesh o/j/snap entries);
 * 0 when absent. */
static uint64_t gen_of(mp_t map)
{
    uint64_t g = 0;
    if (mp_uint(mp_get(map, "g"), &g) != 0)
        g = 0;
    return g;
}

/* A user id: any 1-255 byte string without NUL. */
static bool valid_user(const char *s, size_t len)
{
    return len > 0 && memchr(s, '\0', len) == NULL;
}

/* The gateway conn is known on now, when it is not `gw` (copied to prev): the connection is
 * moving there. */
static bool moving(router_t *r, const char *conn, const char *gw, char *prev, size_t size)
{
    const char *old = conns_gw(r->conns, conn);
    if (!old || strcmp(old, gw) == 0)
        return false;
    snprintf(prev, size, "%s", old);
    return true;
}

/* conn, known here on gateway `from`, was just registered on another gateway: a gateway that
 * failed over from another node re-attached it, or its node changed. Its memberships move
 * along (the room events follow them). When it became ours, we own its memberships now:
 * we replicate them and follow the rooms' events on the mesh; when it stopped being ours,
 * the rooms' subscriptions follow what is left here. */
static void conn_moved(router_t *r, const char *conn, const char *from)
{
    const char *gw = conns_gw(r->conns, conn);
    bool now_local = !is_remote(gw), was_local = !is_remote(from);
    const char *const *rooms;
    size_t n = conns_rooms(r->conns, conn, &rooms);
    if (now_local && !was_local)
        rt_info("connection %s moved here from node %s with %zu rooms", conn, from + 1, n);
    else if (!now_local && was_local)
        rt_info("connection %s moved to node %s with %zu rooms", conn, gw + 1, n);
    for (size_t i = 0; i < n; i++) {
        if (rooms_set_gw(r->rooms, rooms[i], conn, gw) < 0)
            rt_error("out of memory moving connection %s", conn);
        if (now_local && !was_local) {
            const rooms_member_t *m = rooms_member(r->rooms, rooms[i], conn);
            delta_join(r, conn, conns_user(r->conns, conn), rooms[i],
                       m ? rooms_member_meta(m) : MP_NONE, m ? rooms_member_ts(m) : join_time(r));
        }
        if (now_local != was_local)
            mesh_sub_update(r, rooms[i]);
    }
}

/* conn leaves (presence:leave, not to gateway skip_gw) every room it is in here that a
 * [room, meta] list naming all its rooms (a peer's snapshot, the attach of a gateway it moved
 * with) does not list. */
static void leave_unlisted(router_t *r, const char *conn, mp_t list, const char *skip_gw)
{
    const char *const *rooms;
    size_t nr = conns_rooms(r->conns, conn, &rooms);
    char(*had)[RT_ROOM_MAX + 1] = nr ? calloc(nr, sizeof *had) : NULL;
    for (size_t i = 0; had && i < nr; i++)
        snprintf(had[i], sizeof had[i], "%s", rooms[i]);
    for (size_t i = 0; had && i < nr; i++) {
        bool keep = false;
        mp_iter_t rit, pit;
        mp_t pair, rv;
        if (mp_iter(list, &rit) == 0)
            while (!keep && mp_next(&rit, &pair))
                keep = mp_iter(pair, &pit) == 0 && mp_next(&pit, &rv) && mp_str_eq(rv, had[i]);
        if (!keep)
            leave_x(r, conn, had[i], false, skip_gw);
    }
    free(had);
}

static void on_open(router_t *r, const char *gw, mp_t body)
{
    char conn[RT_CONN_MAX + 1], user[256];
    if (mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) != 1) {
        r->stats.bad_frames++;
        return;
    }
    int hu = mp_get_strz(body, "u", user, sizeof user, valid_user);
    bool known = conns_exists(r->conns, conn);
    char prev[RT_CONN_MAX + 2];
    bool moved = moving(r, conn, gw, prev, sizeof prev);
    if (conns_add(r->conns, conn, gw, hu == 1 ? user : NULL) != 0) {
        rt_error("out of memory adding connection %s", conn);
        return;
    }
    conns_set_gen(r->conns, conn, gen_of(body));
    NOTIFY(r, conn_open, conn, hu == 1 ? user : NULL, !known);
    delta_conn(r, conn, hu == 1 ? user : NULL);
    if (moved)
        conn_moved(r, conn, prev);
}

static void on_close(router_t *r, mp_t body)
{
    char conn[RT_CONN_MAX + 1];
    if (mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) != 1) {
        r->stats.bad_frames++;
        return;
    }
    conn_gone(r, conn);
}

/* Joins conn to every [room, meta] pair of a re-registration list (a gateway's attach, a
 * peer's snapshot) without a `joined` back: the sender already holds those memberships.
 * Entries that are malformed are skipped; a bad meta joins with none. */
static void join_listed(router_t *r, const char *conn, mp_t rooms, bool loud, const char *skip_gw)
{
    mp_iter_t rit;
    mp_t pair;
    if (mp_iter(rooms, &rit) != 0)
        return;
    while (mp_next(&rit, &pair)) {
        mp_iter_t pit;
        mp_t rv, meta = MP_NONE;
        char room[RT_ROOM_MAX + 1];
        if (mp_iter(pair, &pit) != 0 || !mp_next(&pit, &rv) ||
            mp_strcpy(rv, room, sizeof room) != 0 || !ids_valid_room(room, strlen(room)))
            continue;
        if (!mp_next(&pit, &meta) || check_meta(meta) != RT_OK)
            meta = MP_NONE;
        mp_t tv;
        int64_t ts = -1; /* [room, meta, ts] from a snapshot; a gateway's [room, meta]: now */
        if (mp_next(&pit, &tv) && (mp_int(tv, &ts) != 0 || ts < 0))
            ts = -1;
        join_x(r, conn, room, meta, false, loud, skip_gw, ts);
    }
}

static void on_attach(router_t *r, const char *gw, mp_t body)
{
    /* Memberships we did not know: silent for a gateway we never saw (we restarted: nobody
     * saw them leave), presence:join for one we had dropped (its members left). A gateway
     * that failed over to us from another router (`moved`) brings memberships our members
     * may have seen leave (its node went down) or never seen: presence:join to them, but
     * not to the gateway's own clients, whose views came from that router (they saw
     * nothing leave). The same holds for the rooms a moving connection leaves here. */
    bool moved_gw = false;
    (void)mp_bool(mp_get(body, "moved"), &moved_gw);
    bool loud = gateways_loud(r->gws, gw) || moved_gw;
    const char *skip = moved_gw ? gw : NULL;
    uint64_t gen = gen_of(body);
    mp_iter_t it;
    if (mp_iter(mp_get(body, "conns"), &it) != 0) {
        r->stats.bad_frames++;
        return;
    }
    mp_t c;
    while (mp_next(&it, &c)) {
        char conn[RT_CONN_MAX + 1], user[256];
        if (mp_type(c) != MP_MAP || mp_get_strz(c, "c", conn, sizeof conn, ids_valid_conn) != 1) {
            r->stats.bad_frames++;
            continue;
        }
        int hu = mp_get_strz(c, "u", user, sizeof user, valid_user);
        bool known = conns_exists(r->conns, conn);
        char prev[RT_CONN_MAX + 2];
        bool moved = moving(r, conn, gw, prev, sizeof prev);
        if (conns_add(r->conns, conn, gw, hu == 1 ? user : NULL) != 0)
            continue;
        conns_set_gen(r->conns, conn, gen);
        NOTIFY(r, conn_open, conn, hu == 1 ? user : NULL, !known);
        delta_conn(r, conn, hu == 1 ? user : NULL);
        if (moved) { /* its gateway's list is the truth now */
            conn_moved(r, conn, prev);
            leave_unlisted(r, conn, mp_get(c, "rooms"), skip);
        }
        /* the gateway already holds the membership: no joined back */
        join_listed(r, conn, mp_get(c, "rooms"), loud, skip);
    }
}

static bool mesh_route(router_t *r, const rt_msg_t *m);

/* Parses a `msg` into an rt_msg_t and dispatches it. */
static void on_msg(router_t *r, const char *gw, mp_t body)
{
    char conn[RT_CONN_MAX + 1], type[RT_TYPE_MAX + 1], room[RT_ROOM_MAX + 1], to[RT_CONN_MAX + 1];
    if (mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) != 1) {
        r->stats.bad_frames++;
        return;
    }
    r->stats.msgs_in++;
    int64_t id = 0;
    mp_t idv = mp_get(body, "id");
    bool bad_id = false;
    if (mp_present(idv) && !mp_is_nil(idv) && (mp_int(idv, &id) != 0 || id < 1 || id > RT_ID_MAX)) {
        id = 0;
        bad_id = true;
    }
    if (!conns_exists(r->conns, conn)) {
        send_error(r, gw, conn, id, RT_E_INTERNAL, "unknown connection");
        return;
    }
    int ht = mp_get_strz(body, "type", type, sizeof type, ids_valid_type);
    int hr = mp_get_strz(body, "room", room, sizeof room, ids_valid_room);
    int hto = mp_get_strz(body, "to", to, sizeof to, ids_valid_conn);
    bool echo = false;
    mp_t ev = mp_get(body, "echo");
    if (mp_present(ev) && !mp_is_nil(ev) && mp_bool(ev, &echo) != 0)
        bad_id = true;
    if (bad_id || ht != 1 || hr < 0 || hto < 0) {
        send_error(r, gw, conn, id, RT_E_BAD_REQUEST, "bad field");
        return;
    }
    rt_msg_t m = {
        .conn = conn,
        .user = conns_user(r->conns, conn),
        .type = type,
        .room = hr == 1 ? room : NULL,
        .to = hto == 1 ? to : NULL,
        .id = id,
        .echo = echo,
        .payload = mp_get(body, "payload"),
    };
    if (!mp_present(m.payload))
        m.payload = MP_NIL;
    const rt_msg_t *outer = r->cur;
    bool outer_answered = r->cur_answered, outer_failed = r->cur_failed;
    r->cur = &m;
    r->cur_answered = false;
    r->cur_failed = false;
    bool stopped = !dispatch_middleware(r->dispatch, r, &m);
    rt_handler_fn first = NULL;
    void *first_arg = NULL;
    bool builtin =
        !stopped && dispatch_find(r->first, type, &first, &first_arg) == DISPATCH_HANDLER;
    bool deferred = false, routed = false;
    rt_err_t serr = RT_OK;
    if (!stopped && !builtin) {
        /* a service owns the type: a live local one first, else one on another node; it
         * answers later, or nobody can */
        bool owned = r->api && api_route(r->api, &m, &serr);
        if (owned && serr == RT_OK)
            deferred = routed = true;
        else if (mesh_route(r, &m))
            deferred = routed = true;
        else if (owned || (r->peers && peers_pattern_known(r->peers, type))) {
            if (!owned) /* only services of other nodes ever had it, and none is up now */
                serr = RT_E_UNAVAILABLE;
            routed = true;
            router_error(r, &m, serr,
                         serr == RT_E_UNAVAILABLE ? "no live service for this type"
                                                  : "cannot reach the service");
        }
    }
    if (stopped) {
        /* the middleware answered, or forbidden below */
    } else if (builtin) {
        first(r, &m, first_arg);
    } else if (routed) {
        /* answered above, or later by the service */
    } else {
        rt_handler_fn fn = NULL;
        void *arg = NULL;
        dispatch_kind_t kind = dispatch_find(r->dispatch, type, &fn, &arg);
        if (kind == DISPATCH_HANDLER)
            fn(r, &m, arg);
        else if (kind == DISPATCH_RESERVED)
            router_error(r, &m, RT_E_UNKNOWN_TYPE, "unknown type in a reserved namespace");
        else
            router_default_route(r, &m);
    }
    /* exactly one answer per request: a handler that forgot gets {} acked for it, a
     * middleware that stopped the message silently answers forbidden */
    if (m.id && !r->cur_answered && !deferred) {
        if (stopped)
            router_error(r, &m, RT_E_FORBIDDEN, "refused");
        else
            router_ack(r, &m, MP_NONE);
    }
    /* built-ins show up as lifecycle events (presence:*) instead */
    if (!stopped && !deferred && !builtin && !r->cur_failed)
        NOTIFY(r, message, &m);
    r->cur = outer;
    r->cur_answered = outer_answered;
    r->cur_failed = outer_failed;
}

/* ---- mesh: the state of the other nodes, and what they send us (docs/mesh.md) ---- */

/* Requests forwarded to a service of another node that we must answer ourselves. */
static void forward_lost(const char *conn, int64_t id, void *arg, rt_err_t code,
                         const char *message)
{
    router_t *r = arg;
    if (conns_exists(r->conns, conn))
        router_reply(r, conn, id, code, message, MP_NONE);
}

static void forward_node_down(const char *conn, int64_t id, void *arg)
{
    forward_lost(conn, id, arg, RT_E_UNAVAILABLE, "the service's node went away");
}

static void forward_timed_out(const char *conn, int64_t id, void *arg)
{
    forward_lost(conn, id, arg, RT_E_TIMEOUT, "no answer from the service's node");
}

/* Whether body (an "out" from the node of a service) answers a request we forwarded and
 * have answered ourselves already: then it is dropped. */
static bool late_answer(router_t *r, const char *conn, mp_t body)
{
    if (!r->fwd)
        return false;
    mp_t f = mp_get(body, "f");
    char type[8];
    int64_t id;
    if (mp_type(f) != MP_MAP || mp_strcpy(mp_get(f, "type"), type, sizeof type) != 0 ||
        (strcmp(type, "ack") != 0 && strcmp(type, "error") != 0) ||
        mp_int(mp_get(f, "id"), &id) != 0)
        return false;
    return !forwards_answered(r->fwd, conn, id);
}

/* Registers conn of the node behind pseudo-gateway rgw, claimed with generation gen (see
 * conns_gen); false when the claim is older than the one we hold. A conn one of our
 * gateways registered stays ours unless the claim is newer: then its gateway failed over
 * to that node (and will be dropped here as silent), so the conn moves there, silently. A
 * conn of another node moves to rgw unless that node's claim is newer (a node that was
 * frozen or cut off still claiming the connections its gateway took elsewhere). */
static bool remote_conn(router_t *r, const char *rgw, const char *conn, const char *user,
                        uint64_t gen)
{
    const char *gw = conns_gw(r->conns, conn);
    if (gw && strcmp(gw, rgw) != 0) {
        uint64_t have = conns_gen(r->conns, conn);
        if (is_remote(gw) ? gen < have : gen <= have)
            return false;
    }
    char prev[RT_CONN_MAX + 2];
    bool moved = moving(r, conn, rgw, prev, sizeof prev);
    if (conns_add(r->conns, conn, rgw, user) != 0)
        return false;
    conns_set_gen(r->conns, conn, gen);
    if (moved)
        conn_moved(r, conn, prev);
    return true;
}

static bool owned_by(router_t *r, const char *conn, const char *rgw)
{
    const char *gw = conns_gw(r->conns, conn);
    return gw && strcmp(gw, rgw) == 0;
}

/* Our snapshot is written as it is sent: parts of about mesh_snap_part() bytes, each a "snap"
 * {part, conns:[{c, u, rooms:[[room, meta],...]},...], last} on the control stream with its
 * own sequence number, so a lost part is a gap like any other. */
typedef struct {
    router_t *r;
    mpw_t *w;        /* the part being written, NULL between parts */
    uint32_t part;   /* its index */
    uint32_t n;      /* connections in it */
    size_t conns_at; /* offset of its conns array header */
} snap_ctx_t;

static void snap_open(snap_ctx_t *ctx)
{
    ctx->w = mesh_ctl(ctx->r->mesh, "snap", 3);
    mpw_kint(ctx->w, "part", ctx->part);
    mpw_cstr(ctx->w, "conns");
    ctx->conns_at = mpw_array_open(ctx->w);
    ctx->n = 0;
}

static void snap_close(snap_ctx_t *ctx, bool last)
{
    mpw_array_close(ctx->w, ctx->conns_at, ctx->n);
    mpw_cstr(ctx->w, "last");
    mpw_bool(ctx->w, last);
    mesh_ctl_send(ctx->r->mesh);
    ctx->w = NULL;
    ctx->part++;
}

static void snap_write(const char *conn, const char *gw, const char *user, void *arg)
{
    snap_ctx_t *ctx = arg;
    if (is_remote(gw))
        return;
    if (!ctx->w)
        snap_open(ctx);
    const char *const *rooms;
    size_t n = conns_rooms(ctx->r->conns, conn, &rooms);
    mpw_map(ctx->w, 4);
    mpw_kstr(ctx->w, "c", conn);
    mpw_kstr(ctx->w, "u", user);
    mpw_cstr(ctx->w, "g");
    mpw_uint(ctx->w, conns_gen(ctx->r->conns, conn));
    mpw_cstr(ctx->w, "rooms");
    mpw_array(ctx->w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const rooms_member_t *m = rooms_member(ctx->r->rooms, rooms[i], conn);
        mpw_array(ctx->w, 3);
        mpw_cstr(ctx->w, rooms[i]);
        mpw_raw(ctx->w, m ? rooms_member_meta(m) : MP_EMPTY_MAP);
        mpw_int(ctx->w, m ? rooms_member_ts(m) : 0);
    }
    ctx->n++;
    if (ctx->w->len >= mesh_snap_part(ctx->r->mesh))
        snap_close(ctx, false);
}

/* Our connections and memberships, as "snap" parts on the control stream. */
static void send_snapshot(router_t *r)
{
    snap_ctx_t ctx = {.r = r};
    conns_each(r->conns, snap_write, &ctx);
    if (!ctx.w)
        snap_open(&ctx); /* the last part may be empty */
    snap_close(&ctx, true);
}

/* One part of a peer's snapshot (the node behind rgw), applied as it comes: its connections
 * join what they joined and leave what they left. `seen` collects their ids; after the last
 * part, what we hold of that node and the snapshot did not name is gone (conns_gone_of).
 * Presence events come only for what changed. */
static void apply_snapshot_part(router_t *r, const char *rgw, mp_t list, zhashx_t *seen)
{
    mp_iter_t it;
    mp_t c;
    if (mp_iter(list, &it) != 0) {
        r->stats.bad_frames++;
        return;
    }
    while (mp_next(&it, &c)) {
        char conn[RT_CONN_MAX + 1], user[256];
        if (mp_type(c) != MP_MAP || mp_get_strz(c, "c", conn, sizeof conn, ids_valid_conn) != 1)
            continue;
        zhashx_insert(seen, conn, (void *)1);
        int hu = mp_get_strz(c, "u", user, sizeof user, valid_user);
        if (!remote_conn(r, rgw, conn, hu == 1 ? user : NULL, gen_of(c)))
            continue;
        leave_unlisted(r, conn, mp_get(c, "rooms"), NULL); /* left while we were out of sync */
        join_listed(r, conn, mp_get(c, "rooms"), true, NULL);
    }
}

/* A peer silent for --peer-timeout: its members leave every room. */
static void drop_peer(router_t *r, const char *peer)
{
    char node[RT_CONN_MAX + 1], rgw[RT_CONN_MAX + 2];
    snprintf(node, sizeof node, "%s", peer);
    snprintf(rgw, sizeof rgw, "@%s", node);
    size_t n = conns_gone_of(r, rgw, NULL);
    rt_warn("mesh: peer %s silent for %lld ms: down, dropped its %zu connections", node,
            r->opts.peer_timeout, n);
    forwards_fail_node(r->fwd, node, ids_mono_ms(), forward_node_down, r);
    if (r->api)
        api_remote_node_down(r->api, node);
    zhashx_delete(r->snaps, node);
    bool was_up = peers_up(r->peers, node);
    peers_drop(r->peers, node);
    if (was_up)
        NOTIFY(r, peer, node, false);
}

static void heard_services(router_t *r, const char *node, mp_t svc);
static void on_mesh_msg(router_t *r, mp_t body);

static void on_mesh_ctl(router_t *r, const char *t, mp_t body)
{
    char node[RT_CONN_MAX + 1], ep[40], rgw[RT_CONN_MAX + 2];
    uint64_t seq;
    if (mp_get_strz(body, "n", node, sizeof node, ids_valid_conn) != 1 ||
        mp_strcpy(mp_get(body, "ep"), ep, sizeof ep) != 0 ||
        mp_uint(mp_get(body, "s"), &seq) != 0) {
        r->stats.bad_frames++;
        return;
    }
    if (strcmp(node, r->node) == 0)
        return;
    snprintf(rgw, sizeof rgw, "@%s", node);
    if (strcmp(t, "resync") == 0 && mp_str_eq(mp_get(body, "to"), r->node))
        r->want_snap = true; /* whatever our view of the asker: it needs ours */
    bool snap = strcmp(t, "snap") == 0;
    int64_t part = 0;
    mp_t pv = mp_get(body, "part");
    if (snap && mp_present(pv) && (mp_int(pv, &part) != 0 || part < 0)) {
        r->stats.bad_frames++;
        return;
    }
    bool was_synced = peers_synced(r->peers, node);
    /* a snapshot's first part resets the stream; the other parts follow in sequence */
    peers_verdict_t v = peers_seen(r->peers, node, ep, seq, snap && part == 0, ids_mono_ms());
    if (snap && v != PEERS_APPLY)
        zhashx_delete(r->snaps, node); /* a part lost: that snapshot is void, a new one comes */
    if (strcmp(t, "hb") == 0)
        heard_services(r, node, mp_get(body, "svc"));
    if (v == PEERS_RESYNC) {
        rt_info("mesh: %s %s (seq %llu): asking for a snapshot",
                was_synced ? "gap or new epoch in the stream of" : "out of sync with", node,
                (unsigned long long)seq);
        mpw_t *w = mesh_ctl(r->mesh, "resync", 1);
        mpw_kstr(w, "to", node);
        mesh_ctl_send(r->mesh);
    }
    if (v != PEERS_APPLY)
        return;
    char conn[RT_CONN_MAX + 1], room[RT_ROOM_MAX + 1], user[256];
    bool hc = mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) == 1;
    bool hr = mp_get_strz(body, "r", room, sizeof room, ids_valid_room) == 1;
    int hu = mp_get_strz(body, "u", user, sizeof user, valid_user);
    if (snap) {
        zhashx_t *seen = zhashx_lookup(r->snaps, node);
        if (part == 0) {
            zhashx_delete(r->snaps, node);
            if (!(seen = zhashx_new()) || zhashx_insert(r->snaps, node, seen) != 0) {
                zhashx_destroy(&seen);
                return;
            }
        } else if (!seen) {
            return; /* the rest of a snapshot we did not start: another one comes */
        }
        apply_snapshot_part(r, rgw, mp_get(body, "conns"), seen);
        bool last = true;
        mp_bool(mp_get(body, "last"), &last);
        if (!last)
            return;
        conns_gone_of(r, rgw, seen); /* what the snapshot did not name */
        zhashx_delete(r->snaps, node);
        if (peers_set_up(r->peers, node)) {
            rt_info("mesh: peer %s up", node);
            NOTIFY(r, peer, node, true);
        }
    } else if (strcmp(t, "o") == 0 && hc) {
        remote_conn(r, rgw, conn, hu == 1 ? user : NULL, gen_of(body));
    } else if (strcmp(t, "j") == 0 && hc && hr) {
        mp_t meta = mp_get(body, "m");
        if (check_meta(meta) != RT_OK)
            meta = MP_NONE;
        int64_t ts = -1;
        if (mp_int(mp_get(body, "ts"), &ts) != 0 || ts < 0)
            ts = -1;
        if (remote_conn(r, rgw, conn, hu == 1 ? user : NULL, gen_of(body)))
            join(r, conn, room, meta, false, true, ts);
    } else if (strcmp(t, "l") == 0 && hc && hr) {
        if (owned_by(r, conn, rgw))
            leave(r, conn, room, false);
    } else if (strcmp(t, "x") == 0 && hc) {
        if (owned_by(r, conn, rgw))
            conn_gone(r, conn);
    }
}

/* "n:NODE|": frames for our connections, and actions on them from other nodes. */
/* The result of a join / leave another node asked of us with a token (`k`): to that node. */
static void answer_member_op(router_t *r, mp_t body, rt_err_t e)
{
    char token[24], node[RT_CONN_MAX + 1];
    if (mp_strcpy(mp_get(body, "k"), token, sizeof token) != 0 ||
        mp_get_strz(body, "n", node, sizeof node, ids_valid_conn) != 1)
        return;
    mpw_reset(&r->w);
    mpw_map(&r->w, e == RT_OK ? 2 : 3);
    mpw_kstr(&r->w, "t", "done");
    mpw_kstr(&r->w, "k", token);
    if (e != RT_OK)
        mpw_kstr(&r->w, "e", rt_err_code(e));
    if (r->mesh && mp_present(mpw_view(&r->w)))
        mesh_pub_node(r->mesh, node, mpw_view(&r->w));
}

static void on_mesh_done(router_t *r, mp_t body)
{
    char token[24], code[32];
    if (mp_strcpy(mp_get(body, "k"), token, sizeof token) != 0) {
        r->stats.bad_frames++;
        return;
    }
    rt_err_t e = RT_OK;
    if (mp_strcpy(mp_get(body, "e"), code, sizeof code) == 0)
        e = rt_err_parse(code, strlen(code));
    if (r->api)
        api_remote_done(r->api, token, e,
                        e == RT_E_LIMIT         ? "too many rooms for this connection"
                        : e == RT_E_NOT_IN_ROOM ? "not a member of this room"
                                                : rt_err_code(e));
}

static void on_mesh_node(router_t *r, const char *t, mp_t body)
{
    char conn[RT_CONN_MAX + 1], room[RT_ROOM_MAX + 1];
    if (strcmp(t, "msg") == 0) {
        on_mesh_msg(r, body);
        return;
    }
    if (strcmp(t, "done") == 0) {
        on_mesh_done(r, body);
        return;
    }
    if (mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) != 1) {
        r->stats.bad_frames++;
        return;
    }
    const char *gw = conns_gw(r->conns, conn);
    if (!gw || is_remote(gw))
        return; /* gone meanwhile (or moved): dropped */
    bool hr = mp_get_strz(body, "r", room, sizeof room, ids_valid_room) == 1;
    if (strcmp(t, "out") == 0 || strcmp(t, "kick") == 0) {
        if (late_answer(r, conn, body))
            return;
        r->stats.msgs_out++;
        pub(r, gw, body);
    } else if ((strcmp(t, "join") == 0 || strcmp(t, "leave") == 0) && hr) {
        mp_t meta = mp_get(body, "m");
        rt_err_t e = t[0] == 'j' ? router_join(r, conn, room, meta) : router_leave(r, conn, room);
        answer_member_op(r, body, e);
    }
}

static void on_mesh(router_t *r, zmsg_t *msg)
{
    zframe_t *topic = zmsg_first(msg);
    mp_t body;
    char t[16];
    if (zmsg_size(msg) != 2 || zframe_size(topic) < 1 ||
        zmqio_frame_mp(zmsg_last(msg), &body) != 0 || mp_type(body) != MP_MAP ||
        mp_strcpy(mp_get(body, "t"), t, sizeof t) != 0) {
        r->stats.bad_frames++;
        return;
    }
    char kind = (char)zframe_data(topic)[0];
    if (kind == 'c') {
        on_mesh_ctl(r, t, body);
    } else if (kind == 'r' && strcmp(t, "out") == 0) {
        /* a room event of another node: to our own members of the room only */
        char room[RT_ROOM_MAX + 1], x[RT_CONN_MAX + 1];
        if (mp_get_strz(body, "r", room, sizeof room, ids_valid_room) != 1) {
            r->stats.bad_frames++;
            return;
        }
        bool hx = mp_get_strz(body, "x", x, sizeof x, ids_valid_conn) == 1;
        pub_room_v(r, room, hx ? x : NULL, NULL, body);
    } else if (kind == 'n') {
        on_mesh_node(r, t, body);
    } else {
        r->stats.bad_frames++;
    }
}

/* Client message m of a type no live local service handles: to a node with a live service
 * for it (its heartbeats list their patterns). The answer comes back through n:OURNODE. */
static bool mesh_route(router_t *r, const rt_msg_t *m)
{
    if (!r->mesh)
        return false;
    size_t tlen = strlen(m->type);
    if (ids_reserved_type(m->type, tlen) && strncmp(m->type, "webrtc:", 7) != 0)
        return false;
    const char *node = peers_service_node(r->peers, m->type);
    if (!node)
        return false;
    mpw_reset(&r->w);
    mpw_map(&r->w, 5 + (m->user ? 1 : 0) + (m->room ? 1 : 0) + (m->to ? 1 : 0) + (m->id ? 1 : 0));
    mpw_kstr(&r->w, "t", "msg");
    mpw_kstr(&r->w, "c", m->conn);
    mpw_kstr(&r->w, "type", m->type);
    if (m->user)
        mpw_kstr(&r->w, "u", m->user);
    if (m->room)
        mpw_kstr(&r->w, "room", m->room);
    if (m->to)
        mpw_kstr(&r->w, "to", m->to);
    if (m->id)
        mpw_kint(&r->w, "id", m->id);
    mpw_cstr(&r->w, "echo");
    mpw_bool(&r->w, m->echo);
    mpw_kraw(&r->w, "payload", m->payload);
    if (!mp_present(mpw_view(&r->w)))
        return false;
    if (m->id && forwards_add(r->fwd, m->conn, m->id, node, ids_mono_ms()) != 0)
        return false;
    mesh_pub_node(r->mesh, node, mpw_view(&r->w));
    return true;
}

/* A client message of another node for one of our services. */
static void on_mesh_msg(router_t *r, mp_t body)
{
    char conn[RT_CONN_MAX + 1], type[RT_TYPE_MAX + 1], room[RT_ROOM_MAX + 1], to[RT_CONN_MAX + 1],
        user[256];
    if (mp_get_strz(body, "c", conn, sizeof conn, ids_valid_conn) != 1 ||
        mp_get_strz(body, "type", type, sizeof type, ids_valid_type) != 1 ||
        !is_remote(conns_gw(r->conns, conn))) {
        r->stats.bad_frames++;
        return;
    }
    int hr = mp_get_strz(body, "room", room, sizeof room, ids_valid_room);
    int hto = mp_get_strz(body, "to", to, sizeof to, ids_valid_conn);
    int hu = mp_get_strz(body, "u", user, sizeof user, valid_user);
    int64_t id = 0;
    bool echo = false;
    mp_int(mp_get(body, "id"), &id);
    mp_bool(mp_get(body, "echo"), &echo);
    rt_msg_t m = {
        .conn = conn,
        .user = hu == 1 ? user : NULL,
        .type = type,
        .room = hr == 1 ? room : NULL,
        .to = hto == 1 ? to : NULL,
        .id = id,
        .echo = echo,
        .payload = mp_present(mp_get(body, "payload")) ? mp_get(body, "payload") : MP_NIL,
    };
    rt_err_t serr = RT_E_UNAVAILABLE;
    if (r->api && api_route(r->api, &m, &serr) && serr == RT_OK)
        return;
    router_error(r, &m, serr,
                 serr == RT_E_UNAVAILABLE ? "no live service for this type"
                                          : "cannot reach the service");
}

static void count_pattern(const char *pattern, void *arg)
{
    (void)pattern;
    (*(uint32_t *)arg)++;
}

static void write_pattern(const char *pattern, void *arg)
{
    mpw_cstr(arg, pattern);
}

/* The heartbeat; it lists the patterns of our live services. */
static void send_heartbeat(router_t *r)
{
    uint32_t n = 0;
    if (r->api)
        api_each_live_pattern(r->api, count_pattern, &n);
    mpw_t *w = mesh_ctl(r->mesh, "hb", 1);
    mpw_cstr(w, "svc");
    mpw_array(w, n);
    if (r->api)
        api_each_live_pattern(r->api, write_pattern, w);
    mesh_ctl_send(r->mesh);
}

/* The patterns in a heartbeat's svc. */
static void heard_services(router_t *r, const char *node, mp_t svc)
{
    const char *list[256];
    char buf[256][RT_TYPE_MAX + 2];
    size_t n = 0;
    mp_iter_t it;
    mp_t v;
    if (mp_iter(svc, &it) != 0)
        return;
    while (n < 256 && mp_next(&it, &v))
        if (mp_strcpy(v, buf[n], sizeof buf[n]) == 0) {
            list[n] = buf[n];
            n++;
        }
    peers_set_services(r->peers, node, list, n);
}

static void mesh_tick(router_t *r, int64_t now)
{
    if (now >= r->next_hb) {
        send_heartbeat(r);
        r->next_hb = now + MESH_HEARTBEAT_MS;
    }
    if (r->want_snap) {
        r->want_snap = false;
        send_snapshot(r);
    }
    /* Down within --peer-timeout of its failure: its last message came before the failure,
     * and this check runs once a tick, so the silence allowed is a tick and a margin less. */
    int64_t silence = r->opts.peer_timeout > 4 * ROUTER_TICK_MS
                          ? r->opts.peer_timeout - 2 * ROUTER_TICK_MS
                          : r->opts.peer_timeout;
    const char *peer;
    while ((peer = peers_expired(r->peers, now, silence)) != NULL)
        drop_peer(r, peer);
    forwards_expire(r->fwd, now, forward_timed_out, r);
}

/* Whether gateways may attach. A router that (re)starts in a mesh first takes in the other
 * nodes' snapshots, for at most MESH_WARMUP_MS: its gateways' clients, re-attached silently,
 * already list the members of other nodes, and those must not be announced to them again as
 * new (presence:join). The gateways' hellos go unanswered meanwhile; they repeat them. */
static bool mesh_warm(router_t *r)
{
    if (r->warm || !r->mesh)
        return true;
    int64_t waited = ids_mono_ms() - r->started;
    size_t up = peers_count_up(r->peers), want = mesh_npeers(r->mesh);
    if (up >= want || waited >= MESH_WARMUP_MS) {
        r->warm = true;
        rt_info("mesh: %zu of %zu peers synced after %lld ms: gateways may attach", up, want,
                (long long)waited);
    }
    return r->warm;
}

static void on_hello(router_t *r, zframe_t *rid, const char *gw)
{
    if (!mesh_warm(r))
        return;
    if (gateways_hello(r->gws, gw, zframe_data(rid), zframe_size(rid), ids_mono_ms()) != 0)
        return;
    rt_info("gateway %s hello%s", gw, gateways_loud(r->gws, gw) ? " (was dropped)" : "");
    mpw_reset(&r->w);
    mpw_map(&r->w, 4);
    mpw_kstr(&r->w, "t", "hello");
    mpw_kstr(&r->w, "node", r->node);
    mpw_kstr(&r->w, "ep", r->epoch);
    mpw_kstr(&r->w, "fanout", r->opts.fanout);
    if (r->w.oom || zmqio_send(r->ingress, zframe_data(rid), zframe_size(rid), true) != 0 ||
        zmqio_send_mp(r->ingress, mpw_view(&r->w), false) != 0)
        r->stats.pub_dropped++;
}

static void send_simple(router_t *r, const char *gw, const char *t, mp_t n)
{
    mpw_reset(&r->w);
    mpw_map(&r->w, mp_present(n) ? 3 : 2);
    mpw_kstr(&r->w, "t", t);
    mpw_kstr(&r->w, "ep", r->epoch);
    if (mp_present(n))
        mpw_kraw(&r->w, "n", n);
    pub(r, gw, mpw_view(&r->w));
}

static void on_frame(router_t *r, zmsg_t *msg)
{
    size_t frames = zmsg_size(msg);
    zframe_t *rid = zmsg_first(msg);
    zframe_t *last = zmsg_last(msg);
    mp_t body;
    char t[16], gw[RT_CONN_MAX + 1];
    if (frames < 2 || frames > 3 || zmqio_frame_mp(last, &body) != 0 || mp_type(body) != MP_MAP ||
        mp_strcpy(mp_get(body, "t"), t, sizeof t) != 0) {
        r->stats.bad_frames++;
        return;
    }
    if (mp_get_strz(body, "gw", gw, sizeof gw, ids_valid_conn) != 1) {
        r->stats.bad_frames++;
        return;
    }
    if (strcmp(t, "hello") == 0) {
        on_hello(r, rid, gw);
        return;
    }
    if (gateways_touch(r->gws, gw, ids_mono_ms()) != 0) {
        r->stats.unknown_gateway++;
        send_simple(r, gw, "unknown", MP_NONE);
        return;
    }
    if (strcmp(t, "msg") == 0)
        on_msg(r, gw, body);
    else if (strcmp(t, "hb") == 0)
        send_simple(r, gw, "hb", MP_NONE);
    else if (strcmp(t, "sync") == 0)
        send_simple(r, gw, "synced", mp_present(mp_get(body, "n")) ? mp_get(body, "n") : MP_NIL);
    else if (strcmp(t, "open") == 0)
        on_open(r, gw, body);
    else if (strcmp(t, "close") == 0)
        on_close(r, body);
    else if (strcmp(t, "attach") == 0)
        on_attach(r, gw, body);
    else
        r->stats.bad_frames++;
}

static void on_tick(router_t *r)
{
    int64_t now = ids_mono_ms();
    const char *gw;
    while ((gw = gateways_expired(r->gws, now, r->opts.gateway_timeout)) != NULL)
        drop_gateway(r, gw);
    if (r->api)
        api_tick(r->api, now);
    if (r->mesh)
        mesh_tick(r, now);
}

void router_stats(router_t *r, router_stats_t *out)
{
    *out = r->stats;
    out->conns = conns_count(r->conns);
    out->rooms = rooms_count(r->rooms);
    out->gateways = gateways_count(r->gws);
    out->services = r->api ? api_services(r->api) : 0;
    out->api_bad_frames = r->api ? api_bad_frames(r->api) : 0;
    out->mesh_peers = r->peers ? peers_count_up(r->peers) : 0;
    out->events_sent = r->events ? events_sent(r->events) : 0;
    out->events_dropped = r->events ? events_dropped(r->events) : 0;
}

int router_poll(router_t *r, int timeout_ms)
{
    int64_t now = ids_mono_ms();
    if (r->next_tick == 0)
        r->next_tick = now + ROUTER_TICK_MS;
    int64_t wait = r->next_tick - now;
    if (wait > timeout_ms)
        wait = timeout_ms;
    if (wait < 0)
        wait = 0;
    void *which = zpoller_wait(r->poller, (int)wait);
    int handled = 0;
    /* both sockets on every wake-up: one busy socket must not starve the other */
    if (which) {
        for (; handled < ROUTER_BATCH && !r->stop; handled++) {
            zmsg_t *msg = zmqio_recv(r->ingress);
            if (!msg)
                break;
            on_frame(r, msg);
            zmsg_destroy(&msg);
        }
        if (r->api)
            api_handle(r->api, ROUTER_BATCH);
        for (int i = 0; r->mesh && i < ROUTER_BATCH && !r->stop; i++) {
            zmsg_t *msg = zmqio_recv(mesh_socket(r->mesh));
            if (!msg)
                break;
            on_mesh(r, msg);
            zmsg_destroy(&msg);
        }
    }
    if (ids_mono_ms() >= r->next_tick) {
        on_tick(r);
        r->next_tick = ids_mono_ms() + ROUTER_TICK_MS;
    }
    return handled;
}

int router_run(router_t *r)
{
    while (!r->stop && !router_signalled)
        router_poll(r, ROUTER_TICK_MS);
    rt_info("stopping: %llu messages, %llu bad frames, %llu from unknown gateways, %llu dropped",
            (unsigned long long)r->stats.msgs_in, (unsigned long long)r->stats.bad_frames,
            (unsigned long long)r->stats.unknown_gateway, (unsigned long long)r->stats.pub_dropped);
    return 0;
}
