/* service: the service library against a fake router (an inproc ROUTER socket in this thread
 * that answers the ops by hand). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"
#include "service.h"
#include "zmqio.h"

typedef struct {
    zsock_t *router;
    svc_t *svc;
    zframe_t *peer; /* identity of the service's DEALER, from the last message */
    zmsg_t *last;   /* the last message received (kept so that views stay valid) */
    mp_t m;         /* its body */
} fake_t;

static int ep_counter;

static int setup(void **state)
{
    fake_t *f = calloc(1, sizeof *f);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://fake-router-%d", ++ep_counter);
    f->router = zmqio_socket(ZMQ_ROUTER, ep, true, 0);
    assert_non_null(f->router);
    f->svc = svc_new(ep, "test-svc");
    assert_non_null(f->svc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fake_t *f = *state;
    svc_destroy(&f->svc);
    svc_destroy(&f->svc); /* safe twice */
    zmsg_destroy(&f->last);
    zframe_destroy(&f->peer);
    zsock_destroy(&f->router);
    free(f);
    return 0;
}

/* The next message the service sent to the fake router (polling the service meanwhile); its
 * body is f->m. Fails the test after `ms`. */
static mp_t fake_recv(fake_t *f, int ms)
{
    int64_t deadline = ids_mono_ms() + ms;
    zmsg_destroy(&f->last);
    while (ids_mono_ms() < deadline) {
        zmsg_t *msg = zmqio_recv(f->router);
        if (msg) {
            zframe_destroy(&f->peer);
            f->peer = zmsg_pop(msg);
            f->last = msg;
            assert_int_equal(zmqio_frame_mp(zmsg_first(msg), &f->m), 0);
            return f->m;
        }
        svc_poll(f->svc, 5);
    }
    fail_msg("the service sent nothing within %d ms", ms);
    return MP_NONE;
}

/* The next message whose op is `op`, skipping heartbeats. */
static mp_t fake_expect(fake_t *f, const char *op, int ms)
{
    for (;;) {
        mp_t m = fake_recv(f, ms);
        if (mp_str_eq(mp_get(m, "op"), op))
            return m;
        assert_true(mp_str_eq(mp_get(m, "op"), "heartbeat"));
    }
}

static void fake_send(fake_t *f, mpw_t *w)
{
    assert_int_equal(zmqio_send(f->router, zframe_data(f->peer), zframe_size(f->peer), true), 0);
    assert_int_equal(zmqio_send_mp(f->router, mpw_view(w), false), 0);
    mpw_free(w);
}

/* {op:reply, req, ok:true, result:{n:N}} */
static void fake_reply_ok(fake_t *f, uint64_t req, int64_t n)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 4);
    mpw_kstr(&w, "op", "reply");
    mpw_cstr(&w, "req");
    mpw_uint(&w, req);
    mpw_cstr(&w, "ok");
    mpw_bool(&w, true);
    mpw_cstr(&w, "result");
    mpw_map(&w, 1);
    mpw_kint(&w, "n", n);
    fake_send(f, &w);
}

static uint64_t req_of(mp_t m)
{
    uint64_t req = 0;
    assert_int_equal(mp_uint(mp_get(m, "req"), &req), 0);
    return req;
}

static void pump(fake_t *f, int ms)
{
    int64_t deadline = ids_mono_ms() + ms;
    while (ids_mono_ms() < deadline)
        svc_poll(f->svc, 5);
}

static void on_any(svc_request_t *req, void *arg)
{
    svc_reply(req, MP_NONE);
}

/* svc_on sends register with the patterns; the router's ok makes it registered. */
static void register_ok(fake_t *f)
{
    assert_int_equal(svc_on(f->svc, "chat:*", on_any, NULL), 0);
    mp_t m = fake_expect(f, "register", 1000);
    assert_true(mp_str_eq(mp_get(m, "name"), "test-svc"));
    mp_t types = mp_get(m, "types");
    assert_int_equal(mp_count(types), 1);
    mp_iter_t it;
    mp_t t;
    mp_iter(types, &it);
    assert_true(mp_next(&it, &t));
    assert_true(mp_str_eq(t, "chat:*"));
    assert_false(svc_registered(f->svc));
    fake_reply_ok(f, req_of(m), 0);
    pump(f, 50);
    assert_true(svc_registered(f->svc));
}

static void test_register(void **state)
{
    fake_t *f = *state;
    assert_int_equal(svc_on(f->svc, "", on_any, NULL), -1);
    assert_int_equal(svc_on(f->svc, "bad type", on_any, NULL), -1);
    register_ok(f);
}

/* A refused registration is not retried on registered:false (it would be refused again). */
static void test_register_refused(void **state)
{
    fake_t *f = *state;
    assert_int_equal(svc_on(f->svc, "room:*", on_any, NULL), 0);
    mp_t m = fake_expect(f, "register", 1000);
    mpw_t w = MPW_INIT;
    mpw_map(&w, 4);
    mpw_kstr(&w, "op", "reply");
    mpw_cstr(&w, "req");
    mpw_uint(&w, req_of(m));
    mpw_cstr(&w, "ok");
    mpw_bool(&w, false);
    mpw_cstr(&w, "error");
    mpw_map(&w, 2);
    mpw_kstr(&w, "code", "forbidden");
    mpw_kstr(&w, "message", "reserved namespace");
    fake_send(f, &w);
    for (int i = 0; i < 3; i++) {
        m = fake_recv(f, 1100);
        assert_true(mp_str_eq(mp_get(m, "op"), "heartbeat"));
        mpw_map(&w, 2);
        mpw_kstr(&w, "op", "heartbeat");
        mpw_cstr(&w, "registered");
        mpw_bool(&w, false);
        fake_send(f, &w);
    }
    assert_false(svc_registered(f->svc));
}

/* Heartbeats at least every second; registered:false -> register again. */
static void test_heartbeat_reregister(void **state)
{
    fake_t *f = *state;
    register_ok(f);
    int64_t t0 = ids_mono_ms();
    mp_t m = fake_recv(f, 1100);
    assert_true(mp_str_eq(mp_get(m, "op"), "heartbeat"));
    assert_true(ids_mono_ms() - t0 <= 1000);

    mpw_t w = MPW_INIT;
    mpw_map(&w, 2);
    mpw_kstr(&w, "op", "heartbeat");
    mpw_cstr(&w, "registered");
    mpw_bool(&w, false);
    fake_send(f, &w);
    m = fake_expect(f, "register", 1000);
    assert_false(svc_registered(f->svc));
    fake_reply_ok(f, req_of(m), 0);
    pump(f, 50);
    assert_true(svc_registered(f->svc));
}

/* A router that goes silent: after 3 s a new DEALER (new identity) registers again. */
static void test_silence_reconnects(void **state)
{
    fake_t *f = *state;
    register_ok(f);
    zframe_t *old = zframe_dup(f->peer);
    mp_t m = fake_expect(f, "register", 4500);
    assert_non_null(m.p);
    assert_false(zframe_eq(old, f->peer));
    zframe_destroy(&old);
}

static void send_handle(fake_t *f, const char *token, const char *type, bool with_id)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 7 + with_id);
    mpw_kstr(&w, "op", "handle");
    mpw_kstr(&w, "token", token);
    mpw_kstr(&w, "type", type);
    mpw_kstr(&w, "room", "lobby");
    mpw_kstr(&w, "from", "n1:alice");
    mpw_kstr(&w, "node", "n1");
    mpw_cstr(&w, "payload");
    mpw_map(&w, 1);
    mpw_kstr(&w, "text", "hi");
    if (with_id)
        mpw_kint(&w, "id", 7);
    fake_send(f, &w);
}

static void on_chat(svc_request_t *req, void *arg)
{
    int *calls = arg;
    (*calls)++;
    assert_string_equal(req->type, "chat:say");
    assert_string_equal(req->room, "lobby");
    assert_string_equal(req->from, "n1:alice");
    assert_null(req->user);
    assert_true(req->has_id);
    assert_int_equal(req->id, 7);
    assert_true(mp_str_eq(mp_get(req->payload, "text"), "hi"));
    svc_action_publish(req, req->room, "chat:said", req->payload, NULL, req->from);
    svc_action_disconnect(req, "n1:bob", 4001, "bye");
    mpw_t r = MPW_INIT;
    mpw_map(&r, 1);
    mpw_kint(&r, "stored", 1);
    assert_int_equal(svc_reply(req, mpw_view(&r)), 0);
    mpw_free(&r);
}

/* handle -> handler -> handled {token, reply, actions} */
static void test_handle_reply_actions(void **state)
{
    fake_t *f = *state;
    int calls = 0;
    assert_int_equal(svc_on(f->svc, "chat:say", on_chat, &calls), 0);
    fake_reply_ok(f, req_of(fake_expect(f, "register", 1000)), 0);
    send_handle(f, "tok-1", "chat:say", true);
    mp_t m = fake_expect(f, "handled", 1000);
    assert_int_equal(calls, 1);
    assert_true(mp_str_eq(mp_get(m, "token"), "tok-1"));
    int64_t stored = 0;
    assert_int_equal(mp_int(mp_get(mp_get(m, "reply"), "stored"), &stored), 0);
    assert_int_equal(stored, 1);
    assert_false(mp_present(mp_get(m, "error")));
    mp_t actions = mp_get(m, "actions");
    assert_int_equal(mp_count(actions), 2);
    mp_iter_t it;
    mp_t a;
    mp_iter(actions, &it);
    assert_true(mp_next(&it, &a));
    assert_true(mp_str_eq(mp_get(a, "op"), "publish"));
    assert_true(mp_str_eq(mp_get(a, "room"), "lobby"));
    assert_true(mp_str_eq(mp_get(a, "type"), "chat:said"));
    assert_true(mp_str_eq(mp_get(a, "from"), "n1:alice"));
    assert_false(mp_present(mp_get(a, "except")));
    assert_true(mp_str_eq(mp_get(mp_get(a, "payload"), "text"), "hi"));
    assert_true(mp_next(&it, &a));
    assert_true(mp_str_eq(mp_get(a, "op"), "disconnect"));
    int64_t code = 0;
    assert_int_equal(mp_int(mp_get(a, "code"), &code), 0);
    assert_int_equal(code, 4001);
    assert_true(mp_str_eq(mp_get(a, "reason"), "bye"));
}

/* A type no pattern matches gets an error answer rather than silence. */
static void test_handle_unmatched(void **state)
{
    fake_t *f = *state;
    register_ok(f);
    send_handle(f, "tok-x", "other:type", false);
    mp_t m = fake_expect(f, "handled", 1000);
    assert_true(mp_str_eq(mp_get(mp_get(m, "error"), "code"), "unknown_type"));
    assert_false(mp_present(mp_get(m, "reply")));
}

/* Async answer: the handler keeps the request, asks for presence, answers from the callback. */
static void on_presence_then_error(svc_t *svc, const svc_result_t *res, void *arg)
{
    svc_request_t *req = arg;
    assert_true(res->ok);
    int64_t n = 0;
    assert_int_equal(mp_int(mp_get(res->result, "n"), &n), 0);
    assert_int_equal(n, 42);
    svc_action_send(req, "n1:bob", "chat:dm", req->payload, NULL, req->from);
    svc_error(req, "not_in_room", "bob left");
}

static void on_chat_async(svc_request_t *req, void *arg)
{
    assert_int_equal(svc_presence(req->svc, req->room, on_presence_then_error, req), 0);
}

static void test_async_answer(void **state)
{
    fake_t *f = *state;
    assert_int_equal(svc_on(f->svc, "chat:*", on_chat_async, NULL), 0);
    fake_reply_ok(f, req_of(fake_expect(f, "register", 1000)), 0);
    send_handle(f, "tok-2", "chat:say", true);
    mp_t m = fake_expect(f, "presence", 1000);
    assert_true(mp_str_eq(mp_get(m, "room"), "lobby"));
    fake_reply_ok(f, req_of(m), 42);
    m = fake_expect(f, "handled", 1000);
    assert_true(mp_str_eq(mp_get(m, "token"), "tok-2"));
    mp_t e = mp_get(m, "error");
    assert_true(mp_str_eq(mp_get(e, "code"), "not_in_room"));
    assert_true(mp_str_eq(mp_get(e, "message"), "bob left"));
    assert_int_equal(mp_count(mp_get(m, "actions")), 1);
}

/* Results keyed by req: replies in reverse order reach the right callbacks. */
typedef struct {
    int calls;
    bool ok;
    int64_t n;
    char code[32];
    bool local;
} outcome_t;

static void record(svc_t *svc, const svc_result_t *res, void *arg)
{
    outcome_t *o = arg;
    o->calls++;
    o->ok = res->ok;
    o->local = res->local;
    if (res->ok)
        mp_int(mp_get(res->result, "n"), &o->n);
    else
        snprintf(o->code, sizeof o->code, "%s", res->code);
}

static void test_request_correlation(void **state)
{
    fake_t *f = *state;
    outcome_t a = {0}, b = {0}, c = {0};
    mpw_t p = MPW_INIT;
    mpw_map(&p, 0);
    assert_int_equal(svc_publish(f->svc, "lobby", "news", mpw_view(&p), "n1:x", NULL, record, &a),
                     0);
    assert_int_equal(svc_send(f->svc, "n1:bob", "dm", MP_NONE, NULL, "n1:alice", record, &b), 0);
    assert_int_equal(svc_call(f->svc, "stats", MP_NONE, record, &c), 0);
    mpw_free(&p);
    mp_t m = fake_expect(f, "publish", 1000);
    uint64_t ra = req_of(m);
    assert_true(mp_str_eq(mp_get(m, "except"), "n1:x"));
    assert_false(mp_present(mp_get(m, "from")));
    m = fake_expect(f, "send", 1000);
    uint64_t rb = req_of(m);
    assert_true(mp_is_nil(mp_get(m, "payload")));
    assert_true(mp_str_eq(mp_get(m, "from"), "n1:alice"));
    uint64_t rc = req_of(fake_expect(f, "stats", 1000));
    assert_true(ra != rb && rb != rc);

    fake_reply_ok(f, rc, 3);
    mpw_t w = MPW_INIT; /* an error reply for b */
    mpw_map(&w, 4);
    mpw_kstr(&w, "op", "reply");
    mpw_cstr(&w, "req");
    mpw_uint(&w, rb);
    mpw_cstr(&w, "ok");
    mpw_bool(&w, false);
    mpw_cstr(&w, "error");
    mpw_map(&w, 2);
    mpw_kstr(&w, "code", "peer_not_found");
    mpw_kstr(&w, "message", "no such connection");
    fake_send(f, &w);
    fake_reply_ok(f, ra, 1);
    fake_reply_ok(f, ra, 99); /* a duplicate: ignored */
    pump(f, 100);
    assert_int_equal(a.calls, 1);
    assert_true(a.ok);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.calls, 1);
    assert_false(b.ok);
    assert_false(b.local);
    assert_string_equal(b.code, "peer_not_found");
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.n, 3);
}

/* No reply within the timeout: a local `timeout`, once; a late reply is ignored. */
static void test_timeout(void **state)
{
    fake_t *f = *state;
    outcome_t o = {0};
    svc_set_timeout(f->svc, 100);
    assert_int_equal(svc_presence(f->svc, "lobby", record, &o), 0);
    uint64_t req = req_of(fake_expect(f, "presence", 1000));
    pump(f, 250);
    assert_int_equal(o.calls, 1);
    assert_false(o.ok);
    assert_true(o.local);
    assert_string_equal(o.code, "timeout");
    fake_reply_ok(f, req, 1);
    pump(f, 50);
    assert_int_equal(o.calls, 1);
}

/* A request still open at svc_destroy is freed (ASan checks the leak). */
static void on_keep(svc_request_t *req, void *arg)
{
    *(svc_request_t **)arg = req;
}

static void test_destroy_with_open_request(void **state)
{
    fake_t *f = *state;
    svc_request_t *kept = NULL;
    assert_int_equal(svc_on(f->svc, "chat:*", on_keep, &kept), 0);
    fake_reply_ok(f, req_of(fake_expect(f, "register", 1000)), 0);
    send_handle(f, "tok-3", "chat:say", false);
    int64_t deadline = ids_mono_ms() + 1000;
    while (!kept && ids_mono_ms() < deadline)
        svc_poll(f->svc, 5);
    assert_non_null(kept);
    svc_action_join(kept, "n1:alice", "lobby", MP_NONE);
}

/* Events: a SUB on the router's PUB; only subscribed prefixes reach the callback. */
typedef struct {
    int conn_events, other_events;
    char last_topic[64];
    char last_conn[64];
} events_seen_t;

static void on_event(svc_t *svc, const char *topic, mp_t ev, void *arg)
{
    events_seen_t *e = arg;
    if (strncmp(topic, "conn:", 5) == 0)
        e->conn_events++;
    else
        e->other_events++;
    snprintf(e->last_topic, sizeof e->last_topic, "%s", topic);
    mp_strcpy(mp_get(ev, "conn"), e->last_conn, sizeof e->last_conn);
}

static void publish_event(zsock_t *pub, const char *topic, const char *conn)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 3);
    mpw_kstr(&w, "type", topic);
    mpw_kstr(&w, "conn", conn);
    mpw_kstr(&w, "node", "n1");
    assert_int_equal(zmqio_send(pub, topic, strlen(topic), true), 0);
    assert_int_equal(zmqio_send_mp(pub, mpw_view(&w), false), 0);
    mpw_free(&w);
}

static void test_events(void **state)
{
    fake_t *f = *state;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://fake-events-%d", ep_counter);
    zsock_t *pub = zmqio_socket(ZMQ_PUB, ep, true, 0);
    assert_non_null(pub);
    events_seen_t seen = {0};
    assert_int_equal(svc_events_fd(f->svc), -1);
    assert_int_equal(svc_subscribe(f->svc, ep, "conn:", on_event, &seen), 0);
    assert_true(svc_events_fd(f->svc) >= 0);
    assert_int_equal(svc_subscribe(f->svc, "inproc://elsewhere", "x", on_event, &seen), -1);
    /* slow joiner: publish until the subscription has arrived */
    int64_t deadline = ids_mono_ms() + 2000;
    while (seen.conn_events == 0 && ids_mono_ms() < deadline) {
        publish_event(pub, "chat:msg", "n1:x");
        publish_event(pub, "conn:close", "n1:alice");
        svc_poll(f->svc, 10);
    }
    assert_true(seen.conn_events > 0);
    assert_int_equal(seen.other_events, 0);
    assert_string_equal(seen.last_topic, "conn:close");
    assert_string_equal(seen.last_conn, "n1:alice");
    zsock_destroy(&pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_reregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handle_reply_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handle_unmatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_correlation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_with_open_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
