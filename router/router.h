/* rt-router as a library: the kernel a user extends.
 *
 * A router owns rooms and presence and dispatches every client message by its type, in this
 * order: the handlers of router_on_first (the built-in types room:join, room:leave,
 * presence:list, ping), then the patterns registered by services on the service API (api.h),
 * then the C handlers of router_on, then the default route (room broadcast, direct `to`). The
 * webrtc: types that the contract lists are handlers answering `unavailable` until a service
 * registers them. Observers (router_observe) follow every client message that was dispatched
 * without an error and the lifecycle of connections and memberships; the events PUB is one
 * (events.h). Every client message that was dispatched without an error, and
 * the lifecycle of connections and memberships, go out on the events PUB (events.h).
 * A program builds its own router in a few lines:
 *
 *     router_t *r = router_new(&opts);
 *     router_on(r, "chat:message", on_chat, NULL);
 *     router_run(r);            // until SIGINT/SIGTERM
 *     router_destroy(&r);
 */
#ifndef RT_ROUTER_H
#define RT_ROUTER_H

#include "envelope.h"
#include "errors.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct router router_t;

typedef struct {
    char *node_id;          /* NULL: a random one */
    char *ingress;          /* gateway ingress ROUTER, tcp port 5555 on every interface */
    char *fanout;           /* gateway fan-out PUB, tcp port 5556 on every interface */
    char *api;              /* service API ROUTER, tcp port 5557 on every interface; NULL: none */
    char *events;           /* service events PUB, tcp port 5558 on every interface; NULL: none */
    char *mesh_bind;        /* mesh PUB, tcp port 9090 on every interface */
    char *mesh_peers;       /* comma-separated; an entry may end in #Z85KEY */
    char *curve_secret_key; /* zcert secret certificate: CURVE on mesh, api and events */
    char *curve_allow;      /* directory of the zcert public certificates allowed */
    bool auto_join;         /* a room message from a non-member joins it first */
    long long max_rooms;    /* rooms per connection, 128 */
    long long service_timeout; /* ms a service has to answer a client message, 5000 */
    long long peer_timeout;    /* ms, 5000 */
    long long
        gateway_timeout; /* ms without a gateway heartbeat before its connections leave, 3000 */
    int log_level;
} router_opts_t;

/* A client message as a handler sees it. Strings are NUL-terminated and NULL when absent;
 * everything is borrowed for the duration of the call. */
typedef struct {
    const char *conn; /* the sender's connection id */
    const char *user; /* its user, NULL when anonymous */
    const char *type;
    const char *room;
    const char *to;
    int64_t id; /* 0 when the request asked for no answer */
    bool echo;
    mp_t payload; /* msgpack; a nil value when the client sent none */
} rt_msg_t;

typedef void (*rt_handler_fn)(router_t *r, const rt_msg_t *m, void *arg);
/* Middleware ('*' hook): runs for every message before dispatch, in the order added.
 * Return true to continue, false to stop (the middleware then answers, if it wants to). */
typedef bool (*rt_middleware_fn)(router_t *r, const rt_msg_t *m, void *arg);

/* Fills opts with the defaults of the contract. */
void router_opts_default(router_opts_t *opts);

/* Builds a router bound to the configured endpoints, with the built-ins registered.
 * Returns NULL (and logs why) on failure. Caller owns; opts is copied. */
router_t *router_new(const router_opts_t *opts);
/* The same from rt-router's flags and RT_* environment (so a custom router takes every flag of
 * rt-router). Returns NULL with *exit_code set: 0 after --help, 2 for a bad flag (one line on
 * stderr names it), 1 when the router cannot start. Caller owns. */
router_t *router_from_args(int argc, char **argv, const char *prog, const char *summary,
                           int *exit_code);
void router_destroy(router_t **self_p);

/* Runs the event loop until SIGINT/SIGTERM or router_stop. Returns 0. (router_new installs the
 * SIGINT/SIGTERM handlers, before binding, so that a signal during start-up is not lost.) */
int router_run(router_t *r);
void router_stop(router_t *r);
/* One turn of the loop, for programs with their own loop and for tests: waits up to
 * timeout_ms for gateway traffic, handles what arrived, runs due timers (gateway timeouts).
 * Returns the number of ingress messages handled. Installs no signal handlers. */
int router_poll(router_t *r, int timeout_ms);

/* Registers fn for `pattern`: an exact type, or a prefix ending in '*' ("chat:*").
 * Exact patterns win over prefixes, longer prefixes over shorter; a later registration of the
 * same pattern replaces the earlier one. Returns 0 or -1. */
int router_on(router_t *r, const char *pattern, rt_handler_fn fn, void *arg);
/* The same for a handler that comes before the services' patterns and whose messages are not
 * observed as messages (the built-ins: room:join, room:leave, presence:list, ping). */
int router_on_first(router_t *r, const char *pattern, rt_handler_fn fn, void *arg);
int router_use(router_t *r, rt_middleware_fn fn, void *arg);

/* Answers m: an ack carrying result (absent: {}), or an error. An ack does nothing when m has
 * no id; an error is sent without id then (the contract's "`id` present when the request had
 * one"). Each request is answered at most once: later answers to the message being dispatched
 * are ignored. A handler that returns without answering a request with id gets `{}` acked. */
void router_ack(router_t *r, const rt_msg_t *m, mp_t result);
void router_error(router_t *r, const rt_msg_t *m, rt_err_t code, const char *message);

/* Answers request `id` of connection conn outside of its dispatch (a service answered it):
 * code RT_OK acks with result (absent: {}) when id is non-zero; any other code sends the
 * error (also without id). RT_E_PEER_NOT_FOUND when conn is gone, else RT_OK. */
rt_err_t router_reply(router_t *r, const char *conn, int64_t id, rt_err_t code, const char *message,
                      mp_t result);

/* The default route for m (room broadcast / direct `to`), answering m itself. */
void router_default_route(router_t *r, const rt_msg_t *m);

/* Actions, usable from handlers and services. They return RT_OK or the contract's error. */
rt_err_t router_join(router_t *r, const char *conn, const char *room, mp_t meta);
rt_err_t router_leave(router_t *r, const char *conn, const char *room);
/* Every member of room except `except` (NULL: nobody) gets {type, room, from?, payload}. */
rt_err_t router_publish(router_t *r, const char *room, const char *type, const char *from,
                        mp_t payload, const char *except);
/* One connection gets {type, room?, from?, payload}. */
rt_err_t router_send(router_t *r, const char *to, const char *type, const char *room,
                     const char *from, mp_t payload);
rt_err_t router_disconnect(router_t *r, const char *conn, int code, const char *reason);
/* Appends {room, members:[{id,user,meta},...]} (join order as applied on this node; members
 * of other nodes included, docs/mesh.md) to w. */
rt_err_t router_presence(router_t *r, const char *room, mpw_t *w);
/* Appends [{room, members:N},...] (every room with members) to w. */
rt_err_t router_rooms(router_t *r, mpw_t *w);
bool router_is_member(router_t *r, const char *conn, const char *room);
bool router_conn_exists(router_t *r, const char *conn);
const char *router_node_id(const router_t *r);
/* The node that owns conn: another node's id for its connections, else ours. */
const char *router_conn_node(const router_t *r, const char *conn);
/* A join (meta) or leave of conn, a connection of another node, asked of its owner node with
 * token; the owner answers through the mesh and api_remote_done() gets the result. */
rt_err_t router_member_op_remote(router_t *r, bool join, const char *conn, const char *room,
                                 mp_t meta, const char *token);

/* What a part of the router that is not the kernel (the events PUB, a user's extension) may
 * follow. Each hook is optional (NULL) and sees the change after the kernel has made it and
 * told the members; strings are borrowed for the call. Connections and memberships are this
 * node's only: those of other nodes are replicas, announced by their owners. */
typedef struct {
    /* a connection registered; `fresh` unless it was known already (re-attached, moved) */
    void (*conn_open)(void *arg, const char *conn, const char *user, bool fresh);
    void (*conn_close)(void *arg, const char *conn, const char *user);
    void (*join)(void *arg, const char *room, const char *conn, const char *user, mp_t meta);
    void (*leave)(void *arg, const char *room, const char *conn, const char *user);
    /* a client message dispatched without an error (built-ins excepted: join and leave cover
     * them), also one a service answered */
    void (*message)(void *arg, const rt_msg_t *m);
    /* another node of the mesh came up or went down */
    void (*peer)(void *arg, const char *node, bool up);
} router_observer_t;

/* Adds an observer (ops is copied; arg is passed to every hook). Observers are called in the
 * order added. Returns 0, or -1 when the table is full. */
int router_observe(router_t *r, const router_observer_t *ops, void *arg);
/* A client message that a service handled without an error: the observers' `message`. */
void router_notify_message(router_t *r, const rt_msg_t *m);

/* Counters (the service API's `stats` and the logs). */
typedef struct {
    uint64_t bad_frames;      /* malformed ingress frames, dropped */
    uint64_t unknown_gateway; /* messages from gateways this router does not know */
    uint64_t msgs_in;         /* client messages */
    uint64_t msgs_out;        /* frames for clients (events, acks, errors) sent to gateways */
    uint64_t pub_dropped;     /* sends that failed (HWM) */
    uint64_t api_bad_frames;  /* malformed frames on the service API, dropped */
    size_t conns, rooms, gateways, services;
    size_t mesh_peers;                    /* other nodes up */
    uint64_t events_sent, events_dropped; /* on the events PUB */
} router_stats_t;
void router_stats(router_t *r, router_stats_t *out);

#endif
