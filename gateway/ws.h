/* The WebSocket and HTTP edge on libwebsockets: the one module that uses lws. It runs the
 * single-threaded event loop (WebSocket clients, /healthz, /metrics, static files, the
 * router link's ZeroMQ fds, timers, SIGTERM/SIGINT) and drives the gateway core. */
#ifndef RT_GW_WS_H
#define RT_GW_WS_H

#include "gateway.h"
#include <stddef.h>

typedef struct ws ws_t;

typedef struct {
    const char *listen;     /* host:port or :port */
    const char *path;       /* WebSocket path, e.g. /realtime */
    const char *static_dir; /* NULL = no static files */
    long max_message;       /* bytes per client message (1009 above) */
    long heartbeat;         /* seconds between pings */
} ws_config_t;

/* Bytes of headroom every outgoing frame needs in front of its text (LWS_PRE). */
size_t ws_headroom(void);

/* Creates the lws context and listens. Returns NULL on failure (logged). Caller owns;
 * gw is borrowed and must outlive the ws_t. */
ws_t *ws_new(const ws_config_t *cfg, gateway_t *gw);
/* Runs until SIGTERM/SIGINT, then closes every client with 1001 and returns 0. */
int ws_run(ws_t *self);
void ws_destroy(ws_t **self_p);

/* For the gateway core, on a connection handle it got in gateway_conn_open: */
/* ask for a writable callback */
void ws_conn_wake(void *wsi);
/* the core marked the connection closing: get it written (or dropped after a grace time) */
void ws_conn_close(void *wsi);

#endif
