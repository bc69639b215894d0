/* The dispatch table: message type -> handler. Exact types win over prefixes ("chat:*"),
 * longer prefixes over shorter ones; a later registration of a pattern replaces the earlier.
 * Middleware runs before dispatch, in the order added, and may stop a message. */
#ifndef RT_DISPATCH_H
#define RT_DISPATCH_H

#include "router.h"
#include <stdbool.h>

typedef struct dispatch dispatch_t;

typedef enum {
    DISPATCH_HANDLER = 0, /* a registered handler matched */
    DISPATCH_RESERVED,    /* no handler, and the type is in a reserved namespace: unknown_type */
    DISPATCH_DEFAULT      /* no handler: the default route */
} dispatch_kind_t;

/* Caller owns; NULL on OOM. */
dispatch_t *dispatch_new(void);
void dispatch_destroy(dispatch_t **self_p);

/* pattern: 1-64 chars of a valid type, optionally ending in '*'. Returns 0 or -1. */
int dispatch_on(dispatch_t *self, const char *pattern, rt_handler_fn fn, void *arg);
int dispatch_use(dispatch_t *self, rt_middleware_fn fn, void *arg);

/* Which handler takes `type`: sets *fn / *arg for DISPATCH_HANDLER. */
dispatch_kind_t dispatch_find(dispatch_t *self, const char *type, rt_handler_fn *fn, void **arg);

/* Runs the middleware on m; false when one of them stopped it. */
bool dispatch_middleware(dispatch_t *self, router_t *r, const rt_msg_t *m);

/* Middleware, then the handler. Returns what was found (DISPATCH_HANDLER also when middleware
 * stopped the message: there is nothing left for the caller to do, and *stopped is set). */
dispatch_kind_t dispatch_run(dispatch_t *self, router_t *r, const rt_msg_t *m, bool *stopped);

#endif
