/* The service API (docs/services.md): a ROUTER that services connect DEALERs to. It answers the
 * ops (publish, send, join, leave, disconnect, presence, rooms, stats, register, heartbeat),
 * keeps the service registry, hands client messages of service-owned types to one live
 * service (round-robin) and turns its `handled` into the client's answer.
 *
 * Choices where the contract is silent:
 * - `register` adds patterns to the DEALER's registration (several calls accumulate).
 * - When a service is dropped (3 s without any message from it), its pending requests are
 *   answered `unavailable` at once rather than waiting for their timeout.
 * - `actions` of a `handled` run in order also when it carries an `error`; the client's
 *   answer comes after them. A failing action is logged and skipped.
 * - A `heartbeat` with `req` gets both the heartbeat answer and the reply. */
#ifndef RT_API_H
#define RT_API_H

#include "router.h"
#include "services.h"
#include <czmq.h>

#define API_SERVICE_TIMEOUT_MS 3000   /* silence that drops a registration */
#define API_REMOTE_OP_TIMEOUT_MS 5000 /* a join / leave on another node's connection */

typedef struct api api_t;

/* Binds the ROUTER on endpoint. r is the router the ops act on (a message a service handled
 * reaches its observers through router_notify_message); service_timeout_ms bounds how long a
 * client waits for a service's answer. NULL (logged) on failure. Caller owns. */
api_t *api_new(router_t *r, const char *endpoint, int64_t service_timeout_ms, zcert_t *curve);
void api_destroy(api_t **self_p);

/* The socket to poll for input. */
zsock_t *api_socket(api_t *self);
/* Handles up to max waiting API messages; returns how many. */
int api_handle(api_t *self, int max);
/* Timers: drops silent registrations (their pending requests get `unavailable`), answers
 * requests whose service took too long with `timeout`. */
void api_tick(api_t *self, int64_t now_ms);

/* Client message m: false when no service pattern owns its type (the caller goes on with
 * the C handlers / default route). true when one does: *err is RT_OK when m went to a service
 * (the answer follows from api_handle / api_tick), else the error to answer m with now. */
bool api_route(api_t *self, const rt_msg_t *m, rt_err_t *err);

/* Calls fn(pattern, arg) for every pattern a live local service handles (the mesh tells the
 * other nodes, docs/mesh.md). */
void api_each_live_pattern(api_t *self, void (*fn)(const char *pattern, void *arg), void *arg);

/* The owner node of a connection did the join / leave of request token (code: its result). */
void api_remote_done(api_t *self, const char *token, rt_err_t code, const char *message);
/* Node went down: its pending joins / leaves get `unavailable`. */
void api_remote_node_down(api_t *self, const char *node);

size_t api_services(api_t *self);     /* live registrations */
uint64_t api_bad_frames(api_t *self); /* malformed frames on the API socket */
size_t api_pending(api_t *self);      /* client messages waiting for a service */

#endif
