/* The gateway table: every gateway this router serves, with its ZeroMQ routing id on the
 * ingress socket and when it was last heard from; and tombstones for the gateways it dropped
 * (heartbeat timeout), so that a dropped gateway that comes back re-registers its members
 * with presence events while gateways re-attaching after a router restart do so silently. */
#ifndef RT_GATEWAYS_H
#define RT_GATEWAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gateways gateways_t;

/* Caller owns; NULL on OOM. */
gateways_t *gateways_new(void);
void gateways_destroy(gateways_t **self_p);

/* A hello from gateway id over routing id rid[0..rlen): records it (or refreshes its routing
 * id) as heard at now_ms. A gateway that was tombstoned comes back "loud" (its attach adds
 * members with presence events) and loses its tombstone. Returns 0 or -1 (OOM). */
int gateways_hello(gateways_t *self, const char *id, const void *rid, size_t rlen, int64_t now_ms);
bool gateways_known(gateways_t *self, const char *id);
/* Marks id as heard at now_ms; -1 when unknown. */
int gateways_touch(gateways_t *self, const char *id, int64_t now_ms);
/* True when id was dropped by this router before its latest hello (attach is then loud). */
bool gateways_loud(gateways_t *self, const char *id);
bool gateways_tombstoned(gateways_t *self, const char *id);
size_t gateways_count(gateways_t *self);

/* The id of a gateway silent since before now_ms - timeout_ms, or NULL. Borrowed until the
 * next change of the table. */
const char *gateways_expired(gateways_t *self, int64_t now_ms, int64_t timeout_ms);
/* Forgets gateway id and tombstones it. Returns 0, or -1 when unknown. */
int gateways_drop(gateways_t *self, const char *id);

#endif
