/* The mesh transport (see mesh.h). */
#include "mesh.h"
#include "log.h"
#include "zmqio.h"
#include <stdlib.h>
#include <string.h>

struct mesh {
    zsock_t *pub, *sub;
    char *node, *epoch;
    uint64_t seq;
    mpw_t w;
    zhashx_t *rooms; /* rooms subscribed to -> (void *)1 */
    uint64_t dropped;
    /* fault injection for the tests (environment RTTEST_MESH_DROP_CTL=N): every Nth
     * replication delta is not sent, as if the PUB had dropped it */
    unsigned drop_every, deltas;
    bool droppable;
    size_t snap_part; /* bytes after which a snapshot part is cut (RTTEST_MESH_SNAP_PART) */
    size_t npeers;    /* entries of the peer list we connected to */
};

static void set_topic(char *out, size_t outlen, char kind, const char *name)
{
    snprintf(out, outlen, "%c:%s|", kind, name);
}

/* Connects sub to every entry of list except `self_ep`; 0 or -1. */
static int connect_peers(zsock_t *sub, const char *list, const char *self_ep, zcert_t *curve,
                         size_t *n)
{
    char *copy = strdup(list ? list : "");
    if (!copy)
        return -1;
    int rc = 0;
    char *save = NULL;
    for (char *ep = strtok_r(copy, ",", &save); ep; ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        char *key = strchr(ep, '#');
        if (key)
            *key++ = '\0';
        if (!*ep || (self_ep && strcmp(ep, self_ep) == 0))
            continue;
        if (curve)
            zsock_set_curve_serverkey(sub, key && *key ? key : zcert_public_txt(curve));
        if (zsock_connect(sub, "%s", ep) != 0) {
            rt_error("mesh: cannot connect to peer %s", ep);
            rc = -1;
        } else {
            rt_info("mesh: peer %s", ep);
            (*n)++;
        }
    }
    free(copy);
    return rc;
}

mesh_t *mesh_new(const char *bind, const char *peers, const char *node, const char *epoch,
                 zcert_t *curve)
{
    mesh_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->node = strdup(node);
    self->epoch = strdup(epoch);
    self->rooms = zhashx_new();
    self->pub = zmqio_socket_curve(ZMQ_PUB, bind, true, MESH_HWM, curve, NULL);
    self->sub = zsock_new(ZMQ_SUB);
    if (!self->node || !self->epoch || !self->rooms || !self->pub || !self->sub) {
        rt_error("mesh: cannot bind %s", bind ? bind : "(none)");
        mesh_destroy(&self);
        return NULL;
    }
    const char *drop = getenv("RTTEST_MESH_DROP_CTL");
    if (drop && atoi(drop) > 0) {
        self->drop_every = (unsigned)atoi(drop);
        rt_warn("mesh: test mode, dropping every %u-th delta", self->drop_every);
    }
    const char *part = getenv("RTTEST_MESH_SNAP_PART");
    self->snap_part = part && atoi(part) > 0 ? (size_t)atoi(part) : MESH_SNAP_PART_BYTES;
    zsock_set_linger(self->sub, 0);
    if (curve)
        zcert_apply(curve, self->sub);
    zsock_set_rcvhwm(self->sub, MESH_HWM);
    zsock_set_maxmsgsize(self->sub, (int)(MP_MAX_FRAME + 4096));
    zsock_set_subscribe(self->sub, "c");
    char topic[RT_TOPIC_MAX];
    set_topic(topic, sizeof topic, 'n', node);
    zsock_set_subscribe(self->sub, topic);
    if (connect_peers(self->sub, peers, bind, curve, &self->npeers) != 0) {
        mesh_destroy(&self);
        return NULL;
    }
    return self;
}

void mesh_destroy(mesh_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mesh_t *self = *self_p;
    zsock_destroy(&self->pub);
    zsock_destroy(&self->sub);
    zhashx_destroy(&self->rooms);
    free(self->node);
    free(self->epoch);
    mpw_free(&self->w);
    free(self);
    *self_p = NULL;
}

zsock_t *mesh_socket(mesh_t *self)
{
    return self->sub;
}

mpw_t *mesh_ctl(mesh_t *self, const char *t, uint32_t pairs)
{
    self->droppable = strlen(t) == 1 && strchr("ojlx", t[0]) != NULL;
    mpw_reset(&self->w);
    mpw_map(&self->w, pairs + 4);
    mpw_kstr(&self->w, "t", t);
    mpw_kstr(&self->w, "n", self->node);
    mpw_kstr(&self->w, "ep", self->epoch);
    mpw_cstr(&self->w, "s");
    mpw_uint(&self->w, ++self->seq);
    return &self->w;
}

static void send_topic(mesh_t *self, const char *topic, mp_t body)
{
    if (!mp_present(body) || zmqio_send(self->pub, topic, strlen(topic), true) != 0 ||
        zmqio_send_mp(self->pub, body, false) != 0)
        self->dropped++;
}

void mesh_ctl_send(mesh_t *self)
{
    /* a message lost here is a gap for every receiver: they resync */
    if (self->drop_every && self->droppable && ++self->deltas % self->drop_every == 0) {
        self->dropped++;
        return;
    }
    send_topic(self, "c", mpw_view(&self->w));
}

size_t mesh_npeers(const mesh_t *self)
{
    return self->npeers;
}

size_t mesh_snap_part(const mesh_t *self)
{
    return self->snap_part;
}

void mesh_pub_room(mesh_t *self, const char *room, mp_t body)
{
    /* A PUB applies the subscriptions its peers sent only when it processes its command
     * queue, which a send does at most about once a millisecond. Reading ZMQ_EVENTS processes
     * it now, so a node that subscribed to the room just before it acked a join is not
     * filtered out of the very next event. */
    zsock_events(self->pub);
    char topic[RT_TOPIC_MAX];
    set_topic(topic, sizeof topic, 'r', room);
    send_topic(self, topic, body);
}

void mesh_pub_node(mesh_t *self, const char *node, mp_t body)
{
    char topic[RT_TOPIC_MAX];
    set_topic(topic, sizeof topic, 'n', node);
    send_topic(self, topic, body);
}

void mesh_room_sub(mesh_t *self, const char *room, bool on)
{
    bool have = zhashx_lookup(self->rooms, room) != NULL;
    if (have == on)
        return;
    char topic[RT_TOPIC_MAX];
    set_topic(topic, sizeof topic, 'r', room);
    if (on) {
        zhashx_insert(self->rooms, room, (void *)1);
        zsock_set_subscribe(self->sub, topic);
    } else {
        zhashx_delete(self->rooms, room);
        zsock_set_unsubscribe(self->sub, topic);
    }
}

uint64_t mesh_dropped(const mesh_t *self)
{
    return self->dropped;
}
