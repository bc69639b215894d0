/* The built-in types of the client protocol (room:join, room:leave, presence:list, ping, and
 * webrtc:* until a signaling service exists), registered with router_on like user handlers. */
#ifndef RT_BUILTINS_H
#define RT_BUILTINS_H

#include "router.h"

/* Registers every built-in on r. Returns 0 or -1. */
int builtins_register(router_t *r);

#endif
