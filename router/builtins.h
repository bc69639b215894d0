/* The built-in types of the client protocol (room:join, room:leave, presence:list, ping, and
 * the webrtc: types until a signaling service registers them), registered like user handlers
 * (router_on_first, router_on). */
#ifndef RT_BUILTINS_H
#define RT_BUILTINS_H

#include "router.h"

/* Registers every built-in on r: room:join, room:leave, presence:list and ping with
 * router_on_first (before the services' patterns), the webrtc: types with router_on (after
 * them, so a signaling service takes them over). Returns 0 or -1. */
int builtins_register(router_t *r);

#endif
