/* rt-signaling: the WebRTC signaling service (webrtc:*, docs/signaling.md) on the service
 * library. It keeps no membership of its own: every decision asks the router (join and
 * presence ops), so several instances can serve one router side by side (the router
 * round-robins handle messages over them). Per-connection rate limits are per instance.
 *
 * Choices where the contract is silent:
 * - Relay checks: one `presence` op per message (after a `join` op with --auto-join-rooms);
 *   the sender must be listed (`not_in_room`), then `to` (`peer_not_found`); the relay itself
 *   is a `send` action {to, type, payload, room, from} on the `handled` answer, acked `{}`.
 * - Order of checks: unknown webrtc: type (`unknown_type`), rate limit (`rate_limited`, every
 *   webrtc:* message counts), room / to / payload (`bad_request`), then membership.
 * - webrtc:join: a `join` op (its payload, unless null, is the member meta, checked by the
 *   router as room:join's), then the ack from the members that op returns (or a `presence` op
 *   when it returns none). Errors of those ops (limit, bad_request, ...) pass through; no
 *   answer within --api-timeout is `timeout`.
 * - Polite rule: a connection is polite towards a peer iff its id sorts after the peer's
 *   (strcmp > 0); both sides compute it from their own ack.
 * - iceServers: one entry {urls:[stun...]} when --stun is set, one {urls:[turn...], username,
 *   credential} when --turn-uri is set (credentials per joining connection, EXPIRY = now +
 *   --turn-ttl). */
#ifndef RT_SIGNALING_H
#define RT_SIGNALING_H

#include "envelope.h"
#include "options.h"
#include <stdint.h>

typedef struct signaling signaling_t;

/* Connects to opts->router_api and registers `webrtc:*`. Copies what it needs from opts.
 * Returns NULL on failure (logged). Caller owns: signaling_destroy. */
signaling_t *signaling_new(const sig_opts_t *opts);
void signaling_destroy(signaling_t **self_p);
/* Serves until SIGINT/SIGTERM; returns 0. */
int signaling_run(signaling_t *sig);
/* One svc_poll round (for tests and embedding); see svc_poll. */
int signaling_poll(signaling_t *sig, int timeout_ms);

/* Writes the webrtc:join ack {room, peers, iceServers, polite} for connection `self` given the
 * router's presence `members` ([{id,user,meta}], self included or not) at time now_s (seconds
 * since the epoch, for TURN expiry). */
void signaling_join_ack(const signaling_t *sig, mpw_t *w, const char *room, const char *self,
                        mp_t members, int64_t now_s);

/* The per-connection token bucket: true when `conn` may send one more message at now_ms. */
bool signaling_rate_ok(signaling_t *sig, const char *conn, int64_t now_ms);

#endif
