/* WebSocket + HTTP edge on libwebsockets, and the process's single event loop.
 *
 * ZeroMQ sockets join the loop as dup()s of their ZMQ_FD adopted as raw files; SIGTERM and
 * SIGINT arrive through a signalfd adopted the same way; timers are lws_sul. lws 4.1.6 leaves
 * some RFC 6455 checks to us: binary frames (1003), message size across fragments (1009),
 * bad close payloads (1002); UTF-8 is checked by lws itself (VALIDATE_UTF8 -> 1007). */
#include "ws.h"

#include "ids.h"
#include "log.h"
#include <errno.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define RX_BUFFER 4096         /* lws per-connection receive buffer */
#define CLOSE_GRACE_S 3        /* a closing connection that cannot write is dropped after */
#define SHUTDOWN_GRACE_MS 3000 /* how long clients get to acknowledge 1001 */

struct ws {
    gateway_t *gw;
    ws_config_t cfg;
    char host[128];
    int port;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws_protocols protocols[2];
    struct lws_http_mount mounts[3];
    lws_sorted_usec_list_t sul_link, sul_hb, sul_stop, sul_pump;
    struct lws *raw_ingress, *raw_fanout, *raw_signal;
    int sigfd;
    int stop;
    bool shutting_down;
    int64_t shutdown_at;
    buf_t body;
};

/* Per-session data: for WebSocket sessions the core's connection and the assembly buffer
 * of a fragmented message (allocated only while one is in progress). */
typedef struct {
    gw_conn_t *conn;
    char *rx;
    size_t rxlen;
} pss_t;

size_t ws_headroom(void)
{
    return LWS_PRE;
}

void ws_conn_wake(void *wsi)
{
    lws_callback_on_writable(wsi);
}

void ws_conn_close(void *wsi)
{
    lws_callback_on_writable(wsi);
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
}

/* ---- timers ---- */

static void sul_link_cb(lws_sorted_usec_list_t *sul)
{
    ws_t *self = lws_container_of(sul, ws_t, sul_link);
    int64_t d = gateway_tick(self->gw);
    lws_sul_schedule(self->ctx, 0, &self->sul_link, sul_link_cb, (lws_usec_t)d * 1000);
}

static void sul_hb_cb(lws_sorted_usec_list_t *sul)
{
    ws_t *self = lws_container_of(sul, ws_t, sul_hb);
    gateway_heartbeat(self->gw);
    lws_sul_schedule(self->ctx, 0, &self->sul_hb, sul_hb_cb,
                     (lws_usec_t)self->cfg.heartbeat * LWS_US_PER_SEC);
}

static void sul_pump_cb(lws_sorted_usec_list_t *sul)
{
    ws_t *self = lws_container_of(sul, ws_t, sul_pump);
    gateway_link_readable(self->gw);
}

/* The core stopped reading the router to let clients be written: continue right after the
 * writes of this loop iteration. */
static void pump_later(void *arg)
{
    ws_t *self = arg;
    lws_sul_schedule(self->ctx, 0, &self->sul_pump, sul_pump_cb, 1);
}

static void sul_stop_cb(lws_sorted_usec_list_t *sul)
{
    ws_t *self = lws_container_of(sul, ws_t, sul_stop);
    if (gateway_conn_count(self->gw) == 0 ||
        ids_mono_ms() - self->shutdown_at >= SHUTDOWN_GRACE_MS) {
        self->stop = 1;
        lws_cancel_service(self->ctx);
        return;
    }
    lws_sul_schedule(self->ctx, 0, &self->sul_stop, sul_stop_cb, 50 * LWS_US_PER_MS);
}

static void start_shutdown(ws_t *self, int signo)
{
    if (self->shutting_down)
        return;
    rt_info("signal %d: closing %zu connections", signo, gateway_conn_count(self->gw));
    self->shutting_down = true;
    self->shutdown_at = ids_mono_ms();
    gateway_shutdown(self->gw);
    lws_sul_schedule(self->ctx, 0, &self->sul_stop, sul_stop_cb, 10 * LWS_US_PER_MS);
}

/* ---- HTTP ---- */

static int http_reply(struct lws *wsi, int status, const char *type, const buf_t *body)
{
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, type, body->len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    uint8_t *out = malloc(LWS_PRE + body->len + 1);
    if (!out)
        return -1;
    memcpy(out + LWS_PRE, body->data, body->len);
    int n = lws_write(wsi, out + LWS_PRE, body->len, LWS_WRITE_HTTP_FINAL);
    free(out);
    if (n < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_http(ws_t *self, struct lws *wsi)
{
    char uri[256];
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL) ? -1 : -1;
    if (strcmp(uri, "/healthz") == 0) {
        int status = gateway_health(self->gw, &self->body);
        return http_reply(wsi, status, "text/plain; charset=utf-8", &self->body);
    }
    if (strcmp(uri, "/metrics") == 0) {
        gateway_metrics(self->gw, &self->body);
        return http_reply(wsi, 200, "text/plain; version=0.0.4; charset=utf-8", &self->body);
    }
    lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
    return -1;
}

/* ---- WebSocket ---- */

/* RFC 6455 7.4: codes a peer may send. */
static bool close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int ws_close(struct lws *wsi, enum lws_close_status code, const char *reason)
{
    lws_close_reason(wsi, code, (unsigned char *)reason, strlen(reason));
    return -1;
}

static int on_receive(ws_t *self, struct lws *wsi, pss_t *pss, const char *in, size_t len)
{
    if (!pss->conn)
        return -1;
    if (lws_frame_is_binary(wsi))
        return ws_close(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                        "binary frames are not accepted");
    size_t remain = lws_remaining_packet_payload(wsi);
    size_t total = pss->rxlen + len;
    if (total + remain > (size_t)self->cfg.max_message) {
        free(pss->rx);
        pss->rx = NULL;
        pss->rxlen = 0;
        return ws_close(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
    }
    bool final = lws_is_final_fragment(wsi) && remain == 0;
    gateway_conn_alive(pss->conn);
    if (final && pss->rxlen == 0) {
        gateway_conn_text(pss->conn, in, len); /* the common case: no copy */
        return 0;
    }
    char *nrx = realloc(pss->rx, total + remain + 1);
    if (!nrx)
        return ws_close(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
    pss->rx = nrx;
    memcpy(pss->rx + pss->rxlen, in, len);
    pss->rxlen = total;
    if (final) {
        gateway_conn_text(pss->conn, pss->rx, pss->rxlen);
        free(pss->rx);
        pss->rx = NULL;
        pss->rxlen = 0;
    }
    return 0;
}

/* Write coalescing: when several frames wait for one client they go out in one lws_write
 * of pre-framed bytes (server frames are unmasked: FIN|text, length, payload), so a busy
 * subscriber costs one send() per batch instead of one per message. LWS_WRITE_RAW passes
 * the bytes through untouched (no extensions are negotiated on our connections). */
#define BATCH_MAX 65536
#define BATCH_FRAMES 64

static size_t ws_header(uint8_t *h, size_t len)
{
    h[0] = 0x81;
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Returns the number of frames written in one raw write (>= 2), or 0 to use the normal path. */
static int write_batch(struct lws *wsi, gw_conn_t *conn)
{
    static uint8_t batch[LWS_PRE + BATCH_MAX];
    uint8_t *p = batch + LWS_PRE, *data;
    size_t used = 0, len;
    uint32_t n = 0;
    while (n < BATCH_FRAMES && gateway_conn_frame(conn, n, &data, &len) &&
           used + 10 + len <= BATCH_MAX) {
        used += ws_header(p + used, len);
        memcpy(p + used, data, len);
        used += len;
        n++;
    }
    if (n < 2)
        return 0;
    if (lws_write(wsi, p, used, LWS_WRITE_RAW) < (int)used)
        return -1;
    gateway_conn_written_n(conn, n);
    return (int)n;
}

static int on_writeable(struct lws *wsi, pss_t *pss)
{
    static uint8_t ping[LWS_PRE + 4] = {[LWS_PRE] = 'r', 't', 'h', 'b'};
    if (!pss->conn)
        return 0;
    gw_write_t w;
    gateway_conn_writable(pss->conn, &w);
    switch (w.kind) {
    case GW_WRITE_NONE:
        return 0;
    case GW_WRITE_CLOSE:
        return ws_close(wsi, (enum lws_close_status)w.code, w.reason);
    case GW_WRITE_PING:
        rt_debug("ping -> %p", (void *)wsi);
        if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 0)
            return -1;
        break;
    case GW_WRITE_FRAME:
        if (w.more) {
            int n = write_batch(wsi, pss->conn);
            if (n < 0)
                return -1;
            if (n > 0) {
                lws_callback_on_writable(wsi); /* whatever is left, if anything */
                return 0;
            }
        }
        if (lws_write(wsi, w.data, w.len, LWS_WRITE_TEXT) < (int)w.len)
            return -1;
        gateway_conn_written(pss->conn);
        break;
    }
    if (w.more)
        lws_callback_on_writable(wsi);
    return 0;
}

static bool path_ok(ws_t *self, struct lws *wsi)
{
    char uri[256];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 &&
           strcmp(uri, self->cfg.path) == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    ws_t *self = ctx ? lws_context_user(ctx) : NULL;
    pss_t *pss = user;
    if (!self)
        return lws_callback_http_dummy(wsi, reason, user, in, len);

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(self, wsi);

    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* before the handshake: only the configured path upgrades */
        return (path_ok(self, wsi) && !self->shutting_down) ? 0 : -1;

    case LWS_CALLBACK_ESTABLISHED:
        pss->conn = gateway_conn_open(self->gw, wsi);
        return pss->conn ? 0 : -1;

    case LWS_CALLBACK_RECEIVE:
        return on_receive(self, wsi, pss, in, len);

    case LWS_CALLBACK_RECEIVE_PONG:
        rt_debug("pong <- %p", (void *)wsi);
        if (pss->conn)
            gateway_conn_alive(pss->conn);
        return 0;

    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, pss);

    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len == 1 ||
            (len >= 2 && !close_code_ok(((unsigned)((uint8_t *)in)[0] << 8) | ((uint8_t *)in)[1])))
            return ws_close(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, "bad close frame");
        return 0;

    case LWS_CALLBACK_CLOSED:
        free(pss->rx);
        pss->rx = NULL;
        pss->rxlen = 0;
        gateway_conn_closed(&pss->conn);
        return 0;

    case LWS_CALLBACK_RAW_RX_FILE:
        if (wsi == self->raw_signal) {
            struct signalfd_siginfo si;
            if (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                start_shutdown(self, (int)si.ssi_signo);
        } else if (wsi == self->raw_ingress || wsi == self->raw_fanout) {
            gateway_link_readable(self->gw);
        }
        return 0;

    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- setup ---- */

static int parse_listen(ws_t *self, const char *listen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof self->host)
        return -1;
    memcpy(self->host, listen, hl);
    self->host[hl] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    self->port = (int)port;
    return 0;
}

static struct lws *adopt_fd(ws_t *self, int fd)
{
    lws_sock_file_fd_type u;
    u.filefd = fd;
    return lws_adopt_descriptor_vhost(self->vh, LWS_ADOPT_RAW_FILE_DESC, u, "rt", NULL);
}

ws_t *ws_new(const ws_config_t *cfg, gateway_t *gw)
{
    ws_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->gw = gw;
    self->cfg = *cfg;
    self->sigfd = -1;
    if (parse_listen(self, cfg->listen) != 0) {
        rt_error("bad --listen %s", cfg->listen);
        goto fail;
    }

    int lws_levels = LLL_ERR;
    if (rt_log_level() >= RT_LOG_DEBUG)
        lws_levels |= LLL_WARN | LLL_NOTICE;
    lws_set_log_level(lws_levels, NULL);

    self->protocols[0] = (struct lws_protocols){
        .name = "rt",
        .callback = callback,
        .per_session_data_size = sizeof(pss_t),
        .rx_buffer_size = RX_BUFFER,
    };
    /* /healthz and /metrics go to our callback; with --static everything else is a file. */
    struct lws_http_mount *m = self->mounts;
    m[0] = (struct lws_http_mount){.mountpoint = "/healthz",
                                   .origin = "rt",
                                   .origin_protocol = LWSMPRO_CALLBACK,
                                   .mountpoint_len = 8};
    m[1] = (struct lws_http_mount){.mountpoint = "/metrics",
                                   .origin = "rt",
                                   .origin_protocol = LWSMPRO_CALLBACK,
                                   .mountpoint_len = 8};
    m[0].mount_next = &m[1];
    if (cfg->static_dir) {
        m[2] = (struct lws_http_mount){.mountpoint = "/",
                                       .origin = cfg->static_dir,
                                       .def = "index.html",
                                       .origin_protocol = LWSMPRO_FILE,
                                       .mountpoint_len = 1};
        m[1].mount_next = &m[2];
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = self->port;
    info.iface = (self->host[0] && strcmp(self->host, "0.0.0.0") != 0) ? self->host : NULL;
    info.protocols = self->protocols;
    info.mounts = self->mounts;
    info.user = self;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (self->host[0] && strchr(self->host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "default";
    self->ctx = lws_create_context(&info);
    if (!self->ctx) {
        rt_error("cannot listen on %s", cfg->listen);
        goto fail;
    }
    self->vh = lws_get_vhost_by_name(self->ctx, "default");

    int ingress, fanout;
    gateway_link_fds(gw, &ingress, &fanout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    self->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (!self->vh || self->sigfd < 0)
        goto fail;
    gateway_set_later(gw, pump_later, self);
    self->raw_ingress = adopt_fd(self, dup(ingress));
    self->raw_fanout = adopt_fd(self, dup(fanout));
    self->raw_signal = adopt_fd(self, dup(self->sigfd));
    if (!self->raw_ingress || !self->raw_fanout || !self->raw_signal) {
        rt_error("cannot add the router link to the event loop");
        goto fail;
    }
    rt_info("listening on %s, WebSocket path %s%s%s", cfg->listen, cfg->path,
            cfg->static_dir ? ", static files from " : "", cfg->static_dir ? cfg->static_dir : "");
    return self;
fail:
    ws_destroy(&self);
    return NULL;
}

int ws_run(ws_t *self)
{
    lws_sul_schedule(self->ctx, 0, &self->sul_link, sul_link_cb, 1);
    lws_sul_schedule(self->ctx, 0, &self->sul_hb, sul_hb_cb,
                     (lws_usec_t)self->cfg.heartbeat * LWS_US_PER_SEC);
    while (!self->stop)
        if (lws_service(self->ctx, 0) < 0)
            break;
    return 0;
}

void ws_destroy(ws_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ws_t *self = *self_p;
    if (self->gw)
        gateway_set_later(self->gw, NULL, NULL);
    if (self->ctx)
        lws_context_destroy(self->ctx);
    if (self->sigfd >= 0)
        close(self->sigfd);
    buf_free(&self->body);
    free(self);
    *self_p = NULL;
}
