/* The service events PUB (see events.h). One scratch buffer: every event is encoded once,
 * libzmq then copies it to each subscriber whose prefix matches. */
#include "events.h"
#include "ids.h"
#include "zmqio.h"
#include <stdlib.h>
#include <string.h>

struct events {
    zsock_t *pub;
    char *node;
    mpw_t w;
    uint64_t sent, dropped;
};

events_t *events_new(const char *endpoint, const char *node, zcert_t *curve)
{
    events_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->node = strdup(node ? node : "");
    self->pub = zmqio_socket_curve(ZMQ_PUB, endpoint, true, EVENTS_HWM, curve, NULL);
    if (!self->node || !self->pub) {
        events_destroy(&self);
        return NULL;
    }
    return self;
}

void events_destroy(events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    events_t *self = *self_p;
    zsock_destroy(&self->pub);
    free(self->node);
    mpw_free(&self->w);
    free(self);
    *self_p = NULL;
}

/* Starts the map of an event of `type` with `pairs` fields besides type, node and ts. */
static mpw_t *begin(events_t *self, const char *type, uint32_t pairs)
{
    mpw_reset(&self->w);
    mpw_map(&self->w, pairs + 3);
    mpw_kstr(&self->w, "type", type);
    mpw_kstr(&self->w, "node", self->node);
    mpw_kint(&self->w, "ts", ids_now_ms());
    return &self->w;
}

static void emit(events_t *self, const char *type)
{
    mp_t v = mpw_view(&self->w);
    if (!mp_present(v) || zmqio_send(self->pub, type, strlen(type), true) != 0 ||
        zmqio_send_mp(self->pub, v, false) != 0)
        self->dropped++;
    else
        self->sent++;
}

void events_conn(events_t *self, bool open, const char *conn, const char *user)
{
    if (!self)
        return;
    const char *type = open ? "conn:open" : "conn:close";
    mpw_t *w = begin(self, type, 2);
    mpw_kstr(w, "conn", conn);
    mpw_kstr(w, "user", user);
    emit(self, type);
}

void events_presence(events_t *self, bool join, const char *room, const char *conn,
                     const char *user, mp_t meta)
{
    if (!self)
        return;
    const char *type = join ? "presence:join" : "presence:leave";
    mpw_t *w = begin(self, type, join ? 4 : 3);
    mpw_kstr(w, "room", room);
    mpw_kstr(w, "conn", conn);
    mpw_kstr(w, "user", user);
    if (join) {
        mpw_cstr(w, "meta");
        if (mp_present(meta) && !mp_is_nil(meta))
            mpw_raw(w, meta);
        else
            mpw_map(w, 0);
    }
    emit(self, type);
}

void events_mesh(events_t *self, bool up, const char *peer)
{
    if (!self)
        return;
    const char *type = up ? "mesh:peer_up" : "mesh:peer_down";
    mpw_t *w = begin(self, type, 1);
    mpw_kstr(w, "peer", peer);
    emit(self, type);
}

void events_message(events_t *self, const rt_msg_t *m)
{
    if (!self)
        return;
    uint32_t pairs = 2 + (m->room ? 1 : 0) + (m->user ? 1 : 0) + (m->to ? 1 : 0);
    mpw_t *w = begin(self, m->type, pairs);
    if (m->room)
        mpw_kstr(w, "room", m->room);
    mpw_kstr(w, "from", m->conn);
    if (m->user)
        mpw_kstr(w, "user", m->user);
    if (m->to)
        mpw_kstr(w, "to", m->to);
    mpw_cstr(w, "payload");
    if (mp_present(m->payload))
        mpw_raw(w, m->payload);
    else
        mpw_nil(w);
    emit(self, m->type);
}

static void on_conn_open(void *arg, const char *conn, const char *user, bool fresh)
{
    if (fresh)
        events_conn(arg, true, conn, user);
}

static void on_conn_close(void *arg, const char *conn, const char *user)
{
    events_conn(arg, false, conn, user);
}

static void on_join(void *arg, const char *room, const char *conn, const char *user, mp_t meta)
{
    events_presence(arg, true, room, conn, user, meta);
}

static void on_leave(void *arg, const char *room, const char *conn, const char *user)
{
    events_presence(arg, false, room, conn, user, MP_NONE);
}

static void on_message(void *arg, const rt_msg_t *m)
{
    events_message(arg, m);
}

static void on_peer(void *arg, const char *node, bool up)
{
    events_mesh(arg, up, node);
}

int events_attach(events_t *self, router_t *r)
{
    static const router_observer_t ops = {
        .conn_open = on_conn_open,
        .conn_close = on_conn_close,
        .join = on_join,
        .leave = on_leave,
        .message = on_message,
        .peer = on_peer,
    };
    return router_observe(r, &ops, self);
}

uint64_t events_sent(const events_t *self)
{
    return self ? self->sent : 0;
}

uint64_t events_dropped(const events_t *self)
{
    return self ? self->dropped : 0;
}
