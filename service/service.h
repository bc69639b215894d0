/* The service library: a client of the router's service API (docs/services.md) so that a
 * service is a few lines of C.
 *
 *     svc_t *svc = svc_new("tcp://127.0.0.1:5557", "chat-bot");
 *     svc_on(svc, "chat:*", on_chat, NULL);          // registers the pattern with the router
 *     svc_run(svc);                                  // until SIGINT/SIGTERM
 *     svc_destroy(&svc);
 *
 *     static void on_chat(svc_request_t *req, void *arg) {
 *         svc_action_publish(req, req->room, "chat:said", req->payload, NULL, req->from);
 *         svc_reply(req, MP_NONE);                   // the client's ack: {}
 *     }
 *
 * A handler answers its request exactly once, with svc_reply or svc_error, either before it
 * returns or later (e.g. from the callback of its own svc_presence call): the request stays
 * alive until it is answered (or until svc_destroy). Actions added with svc_action_* travel
 * with that answer and the router executes them in order.
 *
 * Standalone operations (svc_publish, svc_presence, svc_call, ...) are asynchronous: the
 * callback runs from svc_poll with the router's reply, or with a local `timeout` error when
 * no reply came within the request timeout (default 5000 ms).
 *
 * Liveness: while patterns are registered the library sends a heartbeat every 500 ms, registers
 * again when the router answers registered:false (router restart) and, after 3 s without
 * anything from the router, replaces its DEALER socket (reconnect) and registers again.
 *
 * Single-threaded: call everything from the thread that runs svc_poll. */
#ifndef RT_SERVICE_H
#define RT_SERVICE_H

#include "envelope.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct svc svc_t;

/* One client message handed to the service ({op:"handle"}). Fields are NUL-terminated copies
 * owned by the request (NULL when absent); payload is an owned copy (nil when absent). */
typedef struct svc_request {
    const char *type, *room, *from, *user, *to, *node, *token;
    bool has_id; /* the client asked for an ack (`id`) */
    int64_t id;
    mp_t payload;
    svc_t *svc;
} svc_request_t;

/* Handles one request; must see to it that svc_reply or svc_error is called once. */
typedef void(svc_handler_fn)(svc_request_t *req, void *arg);

/* The outcome of a standalone operation. Views are valid during the callback only. */
typedef struct {
    bool ok;
    mp_t result;         /* ok: the router's `result` (MP_NONE when absent) */
    const char *code;    /* !ok: error code ("peer_not_found", "timeout", ...) */
    const char *message; /* !ok: error message */
    bool local;          /* !ok: produced here (no answer in time), not by the router */
} svc_result_t;

typedef void(svc_result_fn)(svc_t *svc, const svc_result_t *res, void *arg);

/* A service connected (DEALER) to the router's API endpoint; `name` is used in `register`.
 * Returns NULL on failure. Caller owns: svc_destroy. */
svc_t *svc_new(const char *api_endpoint, const char *name);
/* Frees everything, unanswered requests included (their clients then get the router's timeout);
 * pending callbacks are not called. Safe twice, NULLs *self_p. Requests a handler never answers
 * live until here: there is no expiry (the handler may still hold them). */
void svc_destroy(svc_t **self_p);

/* Timeout of standalone operations in ms (default 5000). */
void svc_set_timeout(svc_t *svc, int ms);

/* CurveZMQ towards a router started with --curve-secret-key: the client key pair from
 * `cert_file` (a zcert secret certificate, FILE or FILE_secret; its public certificate must be
 * in the router's --curve-allow directory) and the router's public key `server_key` (Z85,
 * 40 characters; NULL: the client's own public key, when router and client share one pair).
 * Reconnects the API socket (and applies to the events socket of svc_subscribe). Call it
 * before registering anything. 0, or -1 (logged) when the certificate cannot be loaded or
 * the key is not 40 characters. */
int svc_set_curve(svc_t *svc, const char *cert_file, const char *server_key);

/* Handle client messages whose type matches `pattern` (exact, or a prefix ending in '*').
 * The most specific pattern wins (exact, then the longest prefix). Sends `register` with every
 * pattern so far. Returns 0, or -1 on a bad pattern / no memory. A registration the router
 * refuses (e.g. `forbidden` for a reserved namespace) is logged and not retried. */
int svc_on(svc_t *svc, const char *pattern, svc_handler_fn *handler, void *arg);
/* True once the router has accepted the latest registration. */
bool svc_registered(const svc_t *svc);

/* ---- answering a request (each consumes and frees req) ---- */
/* ok: `result` (MP_NONE = {}) becomes the client's ack payload. Returns 0 or -1 (not sent). */
int svc_reply(svc_request_t *req, mp_t result);
/* error: `code` is a contract error code (rt_err_code()). Returns 0 or -1. */
int svc_error(svc_request_t *req, const char *code, const char *message);
/* Forget a request without answering (the client gets the router's timeout). */
void svc_drop(svc_request_t *req);

/* ---- actions attached to the answer; NULL strings and MP_NONE values are left out ---- */
void svc_action_publish(svc_request_t *req, const char *room, const char *type, mp_t payload,
                        const char *except, const char *from);
void svc_action_send(svc_request_t *req, const char *to, const char *type, mp_t payload,
                     const char *room, const char *from);
void svc_action_join(svc_request_t *req, const char *conn, const char *room, mp_t meta);
void svc_action_leave(svc_request_t *req, const char *conn, const char *room);
/* code 0 = the router's default (1000); reason may be NULL. */
void svc_action_disconnect(svc_request_t *req, const char *conn, int code, const char *reason);

/* ---- standalone operations: 0 when sent (cb will be called once), -1 otherwise ---- */
int svc_publish(svc_t *svc, const char *room, const char *type, mp_t payload, const char *except,
                const char *from, svc_result_fn *cb, void *arg);
int svc_send(svc_t *svc, const char *to, const char *type, mp_t payload, const char *room,
             const char *from, svc_result_fn *cb, void *arg);
int svc_join(svc_t *svc, const char *conn, const char *room, mp_t meta, svc_result_fn *cb,
             void *arg);
int svc_leave(svc_t *svc, const char *conn, const char *room, svc_result_fn *cb, void *arg);
int svc_disconnect(svc_t *svc, const char *conn, int code, const char *reason, svc_result_fn *cb,
                   void *arg);
int svc_presence(svc_t *svc, const char *room, svc_result_fn *cb, void *arg);
/* Any op: `fields` is MP_NONE or a map whose pairs are copied next to op and req. */
int svc_call(svc_t *svc, const char *op, mp_t fields, svc_result_fn *cb, void *arg);

/* ---- events (the router's PUB, docs/services.md "Events") ---- */
/* Called with the topic (the event type) and the event map {type, room?, from, ..., node, ts};
 * the views are valid during the call only. */
typedef void(svc_event_fn)(svc_t *svc, const char *topic, mp_t event, void *arg);
/* Subscribes to events whose type starts with `prefix` ("" = all, "conn:" = conn:open and
 * conn:close, ...) on the router's events endpoint (one endpoint per svc_t: a different one is
 * refused). Every matching subscription's fn is called. Events sent before the subscription
 * reached the router are not seen (ZeroMQ's slow joiner). Returns 0 or -1. */
int svc_subscribe(svc_t *svc, const char *events_endpoint, const char *prefix, svc_event_fn *fn,
                  void *arg);

/* ---- running ---- */
/* The ZMQ_FDs of the API socket and of the events socket (-1 before svc_subscribe), for an
 * outside event loop. Both are edge-triggered (ZeroMQ signals a change, not a level): when
 * either is readable, call svc_poll(svc, 0) until it returns 0, then re-read svc_fd (a
 * reconnect changes it). Such a loop must also call svc_poll at least every 500 ms for the
 * timers (heartbeats, timeouts). */
int svc_fd(const svc_t *svc);
int svc_events_fd(const svc_t *svc);
/* Waits up to timeout_ms (-1: until something happens, at most until the next timer) for
 * router messages, handles up to 1000 of them and runs the timers. Returns the number of
 * messages handled, or -1 when interrupted by a signal. */
int svc_poll(svc_t *svc, int timeout_ms);
/* svc_poll until SIGINT/SIGTERM (handlers installed here) or svc_stop. Returns 0. */
int svc_run(svc_t *svc);
/* Makes svc_run return after the current svc_poll. */
void svc_stop(svc_t *svc);

#endif
