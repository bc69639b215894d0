/* The service registry of the service API (docs/services.md): which DEALER (routing id) handles
 * which type patterns, when each was last heard from, and round-robin over the live
 * registrations of a pattern. A pattern, once registered, stays known until the registry is
 * destroyed (router restart), also while none of its services is live: its messages then get
 * `unavailable` instead of the default route. Pure data: no sockets, no clock of its own. */
#ifndef RT_SERVICES_H
#define RT_SERVICES_H

#include "errors.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERVICES_RID_MAX 255 /* ZeroMQ routing ids are at most 255 bytes */
#define SERVICES_NAME_MAX 128

typedef struct services services_t;
typedef struct service service_t;                   /* one registered DEALER */
typedef struct services_pattern services_pattern_t; /* one pattern and its registrations */

/* Caller owns; NULL on OOM. */
services_t *services_new(void);
void services_destroy(services_t **self_p);

/* Whether `pattern` may be registered: RT_OK; RT_E_BAD_REQUEST unless it is a valid type
 * optionally ending in '*' ("*" alone: every type outside the reserved namespaces);
 * RT_E_FORBIDDEN for a built-in type (ping) or a reserved namespace other than webrtc:. */
rt_err_t services_check_pattern(const char *pattern, size_t len);

/* Adds `pattern` (checked with services_check_pattern first) to the registrations of the
 * DEALER rid[0..rlen), creating that registration (name may be NULL) heard at now_ms.
 * Registering a pattern twice from one DEALER changes nothing. Returns 0 or -1 (OOM, bad). */
int services_register(services_t *self, const void *rid, size_t rlen, const char *name,
                      const char *pattern, int64_t now_ms);

/* The registration of rid, or NULL. Borrowed until it is dropped. */
service_t *services_find(services_t *self, const void *rid, size_t rlen);
/* Marks the registration of rid as heard at now_ms; false when rid is not registered. */
bool services_touch(services_t *self, const void *rid, size_t rlen, int64_t now_ms);

/* The pattern that owns `type`: an exact pattern first, else the longest matching prefix.
 * Types of the reserved namespaces other than webrtc: never match. NULL when none. */
services_pattern_t *services_match(services_t *self, const char *type);
/* The next live registration of p, round-robin; NULL when none is live. */
service_t *services_pick(services_t *self, services_pattern_t *p);
const char *services_pattern_text(const services_pattern_t *p); /* as registered, with '*' */

const void *service_rid(const service_t *s, size_t *rlen);
const char *service_name(const service_t *s);
/* A number unique to this registration within the registry's life (never reused). */
uint64_t service_seq(const service_t *s);

/* A registration silent since before now_ms - timeout_ms, or NULL. */
service_t *services_expired(services_t *self, int64_t now_ms, int64_t timeout_ms);
/* Forgets the registration of s (its patterns stay, service-owned). */
void services_drop(services_t *self, service_t *s);

/* Calls fn(pattern text, arg) for every pattern with at least one live registration. */
void services_each_live(services_t *self, void (*fn)(const char *pattern, void *arg), void *arg);

size_t services_count(services_t *self);    /* live registrations */
size_t services_patterns(services_t *self); /* patterns ever registered */

#endif
