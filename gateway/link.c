/* Router link state machine over ZeroMQ (DEALER to the ingress, SUB to the fan-out PUB). */
#include "link.h"

#include "ids.h"
#include "log.h"
#include "zmqio.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELLO_EVERY_MS 500
#define SYNC_EVERY_MS 100
#define HB_EVERY_MS 1000
#define DEAD_AFTER_MS 3000
#define MAX_ENDPOINTS 16

struct link {
    zsock_t *dealer, *sub;
    char *endpoints[MAX_ENDPOINTS];
    int nendpoints, cur;
    int attached;      /* endpoint of the last attach (-1: none yet) */
    bool moved;        /* the attach under way follows one on another endpoint */
    uint64_t attaches; /* attaches so far: the generation of our connections' registrations */
    char gwid[32];
    link_events_t ev;
    void *ctx;

    link_state_t state;
    char node[80], ep[80]; /* from the hello answer */
    char sub_ep[256];      /* the fan-out endpoint the SUB is connected to ("" = none) */
    uint64_t sync_n;
    int64_t next_send_ms; /* next hello / sync / hb */
    int64_t since_ms;     /* start of this attempt (hello / sync) */
    int64_t last_rx_ms;   /* last hb (or any fan-out message) from the router */
    char status[160];

    bool pumping, again;
    mpw_t w;
};

static void set_status(link_t *self, const char *what)
{
    snprintf(self->status, sizeof self->status, "%s (router %s)", what, self->endpoints[self->cur]);
}

static int send_simple(link_t *self, const char *t, bool with_n)
{
    mpw_reset(&self->w);
    mpw_map(&self->w, with_n ? 3 : 2);
    mpw_kstr(&self->w, "t", t);
    mpw_kstr(&self->w, "gw", self->gwid);
    if (with_n) {
        mpw_cstr(&self->w, "n");
        mpw_uint(&self->w, self->sync_n);
    }
    return link_send(self, mpw_view(&self->w));
}

/* Back to hello. With `next`, the current router is given up and the next endpoint tried. */
static void go_hello(link_t *self, int64_t now, bool next, const char *why)
{
    bool was_up = self->state == LINK_UP;
    if (next && self->nendpoints > 1) {
        zsock_disconnect(self->dealer, "%s", self->endpoints[self->cur]);
        self->cur = (self->cur + 1) % self->nendpoints;
        zsock_connect(self->dealer, "%s", self->endpoints[self->cur]);
    }
    if (self->state != LINK_DOWN || next)
        rt_warn("router link: %s; hello to %s", why, self->endpoints[self->cur]);
    self->state = LINK_DOWN;
    self->since_ms = now;
    self->next_send_ms = now; /* hello at the next tick */
    set_status(self, why);
    if (was_up && self->ev.down)
        self->ev.down(self->ctx);
}

link_t *link_new(const char *endpoints, const char *gwid, const link_events_t *ev, void *ctx)
{
    link_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->gwid, sizeof self->gwid, "%s", gwid);
    self->ev = *ev;
    self->ctx = ctx;
    char *list = strdup(endpoints), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && self->nendpoints < MAX_ENDPOINTS;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (*tok)
            self->endpoints[self->nendpoints++] = strdup(tok);
    }
    free(list);
    if (self->nendpoints == 0)
        goto fail;

    self->dealer = zsock_new(ZMQ_DEALER);
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->dealer || !self->sub)
        goto fail;
    zsock_set_linger(self->dealer, 0);
    zsock_set_linger(self->sub, 0);
    /* a peer announcing a huge ZMTP frame must not make libzmq allocate it */
    zsock_set_maxmsgsize(self->dealer, (int64_t)MP_MAX_FRAME + 1024);
    zsock_set_maxmsgsize(self->sub, (int64_t)MP_MAX_FRAME + 1024);
    zsock_set_immediate(self->dealer, 1); /* no queueing of hellos towards a dead router */
    zsock_set_sndhwm(self->dealer, 100000);
    zsock_set_rcvhwm(self->sub, 0); /* never drop fan-out on our side */
    zsock_set_subscribe(self->sub, self->gwid);
    if (zsock_connect(self->dealer, "%s", self->endpoints[0]) != 0) {
        rt_error("router link: cannot connect to %s", self->endpoints[0]);
        goto fail;
    }
    self->state = LINK_DOWN;
    self->attached = -1;
    self->next_send_ms = 0;
    self->since_ms = ids_mono_ms();
    set_status(self, "connecting");
    return self;
fail:
    link_destroy(&self);
    return NULL;
}

void link_destroy(link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    link_t *self = *self_p;
    zsock_destroy(&self->dealer);
    zsock_destroy(&self->sub);
    for (int i = 0; i < self->nendpoints; i++)
        free(self->endpoints[i]);
    mpw_free(&self->w);
    free(self);
    *self_p = NULL;
}

int link_fd_ingress(link_t *self)
{
    return zsock_fd(self->dealer);
}
int link_fd_fanout(link_t *self)
{
    return zsock_fd(self->sub);
}
link_state_t link_state(const link_t *self)
{
    return self->state;
}
const char *link_node(const link_t *self)
{
    return self->node;
}
const char *link_status(const link_t *self)
{
    return self->status;
}
bool link_moved(const link_t *self)
{
    return self->moved;
}
uint64_t link_generation(const link_t *self)
{
    return self->attaches;
}

int link_send(link_t *self, mp_t msg)
{
    int rc = zmqio_send_mp(self->dealer, msg, false);
    link_pump(self); /* ZMQ_FD is edge-triggered: a send may have consumed the edge */
    return rc;
}

int64_t link_tick(link_t *self, int64_t now)
{
    switch (self->state) {
    case LINK_DOWN:
        if (self->nendpoints > 1 && now - self->since_ms >= DEAD_AFTER_MS) {
            go_hello(self, now, true, "no answer to hello");
        }
        if (now >= self->next_send_ms) {
            send_simple(self, "hello", false);
            self->next_send_ms = now + HELLO_EVERY_MS;
        }
        break;
    case LINK_SYNCING:
        if (now - self->since_ms >= DEAD_AFTER_MS) {
            go_hello(self, now, self->nendpoints > 1, "no answer to sync");
            return 0;
        }
        if (now >= self->next_send_ms) {
            send_simple(self, "sync", true);
            self->next_send_ms = now + SYNC_EVERY_MS;
        }
        break;
    case LINK_UP:
        if (now - self->last_rx_ms >= DEAD_AFTER_MS) {
            go_hello(self, now, self->nendpoints > 1, "router heartbeat lost");
            return 0;
        }
        if (now >= self->next_send_ms) {
            send_simple(self, "hb", false);
            self->next_send_ms = now + HB_EVERY_MS;
        }
        break;
    }
    int64_t d = self->next_send_ms - ids_mono_ms();
    return d < 1 ? 1 : d;
}

static void on_hello(link_t *self, mp_t m)
{
    char node[80], ep[80], fanout[256], sub_ep[256];
    if (self->state != LINK_DOWN)
        return; /* a late duplicate answer */
    if (mp_strcpy(mp_get(m, "node"), node, sizeof node) != 0 ||
        mp_strcpy(mp_get(m, "fanout"), fanout, sizeof fanout) != 0) {
        rt_warn("router link: malformed hello answer");
        return;
    }
    mp_t epv = mp_get(m, "ep");
    if (mp_strcpy(epv, ep, sizeof ep) != 0) {
        int64_t n;
        if (mp_int(epv, &n) != 0) {
            rt_warn("router link: hello answer without ep");
            return;
        }
        snprintf(ep, sizeof ep, "%lld", (long long)n);
    }
    if (zmqio_peer_endpoint(fanout, self->endpoints[self->cur], sub_ep, sizeof sub_ep) != 0) {
        rt_warn("router link: cannot use fan-out endpoint %s", fanout);
        return;
    }
    if (strcmp(sub_ep, self->sub_ep) != 0) {
        if (self->sub_ep[0])
            zsock_disconnect(self->sub, "%s", self->sub_ep);
        if (zsock_connect(self->sub, "%s", sub_ep) != 0) {
            rt_warn("router link: cannot connect SUB to %s", sub_ep);
            self->sub_ep[0] = 0;
            return;
        }
        snprintf(self->sub_ep, sizeof self->sub_ep, "%s", sub_ep);
    }
    snprintf(self->node, sizeof self->node, "%s", node);
    snprintf(self->ep, sizeof self->ep, "%s", ep);
    int64_t now = ids_mono_ms();
    self->state = LINK_SYNCING;
    self->sync_n++;
    self->since_ms = now;
    self->next_send_ms = now;
    set_status(self, "syncing");
    rt_info("router link: hello from node %s (epoch %s), fan-out %s", node, ep, sub_ep);
    send_simple(self, "sync", true);
    self->next_send_ms = now + SYNC_EVERY_MS;
}

/* The epoch of a fan-out message compared with the one we hold: str or int. */
static bool same_ep(link_t *self, mp_t v)
{
    char ep[80];
    if (mp_strcpy(v, ep, sizeof ep) != 0) {
        int64_t n;
        if (mp_int(v, &n) != 0)
            return true; /* no epoch given: nothing to compare */
        snprintf(ep, sizeof ep, "%lld", (long long)n);
    }
    return strcmp(ep, self->ep) == 0;
}

static void on_fanout(link_t *self, mp_t m)
{
    char t[16];
    if (mp_strcpy(mp_get(m, "t"), t, sizeof t) != 0)
        return;
    int64_t now = ids_mono_ms();
    if (strcmp(t, "synced") == 0) {
        uint64_t n;
        if (self->state != LINK_SYNCING || mp_uint(mp_get(m, "n"), &n) != 0 || n != self->sync_n)
            return;
        if (!same_ep(self, mp_get(m, "ep"))) {
            go_hello(self, now, false, "router restarted while syncing");
            return;
        }
        self->moved = self->attached >= 0 && self->attached != self->cur;
        self->attached = self->cur;
        self->attaches++;
        if (self->ev.attach)
            self->ev.attach(self->ctx);
        if (self->state != LINK_SYNCING)
            return; /* something inside attach broke the link */
        self->state = LINK_UP;
        self->last_rx_ms = now;
        self->next_send_ms = now + HB_EVERY_MS;
        set_status(self, "up");
        rt_info("router link up: node %s", self->node);
        if (self->ev.up)
            self->ev.up(self->ctx);
    } else if (strcmp(t, "hb") == 0) {
        if (self->state == LINK_UP && !same_ep(self, mp_get(m, "ep")))
            go_hello(self, now, false, "router restarted");
        else
            self->last_rx_ms = now;
    } else if (strcmp(t, "unknown") == 0) {
        if (self->state != LINK_DOWN)
            go_hello(self, now, false, "router does not know this gateway");
    } else {
        self->last_rx_ms = now;
        if (self->ev.message)
            self->ev.message(self->ctx, t, m);
    }
}

void link_pump(link_t *self)
{
    if (self->pumping) {
        self->again = true;
        return;
    }
    self->pumping = true;
    do {
        self->again = false;
        while (zsock_events(self->dealer) & ZMQ_POLLIN) {
            zmsg_t *msg = zmqio_recv(self->dealer);
            if (!msg)
                break;
            mp_t m;
            zframe_t *f = zmsg_first(msg);
            if (f && zmqio_frame_mp(f, &m) == 0 && mp_str_eq(mp_get(m, "t"), "hello"))
                on_hello(self, m);
            zmsg_destroy(&msg);
        }
        while (zsock_events(self->sub) & ZMQ_POLLIN) {
            if (self->ev.busy && self->ev.busy(self->ctx)) {
                if (self->ev.later)
                    self->ev.later(self->ctx);
                break;
            }
            zmsg_t *msg = zmqio_recv(self->sub);
            if (!msg)
                break;
            mp_t m;
            zframe_t *topic = zmsg_first(msg), *f = zmsg_next(msg);
            if (topic && f && zframe_size(topic) == strlen(self->gwid) &&
                memcmp(zframe_data(topic), self->gwid, zframe_size(topic)) == 0 &&
                zmqio_frame_mp(f, &m) == 0 && mp_type(m) == MP_MAP)
                on_fanout(self, m);
            zmsg_destroy(&msg);
        }
    } while (self->again);
    self->pumping = false;
}
