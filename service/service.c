/* The service library (see service.h): one DEALER to the router's service API, the handler
 * table, the table of standalone operations waiting for their reply, heartbeats and
 * reconnection. */
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "log.h"
#include "zmqio.h"

#define SVC_HEARTBEAT_MS 500  /* the contract asks for at least one per second */
#define SVC_SILENCE_MS 3000   /* nothing from the router this long: new socket */
#define SVC_REREGISTER_MS 500 /* at most one register in flight per this interval */
#define SVC_MAX_PATTERN 64

typedef struct {
    char *pattern; /* without the trailing '*' when prefix */
    size_t len;
    bool prefix;
    svc_handler_fn *handler;
    void *arg;
} pattern_t;

typedef struct {
    char *prefix;
    size_t len;
    svc_event_fn *fn;
    void *arg;
} subscription_t;

typedef struct pending {
    uint64_t req;
    int64_t deadline;
    svc_result_fn *cb;
    void *arg;
    struct pending *next;
} pending_t;

/* A request as the library holds it; the public part comes first. */
typedef struct req_impl {
    svc_request_t pub;
    uint8_t *payload_buf;
    mpw_t actions;
    uint32_t nactions;
    struct req_impl *prev, *next;
} req_impl_t;

struct svc {
    char *endpoint, *name;
    zsock_t *sock;
    zcert_t *curve;   /* client key pair, NULL: plain */
    char *server_key; /* the router's public key (Z85), with curve */
    pattern_t *patterns;
    size_t npatterns;
    pending_t *pending;
    req_impl_t *open; /* handed to handlers, not answered yet */
    uint64_t next_req;
    int timeout_ms;
    bool registered;
    bool refused; /* the router refused the registration: no automatic retries */
    bool silent;  /* reconnecting after a silence, warned once */
    int64_t last_register, last_heard, next_heartbeat;
    bool stop;
    mpw_t w;
    zsock_t *sub; /* events SUB, created by the first svc_subscribe */
    char *events_endpoint;
    subscription_t *subs;
    size_t nsubs;
};

static volatile sig_atomic_t svc_signalled;

static void on_signal(int sig)
{
    (void)sig;
    svc_signalled = 1;
}

static int send_w(svc_t *svc)
{
    mp_t v = mpw_view(&svc->w);
    if (!mp_present(v) || zmqio_send_mp(svc->sock, v, false) != 0) {
        rt_warn("service: cannot send to %s", svc->endpoint);
        return -1;
    }
    return 0;
}

/* ---- registration ---- */

static void on_registered(svc_t *svc, const svc_result_t *res, void *arg)
{
    (void)arg;
    if (res->ok) {
        if (!svc->registered)
            rt_info("service %s: registered at %s", svc->name, svc->endpoint);
        svc->registered = true;
    } else if (!res->local) {
        /* A refusal (forbidden pattern) does not heal by retrying: stop until svc_on. */
        rt_error("service %s: register refused: %s: %s", svc->name, res->code, res->message);
        svc->refused = true;
    }
}

static uint64_t add_pending(svc_t *svc, svc_result_fn *cb, void *arg)
{
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return 0;
    p->req = ++svc->next_req;
    p->deadline = ids_mono_ms() + svc->timeout_ms;
    p->cb = cb;
    p->arg = arg;
    p->next = svc->pending;
    svc->pending = p;
    return p->req;
}

static void drop_pending(svc_t *svc, uint64_t req)
{
    for (pending_t **pp = &svc->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->req == req) {
            pending_t *p = *pp;
            *pp = p->next;
            free(p);
            return;
        }
    }
}

static void send_register(svc_t *svc)
{
    if (svc->npatterns == 0)
        return;
    uint64_t req = add_pending(svc, on_registered, NULL);
    if (!req)
        return;
    mpw_t *w = &svc->w;
    mpw_reset(w);
    mpw_map(w, 4);
    mpw_kstr(w, "op", "register");
    mpw_cstr(w, "req");
    mpw_uint(w, req);
    mpw_kstr(w, "name", svc->name);
    mpw_cstr(w, "types");
    mpw_array(w, (uint32_t)svc->npatterns);
    char pat[SVC_MAX_PATTERN + 2];
    for (size_t i = 0; i < svc->npatterns; i++) {
        snprintf(pat, sizeof pat, "%s%s", svc->patterns[i].pattern,
                 svc->patterns[i].prefix ? "*" : "");
        mpw_cstr(w, pat);
    }
    if (send_w(svc) != 0)
        drop_pending(svc, req);
    svc->last_register = ids_mono_ms();
}

static int connect_socket(svc_t *svc)
{
    zsock_t *s =
        zmqio_socket_curve(ZMQ_DEALER, svc->endpoint, false, 0, svc->curve, svc->server_key);
    if (!s)
        return -1;
    zsock_destroy(&svc->sock);
    svc->sock = s;
    svc->last_heard = ids_mono_ms();
    svc->next_heartbeat = svc->last_heard + SVC_HEARTBEAT_MS;
    return 0;
}

svc_t *svc_new(const char *api_endpoint, const char *name)
{
    if (!api_endpoint || !name)
        return NULL;
    zsys_handler_set(NULL); /* signals are ours (svc_run), not CZMQ's */
    svc_t *svc = calloc(1, sizeof *svc);
    if (!svc)
        return NULL;
    svc->endpoint = strdup(api_endpoint);
    svc->name = strdup(name);
    svc->timeout_ms = 5000;
    if (!svc->endpoint || !svc->name || connect_socket(svc) != 0) {
        svc_destroy(&svc);
        return NULL;
    }
    return svc;
}

int svc_set_curve(svc_t *svc, const char *cert_file, const char *server_key)
{
    static const byte zero[32] = {0};
    zcert_t *cert = cert_file ? zcert_load(cert_file) : NULL;
    if (!cert || memcmp(zcert_secret_key(cert), zero, 32) == 0) {
        rt_error("service %s: %s is not a zcert secret certificate", svc->name,
                 cert_file ? cert_file : "(none)");
        zcert_destroy(&cert);
        return -1;
    }
    if (server_key && strlen(server_key) != 40) {
        rt_error("service %s: the server key must be 40 Z85 characters", svc->name);
        zcert_destroy(&cert);
        return -1;
    }
    char *key = strdup(server_key ? server_key : zcert_public_txt(cert));
    if (!key) {
        zcert_destroy(&cert);
        return -1;
    }
    zcert_destroy(&svc->curve);
    free(svc->server_key);
    svc->curve = cert;
    svc->server_key = key;
    return connect_socket(svc);
}

static void free_request(svc_t *svc, req_impl_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (svc->open == r)
        svc->open = r->next;
    if (r->next)
        r->next->prev = r->prev;
    free((char *)r->pub.type);
    free((char *)r->pub.room);
    free((char *)r->pub.from);
    free((char *)r->pub.user);
    free((char *)r->pub.to);
    free((char *)r->pub.node);
    free((char *)r->pub.token);
    free(r->payload_buf);
    mpw_free(&r->actions);
    free(r);
}

void svc_destroy(svc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    svc_t *svc = *self_p;
    while (svc->open)
        free_request(svc, svc->open);
    while (svc->pending) {
        pending_t *p = svc->pending;
        svc->pending = p->next;
        free(p);
    }
    for (size_t i = 0; i < svc->npatterns; i++)
        free(svc->patterns[i].pattern);
    free(svc->patterns);
    zsock_destroy(&svc->sock);
    zsock_destroy(&svc->sub);
    for (size_t i = 0; i < svc->nsubs; i++)
        free(svc->subs[i].prefix);
    free(svc->subs);
    free(svc->events_endpoint);
    mpw_free(&svc->w);
    free(svc->endpoint);
    free(svc->name);
    zcert_destroy(&svc->curve);
    free(svc->server_key);
    free(svc);
    *self_p = NULL;
}

void svc_set_timeout(svc_t *svc, int ms)
{
    svc->timeout_ms = ms > 0 ? ms : 1;
}

int svc_on(svc_t *svc, const char *pattern, svc_handler_fn *handler, void *arg)
{
    size_t len = pattern ? strlen(pattern) : 0;
    if (!svc || !handler || len == 0 || len > SVC_MAX_PATTERN)
        return -1;
    bool prefix = pattern[len - 1] == '*';
    if (prefix)
        len--;
    if (!prefix && !ids_valid_type(pattern, len))
        return -1;
    pattern_t *np = realloc(svc->patterns, (svc->npatterns + 1) * sizeof *np);
    if (!np)
        return -1;
    svc->patterns = np;
    pattern_t *p = &np[svc->npatterns];
    p->pattern = strndup(pattern, len);
    if (!p->pattern)
        return -1;
    p->len = len;
    p->prefix = prefix;
    p->handler = handler;
    p->arg = arg;
    svc->npatterns++;
    svc->registered = false;
    svc->refused = false;
    send_register(svc);
    return 0;
}

bool svc_registered(const svc_t *svc)
{
    return svc && svc->registered;
}

/* ---- answers ---- */

static int answer(svc_request_t *req, mp_t result, const char *code, const char *message)
{
    req_impl_t *r = (req_impl_t *)req;
    svc_t *svc = req->svc;
    mpw_t *w = &svc->w;
    mpw_reset(w);
    mpw_map(w, 3 + (r->nactions > 0));
    mpw_kstr(w, "op", "handled");
    mpw_kstr(w, "token", req->token);
    if (code) {
        mpw_cstr(w, "error");
        mpw_map(w, 2);
        mpw_kstr(w, "code", code);
        mpw_kstr(w, "message", message ? message : code);
    } else if (mp_present(result)) {
        mpw_kraw(w, "reply", result);
    } else {
        mpw_cstr(w, "reply");
        mpw_map(w, 0);
    }
    if (r->nactions > 0) {
        mpw_cstr(w, "actions");
        mpw_array(w, r->nactions);
        if (r->actions.oom)
            w->oom = 1;
        else
            mpw_raw(w, mpw_view(&r->actions));
    }
    int rc = send_w(svc);
    free_request(svc, r);
    return rc;
}

int svc_reply(svc_request_t *req, mp_t result)
{
    return req ? answer(req, result, NULL, NULL) : -1;
}

int svc_error(svc_request_t *req, const char *code, const char *message)
{
    return req ? answer(req, MP_NONE, code ? code : "internal", message) : -1;
}

void svc_drop(svc_request_t *req)
{
    if (req)
        free_request(req->svc, (req_impl_t *)req);
}

/* Optional fields: NULL strings / absent values are left out, so the map size is counted. */
typedef struct {
    const char *key;
    const char *s; /* string value, or */
    mp_t v;        /* an encoded value, or */
    int64_t i;     /* an integer when is_int */
    bool is_int;
} field_t;

static void write_fields(mpw_t *w, uint32_t extra, const field_t *f, size_t n)
{
    uint32_t count = extra;
    for (size_t i = 0; i < n; i++)
        count += f[i].s || mp_present(f[i].v) || f[i].is_int;
    mpw_map(w, count);
    for (size_t i = 0; i < n; i++) {
        if (f[i].s)
            mpw_kstr(w, f[i].key, f[i].s);
        else if (mp_present(f[i].v))
            mpw_kraw(w, f[i].key, f[i].v);
        else if (f[i].is_int)
            mpw_kint(w, f[i].key, f[i].i);
    }
}

static void add_action(svc_request_t *req, const char *op, const field_t *f, size_t n)
{
    if (!req)
        return;
    req_impl_t *r = (req_impl_t *)req;
    write_fields(&r->actions, 1, f, n);
    mpw_kstr(&r->actions, "op", op);
    r->nactions++;
}

/* A payload must be present in publish/send: absent means nil. */
static mp_t or_nil(mp_t v)
{
    static const uint8_t nil = 0xc0;
    return mp_present(v) ? v : (mp_t){&nil, 1};
}

void svc_action_publish(svc_request_t *req, const char *room, const char *type, mp_t payload,
                        const char *except, const char *from)
{
    field_t f[] = {{"room", room, MP_NONE, 0, false},
                   {"type", type, MP_NONE, 0, false},
                   {"payload", NULL, or_nil(payload), 0, false},
                   {"except", except, MP_NONE, 0, false},
                   {"from", from, MP_NONE, 0, false}};
    add_action(req, "publish", f, 5);
}

void svc_action_send(svc_request_t *req, const char *to, const char *type, mp_t payload,
                     const char *room, const char *from)
{
    field_t f[] = {{"to", to, MP_NONE, 0, false},
                   {"type", type, MP_NONE, 0, false},
                   {"payload", NULL, or_nil(payload), 0, false},
                   {"room", room, MP_NONE, 0, false},
                   {"from", from, MP_NONE, 0, false}};
    add_action(req, "send", f, 5);
}

void svc_action_join(svc_request_t *req, const char *conn, const char *room, mp_t meta)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false},
                   {"room", room, MP_NONE, 0, false},
                   {"meta", NULL, meta, 0, false}};
    add_action(req, "join", f, 3);
}

void svc_action_leave(svc_request_t *req, const char *conn, const char *room)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false}, {"room", room, MP_NONE, 0, false}};
    add_action(req, "leave", f, 2);
}

void svc_action_disconnect(svc_request_t *req, const char *conn, int code, const char *reason)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false},
                   {"code", NULL, MP_NONE, code, code != 0},
                   {"reason", reason, MP_NONE, 0, false}};
    add_action(req, "disconnect", f, 3);
}

/* ---- standalone operations ---- */

static int call_fields(svc_t *svc, const char *op, const field_t *f, size_t n, mp_t extra,
                       svc_result_fn *cb, void *arg)
{
    if (!svc || !op)
        return -1;
    uint64_t req = add_pending(svc, cb, arg);
    if (!req)
        return -1;
    mpw_t *w = &svc->w;
    mpw_reset(w);
    uint32_t more = mp_type(extra) == MP_MAP ? mp_count(extra) : 0;
    write_fields(w, 2 + more, f, n);
    mpw_kstr(w, "op", op);
    mpw_cstr(w, "req");
    mpw_uint(w, req);
    if (more) {
        mp_iter_t it;
        mp_t k, v;
        mp_iter(extra, &it);
        while (mp_next_pair(&it, &k, &v)) {
            mpw_raw(w, k);
            mpw_raw(w, v);
        }
    }
    if (send_w(svc) != 0) {
        drop_pending(svc, req);
        return -1;
    }
    return 0;
}

int svc_call(svc_t *svc, const char *op, mp_t fields, svc_result_fn *cb, void *arg)
{
    if (mp_present(fields) && mp_type(fields) != MP_MAP)
        return -1;
    return call_fields(svc, op, NULL, 0, fields, cb, arg);
}

int svc_publish(svc_t *svc, const char *room, const char *type, mp_t payload, const char *except,
                const char *from, svc_result_fn *cb, void *arg)
{
    field_t f[] = {{"room", room, MP_NONE, 0, false},
                   {"type", type, MP_NONE, 0, false},
                   {"payload", NULL, or_nil(payload), 0, false},
                   {"except", except, MP_NONE, 0, false},
                   {"from", from, MP_NONE, 0, false}};
    return call_fields(svc, "publish", f, 5, MP_NONE, cb, arg);
}

int svc_send(svc_t *svc, const char *to, const char *type, mp_t payload, const char *room,
             const char *from, svc_result_fn *cb, void *arg)
{
    field_t f[] = {{"to", to, MP_NONE, 0, false},
                   {"type", type, MP_NONE, 0, false},
                   {"payload", NULL, or_nil(payload), 0, false},
                   {"room", room, MP_NONE, 0, false},
                   {"from", from, MP_NONE, 0, false}};
    return call_fields(svc, "send", f, 5, MP_NONE, cb, arg);
}

int svc_join(svc_t *svc, const char *conn, const char *room, mp_t meta, svc_result_fn *cb,
             void *arg)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false},
                   {"room", room, MP_NONE, 0, false},
                   {"meta", NULL, meta, 0, false}};
    return call_fields(svc, "join", f, 3, MP_NONE, cb, arg);
}

int svc_leave(svc_t *svc, const char *conn, const char *room, svc_result_fn *cb, void *arg)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false}, {"room", room, MP_NONE, 0, false}};
    return call_fields(svc, "leave", f, 2, MP_NONE, cb, arg);
}

int svc_disconnect(svc_t *svc, const char *conn, int code, const char *reason, svc_result_fn *cb,
                   void *arg)
{
    field_t f[] = {{"conn", conn, MP_NONE, 0, false},
                   {"code", NULL, MP_NONE, code, code != 0},
                   {"reason", reason, MP_NONE, 0, false}};
    return call_fields(svc, "disconnect", f, 3, MP_NONE, cb, arg);
}

int svc_presence(svc_t *svc, const char *room, svc_result_fn *cb, void *arg)
{
    field_t f[] = {{"room", room, MP_NONE, 0, false}};
    return call_fields(svc, "presence", f, 1, MP_NONE, cb, arg);
}

/* ---- incoming messages ---- */

static char *dup_str(mp_t v)
{
    const char *s;
    size_t len;
    if (mp_str(v, &s, &len) != 0)
        return NULL;
    return strndup(s, len);
}

static void on_reply(svc_t *svc, mp_t m)
{
    uint64_t req;
    if (mp_uint(mp_get(m, "req"), &req) != 0)
        return;
    pending_t *p = NULL;
    for (pending_t **pp = &svc->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->req == req) {
            p = *pp;
            *pp = p->next;
            break;
        }
    }
    if (!p) {
        rt_debug("service: reply to unknown or expired req %llu", (unsigned long long)req);
        return;
    }
    svc_result_t res = {0};
    bool ok = false;
    mp_bool(mp_get(m, "ok"), &ok);
    res.ok = ok;
    char code[64] = "internal", message[512] = "";
    if (ok) {
        res.result = mp_get(m, "result");
    } else {
        mp_t e = mp_get(m, "error");
        mp_strcpy(mp_get(e, "code"), code, sizeof code);
        if (mp_strcpy(mp_get(e, "message"), message, sizeof message) != 0) {
            const char *s;
            size_t len;
            if (mp_str(mp_get(e, "message"), &s, &len) == 0)
                snprintf(message, sizeof message, "%.*s", (int)(len < 500 ? len : 500), s);
        }
        res.code = code;
        res.message = message;
    }
    if (p->cb)
        p->cb(svc, &res, p->arg);
    free(p);
}

static const pattern_t *find_pattern(const svc_t *svc, const char *type)
{
    const pattern_t *best = NULL;
    size_t tlen = strlen(type);
    for (size_t i = 0; i < svc->npatterns; i++) {
        const pattern_t *p = &svc->patterns[i];
        if (!p->prefix) {
            if (p->len == tlen && memcmp(p->pattern, type, tlen) == 0)
                return p;
        } else if (p->len <= tlen && memcmp(p->pattern, type, p->len) == 0) {
            if (!best || p->len > best->len)
                best = p;
        }
    }
    return best;
}

static void on_handle(svc_t *svc, mp_t m)
{
    req_impl_t *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->pub.svc = svc;
    r->next = svc->open;
    if (svc->open)
        svc->open->prev = r;
    svc->open = r;
    svc_request_t *q = &r->pub;
    q->token = dup_str(mp_get(m, "token"));
    q->type = dup_str(mp_get(m, "type"));
    q->room = dup_str(mp_get(m, "room"));
    q->from = dup_str(mp_get(m, "from"));
    q->user = dup_str(mp_get(m, "user"));
    q->to = dup_str(mp_get(m, "to"));
    q->node = dup_str(mp_get(m, "node"));
    q->has_id = mp_int(mp_get(m, "id"), &q->id) == 0;
    mp_t payload = mp_get(m, "payload");
    if (!mp_present(payload))
        payload = or_nil(MP_NONE);
    r->payload_buf = malloc(payload.n);
    if (!q->token || !q->type || !r->payload_buf) {
        rt_warn("service: handle without token or type dropped");
        free_request(svc, r);
        return;
    }
    memcpy(r->payload_buf, payload.p, payload.n);
    q->payload = (mp_t){r->payload_buf, payload.n};
    const pattern_t *p = find_pattern(svc, q->type);
    if (!p) {
        svc_error(q, "unknown_type", "no handler for this type");
        return;
    }
    p->handler(q, p->arg);
}

static void on_message(svc_t *svc, zmsg_t *msg)
{
    zframe_t *f = zmsg_last(msg);
    mp_t m;
    if (zmqio_frame_mp(f, &m) != 0 || mp_type(m) != MP_MAP) {
        rt_warn("service: malformed frame from the router dropped");
        return;
    }
    mp_t op = mp_get(m, "op");
    if (mp_str_eq(op, "reply")) {
        on_reply(svc, m);
    } else if (mp_str_eq(op, "handle")) {
        on_handle(svc, m);
    } else if (mp_str_eq(op, "heartbeat")) {
        bool reg = true;
        if (mp_bool(mp_get(m, "registered"), &reg) == 0 && !reg && svc->npatterns > 0 &&
            !svc->refused) {
            if (svc->registered)
                rt_warn("service %s: the router forgot us (restart?): registering again",
                        svc->name);
            svc->registered = false;
            if (ids_mono_ms() - svc->last_register >= SVC_REREGISTER_MS)
                send_register(svc);
        }
    } else {
        rt_debug("service: unknown op from the router ignored");
    }
}

static void run_timers(svc_t *svc)
{
    int64_t now = ids_mono_ms();
    /* Expired operations: take them out first, a callback may start new ones. */
    pending_t *expired = NULL;
    for (pending_t **pp = &svc->pending; *pp;) {
        if ((*pp)->deadline <= now) {
            pending_t *p = *pp;
            *pp = p->next;
            p->next = expired;
            expired = p;
        } else {
            pp = &(*pp)->next;
        }
    }
    while (expired) {
        pending_t *p = expired;
        expired = p->next;
        char message[96];
        snprintf(message, sizeof message, "no answer from the router within %d ms",
                 svc->timeout_ms);
        svc_result_t res = {false, MP_NONE, "timeout", message, true};
        if (p->cb)
            p->cb(svc, &res, p->arg);
        free(p);
    }
    if (svc->npatterns == 0)
        return;
    if (now - svc->last_heard >= SVC_SILENCE_MS) {
        /* Warn once per outage; while the router stays away, retry quietly. */
        if (!svc->silent)
            rt_warn("service %s: nothing from the router for %d ms: reconnecting", svc->name,
                    SVC_SILENCE_MS);
        else
            rt_debug("service %s: still nothing from the router: reconnecting", svc->name);
        svc->silent = true;
        if (connect_socket(svc) == 0) {
            svc->registered = false;
            send_register(svc);
        } else {
            svc->last_heard = now; /* try again after another silence period */
        }
        return;
    }
    if (now >= svc->next_heartbeat) {
        svc->next_heartbeat = now + SVC_HEARTBEAT_MS;
        mpw_reset(&svc->w);
        mpw_map(&svc->w, 1);
        mpw_kstr(&svc->w, "op", "heartbeat");
        send_w(svc);
    }
}

static int64_t next_timer(const svc_t *svc)
{
    int64_t t = INT64_MAX;
    for (const pending_t *p = svc->pending; p; p = p->next)
        if (p->deadline < t)
            t = p->deadline;
    if (svc->npatterns > 0) {
        if (svc->next_heartbeat < t)
            t = svc->next_heartbeat;
        if (svc->last_heard + SVC_SILENCE_MS < t)
            t = svc->last_heard + SVC_SILENCE_MS;
    }
    return t;
}

/* ---- events ---- */

int svc_subscribe(svc_t *svc, const char *events_endpoint, const char *prefix, svc_event_fn *fn,
                  void *arg)
{
    if (!svc || !events_endpoint || !prefix || !fn)
        return -1;
    if (svc->sub && strcmp(svc->events_endpoint, events_endpoint) != 0)
        return -1;
    subscription_t *ns = realloc(svc->subs, (svc->nsubs + 1) * sizeof *ns);
    if (!ns)
        return -1;
    svc->subs = ns;
    subscription_t *sub = &ns[svc->nsubs];
    if (!(sub->prefix = strdup(prefix)))
        return -1;
    if (!svc->sub) {
        svc->events_endpoint = strdup(events_endpoint);
        if (!svc->events_endpoint ||
            !(svc->sub = zmqio_socket_curve(ZMQ_SUB, events_endpoint, false, 0, svc->curve,
                                            svc->server_key))) {
            free(svc->events_endpoint);
            svc->events_endpoint = NULL;
            free(sub->prefix);
            return -1;
        }
    }
    sub->len = strlen(prefix);
    sub->fn = fn;
    sub->arg = arg;
    svc->nsubs++;
    zsock_set_subscribe(svc->sub, prefix);
    return 0;
}

/* [topic][map]: every subscription whose prefix starts the topic gets it. */
static void on_event(svc_t *svc, zmsg_t *msg)
{
    zframe_t *tf = zmsg_first(msg);
    zframe_t *body = zmsg_next(msg);
    mp_t ev;
    char topic[RT_TYPE_MAX + 1];
    size_t tlen = tf ? zframe_size(tf) : 0;
    if (!body || tlen >= sizeof topic || zmqio_frame_mp(body, &ev) != 0 || mp_type(ev) != MP_MAP) {
        rt_warn("service: malformed event dropped");
        return;
    }
    memcpy(topic, zframe_data(tf), tlen);
    topic[tlen] = '\0';
    for (size_t i = 0; i < svc->nsubs; i++)
        if (svc->subs[i].len <= tlen && memcmp(svc->subs[i].prefix, topic, svc->subs[i].len) == 0)
            svc->subs[i].fn(svc, topic, ev, svc->subs[i].arg);
}

int svc_fd(const svc_t *svc)
{
    return svc && svc->sock ? zsock_fd(svc->sock) : -1;
}

int svc_events_fd(const svc_t *svc)
{
    return svc && svc->sub ? zsock_fd(svc->sub) : -1;
}

int svc_poll(svc_t *svc, int timeout_ms)
{
    int64_t now = ids_mono_ms();
    int64_t t = next_timer(svc);
    long wait = timeout_ms;
    if (t != INT64_MAX) {
        int64_t until = t > now ? t - now : 0;
        if (wait < 0 || until < wait)
            wait = (long)until;
    }
    zmq_pollitem_t items[2] = {{zsock_resolve(svc->sock), 0, ZMQ_POLLIN, 0},
                               {svc->sub ? zsock_resolve(svc->sub) : NULL, 0, ZMQ_POLLIN, 0}};
    int rc = zmq_poll(items, svc->sub ? 2 : 1, wait);
    if (rc < 0 && errno == EINTR)
        return -1;
    int handled = 0;
    zmsg_t *msg;
    while (svc->sub && handled < 1000 && (msg = zmqio_recv(svc->sub)) != NULL) {
        on_event(svc, msg);
        zmsg_destroy(&msg);
        handled++;
    }
    /* Bounded so that timers run even under a flood. */
    while (handled < 1000 && (msg = zmqio_recv(svc->sock)) != NULL) {
        svc->last_heard = ids_mono_ms();
        svc->silent = false;
        on_message(svc, msg);
        zmsg_destroy(&msg);
        handled++;
    }
    run_timers(svc);
    return handled;
}

int svc_run(svc_t *svc)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    svc->stop = false;
    while (!svc->stop && !svc_signalled)
        svc_poll(svc, 1000);
    return 0;
}

void svc_stop(svc_t *svc)
{
    if (svc)
        svc->stop = true;
}
