/* The configuration of rt-signaling: the table and the struct it fills. */
#ifndef RT_SIG_OPTIONS_H
#define RT_SIG_OPTIONS_H

#include "config.h"
#include <stdbool.h>

typedef struct {
    char *router_api;     /* the router's service API (DEALER connects) */
    char *router_events;  /* the router's event PUB (not used yet: see options.c) */
    bool auto_join_rooms; /* offer/answer/candidate/bye join the sender to `room` first */
    char *stun;           /* comma-separated stun:/stuns: URIs */
    char *turn_uri;       /* comma-separated turn:/turns: URIs */
    char *turn_secret;    /* TURN REST-API shared secret (coturn --static-auth-secret) */
    long long turn_ttl;   /* seconds a TURN credential is valid */
    long long rate_limit; /* webrtc:* messages per second per connection (0 = off) */
    long long rate_burst;
    long long api_timeout;  /* ms this service waits for the router's answers */
    char *curve_secret_key; /* zcert secret certificate: CURVE client key towards the router */
    char *curve_server_key; /* the router's public key (Z85); NULL: our own public key */
    int log_level;
} sig_opts_t;

/* The cfg_parse table for a sig_opts_t; static, CFG_END-terminated. */
const cfg_option_t *options_signaling(void);

/* Checks that cfg_parse cannot express (a TURN URI without a secret); prints one line naming
 * the flag and returns -1 (exit 2), or 0. */
int options_signaling_check(const sig_opts_t *o, const char *prog);

#endif
