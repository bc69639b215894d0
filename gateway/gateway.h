/* The gateway core: local connections, their frame queues and room memberships, client
 * frame handling, fan-out of router `out` messages, heartbeats, metrics. It knows neither
 * lws nor ZeroMQ: the WebSocket module (ws.c) drives it and it drives the router link
 * (link.c). Connections are handed to the WebSocket module as an opaque `wsi` handle. */
#ifndef RT_GW_GATEWAY_H
#define RT_GW_GATEWAY_H

#include "buf.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gateway gateway_t;
typedef struct gw_conn gw_conn_t;

typedef struct {
    const char *router; /* comma-separated ingress endpoints, first is primary */
    long max_depth;     /* payload nesting */
    long rate_limit, rate_burst;
    long max_queue;  /* bytes of unsent frames per connection */
    long heartbeat;  /* seconds */
    size_t headroom; /* bytes the WebSocket layer needs in front of every frame */
} gateway_config_t;

/* Returns NULL on failure. Caller owns. */
gateway_t *gateway_new(const gateway_config_t *cfg);
void gateway_destroy(gateway_t **self_p);

/* The router link's pollable fds (edge-triggered ZMQ_FD; dup before handing to a loop). */
void gateway_link_fds(gateway_t *self, int *ingress, int *fanout);
/* A link fd is readable (or the `later` hook fired): reads router messages until none is
 * left or client queues need writing first. */
void gateway_link_readable(gateway_t *self);
/* The event loop's hook for "call gateway_link_readable again soon" (back-pressure). */
void gateway_set_later(gateway_t *self, void (*later)(void *arg), void *arg);
/* Runs the link timers; returns the ms until the next call. */
int64_t gateway_tick(gateway_t *self);
/* Every heartbeat seconds: pings every connection, closes the silent ones (4009). */
void gateway_heartbeat(gateway_t *self);
/* Closes every connection with 1001 and refuses new ones. */
void gateway_shutdown(gateway_t *self);
size_t gateway_conn_count(const gateway_t *self);

/* GET /healthz: writes the body, returns the HTTP status (200 / 503). */
int gateway_health(gateway_t *self, buf_t *body);
/* GET /metrics: Prometheus text. */
void gateway_metrics(gateway_t *self, buf_t *body);

/* A WebSocket connection was established. Returns NULL to refuse it. */
gw_conn_t *gateway_conn_open(gateway_t *self, void *wsi);
/* The connection is gone (any reason): frees it and NULLs *c_p. */
void gateway_conn_closed(gw_conn_t **c_p);
/* One complete text message from the client (valid UTF-8, within --max-message). */
void gateway_conn_text(gw_conn_t *c, const char *text, size_t len);
/* The client showed life (a pong). */
void gateway_conn_alive(gw_conn_t *c);

typedef enum { GW_WRITE_NONE = 0, GW_WRITE_FRAME, GW_WRITE_PING, GW_WRITE_CLOSE } gw_write_kind_t;

typedef struct {
    gw_write_kind_t kind;
    uint8_t *data; /* FRAME: text with headroom in front (borrowed until written) */
    size_t len;
    int code;           /* CLOSE */
    const char *reason; /* CLOSE */
    bool more;          /* more to write after this one */
} gw_write_t;

/* What to write next on a writable connection (one write per writable callback). */
void gateway_conn_writable(gw_conn_t *c, gw_write_t *w);
/* The FRAME returned by gateway_conn_writable was written. */
void gateway_conn_written(gw_conn_t *c);
/* For coalescing several queued frames into one write: the i-th queued frame (0 = the one
 * gateway_conn_writable returned); false past the end. Then gateway_conn_written_n. */
bool gateway_conn_frame(gw_conn_t *c, uint32_t i, uint8_t **data, size_t *len);
void gateway_conn_written_n(gw_conn_t *c, uint32_t n);

#endif
