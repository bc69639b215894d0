/* The room table (see rooms.h). Rooms live in a hash by name; each room keeps its members in
 * a doubly linked list (join order) indexed by a hash on the conn id, and a small array of
 * per-gateway counts, maintained on every add/remove, for the fan-out. */
#include "rooms.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct rooms_member {
    char *conn;
    char *user;
    char *gw;
    uint8_t *meta;
    size_t meta_n;
    int64_t ts; /* join time */
    struct rooms_member *prev, *next;
};

typedef struct {
    zhashx_t *by_conn; /* conn -> rooms_member_t (not owned here) */
    rooms_member_t *head, *tail;
    size_t size;
    rooms_gw_t *gws;
    size_t ngws, capgws;
} room_t;

struct rooms {
    zhashx_t *rooms; /* name -> room_t (owned) */
};

static const uint8_t empty_map[1] = {0x80};

static void member_free(rooms_member_t *m)
{
    if (!m)
        return;
    free(m->conn);
    free(m->user);
    free(m->gw);
    free(m->meta);
    free(m);
}

static void room_destroy(void **item)
{
    room_t *room = (room_t *)*item;
    if (!room)
        return;
    rooms_member_t *m = room->head;
    while (m) {
        rooms_member_t *next = m->next;
        member_free(m);
        m = next;
    }
    zhashx_destroy(&room->by_conn);
    for (size_t i = 0; i < room->ngws; i++)
        free(room->gws[i].gw);
    free(room->gws);
    free(room);
    *item = NULL;
}

rooms_t *rooms_new(void)
{
    rooms_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->rooms = zhashx_new();
    if (!self->rooms) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->rooms, room_destroy);
    return self;
}

void rooms_destroy(rooms_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->rooms);
    free(*self_p);
    *self_p = NULL;
}

static room_t *room_get(rooms_t *self, const char *room)
{
    return room ? (room_t *)zhashx_lookup(self->rooms, room) : NULL;
}

/* Adjusts the member count of gw in room by delta, adding or removing its entry. */
static int room_gw_count(room_t *room, const char *gw, int delta)
{
    for (size_t i = 0; i < room->ngws; i++) {
        if (strcmp(room->gws[i].gw, gw) == 0) {
            room->gws[i].count += (uint32_t)delta;
            if (room->gws[i].count == 0) {
                free(room->gws[i].gw);
                room->gws[i] = room->gws[--room->ngws];
            }
            return 0;
        }
    }
    if (delta <= 0)
        return 0;
    if (room->ngws == room->capgws) {
        size_t cap = room->capgws ? room->capgws * 2 : 4;
        rooms_gw_t *g = realloc(room->gws, cap * sizeof *g);
        if (!g)
            return -1;
        room->gws = g;
        room->capgws = cap;
    }
    char *copy = strdup(gw);
    if (!copy)
        return -1;
    room->gws[room->ngws].gw = copy;
    room->gws[room->ngws].count = (uint32_t)delta;
    room->ngws++;
    return 0;
}

int rooms_add(rooms_t *self, const char *room_name, const char *conn, const char *user,
              const char *gw, mp_t meta)
{
    room_t *room = room_get(self, room_name);
    return rooms_add_at(self, room_name, conn, user, gw, meta,
                        room && room->tail ? room->tail->ts + 1 : 0);
}

/* Whether member m sorts after (ts, conn). */
static bool after(const rooms_member_t *m, int64_t ts, const char *conn)
{
    return m->ts > ts || (m->ts == ts && strcmp(m->conn, conn) > 0);
}

/* Puts m at its place by (ts, conn), looking from the tail: new joins are the latest, or nearly. */
static void link_member(room_t *room, rooms_member_t *m)
{
    rooms_member_t *prev = room->tail;
    while (prev && after(prev, m->ts, m->conn))
        prev = prev->prev;
    m->prev = prev;
    m->next = prev ? prev->next : room->head;
    if (m->next)
        m->next->prev = m;
    else
        room->tail = m;
    if (prev)
        prev->next = m;
    else
        room->head = m;
}

static void unlink_member(room_t *room, rooms_member_t *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        room->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        room->tail = m->prev;
    m->prev = m->next = NULL;
}

int rooms_set_ts(rooms_t *self, const char *room_name, const char *conn, int64_t ts)
{
    room_t *room = room_get(self, room_name);
    rooms_member_t *m = room ? zhashx_lookup(room->by_conn, conn) : NULL;
    if (!m)
        return 0;
    if (m->ts != ts) {
        unlink_member(room, m);
        m->ts = ts;
        link_member(room, m);
    }
    return 1;
}

int rooms_add_at(rooms_t *self, const char *room_name, const char *conn, const char *user,
                 const char *gw, mp_t meta, int64_t ts)
{
    room_t *room = room_get(self, room_name);
    if (room && zhashx_lookup(room->by_conn, conn))
        return 0;
    bool created = false;
    if (!room) {
        room = calloc(1, sizeof *room);
        if (!room)
            return -1;
        room->by_conn = zhashx_new();
        if (!room->by_conn) {
            free(room);
            return -1;
        }
        zhashx_insert(self->rooms, room_name, room);
        created = true;
    }
    if (!mp_present(meta))
        meta = (mp_t){empty_map, sizeof empty_map};
    rooms_member_t *m = calloc(1, sizeof *m);
    if (m) {
        m->conn = strdup(conn);
        m->user = user ? strdup(user) : NULL;
        m->gw = strdup(gw);
        m->meta = malloc(meta.n);
        m->meta_n = meta.n;
    }
    if (!m || !m->conn || (user && !m->user) || !m->gw || !m->meta ||
        room_gw_count(room, gw, 1) != 0) {
        member_free(m);
        if (created)
            zhashx_delete(self->rooms, room_name);
        return -1;
    }
    memcpy(m->meta, meta.p, meta.n);
    m->ts = ts;
    zhashx_insert(room->by_conn, conn, m);
    link_member(room, m);
    room->size++;
    return 1;
}

int rooms_remove(rooms_t *self, const char *room_name, const char *conn)
{
    room_t *room = room_get(self, room_name);
    if (!room)
        return 0;
    rooms_member_t *m = zhashx_lookup(room->by_conn, conn);
    if (!m)
        return 0;
    zhashx_delete(room->by_conn, conn);
    unlink_member(room, m);
    room->size--;
    room_gw_count(room, m->gw, -1);
    member_free(m);
    if (room->size == 0)
        zhashx_delete(self->rooms, room_name);
    return 1;
}

int rooms_set_gw(rooms_t *self, const char *room_name, const char *conn, const char *gw)
{
    room_t *room = room_get(self, room_name);
    rooms_member_t *m = room ? zhashx_lookup(room->by_conn, conn) : NULL;
    if (!m || strcmp(m->gw, gw) == 0)
        return 0;
    char *copy = strdup(gw);
    if (!copy || room_gw_count(room, gw, 1) != 0) {
        free(copy);
        return -1;
    }
    room_gw_count(room, m->gw, -1);
    free(m->gw);
    m->gw = copy;
    return 1;
}

bool rooms_is_member(rooms_t *self, const char *room, const char *conn)
{
    return rooms_member(self, room, conn) != NULL;
}

size_t rooms_count(rooms_t *self)
{
    return zhashx_size(self->rooms);
}

size_t rooms_size(rooms_t *self, const char *room_name)
{
    room_t *room = room_get(self, room_name);
    return room ? room->size : 0;
}

const rooms_member_t *rooms_first(rooms_t *self, const char *room_name)
{
    room_t *room = room_get(self, room_name);
    return room ? room->head : NULL;
}

const rooms_member_t *rooms_next(const rooms_member_t *m)
{
    return m ? m->next : NULL;
}

const rooms_member_t *rooms_member(rooms_t *self, const char *room_name, const char *conn)
{
    room_t *room = room_get(self, room_name);
    return room && conn ? (const rooms_member_t *)zhashx_lookup(room->by_conn, conn) : NULL;
}

const char *rooms_member_conn(const rooms_member_t *m)
{
    return m->conn;
}
const char *rooms_member_user(const rooms_member_t *m)
{
    return m->user;
}
const char *rooms_member_gw(const rooms_member_t *m)
{
    return m->gw;
}
mp_t rooms_member_meta(const rooms_member_t *m)
{
    return (mp_t){m->meta, m->meta_n};
}

int64_t rooms_member_ts(const rooms_member_t *m)
{
    return m->ts;
}

size_t rooms_gateways(rooms_t *self, const char *room_name, const rooms_gw_t **gws)
{
    room_t *room = room_get(self, room_name);
    *gws = room ? room->gws : NULL;
    return room ? room->ngws : 0;
}

void rooms_each(rooms_t *self, void (*fn)(const char *room, size_t members, void *arg), void *arg)
{
    for (room_t *room = zhashx_first(self->rooms); room; room = zhashx_next(self->rooms))
        fn((const char *)zhashx_cursor(self->rooms), room->size, arg);
}
