/* The rt-signaling configuration table (see options.h). */
#include "options.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Every comma-separated item starts with one of the two schemes. */
static int check_uris(const char *value, const char *a, const char *b, char *why, size_t whylen)
{
    const char *p = value;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t la = strlen(a), lb = strlen(b);
        bool ok = (len > la && strncmp(p, a, la) == 0) || (len > lb && strncmp(p, b, lb) == 0);
        for (size_t i = 0; ok && i < len; i++)
            if (p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] < 0x21)
                ok = false;
        if (!ok) {
            snprintf(why, whylen, "'%.*s' is not a %s or %s URI", (int)len, p, a, b);
            return -1;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int check_stun(const char *value, char *why, size_t whylen)
{
    return check_uris(value, "stun:", "stuns:", why, whylen);
}

static int check_turn(const char *value, char *why, size_t whylen)
{
    return check_uris(value, "turn:", "turns:", why, whylen);
}

static int check_secret_cert(const char *value, char *why, size_t whylen)
{
    static const byte zero[32] = {0};
    zcert_t *cert = value && *value ? zcert_load(value) : NULL;
    bool ok = cert && memcmp(zcert_secret_key(cert), zero, 32) != 0;
    zcert_destroy(&cert);
    if (!ok)
        snprintf(why, whylen, "'%s' is not a readable zcert secret certificate", value ? value : "");
    return ok ? 0 : -1;
}

static int check_z85_key(const char *value, char *why, size_t whylen)
{
    if (!value || strlen(value) != 40) {
        snprintf(why, whylen, "a CURVE public key is 40 Z85 characters");
        return -1;
    }
    return 0;
}

static const cfg_option_t table[] = {
    {"router-api", CFG_STR, "tcp://127.0.0.1:5557", 0, -1, offsetof(sig_opts_t, router_api),
     "the router's service API endpoint (ZeroMQ ROUTER)", cfg_check_endpoint},
    {"curve-secret-key", CFG_STR, NULL, 0, -1, offsetof(sig_opts_t, curve_secret_key),
     "zcert secret certificate: CurveZMQ client key for a router started with "
     "--curve-secret-key (its public certificate in the router's --curve-allow)",
     check_secret_cert},
    {"curve-server-key", CFG_STR, NULL, 0, -1, offsetof(sig_opts_t, curve_server_key),
     "the router's CURVE public key (Z85; default: the public key of --curve-secret-key)",
     check_z85_key},
    {"router-events", CFG_STR, "tcp://127.0.0.1:5558", 0, -1, offsetof(sig_opts_t, router_events),
     "the router's service events endpoint (checked; reserved: membership comes from the "
     "presence op)",
     cfg_check_endpoint},
    {"auto-join-rooms", CFG_BOOL, "false", 0, -1, offsetof(sig_opts_t, auto_join_rooms),
     "webrtc:offer/answer/candidate/bye join the sender to `room` first", NULL},
    {"stun", CFG_STR, NULL, 0, -1, offsetof(sig_opts_t, stun),
     "comma-separated STUN URIs for iceServers (stun:HOST:PORT)", check_stun},
    {"turn-uri", CFG_STR, NULL, 0, -1, offsetof(sig_opts_t, turn_uri),
     "comma-separated TURN URIs for iceServers (turn:HOST:PORT?transport=udp); needs "
     "--turn-secret",
     check_turn},
    {"turn-secret", CFG_STR, NULL, 0, -1, offsetof(sig_opts_t, turn_secret),
     "TURN REST-API shared secret (coturn static-auth-secret)", NULL},
    {"turn-ttl", CFG_INT, "86400", 60, 31536000, offsetof(sig_opts_t, turn_ttl),
     "seconds a TURN credential stays valid", NULL},
    {"rate-limit", CFG_INT, "50", 0, 1000000, offsetof(sig_opts_t, rate_limit),
     "webrtc:* messages per second per connection and instance (0 = off)", NULL},
    {"rate-burst", CFG_INT, "100", 1, 1000000, offsetof(sig_opts_t, rate_burst),
     "burst allowed above --rate-limit", NULL},
    {"api-timeout", CFG_INT, "2000", 10, 60000, offsetof(sig_opts_t, api_timeout),
     "ms to wait for the router's answer to a join/presence op (keep it below the router's "
     "--service-timeout)",
     NULL},
    {"log-level", CFG_LEVEL, "info", 0, -1, offsetof(sig_opts_t, log_level),
     "error, warn, info or debug", NULL},
    CFG_END};

const cfg_option_t *options_signaling(void)
{
    return table;
}

int options_signaling_check(const sig_opts_t *o, const char *prog)
{
    if (o->turn_uri && (!o->turn_secret || !*o->turn_secret)) {
        fprintf(stderr, "%s: --turn-secret: required with --turn-uri\n", prog);
        return -1;
    }
    return 0;
}
