/* Forwarded requests and their tombstones (see forwards.h). */
#include "forwards.h"
#include "ids.h"
#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* "conn id" (a space: not allowed in connection ids). */
#define KEY_MAX (RT_CONN_MAX + 24)

typedef struct fwd {
    char key[KEY_MAX];
    char conn[RT_CONN_MAX + 1];
    char node[RT_CONN_MAX + 1];
    int64_t id;
    int64_t deadline; /* awaited: when it times out; tombstone: when it is forgotten */
    bool dead;        /* a tombstone: answered by us */
    struct fwd *prev, *next;
} fwd_t;

/* One list per kind, each in deadline order since all its entries live equally long. */
typedef struct {
    fwd_t *head, *tail;
} fwd_list_t;

struct forwards {
    zhashx_t *by_key; /* key -> fwd_t (not owned: freed by the list operations) */
    fwd_list_t awaited, dead;
    size_t nawaited;
    int64_t timeout_ms, tombstone_ms;
};

static void list_push(fwd_list_t *l, fwd_t *f)
{
    f->next = NULL;
    f->prev = l->tail;
    if (l->tail)
        l->tail->next = f;
    else
        l->head = f;
    l->tail = f;
}

static void list_unlink(fwd_list_t *l, fwd_t *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        l->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        l->tail = f->prev;
    f->prev = f->next = NULL;
}

static void make_key(char *key, const char *conn, int64_t id)
{
    snprintf(key, KEY_MAX, "%s %" PRId64, conn, id);
}

forwards_t *forwards_new(int64_t timeout_ms, int64_t tombstone_ms)
{
    forwards_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_key = zhashx_new();
    if (!self->by_key) {
        free(self);
        return NULL;
    }
    self->timeout_ms = timeout_ms;
    self->tombstone_ms = tombstone_ms;
    return self;
}

static void free_list(fwd_list_t *l)
{
    for (fwd_t *f = l->head, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    l->head = l->tail = NULL;
}

void forwards_destroy(forwards_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    forwards_t *self = *self_p;
    zhashx_destroy(&self->by_key);
    free_list(&self->awaited);
    free_list(&self->dead);
    free(self);
    *self_p = NULL;
}

static void forget(forwards_t *self, fwd_t *f)
{
    if (!f->dead)
        self->nawaited--;
    zhashx_delete(self->by_key, f->key);
    list_unlink(f->dead ? &self->dead : &self->awaited, f);
    free(f);
}

int forwards_add(forwards_t *self, const char *conn, int64_t id, const char *node, int64_t now_ms)
{
    char key[KEY_MAX];
    make_key(key, conn, id);
    fwd_t *old = zhashx_lookup(self->by_key, key);
    if (old && !old->dead)
        return 0;
    if (old)
        forget(self, old);
    fwd_t *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->key, sizeof f->key, "%s", key);
    snprintf(f->conn, sizeof f->conn, "%s", conn);
    snprintf(f->node, sizeof f->node, "%s", node);
    f->id = id;
    f->deadline = now_ms + self->timeout_ms;
    if (zhashx_insert(self->by_key, f->key, f) != 0) {
        free(f);
        return -1;
    }
    list_push(&self->awaited, f);
    self->nawaited++;
    return 0;
}

bool forwards_answered(forwards_t *self, const char *conn, int64_t id)
{
    char key[KEY_MAX];
    make_key(key, conn, id);
    fwd_t *f = zhashx_lookup(self->by_key, key);
    if (!f)
        return true;
    bool late = f->dead;
    forget(self, f);
    return !late;
}

/* Answered by us: fn, then kept as a tombstone until now_ms + tombstone_ms. */
static void bury(forwards_t *self, fwd_t *f, int64_t now_ms, forwards_fn fn, void *arg)
{
    list_unlink(&self->awaited, f);
    self->nawaited--;
    f->dead = true;
    f->deadline = now_ms + self->tombstone_ms;
    list_push(&self->dead, f);
    fn(f->conn, f->id, arg);
}

size_t forwards_fail_node(forwards_t *self, const char *node, int64_t now_ms, forwards_fn fn,
                          void *arg)
{
    size_t n = 0;
    for (fwd_t *f = self->awaited.head, *next; f; f = next) {
        next = f->next;
        if (strcmp(f->node, node) == 0) {
            bury(self, f, now_ms, fn, arg);
            n++;
        }
    }
    return n;
}

size_t forwards_expire(forwards_t *self, int64_t now_ms, forwards_fn fn, void *arg)
{
    while (self->dead.head && self->dead.head->deadline <= now_ms)
        forget(self, self->dead.head);
    size_t n = 0;
    while (self->awaited.head && self->awaited.head->deadline <= now_ms) {
        bury(self, self->awaited.head, now_ms, fn, arg);
        n++;
    }
    return n;
}

size_t forwards_awaited(forwards_t *self)
{
    return self->nawaited;
}
