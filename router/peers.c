/* The mesh peer table (see peers.h). */
#include "peers.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char epoch[33];
    uint64_t expected; /* next sequence number */
    bool synced, up, asked;
    int64_t last_ms, resync_ms;
    char **svc; /* patterns of its live services */
    size_t nsvc;
} peer_t;

struct peers {
    zhashx_t *peers; /* node -> peer_t (owned) */
    zhashx_t *seen;  /* every pattern ever heard from a peer (keys only, until we restart) */
    unsigned rr;     /* round-robin over the nodes that tie for a type */
};

static void svc_free(peer_t *p)
{
    for (size_t i = 0; i < p->nsvc; i++)
        free(p->svc[i]);
    free(p->svc);
    p->svc = NULL;
    p->nsvc = 0;
}

static void peer_free(void **item)
{
    if (*item)
        svc_free(*item);
    free(*item);
    *item = NULL;
}

peers_t *peers_new(void)
{
    peers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->peers = zhashx_new();
    self->seen = zhashx_new();
    if (!self->peers || !self->seen) {
        zhashx_destroy(&self->peers);
        zhashx_destroy(&self->seen);
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->peers, peer_free);
    return self;
}

void peers_destroy(peers_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->peers);
    zhashx_destroy(&(*self_p)->seen);
    free(*self_p);
    *self_p = NULL;
}

static peers_verdict_t want_resync(peer_t *p, int64_t now_ms)
{
    p->synced = false;
    if (p->asked && now_ms - p->resync_ms < PEERS_RESYNC_EVERY_MS)
        return PEERS_IGNORE;
    p->asked = true;
    p->resync_ms = now_ms;
    return PEERS_RESYNC;
}

peers_verdict_t peers_seen(peers_t *self, const char *node, const char *epoch, uint64_t seq,
                           bool snap, int64_t now_ms)
{
    peer_t *p = zhashx_lookup(self->peers, node);
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return PEERS_IGNORE;
        zhashx_insert(self->peers, node, p);
    }
    p->last_ms = now_ms;
    if (strcmp(p->epoch, epoch) != 0) {
        snprintf(p->epoch, sizeof p->epoch, "%s", epoch);
        p->synced = false;
    }
    if (snap) {
        p->synced = true;
        p->asked = false;
        p->expected = seq + 1;
        return PEERS_APPLY;
    }
    if (!p->synced)
        return want_resync(p, now_ms);
    if (seq == p->expected) {
        p->expected++;
        return PEERS_APPLY;
    }
    if (seq < p->expected)
        return PEERS_IGNORE;
    return want_resync(p, now_ms);
}

bool peers_synced(peers_t *self, const char *node)
{
    peer_t *p = zhashx_lookup(self->peers, node);
    return p && p->synced;
}

bool peers_set_up(peers_t *self, const char *node)
{
    peer_t *p = zhashx_lookup(self->peers, node);
    if (!p || p->up)
        return false;
    p->up = true;
    return true;
}

bool peers_up(peers_t *self, const char *node)
{
    peer_t *p = zhashx_lookup(self->peers, node);
    return p && p->up;
}

const char *peers_expired(peers_t *self, int64_t now_ms, int64_t timeout_ms)
{
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers))
        if (now_ms - p->last_ms > timeout_ms)
            return (const char *)zhashx_cursor(self->peers);
    return NULL;
}

int peers_drop(peers_t *self, const char *node)
{
    if (!zhashx_lookup(self->peers, node))
        return -1;
    char *copy = strdup(node); /* node may point at the key being deleted */
    if (!copy)
        return -1;
    zhashx_delete(self->peers, copy);
    free(copy);
    return 0;
}

size_t peers_count(peers_t *self)
{
    return zhashx_size(self->peers);
}

size_t peers_count_up(peers_t *self)
{
    size_t n = 0;
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers))
        n += p->up;
    return n;
}

int peers_set_services(peers_t *self, const char *node, const char *const *patterns, size_t n)
{
    peer_t *p = zhashx_lookup(self->peers, node);
    if (!p)
        return -1;
    svc_free(p);
    if (n == 0)
        return 0;
    p->svc = calloc(n, sizeof *p->svc);
    if (!p->svc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!(p->svc[i] = strdup(patterns[i]))) {
            svc_free(p);
            return -1;
        }
        p->nsvc++;
        if (!zhashx_lookup(self->seen, patterns[i]) &&
            zhashx_insert(self->seen, patterns[i], (void *)1) != 0)
            return -1;
    }
    return 0;
}

/* How well pattern matches type: 0 not at all, else higher is better (an exact pattern beats
 * every prefix pattern, a longer prefix beats a shorter one). */
static size_t match_rank(const char *pat, const char *type, size_t tlen)
{
    size_t len = strlen(pat);
    if (len > 0 && pat[len - 1] == '*')
        return len - 1 <= tlen && strncmp(pat, type, len - 1) == 0 ? len : 0;
    return strcmp(pat, type) == 0 ? SIZE_MAX : 0;
}

static size_t peer_rank(const peer_t *p, const char *type, size_t tlen)
{
    size_t best = 0;
    for (size_t i = 0; i < p->nsvc; i++) {
        size_t rank = match_rank(p->svc[i], type, tlen);
        if (rank > best)
            best = rank;
    }
    return best;
}

const char *peers_service_node(peers_t *self, const char *type)
{
    size_t tlen = strlen(type), best = 0, ties = 0;
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers)) {
        size_t rank = p->up ? peer_rank(p, type, tlen) : 0;
        if (rank > best) {
            best = rank;
            ties = 1;
        } else if (rank && rank == best) {
            ties++;
        }
    }
    if (!best)
        return NULL;
    size_t pick = self->rr++ % ties;
    for (peer_t *p = zhashx_first(self->peers); p; p = zhashx_next(self->peers))
        if (p->up && peer_rank(p, type, tlen) == best && pick-- == 0)
            return (const char *)zhashx_cursor(self->peers);
    return NULL;
}

bool peers_pattern_known(peers_t *self, const char *type)
{
    size_t tlen = strlen(type);
    for (void *v = zhashx_first(self->seen); v; v = zhashx_next(self->seen))
        if (match_rank(zhashx_cursor(self->seen), type, tlen))
            return true;
    return false;
}
