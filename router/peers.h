/* The mesh peer table (docs/mesh.md): for every other node heard on the mesh control stream,
 * its epoch (random per start), the next sequence number expected from it, whether our copy
 * of its state is in sync, whether it has been reported up, and when it was last heard.
 * Pure data: no sockets, no clock of its own (unit-tested in tests/unit/router/test_peers.c). */
#ifndef RT_PEERS_H
#define RT_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERS_RESYNC_EVERY_MS 1000 /* at most one resync request per peer per second */

typedef struct peers peers_t;

typedef enum {
    PEERS_APPLY = 0, /* in sequence (or a snapshot): apply it */
    PEERS_IGNORE,    /* a duplicate, or out of sync and a resync was asked for recently */
    PEERS_RESYNC     /* out of sync (new peer, new epoch, gap): ask the peer for a snapshot now */
} peers_verdict_t;

/* Caller owns; NULL on OOM. */
peers_t *peers_new(void);
void peers_destroy(peers_t **self_p);

/* A control message from node (epoch, sequence seq; snap: it is a full snapshot) at now_ms.
 * Any message counts as a sign of life. A snapshot always applies and puts the peer in sync;
 * a delta applies only in sync and when seq is the next one expected. A gap, a new epoch or
 * an unknown node loses sync. */
peers_verdict_t peers_seen(peers_t *self, const char *node, const char *epoch, uint64_t seq,
                           bool snap, int64_t now_ms);

bool peers_synced(peers_t *self, const char *node);
/* Marks node reported up; returns true when it was not (the caller announces mesh:peer_up). */
bool peers_set_up(peers_t *self, const char *node);
bool peers_up(peers_t *self, const char *node);

/* A peer silent since before now_ms - timeout_ms, or NULL. Borrowed until the next change. */
const char *peers_expired(peers_t *self, int64_t now_ms, int64_t timeout_ms);
/* Forgets node (heard again, it is a new peer that must resync). 0, or -1 when unknown. */
int peers_drop(peers_t *self, const char *node);

/* Replaces the patterns that node's live services handle (copied); they are also remembered
 * as service-owned (peers_pattern_known) until this table is destroyed. 0, or -1 (unknown
 * node, OOM). */
int peers_set_services(peers_t *self, const char *node, const char *const *patterns, size_t n);
/* A peer that is up with a live service for type: the best match over all peers (an exact
 * pattern first, else the longest prefix pattern, "chat:*"), round-robin over the peers that
 * tie; NULL when none. */
const char *peers_service_node(peers_t *self, const char *type);
/* Whether some peer has ever had a live service whose pattern matches type (the type stays
 * service-owned cluster-wide: `unavailable` rather than the default route while none is live). */
bool peers_pattern_known(peers_t *self, const char *type);

size_t peers_count(peers_t *self);    /* peers known */
size_t peers_count_up(peers_t *self); /* peers reported up */

#endif
