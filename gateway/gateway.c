/* The gateway core: connections, memberships, client frames, fan-out, metrics. */
#include "gateway.h"

#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "envelope.h"
#include "errors.h"
#include "frame.h"
#include "ids.h"
#include "jsonb.h"
#include "link.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "ws.h"
#include <czmq.h>
#include <string.h>

#define ATTACH_CHUNK 500

typedef struct room room_t;

typedef struct {
    gw_conn_t *c;
    uint32_t slot; /* index of this membership in c->rooms */
} rmember_t;

struct room {
    char *name;
    rmember_t *m;
    uint32_t n, cap;
};

typedef struct {
    room_t *room;
    uint32_t idx; /* index of this connection in room->m */
    uint32_t metalen;
    uint8_t *meta; /* msgpack bytes of the meta, NULL = none */
} cmember_t;

struct gw_conn {
    gateway_t *gw;
    void *wsi;
    fqueue_t q;
    rl_t rl;
    cmember_t *rooms;
    uint16_t nrooms, caprooms;
    uint16_t close_code;
    uint8_t missed; /* pings sent without a pong since */
    unsigned announced : 1, welcomed : 1, closing : 1, ping_due : 1;
    char *close_reason; /* only for kicks with a reason */
    char id[32];        /* gwid (8) + "." + counter (<= 20 digits) */
};

typedef struct {
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out, slow_closes;
    uint64_t errors[RT_E__COUNT];
} metrics_t;

struct gateway {
    gateway_config_t cfg;
    char *router;
    char gwid[16];
    uint64_t counter;
    link_t *link;
    zhashx_t *conns; /* id -> gw_conn_t* (key is c->id, not copied) */
    zhashx_t *rooms; /* name -> room_t* (key is room->name, not copied) */
    size_t nconns;
    bool shutting_down;
    bool pressure;   /* a client queue is over half full: write before reading more */
    unsigned pumped; /* fan-out messages handled in this round */
    void (*later)(void *arg);
    void *later_arg;
    /* ids of announced connections that ended while the link was down: the router may still
     * hold them (it drops a gateway only after 3 s of silence), so they are closed after the
     * next attach. Bounded; beyond the bound the router's own gateway timeout cleans up. */
    char (*gone)[32];
    size_t ngone;
    uint64_t trim_activity;
    int64_t trim_ms;
    metrics_t m;
    mpw_t w, scratch;
    buf_t json;
};

/* ---- memberships ---- */

static void room_free(void **item)
{
    room_t *r = *item;
    if (r) {
        free(r->m);
        free(r->name);
        free(r);
        *item = NULL;
    }
}

static cmember_t *conn_find(gw_conn_t *c, const char *room, size_t len)
{
    for (uint16_t i = 0; i < c->nrooms; i++) {
        room_t *r = c->rooms[i].room;
        if (strlen(r->name) == len && memcmp(r->name, room, len) == 0)
            return &c->rooms[i];
    }
    return NULL;
}

static void set_meta(cmember_t *cm, mp_t meta)
{
    free(cm->meta);
    cm->meta = NULL;
    cm->metalen = 0;
    if (mp_present(meta) && (cm->meta = malloc(meta.n)) != NULL) {
        memcpy(cm->meta, meta.p, meta.n);
        cm->metalen = (uint32_t)meta.n;
    }
}

static void conn_join(gw_conn_t *c, const char *name, size_t len, mp_t meta)
{
    gateway_t *gw = c->gw;
    cmember_t *cm = conn_find(c, name, len);
    if (cm) {
        set_meta(cm, meta);
        return;
    }
    char key[RT_ROOM_MAX + 1];
    if (len > RT_ROOM_MAX)
        return;
    memcpy(key, name, len);
    key[len] = 0;
    room_t *r = zhashx_lookup(gw->rooms, key);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r || !(r->name = strdup(key))) {
            free(r);
            return;
        }
        zhashx_insert(gw->rooms, r->name, r);
    }
    if (r->n == r->cap) {
        uint32_t ncap = r->cap ? r->cap * 2 : 4;
        rmember_t *nm = realloc(r->m, ncap * sizeof *nm);
        if (!nm)
            return;
        r->m = nm;
        r->cap = ncap;
    }
    if (c->nrooms == c->caprooms) {
        uint16_t ncap = c->caprooms ? c->caprooms * 2 : 2;
        cmember_t *nc = realloc(c->rooms, ncap * sizeof *nc);
        if (!nc)
            return;
        c->rooms = nc;
        c->caprooms = ncap;
    }
    r->m[r->n] = (rmember_t){c, c->nrooms};
    c->rooms[c->nrooms] = (cmember_t){r, r->n, 0, NULL};
    set_meta(&c->rooms[c->nrooms], meta);
    r->n++;
    c->nrooms++;
}

/* Removes membership i of c (swap-remove on both sides, keeping the cross indices). */
static void conn_leave_at(gw_conn_t *c, uint16_t i)
{
    cmember_t cm = c->rooms[i];
    room_t *r = cm.room;
    if (cm.idx != r->n - 1) {
        rmember_t last = r->m[r->n - 1];
        r->m[cm.idx] = last;
        last.c->rooms[last.slot].idx = cm.idx;
    }
    r->n--;
    if (i != c->nrooms - 1) {
        cmember_t clast = c->rooms[c->nrooms - 1];
        c->rooms[i] = clast;
        clast.room->m[clast.idx].slot = i;
    }
    c->nrooms--;
    free(cm.meta);
    if (r->n == 0)
        zhashx_delete(c->gw->rooms, r->name);
    if (c->nrooms == 0) {
        free(c->rooms);
        c->rooms = NULL;
        c->caprooms = 0;
    }
}

/* ---- queueing and closing ---- */

static void conn_close(gw_conn_t *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = (uint16_t)code;
    if (reason && *reason) {
        free(c->close_reason);
        c->close_reason = strdup(reason); /* callers bound it (kick: 120 bytes) */
    }
    fqueue_clear(&c->q);
    ws_conn_close(c->wsi);
}

static void conn_queue(gw_conn_t *c, frame_t *f)
{
    if (c->closing)
        return;
    if (fqueue_push(&c->q, f, (size_t)c->gw->cfg.max_queue) != 0) {
        if (c->q.bytes + frame_len(f) > (size_t)c->gw->cfg.max_queue) {
            c->gw->m.slow_closes++;
            rt_info("conn %s: slow consumer (%zu bytes queued)", c->id, c->q.bytes);
            conn_close(c, 4008, "slow consumer");
        }
        return;
    }
    /* more than a write's worth (ws.c coalesces up to 64 frames) or half the budget queued:
     * let the event loop write before reading more from the router */
    if (c->q.count > 64 || c->q.bytes > (size_t)c->gw->cfg.max_queue / 2)
        c->gw->pressure = true;
    ws_conn_wake(c->wsi);
}

/* Queues the JSON in gw->json for one connection. */
static void conn_queue_json(gw_conn_t *c)
{
    gateway_t *gw = c->gw;
    if (gw->json.oom)
        return;
    frame_t *f = frame_new(gw->cfg.headroom, gw->json.data, gw->json.len);
    if (f) {
        conn_queue(c, f);
        frame_unref(&f);
    }
}

static void conn_error(gw_conn_t *c, int64_t id, rt_err_t code, const char *message)
{
    gateway_t *gw = c->gw;
    gw->m.errors[code < RT_E__COUNT ? code : RT_E_INTERNAL]++;
    if (request_error_json(&gw->json, id, code, message, &gw->scratch) == 0)
        conn_queue_json(c);
}

/* The welcome goes first on the wire: before anything queued while the link was down (an
 * `unavailable` answer), which waits behind it (see gateway_conn_writable). */
static void conn_welcome(gw_conn_t *c)
{
    gateway_t *gw = c->gw;
    c->welcomed = 1;
    if (request_welcome_json(&gw->json, c->id, link_node(gw->link), gw->cfg.heartbeat,
                             &gw->scratch) != 0 ||
        gw->json.oom)
        return;
    frame_t *f = frame_new(gw->cfg.headroom, gw->json.data, gw->json.len);
    if (f && fqueue_push_front(&c->q, f) == 0)
        ws_conn_wake(c->wsi);
    frame_unref(&f);
}

static void send_conn_event(gw_conn_t *c, const char *t)
{
    gateway_t *gw = c->gw;
    mpw_reset(&gw->w);
    bool open = strcmp(t, "open") == 0;
    mpw_map(&gw->w, open ? 5 : 3);
    mpw_kstr(&gw->w, "t", t);
    mpw_kstr(&gw->w, "gw", gw->gwid);
    mpw_kstr(&gw->w, "c", c->id);
    if (open) {
        mpw_cstr(&gw->w, "u");
        mpw_nil(&gw->w);
        mpw_cstr(&gw->w, "g");
        mpw_uint(&gw->w, link_generation(gw->link));
    }
    link_send(gw->link, mpw_view(&gw->w));
}

/* ---- link events ---- */

static void write_attach_conn(mpw_t *w, gw_conn_t *c)
{
    mpw_map(w, 3);
    mpw_kstr(w, "c", c->id);
    mpw_cstr(w, "u");
    mpw_nil(w);
    mpw_cstr(w, "rooms");
    mpw_array(w, c->nrooms);
    for (uint16_t i = 0; i < c->nrooms; i++) {
        mpw_array(w, 2);
        mpw_cstr(w, c->rooms[i].room->name);
        mpw_raw(w, c->rooms[i].meta ? (mp_t){c->rooms[i].meta, c->rooms[i].metalen} : MP_NONE);
    }
}

/* Upper bound of the encoded size of one conn in an attach. */
static size_t attach_size(const gw_conn_t *c)
{
    size_t n = 48 + sizeof c->id;
    for (uint16_t i = 0; i < c->nrooms; i++)
        n += 16 + strlen(c->rooms[i].room->name) + c->rooms[i].metalen;
    return n;
}

/* Attach chunks stay well below the router's frame limit (MP_MAX_FRAME): at most
 * ATTACH_CHUNK connections and ATTACH_BYTES bytes each (a conn alone may be ~130 KiB). */
#define ATTACH_BYTES (1u << 20)

static void on_attach(void *ctx)
{
    gateway_t *gw = ctx;
    gw_conn_t **chunk = malloc(ATTACH_CHUNK * sizeof *chunk);
    if (!chunk)
        return;
    size_t n = 0, bytes = 0, total = 0;
    gw_conn_t *c = zhashx_first(gw->conns);
    for (;;) {
        if (c && !c->announced) {
            c = zhashx_next(gw->conns);
            continue;
        }
        size_t sz = c ? attach_size(c) : 0;
        if (n > 0 && (!c || n == ATTACH_CHUNK || bytes + sz > ATTACH_BYTES)) {
            bool moved = link_moved(gw->link);
            mpw_reset(&gw->w);
            mpw_map(&gw->w, moved ? 5 : 4);
            mpw_kstr(&gw->w, "t", "attach");
            mpw_kstr(&gw->w, "gw", gw->gwid);
            mpw_cstr(&gw->w, "g");
            mpw_uint(&gw->w, link_generation(gw->link));
            if (moved) {
                mpw_cstr(&gw->w, "moved");
                mpw_bool(&gw->w, true);
            }
            mpw_cstr(&gw->w, "conns");
            mpw_array(&gw->w, (uint32_t)n);
            for (size_t i = 0; i < n; i++)
                write_attach_conn(&gw->w, chunk[i]);
            link_send(gw->link, mpw_view(&gw->w));
            total += n;
            n = bytes = 0;
        }
        if (!c)
            break;
        chunk[n++] = c;
        bytes += sz;
        c = zhashx_next(gw->conns);
    }
    free(chunk);
    if (total)
        rt_info("router link: attached %zu connections", total);
}

#define GONE_MAX 65536

static void on_up(void *ctx)
{
    gateway_t *gw = ctx;
    for (size_t i = 0; i < gw->ngone; i++) {
        mpw_reset(&gw->w);
        mpw_map(&gw->w, 3);
        mpw_kstr(&gw->w, "t", "close");
        mpw_kstr(&gw->w, "gw", gw->gwid);
        mpw_kstr(&gw->w, "c", gw->gone[i]);
        link_send(gw->link, mpw_view(&gw->w));
    }
    free(gw->gone);
    gw->gone = NULL;
    gw->ngone = 0;
    for (gw_conn_t *c = zhashx_first(gw->conns); c; c = zhashx_next(gw->conns)) {
        if (!c->announced) {
            c->announced = 1;
            send_conn_event(c, "open");
        }
        if (!c->welcomed && !c->closing)
            conn_welcome(c);
    }
}

static void on_down(void *ctx)
{
    (void)ctx;
}

/* Fan-out messages handled per round before the event loop gets to write. */
#define PUMP_ROUND 256

static bool on_busy(void *ctx)
{
    gateway_t *gw = ctx;
    return gw->pressure || gw->pumped >= PUMP_ROUND;
}

static void on_later(void *ctx)
{
    gateway_t *gw = ctx;
    if (gw->later)
        gw->later(gw->later_arg);
}

static gw_conn_t *lookup_conn(gateway_t *gw, mp_t v)
{
    char id[RT_CONN_MAX + 1];
    if (mp_strcpy(v, id, sizeof id) != 0)
        return NULL;
    return zhashx_lookup(gw->conns, id);
}

static void on_out(gateway_t *gw, mp_t m)
{
    mp_t f = mp_get(m, "f");
    if (mp_type(f) != MP_MAP)
        return;
    buf_reset(&gw->json);
    if (jsonb_from_mp(f, &gw->json) != 0 || gw->json.oom)
        return;
    if (mp_str_eq(mp_get(f, "type"), "error")) {
        const char *code;
        size_t len;
        if (mp_str(mp_get(mp_get(f, "payload"), "code"), &code, &len) == 0)
            gw->m.errors[rt_err_parse(code, len)]++;
    }
    frame_t *fr = frame_new(gw->cfg.headroom, gw->json.data, gw->json.len);
    if (!fr)
        return;
    mp_t cv = mp_get(m, "c");
    if (mp_present(cv)) {
        gw_conn_t *c = lookup_conn(gw, cv);
        if (c)
            conn_queue(c, fr);
    } else {
        char name[RT_ROOM_MAX + 1];
        room_t *r = mp_strcpy(mp_get(m, "r"), name, sizeof name) == 0
                        ? zhashx_lookup(gw->rooms, name)
                        : NULL;
        if (r) {
            /* resolve the exclusions to connection pointers once */
            gw_conn_t *skip_small[8], **skip = skip_small;
            size_t nskip = 0;
            mp_t x = mp_get(m, "x");
            if (mp_type(x) == MP_STR) {
                skip[nskip] = lookup_conn(gw, x);
                nskip += skip[nskip] != NULL;
            } else if (mp_type(x) == MP_ARRAY) {
                uint32_t cnt = mp_count(x);
                if (cnt > 8 && !(skip = malloc(cnt * sizeof *skip)))
                    skip = skip_small, cnt = 8;
                mp_iter_t it;
                mp_t e;
                mp_iter(x, &it);
                while (nskip < cnt && mp_next(&it, &e)) {
                    skip[nskip] = lookup_conn(gw, e);
                    nskip += skip[nskip] != NULL;
                }
            }
            for (uint32_t i = 0; i < r->n; i++) {
                gw_conn_t *c = r->m[i].c;
                bool skipped = false;
                for (size_t k = 0; k < nskip && !skipped; k++)
                    skipped = skip[k] == c;
                if (!skipped)
                    conn_queue(c, fr);
            }
            if (skip != skip_small)
                free(skip);
        }
    }
    frame_unref(&fr);
}

static void on_message(void *ctx, const char *t, mp_t m)
{
    gateway_t *gw = ctx;
    gw->pumped++;
    if (strcmp(t, "out") == 0) {
        on_out(gw, m);
        return;
    }
    gw_conn_t *c = lookup_conn(gw, mp_get(m, "c"));
    if (!c)
        return;
    const char *room;
    size_t len;
    if (strcmp(t, "joined") == 0) {
        if (mp_str(mp_get(m, "r"), &room, &len) == 0)
            conn_join(c, room, len, mp_get(m, "m"));
    } else if (strcmp(t, "left") == 0) {
        cmember_t *cm = mp_str(mp_get(m, "r"), &room, &len) == 0 ? conn_find(c, room, len) : NULL;
        if (cm)
            conn_leave_at(c, (uint16_t)(cm - c->rooms));
    } else if (strcmp(t, "kick") == 0) {
        int64_t code = 1000;
        if (mp_int(mp_get(m, "code"), &code) != 0 ||
            !(code == 1000 || (code >= 4000 && code <= 4999)))
            code = 1000;
        char reason[121] = "";
        (void)mp_strcpy(mp_get(m, "reason"), reason, sizeof reason);
        conn_close(c, (int)code, reason);
    }
}

/* ---- lifecycle ---- */

gateway_t *gateway_new(const gateway_config_t *cfg)
{
    gateway_t *gw = calloc(1, sizeof *gw);
    if (!gw)
        return NULL;
    gw->cfg = *cfg;
    gw->router = strdup(cfg->router);
    gw->cfg.router = gw->router;
    ids_random(gw->gwid, 8);
    gw->conns = zhashx_new();
    gw->rooms = zhashx_new();
    if (!gw->router || !gw->conns || !gw->rooms)
        goto fail;
    zhashx_set_key_duplicator(gw->conns, NULL);
    zhashx_set_key_destructor(gw->conns, NULL);
    zhashx_set_key_duplicator(gw->rooms, NULL);
    zhashx_set_key_destructor(gw->rooms, NULL);
    zhashx_set_destructor(gw->rooms, room_free);
    link_events_t ev = {on_attach, on_up, on_down, on_message, on_busy, on_later};
    gw->link = link_new(cfg->router, gw->gwid, &ev, gw);
    if (!gw->link)
        goto fail;
    rt_info("gateway %s: router %s", gw->gwid, cfg->router);
    return gw;
fail:
    gateway_destroy(&gw);
    return NULL;
}

void gateway_destroy(gateway_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gateway_t *gw = *self_p;
    link_destroy(&gw->link);
    zhashx_destroy(&gw->conns);
    zhashx_destroy(&gw->rooms);
    mpw_free(&gw->w);
    mpw_free(&gw->scratch);
    buf_free(&gw->json);
    free(gw->gone);
    free(gw->router);
    free(gw);
    *self_p = NULL;
}

void gateway_link_fds(gateway_t *self, int *ingress, int *fanout)
{
    *ingress = link_fd_ingress(self->link);
    *fanout = link_fd_fanout(self->link);
}

void gateway_link_readable(gateway_t *self)
{
    self->pressure = false;
    self->pumped = 0;
    link_pump(self->link);
}

void gateway_set_later(gateway_t *self, void (*later)(void *arg), void *arg)
{
    self->later = later;
    self->later_arg = arg;
}

/* After a burst (a join storm, a flood) the heap keeps its high-water mark; give the free
 * pages back once traffic has calmed down so idle memory stays what idle connections need. */
static void trim_memory(gateway_t *self, int64_t now)
{
#ifdef __GLIBC__
    uint64_t activity = self->m.msgs_out + self->m.msgs_in;
    if (activity != self->trim_activity && now - self->trim_ms >= 2000) {
        self->trim_activity = activity;
        self->trim_ms = now;
        malloc_trim(0);
    }
#else
    (void)self;
    (void)now;
#endif
}

int64_t gateway_tick(gateway_t *self)
{
    int64_t now = ids_mono_ms();
    int64_t d = link_tick(self->link, now);
    link_pump(self->link);
    trim_memory(self, now);
    return d;
}

void gateway_heartbeat(gateway_t *self)
{
    for (gw_conn_t *c = zhashx_first(self->conns); c; c = zhashx_next(self->conns)) {
        if (c->closing)
            continue;
        if (c->missed >= 2) {
            rt_info("conn %s: no pong for 2 heartbeats", c->id);
            conn_close(c, 4009, "heartbeat timeout");
            continue;
        }
        c->missed++;
        c->ping_due = 1;
        ws_conn_wake(c->wsi);
    }
}

void gateway_shutdown(gateway_t *self)
{
    self->shutting_down = true;
    for (gw_conn_t *c = zhashx_first(self->conns); c; c = zhashx_next(self->conns))
        conn_close(c, 1001, "server shutdown");
}

size_t gateway_conn_count(const gateway_t *self)
{
    return self->nconns;
}

int gateway_health(gateway_t *self, buf_t *body)
{
    buf_reset(body);
    if (self->shutting_down) {
        buf_puts(body, "shutting down\n");
        return 503;
    }
    if (link_state(self->link) != LINK_UP) {
        buf_printf(body, "router link down: %s\n", link_status(self->link));
        return 503;
    }
    buf_puts(body, "ok\n");
    return 200;
}

void gateway_metrics(gateway_t *self, buf_t *b)
{
    const metrics_t *m = &self->m;
    buf_reset(b);
    buf_printf(b,
               "# HELP rt_gateway_connections Open WebSocket connections.\n"
               "# TYPE rt_gateway_connections gauge\nrt_gateway_connections %zu\n",
               self->nconns);
    buf_printf(b,
               "# HELP rt_gateway_messages_in_total Text frames received from clients.\n"
               "# TYPE rt_gateway_messages_in_total counter\nrt_gateway_messages_in_total %llu\n",
               (unsigned long long)m->msgs_in);
    buf_printf(b,
               "# HELP rt_gateway_messages_out_total Frames written to clients.\n"
               "# TYPE rt_gateway_messages_out_total counter\nrt_gateway_messages_out_total %llu\n",
               (unsigned long long)m->msgs_out);
    buf_printf(b,
               "# HELP rt_gateway_bytes_in_total Payload bytes received from clients.\n"
               "# TYPE rt_gateway_bytes_in_total counter\nrt_gateway_bytes_in_total %llu\n",
               (unsigned long long)m->bytes_in);
    buf_printf(b,
               "# HELP rt_gateway_bytes_out_total Payload bytes written to clients.\n"
               "# TYPE rt_gateway_bytes_out_total counter\nrt_gateway_bytes_out_total %llu\n",
               (unsigned long long)m->bytes_out);
    buf_printf(b, "# HELP rt_gateway_errors_total Error frames sent to clients, by code.\n"
                  "# TYPE rt_gateway_errors_total counter\n");
    for (int e = RT_E_BAD_REQUEST; e < RT_E__COUNT; e++)
        buf_printf(b, "rt_gateway_errors_total{code=\"%s\"} %llu\n", rt_err_code((rt_err_t)e),
                   (unsigned long long)m->errors[e]);
    buf_printf(b,
               "# HELP rt_gateway_slow_consumer_closes_total Connections closed with 4008.\n"
               "# TYPE rt_gateway_slow_consumer_closes_total counter\n"
               "rt_gateway_slow_consumer_closes_total %llu\n",
               (unsigned long long)m->slow_closes);
    buf_printf(b,
               "# HELP rt_gateway_router_up 1 when the router link is up.\n"
               "# TYPE rt_gateway_router_up gauge\nrt_gateway_router_up %d\n",
               link_state(self->link) == LINK_UP);
}

/* ---- connections ---- */

gw_conn_t *gateway_conn_open(gateway_t *gw, void *wsi)
{
    if (gw->shutting_down)
        return NULL;
    gw_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->gw = gw;
    c->wsi = wsi;
    snprintf(c->id, sizeof c->id, "%s.%llu", gw->gwid, (unsigned long long)++gw->counter);
    rl_init(&c->rl, ids_mono_ms(), gw->cfg.rate_burst);
    zhashx_insert(gw->conns, c->id, c);
    gw->nconns++;
    if (link_state(gw->link) == LINK_UP) {
        c->announced = 1;
        send_conn_event(c, "open");
        conn_welcome(c);
    }
    rt_debug("conn %s: open", c->id);
    return c;
}

void gateway_conn_closed(gw_conn_t **c_p)
{
    if (!c_p || !*c_p)
        return;
    gw_conn_t *c = *c_p;
    gateway_t *gw = c->gw;
    if (c->announced && link_state(gw->link) == LINK_UP) {
        send_conn_event(c, "close");
    } else if (c->announced && gw->ngone < GONE_MAX) {
        char(*ng)[32] = realloc(gw->gone, (gw->ngone + 1) * sizeof *ng);
        if (ng) {
            gw->gone = ng;
            memcpy(gw->gone[gw->ngone++], c->id, sizeof c->id);
        }
    }
    while (c->nrooms)
        conn_leave_at(c, (uint16_t)(c->nrooms - 1));
    zhashx_delete(gw->conns, c->id);
    gw->nconns--;
    fqueue_clear(&c->q);
    free(c->close_reason);
    rt_debug("conn %s: closed", c->id);
    free(c);
    *c_p = NULL;
}

void gateway_conn_alive(gw_conn_t *c)
{
    c->missed = 0;
}

void gateway_conn_text(gw_conn_t *c, const char *text, size_t len)
{
    gateway_t *gw = c->gw;
    gw->m.msgs_in++;
    gw->m.bytes_in += len;
    if (c->closing)
        return;
    switch (rl_take(&c->rl, ids_mono_ms(), gw->cfg.rate_limit, gw->cfg.rate_burst)) {
    case RL_PASS:
        break;
    case RL_LIMITED:
        conn_error(c, request_peek_id(text, len, (int)gw->cfg.max_depth, &gw->scratch),
                   RT_E_RATE_LIMITED, "rate limit exceeded");
        return;
    case RL_CLOSE:
        conn_close(c, 1008, "rate limit exceeded");
        return;
    }
    request_info_t info;
    if (request_to_msg(text, len, (int)gw->cfg.max_depth, gw->gwid, c->id, &gw->scratch, &gw->w,
                       &info) != RT_OK) {
        conn_error(c, info.id, RT_E_BAD_REQUEST, info.why);
        return;
    }
    if (link_state(gw->link) != LINK_UP || link_send(gw->link, mpw_view(&gw->w)) != 0) {
        if (info.id)
            conn_error(c, info.id, RT_E_UNAVAILABLE, "router unavailable");
    }
}

void gateway_conn_writable(gw_conn_t *c, gw_write_t *w)
{
    memset(w, 0, sizeof *w);
    if (c->closing) {
        w->kind = GW_WRITE_CLOSE;
        w->code = c->close_code;
        w->reason = c->close_reason ? c->close_reason : "";
        return;
    }
    if (c->ping_due) {
        c->ping_due = 0;
        w->kind = GW_WRITE_PING;
        w->more = c->q.count > 0;
        return;
    }
    frame_t *f = c->welcomed ? fqueue_peek(&c->q) : NULL; /* nothing before the welcome */
    if (!f)
        return;
    w->kind = GW_WRITE_FRAME;
    w->data = frame_data(f);
    w->len = frame_len(f);
    w->more = c->q.count > 1;
}

void gateway_conn_written(gw_conn_t *c)
{
    frame_t *f = fqueue_peek(&c->q);
    if (!f)
        return;
    c->gw->m.msgs_out++;
    c->gw->m.bytes_out += frame_len(f);
    fqueue_pop(&c->q);
}

bool gateway_conn_frame(gw_conn_t *c, uint32_t i, uint8_t **data, size_t *len)
{
    frame_t *f = (c->closing || !c->welcomed) ? NULL : fqueue_at(&c->q, i);
    if (!f)
        return false;
    *data = frame_data(f);
    *len = frame_len(f);
    return true;
}

void gateway_conn_written_n(gw_conn_t *c, uint32_t n)
{
    while (n-- && c->q.count)
        gateway_conn_written(c);
}
