/* The dispatch table (see dispatch.h). Exact types in a hash; prefixes in an array kept
 * sorted longest first, so the first prefix that matches is the longest. */
#include "dispatch.h"
#include "ids.h"
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rt_handler_fn fn;
    void *arg;
} handler_t;

typedef struct {
    char *prefix; /* without the '*' */
    size_t len;
    handler_t h;
} prefix_t;

typedef struct {
    rt_middleware_fn fn;
    void *arg;
} middleware_t;

struct dispatch {
    zhashx_t *exact; /* type -> handler_t (owned) */
    prefix_t *prefixes;
    size_t nprefixes, capprefixes;
    middleware_t *mw;
    size_t nmw, capmw;
};

static void handler_free(void **item)
{
    free(*item);
    *item = NULL;
}

dispatch_t *dispatch_new(void)
{
    dispatch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->exact = zhashx_new();
    if (!self->exact) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->exact, handler_free);
    return self;
}

void dispatch_destroy(dispatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dispatch_t *self = *self_p;
    zhashx_destroy(&self->exact);
    for (size_t i = 0; i < self->nprefixes; i++)
        free(self->prefixes[i].prefix);
    free(self->prefixes);
    free(self->mw);
    free(self);
    *self_p = NULL;
}

static int add_prefix(dispatch_t *self, const char *p, size_t len, rt_handler_fn fn, void *arg)
{
    for (size_t i = 0; i < self->nprefixes; i++) {
        if (self->prefixes[i].len == len && memcmp(self->prefixes[i].prefix, p, len) == 0) {
            self->prefixes[i].h = (handler_t){fn, arg};
            return 0;
        }
    }
    if (self->nprefixes == self->capprefixes) {
        size_t cap = self->capprefixes ? self->capprefixes * 2 : 8;
        prefix_t *n = realloc(self->prefixes, cap * sizeof *n);
        if (!n)
            return -1;
        self->prefixes = n;
        self->capprefixes = cap;
    }
    char *copy = strndup(p, len);
    if (!copy)
        return -1;
    size_t at = 0; /* longest first */
    while (at < self->nprefixes && self->prefixes[at].len >= len)
        at++;
    memmove(&self->prefixes[at + 1], &self->prefixes[at],
            (self->nprefixes - at) * sizeof *self->prefixes);
    self->prefixes[at] = (prefix_t){copy, len, {fn, arg}};
    self->nprefixes++;
    return 0;
}

int dispatch_on(dispatch_t *self, const char *pattern, rt_handler_fn fn, void *arg)
{
    if (!pattern || !fn)
        return -1;
    size_t len = strlen(pattern);
    bool prefix = len > 0 && pattern[len - 1] == '*';
    size_t body = prefix ? len - 1 : len;
    /* "*" alone is a prefix of every type; otherwise the body must be a valid type text */
    if (body > 0 && !ids_valid_type(pattern, body))
        return -1;
    if (!prefix && body == 0)
        return -1;
    if (prefix)
        return add_prefix(self, pattern, body, fn, arg);
    handler_t *h = malloc(sizeof *h);
    if (!h)
        return -1;
    *h = (handler_t){fn, arg};
    zhashx_update(self->exact, pattern, h);
    return 0;
}

int dispatch_use(dispatch_t *self, rt_middleware_fn fn, void *arg)
{
    if (!fn)
        return -1;
    if (self->nmw == self->capmw) {
        size_t cap = self->capmw ? self->capmw * 2 : 4;
        middleware_t *n = realloc(self->mw, cap * sizeof *n);
        if (!n)
            return -1;
        self->mw = n;
        self->capmw = cap;
    }
    self->mw[self->nmw++] = (middleware_t){fn, arg};
    return 0;
}

dispatch_kind_t dispatch_find(dispatch_t *self, const char *type, rt_handler_fn *fn, void **arg)
{
    handler_t *h = zhashx_lookup(self->exact, type);
    if (!h) {
        for (size_t i = 0; i < self->nprefixes; i++) {
            if (strncmp(type, self->prefixes[i].prefix, self->prefixes[i].len) == 0) {
                h = &self->prefixes[i].h;
                break;
            }
        }
    }
    if (h) {
        *fn = h->fn;
        *arg = h->arg;
        return DISPATCH_HANDLER;
    }
    return ids_reserved_type(type, strlen(type)) ? DISPATCH_RESERVED : DISPATCH_DEFAULT;
}

bool dispatch_middleware(dispatch_t *self, router_t *r, const rt_msg_t *m)
{
    for (size_t i = 0; i < self->nmw; i++)
        if (!self->mw[i].fn(r, m, self->mw[i].arg))
            return false;
    return true;
}

dispatch_kind_t dispatch_run(dispatch_t *self, router_t *r, const rt_msg_t *m, bool *stopped)
{
    *stopped = !dispatch_middleware(self, r, m);
    if (*stopped)
        return DISPATCH_HANDLER;
    rt_handler_fn fn = NULL;
    void *arg = NULL;
    dispatch_kind_t kind = dispatch_find(self, m->type, &fn, &arg);
    if (kind == DISPATCH_HANDLER)
        fn(r, m, arg);
    return kind;
}
