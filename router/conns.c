/* The connection table (see conns.h). A hash by conn id; each record keeps its rooms in a
 * small array: a connection is in at most max_rooms (128) rooms, so a linear scan is cheaper
 * than another hash. */
#include "conns.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *gw;
    char *user;
    char **rooms;
    size_t nrooms, caprooms;
    uint64_t gen;
} conn_t;

struct conns {
    zhashx_t *conns; /* id -> conn_t (owned) */
    size_t max_rooms;
};

static void conn_destroy(void **item)
{
    conn_t *c = (conn_t *)*item;
    if (!c)
        return;
    for (size_t i = 0; i < c->nrooms; i++)
        free(c->rooms[i]);
    free(c->rooms);
    free(c->gw);
    free(c->user);
    free(c);
    *item = NULL;
}

conns_t *conns_new(size_t max_rooms)
{
    conns_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->conns = zhashx_new();
    if (!self->conns) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->conns, conn_destroy);
    self->max_rooms = max_rooms;
    return self;
}

void conns_destroy(conns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->conns);
    free(*self_p);
    *self_p = NULL;
}

static conn_t *conn_get(conns_t *self, const char *conn)
{
    return conn ? (conn_t *)zhashx_lookup(self->conns, conn) : NULL;
}

uint64_t conns_gen(conns_t *self, const char *conn)
{
    conn_t *c = conn_get(self, conn);
    return c ? c->gen : 0;
}

void conns_set_gen(conns_t *self, const char *conn, uint64_t gen)
{
    conn_t *c = conn_get(self, conn);
    if (c)
        c->gen = gen;
}

int conns_add(conns_t *self, const char *conn, const char *gw, const char *user)
{
    char *gwc = strdup(gw);
    char *userc = user ? strdup(user) : NULL;
    if (!gwc || (user && !userc)) {
        free(gwc);
        free(userc);
        return -1;
    }
    conn_t *c = conn_get(self, conn);
    if (c) {
        free(c->gw);
        free(c->user);
    } else {
        c = calloc(1, sizeof *c);
        if (!c) {
            free(gwc);
            free(userc);
            return -1;
        }
        zhashx_insert(self->conns, conn, c);
    }
    c->gw = gwc;
    c->user = userc;
    return 0;
}

int conns_remove(conns_t *self, const char *conn)
{
    if (!conn_get(self, conn))
        return -1;
    zhashx_delete(self->conns, conn);
    return 0;
}

bool conns_exists(conns_t *self, const char *conn)
{
    return conn_get(self, conn) != NULL;
}
size_t conns_count(conns_t *self)
{
    return zhashx_size(self->conns);
}

const char *conns_gw(conns_t *self, const char *conn)
{
    conn_t *c = conn_get(self, conn);
    return c ? c->gw : NULL;
}

const char *conns_user(conns_t *self, const char *conn)
{
    conn_t *c = conn_get(self, conn);
    return c ? c->user : NULL;
}

static ssize_t room_index(const conn_t *c, const char *room)
{
    for (size_t i = 0; i < c->nrooms; i++)
        if (strcmp(c->rooms[i], room) == 0)
            return (ssize_t)i;
    return -1;
}

rt_err_t conns_room_add(conns_t *self, const char *conn, const char *room)
{
    conn_t *c = conn_get(self, conn);
    if (!c)
        return RT_E_PEER_NOT_FOUND;
    if (room_index(c, room) >= 0)
        return RT_OK;
    if (c->nrooms >= self->max_rooms)
        return RT_E_LIMIT;
    if (c->nrooms == c->caprooms) {
        size_t cap = c->caprooms ? c->caprooms * 2 : 4;
        char **r = realloc(c->rooms, cap * sizeof *r);
        if (!r)
            return RT_E_INTERNAL;
        c->rooms = r;
        c->caprooms = cap;
    }
    char *copy = strdup(room);
    if (!copy)
        return RT_E_INTERNAL;
    c->rooms[c->nrooms++] = copy;
    return RT_OK;
}

int conns_room_remove(conns_t *self, const char *conn, const char *room)
{
    conn_t *c = conn_get(self, conn);
    if (!c)
        return -1;
    ssize_t i = room_index(c, room);
    if (i < 0)
        return -1;
    free(c->rooms[i]);
    /* keep join order: re-joins and iteration see rooms in the order they were entered */
    memmove(&c->rooms[i], &c->rooms[i + 1], (c->nrooms - (size_t)i - 1) * sizeof *c->rooms);
    c->nrooms--;
    return 0;
}

bool conns_in_room(conns_t *self, const char *conn, const char *room)
{
    conn_t *c = conn_get(self, conn);
    return c && room_index(c, room) >= 0;
}

size_t conns_rooms(conns_t *self, const char *conn, const char *const **rooms)
{
    conn_t *c = conn_get(self, conn);
    *rooms = c ? (const char *const *)c->rooms : NULL;
    return c ? c->nrooms : 0;
}

char **conns_of_gateway(conns_t *self, const char *gw, size_t *n)
{
    size_t cap = 16, len = 0;
    char **list = calloc(cap + 1, sizeof *list);
    if (!list)
        return NULL;
    for (conn_t *c = zhashx_first(self->conns); c; c = zhashx_next(self->conns)) {
        if (strcmp(c->gw, gw) != 0)
            continue;
        if (len == cap) {
            char **l = realloc(list, (cap * 2 + 1) * sizeof *l);
            if (!l)
                goto oom;
            list = l;
            cap *= 2;
        }
        list[len] = strdup((const char *)zhashx_cursor(self->conns));
        if (!list[len])
            goto oom;
        list[++len] = NULL;
    }
    list[len] = NULL;
    if (n)
        *n = len;
    return list;
oom:
    list[len] = NULL;
    conns_list_free(&list);
    return NULL;
}

void conns_list_free(char ***list_p)
{
    if (!list_p || !*list_p)
        return;
    for (char **p = *list_p; *p; p++)
        free(*p);
    free(*list_p);
    *list_p = NULL;
}

void conns_each(conns_t *self,
                void (*fn)(const char *conn, const char *gw, const char *user, void *arg),
                void *arg)
{
    /* collect first: fn may look conns up, which moves the hash's cursor */
    size_t n = zhashx_size(self->conns), i = 0;
    const char **keys = n ? calloc(n, sizeof *keys) : NULL;
    conn_t **vals = n ? calloc(n, sizeof *vals) : NULL;
    if (n && (!keys || !vals)) {
        free(keys);
        free(vals);
        return;
    }
    for (conn_t *c = zhashx_first(self->conns); c && i < n; c = zhashx_next(self->conns), i++) {
        keys[i] = (const char *)zhashx_cursor(self->conns);
        vals[i] = c;
    }
    for (size_t j = 0; j < i; j++)
        fn(keys[j], vals[j]->gw, vals[j]->user, arg);
    free(keys);
    free(vals);
}
