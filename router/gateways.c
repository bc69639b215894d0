/* The gateway table (see gateways.h). */
#include "gateways.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

/* Tombstones are only a hint for presence events; bound their memory. */
#define GATEWAYS_MAX_TOMBSTONES 4096

typedef struct {
    uint8_t rid[256];
    size_t rlen;
    int64_t last_ms;
    bool loud;
} gateway_t;

struct gateways {
    zhashx_t *live;       /* id -> gateway_t (owned) */
    zhashx_t *tombstones; /* id -> (void *)1 */
};

static void gateway_free(void **item)
{
    free(*item);
    *item = NULL;
}

gateways_t *gateways_new(void)
{
    gateways_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->live = zhashx_new();
    self->tombstones = zhashx_new();
    if (!self->live || !self->tombstones) {
        gateways_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->live, gateway_free);
    return self;
}

void gateways_destroy(gateways_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->live);
    zhashx_destroy(&(*self_p)->tombstones);
    free(*self_p);
    *self_p = NULL;
}

int gateways_hello(gateways_t *self, const char *id, const void *rid, size_t rlen, int64_t now_ms)
{
    gateway_t *g = zhashx_lookup(self->live, id);
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g)
            return -1;
        if (zhashx_lookup(self->tombstones, id)) {
            g->loud = true;
            zhashx_delete(self->tombstones, id);
        }
        zhashx_insert(self->live, id, g);
    }
    if (rlen > sizeof g->rid)
        rlen = sizeof g->rid;
    memcpy(g->rid, rid, rlen);
    g->rlen = rlen;
    g->last_ms = now_ms;
    return 0;
}

bool gateways_known(gateways_t *self, const char *id)
{
    return id && zhashx_lookup(self->live, id) != NULL;
}

int gateways_touch(gateways_t *self, const char *id, int64_t now_ms)
{
    gateway_t *g = id ? zhashx_lookup(self->live, id) : NULL;
    if (!g)
        return -1;
    g->last_ms = now_ms;
    return 0;
}

bool gateways_loud(gateways_t *self, const char *id)
{
    gateway_t *g = id ? zhashx_lookup(self->live, id) : NULL;
    return g && g->loud;
}

bool gateways_tombstoned(gateways_t *self, const char *id)
{
    return id && zhashx_lookup(self->tombstones, id) != NULL;
}

size_t gateways_count(gateways_t *self)
{
    return zhashx_size(self->live);
}

const char *gateways_expired(gateways_t *self, int64_t now_ms, int64_t timeout_ms)
{
    for (gateway_t *g = zhashx_first(self->live); g; g = zhashx_next(self->live))
        if (now_ms - g->last_ms > timeout_ms)
            return (const char *)zhashx_cursor(self->live);
    return NULL;
}

int gateways_drop(gateways_t *self, const char *id)
{
    if (!gateways_known(self, id))
        return -1;
    char *copy = strdup(id); /* id may point at the key being deleted */
    if (!copy)
        return -1;
    zhashx_delete(self->live, copy);
    if (zhashx_size(self->tombstones) >= GATEWAYS_MAX_TOMBSTONES)
        zhashx_purge(self->tombstones);
    zhashx_insert(self->tombstones, copy, (void *)1);
    free(copy);
    return 0;
}
