/* The service API (see api.h): one ROUTER socket, the ops of docs/services.md, the registry
 * (services.c) and the client messages waiting for a service's `handled`. Every frame is
 * validated with mp_check (zmqio_frame_mp) before anything is read; anything malformed is
 * counted and dropped, with a bad_request reply when its `req` can be read. */
#include "api.h"
#include "ids.h"
#include "log.h"
#include "zmqio.h"
#include <stdlib.h>
#include <string.h>

#define API_HWM 100000
#define API_REASON_MAX 123 /* a WebSocket close reason */

/* A client message handed to a service, until its `handled`, its timeout or the service's
 * drop. Kept in creation order (= deadline order: one timeout for all) in a list, and by
 * token in a hash. */
typedef struct pending {
    char token[24];
    char conn[RT_CONN_MAX + 1];
    char type[RT_TYPE_MAX + 1];
    char room[RT_ROOM_MAX + 1];
    char to[RT_CONN_MAX + 1];
    char *user;
    int64_t id;
    uint8_t *payload;
    size_t payload_len;
    uint64_t service; /* service_seq of the registration it went to */
    int64_t deadline;
    struct pending *prev, *next;
} pending_t;

/* A join / leave on a connection of another node, asked for by a service request: the owner
 * node does it and says so (docs/mesh.md); the reply waits for that. Few at a time: a list in
 * creation order (= deadline order). */
typedef struct remote_op {
    char token[24];
    uint8_t *rid, *req; /* the DEALER's routing id and the request's `req`, copied */
    size_t rlen, req_n;
    bool join;
    char room[RT_ROOM_MAX + 1];
    char node[RT_CONN_MAX + 1]; /* the owner node */
    int64_t deadline;
    struct remote_op *next;
} remote_op_t;

struct api {
    router_t *r;
    zsock_t *sock;
    services_t *svc;
    int64_t timeout_ms;
    zhashx_t *pending; /* token -> pending_t (not owned: freed by pending_done) */
    pending_t *head, *tail;
    remote_op_t *remote_ops; /* oldest first */
    uint64_t next_token;
    uint64_t bad_frames;
    mpw_t w;   /* the outgoing frame */
    mpw_t res; /* the result of the op being run */
};

static const uint8_t empty_map[1] = {0x80};
#define MP_EMPTY_MAP ((mp_t){empty_map, 1})

api_t *api_new(router_t *r, const char *endpoint, int64_t service_timeout_ms, zcert_t *curve)
{
    api_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->r = r;
    self->timeout_ms = service_timeout_ms > 0 ? service_timeout_ms : 5000;
    self->svc = services_new();
    self->pending = zhashx_new();
    self->sock = zmqio_socket_curve(ZMQ_ROUTER, endpoint, true, API_HWM, curve, NULL);
    if (!self->svc || !self->pending || !self->sock) {
        api_destroy(&self);
        return NULL;
    }
    return self;
}

static void pending_free(pending_t *p)
{
    free(p->user);
    free(p->payload);
    free(p);
}

static void remote_op_free(remote_op_t *o)
{
    free(o->rid);
    free(o->req);
    free(o);
}

void api_destroy(api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    api_t *self = *self_p;
    for (pending_t *p = self->head, *n; p; p = n) {
        n = p->next;
        pending_free(p);
    }
    zhashx_destroy(&self->pending);
    for (remote_op_t *o = self->remote_ops, *n; o; o = n) {
        n = o->next;
        remote_op_free(o);
    }
    services_destroy(&self->svc);
    zsock_destroy(&self->sock);
    mpw_free(&self->w);
    mpw_free(&self->res);
    free(self);
    *self_p = NULL;
}

zsock_t *api_socket(api_t *self)
{
    return self->sock;
}
void api_each_live_pattern(api_t *self, void (*fn)(const char *pattern, void *arg), void *arg)
{
    services_each_live(self->svc, fn, arg);
}

size_t api_services(api_t *self)
{
    return services_count(self->svc);
}
uint64_t api_bad_frames(api_t *self)
{
    return self->bad_frames;
}
size_t api_pending(api_t *self)
{
    return zhashx_size(self->pending);
}

/* ---- output ---- */

static void send_to(api_t *self, const void *rid, size_t rlen)
{
    mp_t v = mpw_view(&self->w);
    if (!mp_present(v) || zmqio_send(self->sock, rid, rlen, true) != 0 ||
        zmqio_send_mp(self->sock, v, false) != 0)
        rt_debug("service api: a message to a service was dropped");
}

/* {op:"reply", req, ok:true, result} (result absent: {}) */
static void reply_ok(api_t *self, const void *rid, size_t rlen, mp_t req, mp_t result)
{
    mpw_reset(&self->w);
    mpw_map(&self->w, 4);
    mpw_kstr(&self->w, "op", "reply");
    mpw_kraw(&self->w, "req", req);
    mpw_cstr(&self->w, "ok");
    mpw_bool(&self->w, true);
    mpw_kraw(&self->w, "result", mp_present(result) ? result : MP_EMPTY_MAP);
    send_to(self, rid, rlen);
}

/* {op:"reply", req, ok:false, error:{code, message}} */
static void reply_err(api_t *self, const void *rid, size_t rlen, mp_t req, rt_err_t code,
                      const char *message)
{
    mpw_reset(&self->w);
    mpw_map(&self->w, 4);
    mpw_kstr(&self->w, "op", "reply");
    mpw_kraw(&self->w, "req", req);
    mpw_cstr(&self->w, "ok");
    mpw_bool(&self->w, false);
    mpw_cstr(&self->w, "error");
    mpw_map(&self->w, 2);
    mpw_kstr(&self->w, "code", rt_err_code(code));
    mpw_kstr(&self->w, "message", message ? message : rt_err_code(code));
    send_to(self, rid, rlen);
}

/* ---- reading fields ---- */

static mp_t get_payload(mp_t map)
{
    mp_t v = mp_get(map, "payload");
    return mp_present(v) ? v : (mp_t){(const uint8_t *)"\xc0", 1};
}

/* ---- the ops that act on clients and rooms (requests and `handled` actions alike) ---- */

/* Runs op on the map m. On success the result is in self->res (empty: {}). Returns RT_OK or
 * the error, with *why set to a message. */
static rt_err_t run_action(api_t *self, const char *op, mp_t m, const char **why)
{
    char room[RT_ROOM_MAX + 1], type[RT_TYPE_MAX + 1], conn[RT_CONN_MAX + 1];
    char from[RT_CONN_MAX + 1], except[RT_CONN_MAX + 1], reason[API_REASON_MAX + 1];
    mpw_reset(&self->res);
    *why = "bad field";
    if (strcmp(op, "publish") == 0) {
        int hr = mp_get_strz(m, "room", room, sizeof room, ids_valid_room);
        int ht = mp_get_strz(m, "type", type, sizeof type, ids_valid_type);
        int hx = mp_get_strz(m, "except", except, sizeof except, ids_valid_conn);
        int hf = mp_get_strz(m, "from", from, sizeof from, ids_valid_conn);
        if (hr != 1 || ht != 1 || hx < 0 || hf < 0) {
            *why = "publish needs a valid room and type";
            return RT_E_BAD_REQUEST;
        }
        return router_publish(self->r, room, type, hf ? from : NULL, get_payload(m),
                              hx ? except : NULL);
    }
    if (strcmp(op, "send") == 0) {
        int hto = mp_get_strz(m, "to", conn, sizeof conn, ids_valid_conn);
        int ht = mp_get_strz(m, "type", type, sizeof type, ids_valid_type);
        int hr = mp_get_strz(m, "room", room, sizeof room, ids_valid_room);
        int hf = mp_get_strz(m, "from", from, sizeof from, ids_valid_conn);
        if (hto != 1 || ht != 1 || hr < 0 || hf < 0) {
            *why = "send needs a valid to and type";
            return RT_E_BAD_REQUEST;
        }
        *why = "no such connection";
        return router_send(self->r, conn, type, hr ? room : NULL, hf ? from : NULL, get_payload(m));
    }
    if (strcmp(op, "join") == 0 || strcmp(op, "leave") == 0) {
        bool join = op[0] == 'j';
        if (mp_get_strz(m, "conn", conn, sizeof conn, ids_valid_conn) != 1 ||
            mp_get_strz(m, "room", room, sizeof room, ids_valid_room) != 1) {
            *why = "a valid conn and room are required";
            return RT_E_BAD_REQUEST;
        }
        if (!router_conn_exists(self->r, conn)) {
            *why = "no such connection";
            return RT_E_PEER_NOT_FOUND;
        }
        if (!join) {
            *why = "not a member of this room";
            return router_leave(self->r, conn, room);
        }
        mp_t meta = mp_get(m, "meta");
        rt_err_t e = router_join(self->r, conn, room, meta);
        if (e == RT_E_BAD_REQUEST)
            *why = "meta must be an object of at most 1 KiB";
        else if (e == RT_E_LIMIT)
            *why = "too many rooms for this connection";
        else if (e == RT_OK)
            router_presence(self->r, room, &self->res);
        return e;
    }
    if (strcmp(op, "disconnect") == 0) {
        int64_t code = 1000;
        mp_t cv = mp_get(m, "code");
        int hrs = mp_get_strz(m, "reason", reason, sizeof reason, NULL);
        if (mp_get_strz(m, "conn", conn, sizeof conn, ids_valid_conn) != 1 || hrs < 0 ||
            (mp_present(cv) && !mp_is_nil(cv) && mp_int(cv, &code) != 0) ||
            (code != 1000 && (code < 4000 || code > 4999))) {
            *why = "a valid conn, code 1000 or 4000-4999, reason up to 123 bytes";
            return RT_E_BAD_REQUEST;
        }
        *why = "no such connection";
        return router_disconnect(self->r, conn, (int)code, hrs ? reason : NULL);
    }
    *why = "unknown op";
    return RT_E_BAD_REQUEST;
}

static void enc_stats(api_t *self)
{
    router_stats_t st;
    router_stats(self->r, &st);
    mpw_t *w = &self->res;
    mpw_map(w, 11);
    mpw_cstr(w, "connections");
    mpw_uint(w, st.conns);
    mpw_cstr(w, "rooms");
    mpw_uint(w, st.rooms);
    mpw_cstr(w, "messages_in");
    mpw_uint(w, st.msgs_in);
    mpw_cstr(w, "messages_out");
    mpw_uint(w, st.msgs_out);
    mpw_cstr(w, "services");
    mpw_uint(w, services_count(self->svc));
    mpw_cstr(w, "mesh_peers");
    mpw_uint(w, st.mesh_peers);
    mpw_cstr(w, "bad_frames");
    mpw_uint(w, st.bad_frames + st.api_bad_frames);
    mpw_cstr(w, "gateways");
    mpw_uint(w, st.gateways);
    mpw_cstr(w, "pending");
    mpw_uint(w, zhashx_size(self->pending));
    mpw_cstr(w, "events");
    mpw_uint(w, st.events_sent);
    mpw_cstr(w, "dropped");
    mpw_uint(w, st.pub_dropped + st.events_dropped);
}

/* register {name, types:[pattern...]}: all patterns are checked before any is added. */
static rt_err_t op_register(api_t *self, const void *rid, size_t rlen, mp_t m, const char **why)
{
    char name[SERVICES_NAME_MAX + 1] = "", pat[RT_TYPE_MAX + 2];
    mp_iter_t it;
    mp_t v;
    if (mp_get_strz(m, "name", name, sizeof name, NULL) < 0 ||
        mp_iter(mp_get(m, "types"), &it) != 0 || it.is_map || mp_count(mp_get(m, "types")) == 0) {
        *why = "register needs types: [pattern, ...] and a string name";
        return RT_E_BAD_REQUEST;
    }
    while (mp_next(&it, &v)) {
        const char *s;
        size_t len;
        if (mp_str(v, &s, &len) != 0) {
            *why = "a pattern must be a string";
            return RT_E_BAD_REQUEST;
        }
        rt_err_t e = services_check_pattern(s, len);
        if (e != RT_OK) {
            *why = e == RT_E_FORBIDDEN ? "reserved namespace" : "bad pattern";
            return e;
        }
    }
    mp_iter(mp_get(m, "types"), &it);
    while (mp_next(&it, &v)) {
        if (mp_strcpy(v, pat, sizeof pat) != 0 ||
            services_register(self->svc, rid, rlen, name, pat, ids_mono_ms()) != 0) {
            *why = "cannot register";
            return RT_E_INTERNAL;
        }
        rt_info("service %s registered %s", name, pat);
    }
    return RT_OK;
}

/* Rooms: [{room, members:N}] */
static void enc_rooms(api_t *self)
{
    router_rooms(self->r, &self->res);
}

static void on_handled(api_t *self, mp_t m);

/* A join / leave request on a connection of another node: sent to its owner, answered when
 * the owner says it is done (api_remote_done), its node goes down, or after
 * API_REMOTE_OP_TIMEOUT_MS. False when op is not that (the caller runs it as usual). */
static bool remote_member_op(api_t *self, const void *rid, size_t rlen, mp_t req, const char *op,
                             mp_t m)
{
    char conn[RT_CONN_MAX + 1], room[RT_ROOM_MAX + 1];
    bool join = strcmp(op, "join") == 0;
    if ((!join && strcmp(op, "leave") != 0) ||
        mp_get_strz(m, "conn", conn, sizeof conn, ids_valid_conn) != 1 ||
        mp_get_strz(m, "room", room, sizeof room, ids_valid_room) != 1 ||
        !router_conn_exists(self->r, conn) ||
        strcmp(router_conn_node(self->r, conn), router_node_id(self->r)) == 0)
        return false;
    if (!join && !router_is_member(self->r, conn, room))
        return false; /* not_in_room, from run_action */
    remote_op_t *o = calloc(1, sizeof *o);
    if (!o || !(o->rid = malloc(rlen)) || !(o->req = malloc(req.n))) {
        if (o)
            remote_op_free(o);
        reply_err(self, rid, rlen, req, RT_E_INTERNAL, "out of memory");
        return true;
    }
    snprintf(o->token, sizeof o->token, "%llu", (unsigned long long)++self->next_token);
    memcpy(o->rid, rid, rlen);
    o->rlen = rlen;
    memcpy(o->req, req.p, req.n);
    o->req_n = req.n;
    o->join = join;
    snprintf(o->room, sizeof o->room, "%s", room);
    snprintf(o->node, sizeof o->node, "%s", router_conn_node(self->r, conn));
    o->deadline = ids_mono_ms() + API_REMOTE_OP_TIMEOUT_MS;
    rt_err_t e = router_member_op_remote(self->r, join, conn, room, mp_get(m, "meta"), o->token);
    if (e != RT_OK) {
        reply_err(self, rid, rlen, req, e, "cannot reach the connection's node");
        remote_op_free(o);
        return true;
    }
    remote_op_t **tail = &self->remote_ops;
    while (*tail)
        tail = &(*tail)->next;
    *tail = o;
    return true;
}

/* Answers o with code (RT_OK: the op's result) and frees it; o is already unlinked. */
static void remote_op_answer(api_t *self, remote_op_t *o, rt_err_t code, const char *message)
{
    mp_t req = {o->req, o->req_n};
    if (code != RT_OK) {
        reply_err(self, o->rid, o->rlen, req, code, message);
    } else {
        mpw_reset(&self->res);
        if (o->join) /* the owner's join delta came before its answer: we list the member */
            router_presence(self->r, o->room, &self->res);
        reply_ok(self, o->rid, o->rlen, req, self->res.len ? mpw_view(&self->res) : MP_NONE);
    }
    remote_op_free(o);
}

void api_remote_done(api_t *self, const char *token, rt_err_t code, const char *message)
{
    for (remote_op_t **pp = &self->remote_ops; *pp; pp = &(*pp)->next) {
        remote_op_t *o = *pp;
        if (strcmp(o->token, token) == 0) {
            *pp = o->next;
            remote_op_answer(self, o, code, message);
            return;
        }
    }
}

void api_remote_node_down(api_t *self, const char *node)
{
    for (remote_op_t **pp = &self->remote_ops; *pp;) {
        remote_op_t *o = *pp;
        if (strcmp(o->node, node) == 0) {
            *pp = o->next;
            remote_op_answer(self, o, RT_E_UNAVAILABLE, "the connection's node went away");
        } else {
            pp = &o->next;
        }
    }
}

/* One API message from DEALER rid. */
static void on_message(api_t *self, const void *rid, size_t rlen, mp_t m)
{
    mp_t req = mp_get(m, "req");
    if (mp_present(req) && (mp_type(req) == MP_MAP || mp_type(req) == MP_ARRAY)) {
        self->bad_frames++; /* req must be a scalar: nothing to answer with */
        return;
    }
    bool has_req = mp_present(req);
    char op[16];
    bool known = services_touch(self->svc, rid, rlen, ids_mono_ms());
    if (mp_strcpy(mp_get(m, "op"), op, sizeof op) != 0) {
        self->bad_frames++;
        if (has_req)
            reply_err(self, rid, rlen, req, RT_E_BAD_REQUEST, "op missing or unknown");
        return;
    }
    if (strcmp(op, "heartbeat") == 0) {
        mpw_reset(&self->w);
        mpw_map(&self->w, 2);
        mpw_kstr(&self->w, "op", "heartbeat");
        mpw_cstr(&self->w, "registered");
        mpw_bool(&self->w, known);
        send_to(self, rid, rlen);
        if (has_req) {
            mpw_reset(&self->res);
            mpw_map(&self->res, 1);
            mpw_cstr(&self->res, "registered");
            mpw_bool(&self->res, known);
            reply_ok(self, rid, rlen, req, mpw_view(&self->res));
        }
        return;
    }
    if (strcmp(op, "handled") == 0) {
        on_handled(self, m);
        if (has_req)
            reply_ok(self, rid, rlen, req, MP_NONE);
        return;
    }
    const char *why = "bad field";
    rt_err_t e = RT_OK;
    mpw_reset(&self->res);
    if (strcmp(op, "register") == 0) {
        e = op_register(self, rid, rlen, m, &why);
    } else if (strcmp(op, "presence") == 0) {
        char room[RT_ROOM_MAX + 1];
        if (mp_get_strz(m, "room", room, sizeof room, ids_valid_room) != 1) {
            e = RT_E_BAD_REQUEST;
            why = "a valid room is required";
        } else {
            router_presence(self->r, room, &self->res);
        }
    } else if (strcmp(op, "rooms") == 0) {
        enc_rooms(self);
    } else if (strcmp(op, "stats") == 0) {
        enc_stats(self);
    } else if (has_req && remote_member_op(self, rid, rlen, req, op, m)) {
        return; /* answered once the owner node has done it */
    } else {
        e = run_action(self, op, m, &why);
    }
    if (e == RT_OK && self->res.oom) {
        e = RT_E_INTERNAL;
        why = "out of memory";
    }
    if (e == RT_E_BAD_REQUEST && strcmp(why, "unknown op") == 0)
        self->bad_frames++;
    if (!has_req) {
        if (e != RT_OK)
            rt_debug("service api: %s failed (%s): %s", op, rt_err_code(e), why);
        return;
    }
    if (e == RT_OK)
        reply_ok(self, rid, rlen, req, self->res.len ? mpw_view(&self->res) : MP_NONE);
    else
        reply_err(self, rid, rlen, req, e, why);
}

/* ---- client messages handed to services ---- */

static void pending_unlink(api_t *self, pending_t *p)
{
    zhashx_delete(self->pending, p->token);
    if (p->prev)
        p->prev->next = p->next;
    else
        self->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        self->tail = p->prev;
}

/* The rt_msg_t view of p (for events). */
static rt_msg_t pending_msg(const pending_t *p)
{
    return (rt_msg_t){
        .conn = p->conn,
        .user = p->user,
        .type = p->type,
        .room = p->room[0] ? p->room : NULL,
        .to = p->to[0] ? p->to : NULL,
        .id = p->id,
        .payload = {p->payload, p->payload_len},
    };
}

/* Answers p's client with an error and forgets p. */
static void pending_fail(api_t *self, pending_t *p, rt_err_t code, const char *message)
{
    pending_unlink(self, p);
    router_reply(self->r, p->conn, p->id, code, message, MP_NONE);
    pending_free(p);
}

bool api_route(api_t *self, const rt_msg_t *m, rt_err_t *err)
{
    services_pattern_t *pat = services_match(self->svc, m->type);
    if (!pat)
        return false;
    service_t *s = services_pick(self->svc, pat);
    if (!s) {
        *err = RT_E_UNAVAILABLE;
        return true;
    }
    *err = RT_E_INTERNAL;
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return true;
    snprintf(p->token, sizeof p->token, "%llu", (unsigned long long)++self->next_token);
    snprintf(p->conn, sizeof p->conn, "%s", m->conn);
    snprintf(p->type, sizeof p->type, "%s", m->type);
    snprintf(p->room, sizeof p->room, "%s", m->room ? m->room : "");
    snprintf(p->to, sizeof p->to, "%s", m->to ? m->to : "");
    p->user = m->user ? strdup(m->user) : NULL;
    p->id = m->id;
    p->payload_len = m->payload.n;
    p->payload = malloc(p->payload_len ? p->payload_len : 1);
    if ((m->user && !p->user) || !p->payload) {
        pending_free(p);
        return true;
    }
    memcpy(p->payload, m->payload.p, p->payload_len);
    p->service = service_seq(s);
    p->deadline = ids_mono_ms() + self->timeout_ms;

    mpw_t *w = &self->w;
    mpw_reset(w);
    mpw_map(w, 6 + (m->room ? 1 : 0) + (m->user ? 1 : 0) + (m->to ? 1 : 0) + (m->id ? 1 : 0));
    mpw_kstr(w, "op", "handle");
    mpw_kstr(w, "token", p->token);
    mpw_kstr(w, "type", m->type);
    if (m->room)
        mpw_kstr(w, "room", m->room);
    mpw_kstr(w, "from", m->conn);
    if (m->user)
        mpw_kstr(w, "user", m->user);
    if (m->to)
        mpw_kstr(w, "to", m->to);
    if (m->id)
        mpw_kint(w, "id", m->id);
    mpw_kraw(w, "payload", m->payload);
    mpw_kstr(w, "node", router_conn_node(self->r, m->conn));
    if (!mp_present(mpw_view(w))) {
        pending_free(p);
        return true;
    }
    size_t rlen;
    const void *rid = service_rid(s, &rlen);
    send_to(self, rid, rlen);
    zhashx_insert(self->pending, p->token, p);
    p->prev = self->tail;
    if (self->tail)
        self->tail->next = p;
    else
        self->head = p;
    self->tail = p;
    *err = RT_OK;
    return true;
}

/* {op:"handled", token, reply?, error?:{code,message}, actions?:[...]} */
static void on_handled(api_t *self, mp_t m)
{
    char token[24];
    mp_t tv = mp_get(m, "token");
    int64_t ti;
    if (mp_strcpy(tv, token, sizeof token) != 0) {
        if (mp_int(tv, &ti) != 0) {
            self->bad_frames++;
            return;
        }
        snprintf(token, sizeof token, "%lld", (long long)ti);
    }
    pending_t *p = zhashx_lookup(self->pending, token);
    if (!p) {
        rt_debug("service api: handled for unknown or expired token %s", token);
        return;
    }
    pending_unlink(self, p);
    mp_iter_t it;
    mp_t a;
    if (mp_iter(mp_get(m, "actions"), &it) == 0 && !it.is_map) {
        while (mp_next(&it, &a)) {
            char op[16];
            const char *why = "bad action";
            rt_err_t e = RT_E_BAD_REQUEST;
            if (mp_type(a) == MP_MAP && mp_strcpy(mp_get(a, "op"), op, sizeof op) == 0)
                e = run_action(self, op, a, &why);
            if (e != RT_OK)
                rt_debug("service api: action failed (%s): %s", rt_err_code(e), why);
        }
    }
    mp_t ev = mp_get(m, "error");
    if (mp_present(ev) && !mp_is_nil(ev)) {
        const char *s;
        size_t len;
        char message[256] = "";
        rt_err_t code = RT_E_INTERNAL;
        if (mp_str(mp_get(ev, "code"), &s, &len) == 0)
            code = rt_err_parse(s, len);
        if (mp_get_strz(ev, "message", message, sizeof message, NULL) != 1)
            snprintf(message, sizeof message, "%s", rt_err_code(code));
        router_reply(self->r, p->conn, p->id, code, message, MP_NONE);
    } else {
        mp_t reply = mp_get(m, "reply");
        if (mp_present(reply) && mp_is_nil(reply))
            reply = MP_NONE;
        rt_msg_t msg = pending_msg(p);
        router_notify_message(self->r, &msg);
        router_reply(self->r, p->conn, p->id, RT_OK, NULL, reply);
    }
    pending_free(p);
}

/* ---- input and timers ---- */

int api_handle(api_t *self, int max)
{
    int n = 0;
    for (; n < max; n++) {
        zmsg_t *msg = zmqio_recv(self->sock);
        if (!msg)
            break;
        size_t frames = zmsg_size(msg);
        zframe_t *rid = zmsg_first(msg);
        zframe_t *mid = zmsg_next(msg);
        zframe_t *last = zmsg_last(msg);
        mp_t body;
        /* [routing id][map], or [routing id][empty][map] from a REQ-style sender */
        if (frames < 2 || frames > 3 || (frames == 3 && zframe_size(mid) != 0) ||
            zframe_size(rid) == 0 || zmqio_frame_mp(last, &body) != 0 || mp_type(body) != MP_MAP) {
            self->bad_frames++;
        } else {
            on_message(self, zframe_data(rid), zframe_size(rid), body);
        }
        zmsg_destroy(&msg);
    }
    return n;
}

void api_tick(api_t *self, int64_t now_ms)
{
    service_t *s;
    while ((s = services_expired(self->svc, now_ms, API_SERVICE_TIMEOUT_MS)) != NULL) {
        uint64_t seq = service_seq(s);
        rt_warn("service %s silent for %d ms: dropping its registration", service_name(s),
                API_SERVICE_TIMEOUT_MS);
        services_drop(self->svc, s);
        for (pending_t *p = self->head, *n; p; p = n) {
            n = p->next;
            if (p->service == seq)
                pending_fail(self, p, RT_E_UNAVAILABLE, "the service went away");
        }
    }
    while (self->head && self->head->deadline <= now_ms)
        pending_fail(self, self->head, RT_E_TIMEOUT, "no answer from the service");
    while (self->remote_ops && self->remote_ops->deadline <= now_ms) {
        remote_op_t *o = self->remote_ops;
        self->remote_ops = o->next;
        remote_op_answer(self, o, RT_E_TIMEOUT, "no answer from the connection's node");
    }
}
