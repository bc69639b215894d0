/* Small ZeroMQ helpers shared by the processes: sockets with the project's options, and
 * one-frame / two-frame msgpack sends and receives with the frame-size limit applied. */
#ifndef RT_ZMQIO_H
#define RT_ZMQIO_H

#include <czmq.h>
#include <stdbool.h>
#include "envelope.h"

/* A socket of zmq type `type` (ZMQ_PUB, ZMQ_ROUTER, ...) bound (bind = true) or connected to
 * each endpoint of a comma-separated list. linger 0, send/receive HWM `hwm` (0 = library default),
 * ZMQ_ROUTER_HANDOVER on ROUTER sockets, ZMQ_MAXMSGSIZE just above MP_MAX_FRAME (a peer
 * sending more is disconnected). Returns NULL (and logs why) on failure. Caller owns. */
zsock_t *zmqio_socket(int type, const char *endpoints, bool bind, int hwm);

/* The same with CurveZMQ when `cert` (a key pair) is not NULL: a bound socket is a CURVE
 * server with it (a zauth actor must then hold the allow list: without one any client key is
 * accepted); a connected one is a CURVE client with it and `server_key` (Z85, 40 chars). */
zsock_t *zmqio_socket_curve(int type, const char *endpoints, bool bind, int hwm, zcert_t *cert,
                            const char *server_key);

/* True when every endpoint of a comma-separated list stays on this host: ipc://, inproc://,
 * or tcp:// on 127.x.x.x, localhost or [::1]. */
bool zmqio_local_only(const char *endpoints);

/* Sends one frame (more = false) or a frame followed by others (more = true), non-blocking.
 * Returns 0, or -1 when the socket would block or failed (counted by the caller). */
int zmqio_send(zsock_t *sock, const void *data, size_t len, bool more);

/* Sends a msgpack view as the last frame. */
static inline int zmqio_send_mp(zsock_t *sock, mp_t v, bool more) { return zmqio_send(sock, v.p, v.n, more); }

/* Receives one whole message (every frame) without blocking. Returns NULL when nothing is
 * waiting. Caller owns the zmsg_t. */
zmsg_t *zmqio_recv(zsock_t *sock);

/* Validates frame `f` as one msgpack value within MP_MAX_FRAME / MP_MAX_DEPTH; 0 or -1. */
int zmqio_frame_mp(zframe_t *f, mp_t *out);

/* The endpoint that a peer connects to, from a bound endpoint and the host the peer used to
 * reach us: a bound wildcard host (star, 0.0.0.0 or [::]) on port 5556 seen through
 * "tcp://10.0.0.5:5555" -> "tcp://10.0.0.5:5556". Concrete hosts and ipc:// / inproc://
 * endpoints are copied unchanged. Writes into out; returns 0 or -1 (does not fit, or a
 * wildcard endpoint with a non-tcp `via`). */
int zmqio_peer_endpoint(const char *bound, const char *via, char *out, size_t outlen);

#endif
