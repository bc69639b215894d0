/* The built-in types of the client protocol (room:join, room:leave, presence:list, ping, and
 * the webrtc: types until a signaling service registers them), registered with router_on like
 * user handlers. */
#ifndef RT_BUILTINS_H
#define RT_BUILTINS_H

#include "router.h"

/* Registers every built-in on r. Returns 0 or -1. */
int builtins_register(router_t *r);
/* True for the built-in types that come before service patterns (room:join, room:leave,
 * presence:list, ping); the webrtc: handlers are not among them. */
bool builtins_is_builtin(const char *type);

#endif
