/* The mesh transport (docs/mesh.md): a PUB bound at --mesh-bind and a
 * SUB connected to every --mesh-peers entry. Topics (each ends in '|', a character that no
 * node id or room name may contain, so that ZeroMQ's prefix match is an exact match):
 *   "c"            the control stream: presence deltas, snapshots, heartbeats, resync
 *                  requests; every message carries the sender's node `n`, epoch `ep` and its
 *                  per-node sequence number `s`; every node subscribes to it
 *   "r:ROOM|"      room events; a node subscribes while it has local members in ROOM
 *   "n:NODE|"      messages for one node (send, kick, join, leave); each node its own
 * The state (remote members, sequence tracking) lives in the router and peers.h; this module
 * only moves bytes. */
#ifndef RT_MESH_H
#define RT_MESH_H

#include "envelope.h"
#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define MESH_HWM 100000
/* A snapshot goes out in parts of about this size (frames are capped at 4 MiB). */
#define MESH_SNAP_PART_BYTES (1024 * 1024)
#define MESH_HEARTBEAT_MS 1000
#define RT_TOPIC_MAX 160 /* "r:" + a room of at most 128 chars + "|" */

typedef struct mesh mesh_t;

/* Binds the PUB on bind, connects the SUB to every entry of peers (comma-separated; an entry
 * equal to bind is skipped). node and epoch are copied. NULL (logged) on failure. Caller owns. */
/* With `curve` (a key pair) the PUB is a CurveZMQ server and the SUB a CurveZMQ client with
 * that key pair; a peer entry "tcp://HOST:PORT#Z85KEY" names that peer's server key, without
 * it the node's own public key is used. */
mesh_t *mesh_new(const char *bind, const char *peers, const char *node, const char *epoch,
                 zcert_t *curve);
void mesh_destroy(mesh_t **self_p);

zsock_t *mesh_socket(mesh_t *self); /* the SUB, to poll */

/* A control message: returns the writer with a map of pairs + 4 entries started and
 * t, n, ep, s written; the caller writes its `pairs` entries, then calls mesh_ctl_send. */
mpw_t *mesh_ctl(mesh_t *self, const char *t, uint32_t pairs);
void mesh_ctl_send(mesh_t *self);

/* body on "r:ROOM|" / "n:NODE|". */
void mesh_pub_room(mesh_t *self, const char *room, mp_t body);
/* Bytes after which a snapshot part is cut: MESH_SNAP_PART_BYTES, or the test-only
 * environment RTTEST_MESH_SNAP_PART. */
size_t mesh_snap_part(const mesh_t *self);
/* How many peers we connected to (the --mesh-peers entries but our own). */
size_t mesh_npeers(const mesh_t *self);
void mesh_pub_node(mesh_t *self, const char *node, mp_t body);

/* Subscribes to (on) or unsubscribes from the events of room; idempotent. */
void mesh_room_sub(mesh_t *self, const char *room, bool on);

uint64_t mesh_dropped(const mesh_t *self); /* sends refused at the high-water mark */

#endif
