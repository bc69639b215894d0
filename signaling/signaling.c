/* The webrtc:* handlers: validation, rate limit, membership checks through the router's
 * presence op, relay by a `send` action carrying `from`, and the webrtc:join ack. */
#include "signaling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "ids.h"
#include "log.h"
#include "service.h"
#include "turn.h"
#include "validate.h"

#define SIG_SWEEP_MS 10000

typedef struct {
    char **items;
    size_t n;
} list_t;

typedef struct {
    double tokens;
    int64_t last_ms;
} bucket_t;

struct signaling {
    svc_t *svc;
    bool auto_join;
    list_t stun, turn;
    char *turn_secret;
    int64_t turn_ttl;
    double rate, burst; /* rate 0 = off */
    zhashx_t *buckets;  /* conn id -> bucket_t */
    int64_t next_sweep;
};

/* One request between its arrival and its answer (join / presence ops in flight). */
typedef struct {
    signaling_t *sig;
    svc_request_t *req;
    sig_kind_t kind;
} op_t;

static int list_parse(list_t *l, const char *csv)
{
    if (!csv || !*csv)
        return 0;
    char *copy = strdup(csv);
    if (!copy)
        return -1;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char **n = realloc(l->items, (l->n + 1) * sizeof *n);
        if (!n || !(n[l->n] = strdup(t))) {
            if (n)
                l->items = n;
            free(copy);
            return -1;
        }
        l->items = n;
        l->n++;
    }
    free(copy);
    return 0;
}

static void list_free(list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void bucket_free(void **item)
{
    free(*item);
    *item = NULL;
}

bool signaling_rate_ok(signaling_t *sig, const char *conn, int64_t now_ms)
{
    if (sig->rate <= 0 || !conn)
        return true;
    bucket_t *b = zhashx_lookup(sig->buckets, conn);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b)
            return true;
        b->tokens = sig->burst;
        b->last_ms = now_ms;
        zhashx_insert(sig->buckets, conn, b);
    }
    b->tokens += (double)(now_ms - b->last_ms) * sig->rate / 1000.0;
    if (b->tokens > sig->burst)
        b->tokens = sig->burst;
    b->last_ms = now_ms;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

/* A bucket that has refilled completely is the same as no bucket: forget it. */
static void sweep_buckets(signaling_t *sig, int64_t now_ms)
{
    if (now_ms < sig->next_sweep)
        return;
    sig->next_sweep = now_ms + SIG_SWEEP_MS;
    int64_t full_ms = (int64_t)(sig->burst * 1000.0 / (sig->rate > 0 ? sig->rate : 1)) + 1;
    zlistx_t *keys = zhashx_keys(sig->buckets);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        bucket_t *b = zhashx_lookup(sig->buckets, k);
        if (b && now_ms - b->last_ms > full_ms)
            zhashx_delete(sig->buckets, k);
    }
    zlistx_destroy(&keys);
}

/* ---- the join ack ---- */

static bool member_id(mp_t m, const char **id, size_t *len)
{
    return mp_str(mp_get(m, "id"), id, len) == 0;
}

static bool is_self(const char *id, size_t len, const char *self)
{
    return strlen(self) == len && memcmp(id, self, len) == 0;
}

void signaling_join_ack(const signaling_t *sig, mpw_t *w, const char *room, const char *self,
                        mp_t members, int64_t now_s)
{
    mp_iter_t it;
    mp_t m;
    const char *id;
    size_t len;
    uint32_t npeers = 0;
    if (mp_iter(members, &it) == 0)
        while (mp_next(&it, &m))
            if (member_id(m, &id, &len) && !is_self(id, len, self))
                npeers++;

    mpw_map(w, 4);
    mpw_kstr(w, "room", room);
    mpw_cstr(w, "peers");
    mpw_array(w, npeers);
    if (mp_iter(members, &it) == 0)
        while (mp_next(&it, &m))
            if (member_id(m, &id, &len) && !is_self(id, len, self))
                mpw_str(w, id, len);

    bool turn = sig->turn.n > 0 && sig->turn_secret;
    mpw_cstr(w, "iceServers");
    mpw_array(w, (sig->stun.n > 0) + turn);
    if (sig->stun.n > 0) {
        mpw_map(w, 1);
        mpw_cstr(w, "urls");
        mpw_array(w, (uint32_t)sig->stun.n);
        for (size_t i = 0; i < sig->stun.n; i++)
            mpw_cstr(w, sig->stun.items[i]);
    }
    if (turn) {
        char username[RT_CONN_MAX + 32], credential[64];
        if (turn_credential(sig->turn_secret, self, now_s + sig->turn_ttl, username,
                            sizeof username, credential, sizeof credential) != 0) {
            username[0] = credential[0] = '\0';
            rt_error("TURN credential for %s failed", self);
        }
        mpw_map(w, 3);
        mpw_cstr(w, "urls");
        mpw_array(w, (uint32_t)sig->turn.n);
        for (size_t i = 0; i < sig->turn.n; i++)
            mpw_cstr(w, sig->turn.items[i]);
        mpw_kstr(w, "username", username);
        mpw_kstr(w, "credential", credential);
    }

    mpw_cstr(w, "polite");
    mpw_map(w, npeers);
    char peer[RT_CONN_MAX + 1];
    if (mp_iter(members, &it) == 0)
        while (mp_next(&it, &m))
            if (member_id(m, &id, &len) && !is_self(id, len, self)) {
                mpw_str(w, id, len);
                snprintf(peer, sizeof peer, "%.*s", (int)len, id);
                mpw_bool(w, turn_polite(self, peer));
            }
}

/* ---- request flow: [join] -> presence -> answer ---- */

static void op_fail(op_t *op, const svc_result_t *res)
{
    const char *code = res->local ? "timeout" : res->code;
    svc_error(op->req, code ? code : "internal", res->message);
    free(op);
}

static void on_presence(svc_t *svc, const svc_result_t *res, void *arg)
{
    op_t *op = arg;
    svc_request_t *req = op->req;
    if (!res->ok) {
        /* A room the router does not know has no members: the sender is not in it. */
        if (!res->local && res->code && strcmp(res->code, "not_in_room") == 0 &&
            op->kind != SIG_JOIN) {
            svc_error(req, "not_in_room", "the sender is not a member of the room");
            free(op);
            return;
        }
        op_fail(op, res);
        return;
    }
    mp_t members = mp_get(res->result, "members");
    if (op->kind == SIG_JOIN) {
        mpw_t w = MPW_INIT;
        signaling_join_ack(op->sig, &w, req->room, req->from, members, ids_now_ms() / 1000);
        if (w.oom)
            svc_error(req, "internal", "out of memory");
        else
            svc_reply(req, mpw_view(&w));
        mpw_free(&w);
        free(op);
        return;
    }
    bool sender = false, target = false;
    mp_iter_t it;
    mp_t m;
    const char *id;
    size_t len;
    if (mp_iter(members, &it) == 0)
        while (mp_next(&it, &m))
            if (member_id(m, &id, &len)) {
                sender = sender || is_self(id, len, req->from);
                target = target || is_self(id, len, req->to);
            }
    if (!sender)
        svc_error(req, "not_in_room", "the sender is not a member of the room");
    else if (!target)
        svc_error(req, "peer_not_found", "`to` is not a member of the room");
    else {
        svc_action_send(req, req->to, req->type, req->payload, req->room, req->from);
        svc_reply(req, MP_NONE);
    }
    free(op);
}

static void ask_presence(op_t *op)
{
    if (svc_presence(op->sig->svc, op->req->room, on_presence, op) != 0) {
        svc_error(op->req, "internal", "cannot reach the router");
        free(op);
    }
}

/* The join op answers like room:join ({room, members}): those members are the presence
 * list, which saves a round trip; a router that answers {} gets the presence op. */
static void on_joined(svc_t *svc, const svc_result_t *res, void *arg)
{
    op_t *op = arg;
    if (!res->ok)
        op_fail(op, res);
    else if (mp_type(mp_get(res->result, "members")) == MP_ARRAY)
        on_presence(svc, res, op);
    else
        ask_presence(op);
}

static void on_webrtc(svc_request_t *req, void *arg)
{
    signaling_t *sig = arg;
    int64_t now = ids_mono_ms();
    sweep_buckets(sig, now);
    sig_kind_t kind = validate_kind(req->type);
    if (kind == SIG_UNKNOWN) {
        svc_error(req, "unknown_type", "unknown webrtc: type");
        return;
    }
    if (!req->from) {
        svc_error(req, "bad_request", "webrtc messages come from a connection");
        return;
    }
    if (!signaling_rate_ok(sig, req->from, now)) {
        svc_error(req, "rate_limited", "too many webrtc messages");
        return;
    }
    if (!req->room || !ids_valid_room(req->room, strlen(req->room))) {
        svc_error(req, "bad_request", "`room` is required");
        return;
    }
    if (kind != SIG_JOIN) {
        if (!req->to || !ids_valid_conn(req->to, strlen(req->to))) {
            svc_error(req, "bad_request", "`to` is required");
            return;
        }
        char why[128];
        if (validate_payload(kind, req->payload, why, sizeof why) != 0) {
            svc_error(req, "bad_request", why);
            return;
        }
    }
    op_t *op = calloc(1, sizeof *op);
    if (!op) {
        svc_error(req, "internal", "out of memory");
        return;
    }
    op->sig = sig;
    op->req = req;
    op->kind = kind;
    if (kind == SIG_JOIN || sig->auto_join) {
        /* webrtc:join's payload is the member meta, as room:join's: the router checks it (an
         * object of at most 1 KiB, else bad_request); null means none. */
        mp_t meta = kind == SIG_JOIN && !mp_is_nil(req->payload) ? req->payload : MP_NONE;
        if (svc_join(sig->svc, req->from, req->room, meta, on_joined, op) != 0) {
            svc_error(req, "internal", "cannot reach the router");
            free(op);
        }
        return;
    }
    ask_presence(op);
}

signaling_t *signaling_new(const sig_opts_t *opts)
{
    signaling_t *sig = calloc(1, sizeof *sig);
    if (!sig)
        return NULL;
    sig->auto_join = opts->auto_join_rooms;
    sig->turn_ttl = opts->turn_ttl;
    sig->rate = (double)opts->rate_limit;
    sig->burst = (double)opts->rate_burst;
    sig->buckets = zhashx_new();
    if (sig->buckets)
        zhashx_set_destructor(sig->buckets, bucket_free);
    if (opts->turn_secret)
        sig->turn_secret = strdup(opts->turn_secret);
    if (!sig->buckets || list_parse(&sig->stun, opts->stun) != 0 ||
        list_parse(&sig->turn, opts->turn_uri) != 0 || (opts->turn_secret && !sig->turn_secret)) {
        signaling_destroy(&sig);
        return NULL;
    }
    sig->svc = svc_new(opts->router_api, "rt-signaling");
    if (!sig->svc ||
        (opts->curve_secret_key &&
         svc_set_curve(sig->svc, opts->curve_secret_key, opts->curve_server_key) != 0)) {
        signaling_destroy(&sig);
        return NULL;
    }
    svc_set_timeout(sig->svc, (int)opts->api_timeout);
    if (svc_on(sig->svc, "webrtc:*", on_webrtc, sig) != 0) {
        signaling_destroy(&sig);
        return NULL;
    }
    rt_info("serving webrtc:* for %s (auto-join-rooms %s, %zu STUN, %zu TURN URIs)",
            opts->router_api, sig->auto_join ? "on" : "off", sig->stun.n, sig->turn.n);
    return sig;
}

void signaling_destroy(signaling_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    signaling_t *sig = *self_p;
    svc_destroy(&sig->svc);
    zhashx_destroy(&sig->buckets);
    list_free(&sig->stun);
    list_free(&sig->turn);
    free(sig->turn_secret);
    free(sig);
    *self_p = NULL;
}

int signaling_run(signaling_t *sig)
{
    return svc_run(sig->svc);
}

int signaling_poll(signaling_t *sig, int timeout_ms)
{
    return svc_poll(sig->svc, timeout_ms);
}
