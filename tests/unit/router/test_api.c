/* The service API in one process: a router on inproc endpoints driven with router_poll, a
 * fake gateway (DEALER + SUB, docs/internals.md), services as DEALERs on the API socket and a
 * SUB on the events PUB. Reads as a walk through CONTRACT.md §3: register, handle, handled,
 * actions, timeouts, a service that goes silent, replies to requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "router.h"

static char INGRESS[64], FANOUT[64], API[64], EVENTS[64];
static router_t *R;
static zsock_t *GW_DEALER, *GW_SUB, *EV_SUB;
static zmsg_t *LAST; /* keeps the frame that the last received map views alive */

static void pump(int rounds)
{
    for (int i = 0; i < rounds; i++)
        router_poll(R, 5);
}

static void send_map(zsock_t *s, mpw_t *w)
{
    assert_false(w->oom);
    zmq_send(zsock_resolve(s), w->buf, w->len, 0);
    mpw_free(w);
    pump(5);
}

/* The next map (last frame) on s within ms, or MP_NONE; skips gateway hb/synced. */
static mp_t recv_map(zsock_t *s, int ms)
{
    for (;;) {
        zmsg_destroy(&LAST);
        zsock_set_rcvtimeo(s, ms);
        LAST = zmsg_recv(s);
        if (!LAST)
            return MP_NONE;
        mp_t m;
        zframe_t *f = zmsg_last(LAST);
        assert_int_equal(mp_check(zframe_data(f), zframe_size(f), 64, &m), 0);
        if (!mp_str_eq(mp_get(m, "t"), "hb") && !mp_str_eq(mp_get(m, "t"), "synced"))
            return m;
    }
}

/* Until a map arrives on s, running the router meanwhile (timers included). */
static mp_t await_map(zsock_t *s, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        pump(1);
        mp_t m = recv_map(s, 5);
        if (mp_present(m))
            return m;
    }
    return MP_NONE;
}

static void gw(const char *t, const char *conn, const char *type, const char *room, int64_t id)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 2 + (conn ? 1 : 0) + (type ? 2 : 0) + (room ? 1 : 0) + (id ? 1 : 0));
    mpw_kstr(&w, "t", t);
    mpw_kstr(&w, "gw", "gw1");
    if (conn)
        mpw_kstr(&w, "c", conn);
    if (type) {
        mpw_kstr(&w, "type", type);
        mpw_cstr(&w, "payload");
        mpw_map(&w, 1);
        mpw_kint(&w, "n", 7);
    }
    if (room)
        mpw_kstr(&w, "room", room);
    if (id)
        mpw_kint(&w, "id", id);
    send_map(GW_DEALER, &w);
}

static zsock_t *service_new(const char *name, const char *pattern)
{
    zsock_t *s = zsock_new_dealer(API);
    assert_non_null(s);
    mpw_t w = MPW_INIT;
    mpw_map(&w, 4);
    mpw_kstr(&w, "op", "register");
    mpw_kstr(&w, "req", name);
    mpw_kstr(&w, "name", name);
    mpw_cstr(&w, "types");
    mpw_array(&w, 1);
    mpw_cstr(&w, pattern);
    send_map(s, &w);
    mp_t r = await_map(s, 1000);
    assert_true(mp_str_eq(mp_get(r, "op"), "reply") && mp_str_eq(mp_get(r, "req"), name));
    bool ok = false;
    assert_int_equal(mp_bool(mp_get(r, "ok"), &ok), 0);
    assert_true(ok);
    return s;
}

static const char *str_of(mp_t v)
{
    static char s[128];
    s[0] = '\0';
    mp_strcpy(v, s, sizeof s);
    return s;
}

/* handled {token, reply?: {by: name}, error?} from s for the handle in m */
static void handled(zsock_t *s, mp_t handle, const char *by, const char *error)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 3);
    mpw_kstr(&w, "op", "handled");
    mpw_kraw(&w, "token", mp_get(handle, "token"));
    if (error) {
        mpw_cstr(&w, "error");
        mpw_map(&w, 2);
        mpw_kstr(&w, "code", error);
        mpw_kstr(&w, "message", "from the service");
    } else {
        mpw_cstr(&w, "reply");
        mpw_map(&w, 1);
        mpw_kstr(&w, "by", by);
    }
    send_map(s, &w);
}

static int setup_with(int timeout_ms)
{
    static int run;
    run++;
    snprintf(INGRESS, sizeof INGRESS, "inproc://api-ingress-%d", run);
    snprintf(FANOUT, sizeof FANOUT, "inproc://api-fanout-%d", run);
    snprintf(API, sizeof API, "inproc://api-api-%d", run);
    snprintf(EVENTS, sizeof EVENTS, "inproc://api-events-%d", run);
    router_opts_t o;
    router_opts_default(&o);
    o.node_id = "apinode";
    o.ingress = INGRESS;
    o.fanout = FANOUT;
    o.api = API;
    o.events = EVENTS;
    o.service_timeout = timeout_ms;
    o.gateway_timeout = 600000; /* the fake gateway sends no heartbeats */
    R = router_new(&o);
    if (!R)
        return -1;
    EV_SUB = zsock_new_sub(EVENTS, "");
    GW_DEALER = zsock_new_dealer(INGRESS);
    GW_SUB = zsock_new_sub(FANOUT, "gw1");
    gw("hello", NULL, NULL, NULL, 0);
    zmsg_t *hello = zmsg_recv(GW_DEALER);
    zmsg_destroy(&hello);
    for (int i = 0; i < 100; i++) { /* until the fan-out path is live */
        gw("sync", NULL, NULL, NULL, 0);
        zsock_set_rcvtimeo(GW_SUB, 20);
        zmsg_t *m = zmsg_recv(GW_SUB);
        if (m) {
            zmsg_destroy(&m);
            break;
        }
    }
    gw("open", "c1", NULL, NULL, 0);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_with(5000);
}
static int setup_fast_timeout(void **state)
{
    (void)state;
    return setup_with(150);
}

static int teardown(void **state)
{
    (void)state;
    zmsg_destroy(&LAST);
    zsock_destroy(&GW_DEALER);
    zsock_destroy(&GW_SUB);
    zsock_destroy(&EV_SUB);
    router_destroy(&R);
    return 0;
}

static void expect_ack_by(int64_t id, const char *by)
{
    mp_t m = await_map(GW_SUB, 1000);
    assert_true(mp_str_eq(mp_get(m, "t"), "out") && mp_str_eq(mp_get(m, "c"), "c1"));
    mp_t f = mp_get(m, "f");
    assert_true(mp_str_eq(mp_get(f, "type"), "ack"));
    int64_t got = 0;
    mp_int(mp_get(f, "id"), &got);
    assert_int_equal(got, id);
    assert_string_equal(str_of(mp_get(mp_get(f, "payload"), "by")), by);
}

static void expect_error_code(int64_t id, const char *code, int within_ms)
{
    mp_t m = await_map(GW_SUB, within_ms);
    mp_t f = mp_get(m, "f");
    assert_true(mp_str_eq(mp_get(f, "type"), "error"));
    int64_t got = 0;
    mp_int(mp_get(f, "id"), &got);
    assert_int_equal(got, id);
    assert_string_equal(str_of(mp_get(mp_get(f, "payload"), "code")), code);
}

static void test_handle_round_robin_and_events(void **state)
{
    (void)state;
    /* conn:open came first on the events PUB */
    mp_t ev = recv_map(EV_SUB, 500);
    assert_string_equal(str_of(mp_get(ev, "type")), "conn:open");
    assert_string_equal(str_of(mp_get(ev, "conn")), "c1");
    assert_string_equal(str_of(mp_get(ev, "node")), "apinode");
    assert_true(mp_get(ev, "user").p && mp_is_nil(mp_get(ev, "user")));

    zsock_t *a = service_new("a", "job:*");
    zsock_t *b = service_new("b", "job:*");
    const char *order[4];
    for (int i = 0; i < 4; i++) {
        gw("msg", "c1", "job:run", NULL, 10 + i);
        /* whichever service got it answers with its name */
        zsock_t *who = NULL;
        mp_t h = MP_NONE;
        for (int t = 0; t < 100 && !who; t++) {
            pump(1);
            if (mp_present(h = recv_map(a, 2)))
                who = a;
            else if (mp_present(h = recv_map(b, 2)))
                who = b;
        }
        assert_non_null(who);
        assert_string_equal(str_of(mp_get(h, "op")), "handle");
        assert_string_equal(str_of(mp_get(h, "type")), "job:run");
        assert_string_equal(str_of(mp_get(h, "from")), "c1");
        assert_string_equal(str_of(mp_get(h, "node")), "apinode");
        order[i] = who == a ? "a" : "b";
        handled(who, h, order[i], NULL);
        expect_ack_by(10 + i, order[i]);
        /* the handled message is published */
        ev = recv_map(EV_SUB, 500);
        assert_string_equal(str_of(mp_get(ev, "type")), "job:run");
        assert_string_equal(str_of(mp_get(ev, "from")), "c1");
    }
    assert_string_not_equal(order[0], order[1]);
    assert_string_equal(order[0], order[2]);
    assert_string_equal(order[1], order[3]);

    /* error passthrough, unknown codes become internal */
    gw("msg", "c1", "job:fail", NULL, 20);
    mp_t h = await_map(a, 500);
    zsock_t *who = a;
    if (!mp_present(h)) {
        h = await_map(b, 500);
        who = b;
    }
    handled(who, h, NULL, "not_in_room");
    expect_error_code(20, "not_in_room", 1000);
    zsock_destroy(&a);
    zsock_destroy(&b);
}

static void test_timeout_late_answer_ignored(void **state)
{
    (void)state;
    zsock_t *s = service_new("slow", "slow:x");
    gw("msg", "c1", "slow:x", NULL, 5);
    mp_t h = await_map(s, 500);
    assert_true(mp_present(h));
    char token[32];
    snprintf(token, sizeof token, "%s", str_of(mp_get(h, "token")));
    expect_error_code(5, "timeout", 1000);
    /* the late handled: nothing more for the client */
    mpw_t w = MPW_INIT;
    mpw_map(&w, 2);
    mpw_kstr(&w, "op", "handled");
    mpw_kstr(&w, "token", token);
    send_map(s, &w);
    assert_false(mp_present(await_map(GW_SUB, 200)));
    zsock_destroy(&s);
}

static void test_silent_service_dropped(void **state)
{
    (void)state;
    zsock_t *s = service_new("quiet", "q:*");
    gw("msg", "c1", "q:x", NULL, 9);
    assert_true(mp_present(await_map(s, 500)));
    /* no heartbeat: after 3 s the registration goes, its request gets unavailable */
    expect_error_code(9, "unavailable", 4000);
    router_stats_t st;
    router_stats(R, &st);
    assert_int_equal(st.services, 0);
    /* the pattern stays owned by services */
    gw("msg", "c1", "q:x", "room", 11);
    expect_error_code(11, "unavailable", 500);
    /* heartbeat of an unknown DEALER: registered false */
    mpw_t w = MPW_INIT;
    mpw_map(&w, 1);
    mpw_kstr(&w, "op", "heartbeat");
    send_map(s, &w);
    mp_t hb = await_map(s, 500);
    assert_string_equal(str_of(mp_get(hb, "op")), "heartbeat");
    bool reg = true;
    assert_int_equal(mp_bool(mp_get(hb, "registered"), &reg), 0);
    assert_false(reg);
    zsock_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handle_round_robin_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_late_answer_ignored, setup_fast_timeout,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_service_dropped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
