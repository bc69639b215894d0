/* The service registry (see services.h). A handful of services and patterns is the expected
 * size, so both live in plain arrays: matching a type is one pass over the patterns (exact
 * ones compared first), which costs less than hashing at this size. */
#include "services.h"
#include "ids.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service {
    uint8_t rid[SERVICES_RID_MAX];
    size_t rlen;
    char name[SERVICES_NAME_MAX + 1];
    int64_t last_ms;
    uint64_t seq;
};

struct services_pattern {
    char *text; /* as registered */
    size_t len; /* of the body: without the '*' */
    bool prefix;
    service_t **live; /* registrations serving it */
    size_t nlive, caplive;
    size_t rr; /* round-robin cursor */
};

struct services {
    service_t **svc;
    size_t nsvc, capsvc;
    services_pattern_t **pat; /* exact and prefix alike; matching picks the best */
    size_t npat, cappat;
    uint64_t next_seq;
};

services_t *services_new(void)
{
    return calloc(1, sizeof(services_t));
}

void services_destroy(services_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    services_t *self = *self_p;
    for (size_t i = 0; i < self->nsvc; i++)
        free(self->svc[i]);
    for (size_t i = 0; i < self->npat; i++) {
        free(self->pat[i]->text);
        free(self->pat[i]->live);
        free(self->pat[i]);
    }
    free(self->svc);
    free(self->pat);
    free(self);
    *self_p = NULL;
}

/* Grows a pointer array to hold one more; 0 or -1. */
static int grow(void ***arr, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void **a = realloc(*arr, c * sizeof *a);
    if (!a)
        return -1;
    *arr = a;
    *cap = c;
    return 0;
}

static const char *const webrtc_ns = "webrtc:";

rt_err_t services_check_pattern(const char *pattern, size_t len)
{
    if (!pattern || len == 0)
        return RT_E_BAD_REQUEST;
    bool prefix = pattern[len - 1] == '*';
    size_t body = prefix ? len - 1 : len;
    if (body == 0)
        return prefix ? RT_OK : RT_E_BAD_REQUEST;
    if (!ids_valid_type(pattern, body))
        return RT_E_BAD_REQUEST;
    if (!prefix && body == 4 && memcmp(pattern, "ping", 4) == 0)
        return RT_E_FORBIDDEN;
    if (ids_reserved_type(pattern, body) &&
        !(body >= strlen(webrtc_ns) && memcmp(pattern, webrtc_ns, strlen(webrtc_ns)) == 0))
        return RT_E_FORBIDDEN;
    return RT_OK;
}

service_t *services_find(services_t *self, const void *rid, size_t rlen)
{
    for (size_t i = 0; i < self->nsvc; i++)
        if (self->svc[i]->rlen == rlen && memcmp(self->svc[i]->rid, rid, rlen) == 0)
            return self->svc[i];
    return NULL;
}

static services_pattern_t *pattern_get(services_t *self, const char *text)
{
    for (size_t i = 0; i < self->npat; i++)
        if (strcmp(self->pat[i]->text, text) == 0)
            return self->pat[i];
    services_pattern_t *p = calloc(1, sizeof *p);
    if (!p || grow((void ***)&self->pat, self->npat, &self->cappat) != 0 ||
        !(p->text = strdup(text))) {
        free(p);
        return NULL;
    }
    size_t len = strlen(text);
    p->prefix = len > 0 && text[len - 1] == '*';
    p->len = p->prefix ? len - 1 : len;
    self->pat[self->npat++] = p;
    return p;
}

int services_register(services_t *self, const void *rid, size_t rlen, const char *name,
                      const char *pattern, int64_t now_ms)
{
    if (!rid || rlen == 0 || rlen > SERVICES_RID_MAX || !pattern ||
        services_check_pattern(pattern, strlen(pattern)) != RT_OK)
        return -1;
    service_t *s = services_find(self, rid, rlen);
    if (!s) {
        if (grow((void ***)&self->svc, self->nsvc, &self->capsvc) != 0 ||
            !(s = calloc(1, sizeof *s)))
            return -1;
        memcpy(s->rid, rid, rlen);
        s->rlen = rlen;
        s->seq = ++self->next_seq;
        self->svc[self->nsvc++] = s;
    }
    if (name)
        snprintf(s->name, sizeof s->name, "%s", name);
    s->last_ms = now_ms;
    services_pattern_t *p = pattern_get(self, pattern);
    if (!p)
        return -1;
    for (size_t i = 0; i < p->nlive; i++)
        if (p->live[i] == s)
            return 0;
    if (grow((void ***)&p->live, p->nlive, &p->caplive) != 0)
        return -1;
    p->live[p->nlive++] = s;
    return 0;
}

bool services_touch(services_t *self, const void *rid, size_t rlen, int64_t now_ms)
{
    service_t *s = services_find(self, rid, rlen);
    if (s)
        s->last_ms = now_ms;
    return s != NULL;
}

services_pattern_t *services_match(services_t *self, const char *type)
{
    size_t tlen = strlen(type);
    if (ids_reserved_type(type, tlen) && strncmp(type, webrtc_ns, strlen(webrtc_ns)) != 0)
        return NULL;
    services_pattern_t *best = NULL;
    for (size_t i = 0; i < self->npat; i++) {
        services_pattern_t *p = self->pat[i];
        if (!p->prefix) {
            if (p->len == tlen && memcmp(p->text, type, tlen) == 0)
                return p; /* exact wins over every prefix */
        } else if (p->len <= tlen && memcmp(p->text, type, p->len) == 0 &&
                   (!best || p->len > best->len)) {
            best = p;
        }
    }
    return best;
}

service_t *services_pick(services_t *self, services_pattern_t *p)
{
    (void)self;
    if (!p || p->nlive == 0)
        return NULL;
    return p->live[p->rr++ % p->nlive];
}

const char *services_pattern_text(const services_pattern_t *p)
{
    return p->text;
}

const void *service_rid(const service_t *s, size_t *rlen)
{
    *rlen = s->rlen;
    return s->rid;
}

const char *service_name(const service_t *s)
{
    return s->name;
}

uint64_t service_seq(const service_t *s)
{
    return s->seq;
}

service_t *services_expired(services_t *self, int64_t now_ms, int64_t timeout_ms)
{
    for (size_t i = 0; i < self->nsvc; i++)
        if (now_ms - self->svc[i]->last_ms > timeout_ms)
            return self->svc[i];
    return NULL;
}

void services_drop(services_t *self, service_t *s)
{
    for (size_t i = 0; i < self->npat; i++) {
        services_pattern_t *p = self->pat[i];
        for (size_t j = 0; j < p->nlive; j++) {
            if (p->live[j] == s) {
                memmove(&p->live[j], &p->live[j + 1], (p->nlive - j - 1) * sizeof *p->live);
                p->nlive--;
                break;
            }
        }
    }
    for (size_t i = 0; i < self->nsvc; i++) {
        if (self->svc[i] == s) {
            memmove(&self->svc[i], &self->svc[i + 1], (self->nsvc - i - 1) * sizeof *self->svc);
            self->nsvc--;
            free(s);
            return;
        }
    }
}

size_t services_count(services_t *self)
{
    return self->nsvc;
}

size_t services_patterns(services_t *self)
{
    return self->npat;
}

void services_each_live(services_t *self, void (*fn)(const char *pattern, void *arg), void *arg)
{
    for (size_t i = 0; i < self->npat; i++)
        if (self->pat[i]->nlive > 0)
            fn(self->pat[i]->text, arg);
}
