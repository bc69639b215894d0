/* Client requests this node handed to a service on another node (docs/mesh.md, "Services
 * across nodes"). Each request must get exactly one answer even when the service's node dies
 * or its answer is lost, so the client's node keeps every forwarded request (conn, id) until
 * its answer passes by, and answers itself when the node goes down (`unavailable`) or the
 * deadline passes (`timeout`). Requests it answered itself are remembered a while longer as
 * tombstones, so a late answer from a node that was only paused is not delivered twice.
 * Pure data: no sockets, no clock of its own (unit-tested in tests/unit/router/test_forwards.c). */
#ifndef RT_FORWARDS_H
#define RT_FORWARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct forwards forwards_t;

/* Called for a request the caller must now answer itself. */
typedef void (*forwards_fn)(const char *conn, int64_t id, void *arg);

/* Requests live for timeout_ms, tombstones for tombstone_ms. Caller owns; NULL on OOM. */
forwards_t *forwards_new(int64_t timeout_ms, int64_t tombstone_ms);
void forwards_destroy(forwards_t **self_p);

/* Request id of conn was forwarded to node at now_ms. A request already awaited under the
 * same (conn, id) is left as it is (a client reusing ids gets whatever answers come).
 * 0, or -1 on OOM. */
int forwards_add(forwards_t *self, const char *conn, int64_t id, const char *node, int64_t now_ms);

/* An answer (ack or error) for (conn, id) came from the mesh. Returns false when it must be
 * dropped: we answered that request ourselves already. Otherwise true (awaited, now done; or
 * never forwarded by us). */
bool forwards_answered(forwards_t *self, const char *conn, int64_t id);

/* Every request awaited from node (it went down at now_ms): fn, then a tombstone. Returns
 * how many. */
size_t forwards_fail_node(forwards_t *self, const char *node, int64_t now_ms, forwards_fn fn,
                          void *arg);

/* Every request past its deadline at now_ms: fn, then a tombstone; old tombstones go.
 * Returns how many requests timed out. */
size_t forwards_expire(forwards_t *self, int64_t now_ms, forwards_fn fn, void *arg);

size_t forwards_awaited(forwards_t *self); /* requests awaiting an answer */

#endif
