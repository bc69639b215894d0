/* The service events PUB (docs/services.md): two frames [topic = event type][msgpack map], every
 * map carrying type, node and ts (ms since the epoch). Client messages and the lifecycle
 * events conn:open, conn:close, presence:join, presence:leave. A subscriber on "chat:" gets
 * every chat:* event, one on "" gets everything. Sends never block: at the high-water mark
 * (EVENTS_HWM per subscriber) events are dropped and counted. */
#ifndef RT_EVENTS_H
#define RT_EVENTS_H

#include "router.h"
#include <czmq.h>
#include <stdint.h>

#define EVENTS_HWM 100000

typedef struct events events_t;

/* Binds a PUB on endpoint. node is copied. NULL (logged) on failure. Caller owns. */
events_t *events_new(const char *endpoint, const char *node, zcert_t *curve);
void events_destroy(events_t **self_p);

/* Makes the events PUB an observer of r (router_observe): the router never calls it by name.
 * 0 or -1. */
int events_attach(events_t *self, router_t *r);

/* {type:"conn:open"|"conn:close", conn, user (nil when anonymous), node, ts} */
void events_conn(events_t *self, bool open, const char *conn, const char *user);
/* {type:"presence:join", room, conn, user, meta, node, ts} / presence:leave without meta */
void events_presence(events_t *self, bool join, const char *room, const char *conn,
                     const char *user, mp_t meta);
/* {type:"mesh:peer_up"|"mesh:peer_down", peer, node, ts} */
void events_mesh(events_t *self, bool up, const char *peer);
/* A client message: {type, room?, from, user?, to?, payload, node, ts} */
void events_message(events_t *self, const rt_msg_t *m);

uint64_t events_sent(const events_t *self);
uint64_t events_dropped(const events_t *self);

#endif
