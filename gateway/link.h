/* The gateway's link to its router (docs/internals.md): an ingress DEALER and a fan-out SUB,
 * and the state machine hello -> sync -> attach -> up, with heartbeats, restart detection
 * (epoch) and fail-over over a list of router endpoints (first is primary).
 *
 * Single-threaded: the owner calls link_pump() when either socket's fd is readable and
 * link_tick() when the delay it returned has passed. Both sockets keep their fds for the
 * link's lifetime, so they are registered with the event loop once. */
#ifndef RT_GW_LINK_H
#define RT_GW_LINK_H

#include "envelope.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct link link_t;

typedef enum { LINK_DOWN = 0, LINK_SYNCING, LINK_UP } link_state_t;

typedef struct {
    /* synced: send the attach chunks now with link_send (the link is not yet up). */
    void (*attach)(void *ctx);
    /* the link is up (after attach) / went down. */
    void (*up)(void *ctx);
    void (*down)(void *ctx);
    /* a fan-out message for this gateway other than synced/hb/unknown (out, joined, left,
     * kick); msg is a validated map, t its kind. Borrowed for the call. */
    void (*message)(void *ctx, const char *t, mp_t msg);
    /* Back-pressure: asked before each fan-out message; true stops draining (the clients'
     * queues should be written first), and then `later` is called: the owner must call
     * link_pump again soon (the edge-triggered fd will not signal what is already queued). */
    bool (*busy)(void *ctx);
    void (*later)(void *ctx);
} link_events_t;

/* endpoints: comma-separated router ingress endpoints. Returns NULL on failure. Caller owns. */
link_t *link_new(const char *endpoints, const char *gwid, const link_events_t *ev, void *ctx);
void link_destroy(link_t **self_p);

/* The pollable fds of the two sockets (ZMQ_FD: edge-triggered, owned by ZeroMQ: dup them). */
int link_fd_ingress(link_t *self);
int link_fd_fanout(link_t *self);

/* Runs the timers (hello, sync, hb, timeouts); returns the ms until the next call is due. */
int64_t link_tick(link_t *self, int64_t now_ms);
/* Drains both sockets until neither has input (required after every send, see zmq ZMQ_FD). */
void link_pump(link_t *self);
/* Sends one envelope on the ingress socket; 0, or -1 when it could not be queued. */
int link_send(link_t *self, mp_t msg);

link_state_t link_state(const link_t *self);
/* The router's node id (valid once up), and a short description of the state for /healthz. */
const char *link_node(const link_t *self);
const char *link_status(const link_t *self);
/* During attach: whether the last attach was to another router endpoint (a fail-over, not a
 * restart of the same router): the router then announces memberships it did not know. */
bool link_moved(const link_t *self);
/* How many attaches this link has made (1 on the first): sent as `g` with attach and open, so
 * that in a mesh the node our connections moved to wins over a stale claim of the old one. */
uint64_t link_generation(const link_t *self);

#endif
