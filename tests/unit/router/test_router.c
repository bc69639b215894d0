/* router + builtins, in one process: a router bound on inproc endpoints, driven with
 * router_poll, and fake gateways (a DEALER and a SUB each) speaking docs/internals.md.
 * Reads as a walk through the protocol: hello, sync, open, join, messages, answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <czmq.h>

#include "router.h"

/* fresh endpoints per test: a closed socket's inproc name is released asynchronously */
static char INGRESS[64], FANOUT[64];

typedef struct {
    char id[32];
    zsock_t *dealer, *sub;
    zmsg_t *last; /* keeps the frame that `m` views alive */
    mp_t m;
} gw_t;

static router_t *R;

/* Runs the router until it has handled what is waiting. */
static void pump(void)
{
    for (int i = 0; i < 5; i++)
        router_poll(R, 5);
}

static void gw_send(gw_t *g, mpw_t *w)
{
    zmq_send(zsock_resolve(g->dealer), w->buf, w->len, 0);
    mpw_free(w);
    pump();
}

/* Sends {t, gw, extra k/v pairs of strings}. */
static void gw_simple(gw_t *g, const char *t)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 2);
    mpw_kstr(&w, "t", t);
    mpw_kstr(&w, "gw", g->id);
    gw_send(g, &w);
}

/* The next map on g's topic (skipping hb/synced); MP_NONE after 500 ms of nothing. */
static mp_t gw_recv(gw_t *g)
{
    for (;;) {
        zmsg_destroy(&g->last);
        g->m = MP_NONE;
        zsock_set_rcvtimeo(g->sub, 500);
        g->last = zmsg_recv(g->sub);
        if (!g->last)
            return MP_NONE;
        zframe_t *f = zmsg_last(g->last);
        assert_int_equal(mp_check(zframe_data(f), zframe_size(f), 64, &g->m), 0);
        mp_t t = mp_get(g->m, "t");
        if (!mp_str_eq(t, "hb") && !mp_str_eq(t, "synced"))
            return g->m;
    }
}

static void gw_open(gw_t *g, const char *conn, const char *user)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 4);
    mpw_kstr(&w, "t", "open");
    mpw_kstr(&w, "gw", g->id);
    mpw_kstr(&w, "c", conn);
    mpw_kstr(&w, "u", user);
    gw_send(g, &w);
}

/* A client frame: type, room/to may be NULL, id 0 for none, payload msgpack bytes or NULL. */
static void gw_msg(gw_t *g, const char *conn, const char *type, const char *room, const char *to,
                   int64_t id, const char *payload_mp, size_t plen)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 5 + (room ? 1 : 0) + (to ? 1 : 0) + (id ? 1 : 0));
    mpw_kstr(&w, "t", "msg");
    mpw_kstr(&w, "gw", g->id);
    mpw_kstr(&w, "c", conn);
    mpw_kstr(&w, "type", type);
    if (room)
        mpw_kstr(&w, "room", room);
    if (to)
        mpw_kstr(&w, "to", to);
    if (id)
        mpw_kint(&w, "id", id);
    mpw_kraw(&w, "payload", payload_mp ? (mp_t){(const uint8_t *)payload_mp, plen} : MP_NONE);
    gw_send(g, &w);
}

static gw_t *gw_new(const char *id)
{
    gw_t *g = calloc(1, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    g->dealer = zsock_new_dealer(INGRESS);
    g->sub = zsock_new_sub(FANOUT, g->id);
    gw_simple(g, "hello");
    zmsg_t *hello = zmsg_recv(g->dealer);
    assert_non_null(hello);
    mp_t h;
    zframe_t *f = zmsg_last(hello);
    assert_int_equal(mp_check(zframe_data(f), zframe_size(f), 64, &h), 0);
    assert_true(mp_str_eq(mp_get(h, "t"), "hello"));
    assert_true(mp_str_eq(mp_get(h, "node"), "testnode"));
    assert_true(mp_str_eq(mp_get(h, "fanout"), FANOUT));
    zmsg_destroy(&hello);
    /* sync until synced comes back on the SUB: the fan-out path is live */
    for (int i = 0;; i++) {
        assert_true(i < 100);
        gw_simple(g, "sync");
        zsock_set_rcvtimeo(g->sub, 20);
        zmsg_t *m = zmsg_recv(g->sub);
        if (m) {
            zmsg_destroy(&m);
            break;
        }
    }
    while (zsock_events(g->sub) & ZMQ_POLLIN) {
        zmsg_t *m = zmsg_recv(g->sub);
        zmsg_destroy(&m);
    }
    return g;
}

static void gw_destroy(gw_t **g)
{
    zmsg_destroy(&(*g)->last);
    zsock_destroy(&(*g)->dealer);
    zsock_destroy(&(*g)->sub);
    free(*g);
    *g = NULL;
}

/* Field helpers on the last received map. */
static bool is(mp_t m, const char *key, const char *val)
{
    return mp_str_eq(mp_get(m, key), val);
}
static mp_t f_of(mp_t m)
{
    return mp_get(m, "f");
}
static int64_t int_of(mp_t v)
{
    int64_t x = -1;
    mp_int(v, &x);
    return x;
}
static const char *code_of(mp_t m)
{
    static char code[32];
    code[0] = '\0';
    mp_strcpy(mp_get(mp_get(f_of(m), "payload"), "code"), code, sizeof code);
    return code;
}

/* Expect an ack for id on conn, returning its payload. */
static mp_t expect_ack(gw_t *g, const char *conn, int64_t id)
{
    mp_t m = gw_recv(g);
    assert_true(mp_present(m));
    assert_true(is(m, "t", "out") && is(m, "c", conn));
    assert_true(is(f_of(m), "type", "ack"));
    assert_int_equal(int_of(mp_get(f_of(m), "id")), id);
    return mp_get(f_of(m), "payload");
}

static void expect_error(gw_t *g, const char *conn, int64_t id, const char *code)
{
    mp_t m = gw_recv(g);
    assert_true(mp_present(m));
    assert_true(is(m, "c", conn) && is(f_of(m), "type", "error"));
    assert_int_equal(int_of(mp_get(f_of(m), "id")), id);
    assert_string_equal(code_of(m), code);
}

static void expect_nothing(gw_t *g)
{
    zsock_set_rcvtimeo(g->sub, 50);
    zmsg_t *m = zmsg_recv(g->sub);
    assert_null(m);
}

static int setup(void **state)
{
    (void)state;
    router_opts_t o;
    router_opts_default(&o);
    static int run;
    run++;
    snprintf(INGRESS, sizeof INGRESS, "inproc://test-ingress-%d", run);
    snprintf(FANOUT, sizeof FANOUT, "inproc://test-fanout-%d", run);
    o.node_id = "testnode";
    o.ingress = INGRESS;
    o.api = NULL; /* the service API has its own test (test_api.c) */
    o.events = NULL;
    o.fanout = FANOUT;
    o.max_rooms = 2;
    R = router_new(&o);
    return R ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    router_destroy(&R);
    return 0;
}

/* ---- the built-ins ---- */

static void test_join_presence_and_leave(void **state)
{
    (void)state;
    gw_t *g1 = gw_new("g1"), *g2 = gw_new("g2");
    gw_open(g1, "A", "alice");
    gw_open(g2, "B", NULL);

    const char meta[] = "\x81\xa1k\x01"; /* {"k":1} */
    gw_msg(g1, "A", "room:join", "lobby", NULL, 1, meta, 4);
    mp_t m = gw_recv(g1); /* joined first: the gateway knows A is a member */
    assert_true(is(m, "t", "joined") && is(m, "c", "A") && is(m, "r", "lobby"));
    mp_t ack = expect_ack(g1, "A", 1);
    assert_true(is(ack, "room", "lobby"));
    assert_int_equal(mp_count(mp_get(ack, "members")), 1);

    gw_msg(g2, "B", "room:join", "lobby", NULL, 2, NULL, 0);
    /* g1 gets presence:join for B; g2 gets joined, and its ack lists A then B */
    m = gw_recv(g1);
    assert_true(is(m, "r", "lobby") && is(m, "x", "B"));
    assert_true(is(f_of(m), "type", "presence:join"));
    mp_t p = mp_get(f_of(m), "payload");
    assert_true(is(p, "id", "B") && mp_is_nil(mp_get(p, "user")));
    assert_int_equal(mp_type(mp_get(p, "meta")), MP_MAP);
    assert_true(is(gw_recv(g2), "t", "joined"));
    ack = expect_ack(g2, "B", 2);
    mp_iter_t it;
    mp_t member;
    mp_iter(mp_get(ack, "members"), &it);
    assert_true(mp_next(&it, &member) && is(member, "id", "A") && is(member, "user", "alice"));
    assert_true(mp_next(&it, &member) && is(member, "id", "B"));
    /* g2 has only B in the room: the presence:join except B was not sent there */
    expect_nothing(g2);

    /* idempotent rejoin: ack only */
    gw_msg(g2, "B", "room:join", "lobby", NULL, 3, NULL, 0);
    expect_ack(g2, "B", 3);
    expect_nothing(g1);

    gw_msg(g2, "B", "room:leave", "lobby", NULL, 4, NULL, 0);
    assert_true(is(gw_recv(g2), "t", "left"));
    expect_ack(g2, "B", 4);
    m = gw_recv(g1);
    assert_true(is(f_of(m), "type", "presence:leave"));
    assert_int_equal(mp_count(mp_get(f_of(m), "payload")), 2); /* {id, user} */
    gw_msg(g2, "B", "room:leave", "lobby", NULL, 5, NULL, 0);
    expect_error(g2, "B", 5, "not_in_room");

    /* close: presence:leave to the others */
    gw_msg(g2, "B", "room:join", "lobby", NULL, 6, NULL, 0);
    gw_recv(g2);
    expect_ack(g2, "B", 6);
    gw_recv(g1); /* presence:join */
    mpw_t w = MPW_INIT;
    mpw_map(&w, 3);
    mpw_kstr(&w, "t", "close");
    mpw_kstr(&w, "gw", "g1");
    mpw_kstr(&w, "c", "A");
    gw_send(g1, &w);
    m = gw_recv(g2);
    assert_true(is(f_of(m), "type", "presence:leave") && is(mp_get(f_of(m), "payload"), "id", "A"));
    assert_false(router_conn_exists(R, "A"));
    gw_destroy(&g1);
    gw_destroy(&g2);
}

static void test_room_limit_and_meta(void **state)
{
    (void)state;
    gw_t *g = gw_new("g3");
    gw_open(g, "C", NULL);
    gw_msg(g, "C", "room:join", "r1", NULL, 1, NULL, 0);
    gw_recv(g);
    expect_ack(g, "C", 1);
    gw_msg(g, "C", "room:join", "r2", NULL, 2, NULL, 0);
    gw_recv(g);
    expect_ack(g, "C", 2);
    gw_msg(g, "C", "room:join", "r3", NULL, 3, NULL, 0); /* max_rooms = 2 */
    expect_error(g, "C", 3, "limit");
    gw_msg(g, "C", "room:leave", "r2", NULL, 4, NULL, 0);
    gw_recv(g);
    expect_ack(g, "C", 4);
    gw_msg(g, "C", "room:join", "r3", NULL, 5, "\x93\x01\x02\x03", 4); /* meta not an object */
    expect_error(g, "C", 5, "bad_request");
    /* meta of 1100 bytes of JSON */
    mpw_t big = MPW_INIT;
    char text[1100];
    memset(text, 'v', sizeof text);
    mpw_map(&big, 1);
    mpw_cstr(&big, "k");
    mpw_str(&big, text, sizeof text);
    gw_msg(g, "C", "room:join", "r3", NULL, 6, (const char *)big.buf, big.len);
    mpw_free(&big);
    expect_error(g, "C", 6, "bad_request");
    gw_destroy(&g);
}

static void test_default_route(void **state)
{
    (void)state;
    gw_t *g = gw_new("g4");
    gw_open(g, "D", NULL);
    gw_open(g, "E", NULL);
    gw_open(g, "F", NULL);
    gw_msg(g, "D", "room:join", "r", NULL, 0, NULL, 0);
    gw_msg(g, "E", "room:join", "r", NULL, 0, NULL, 0);
    while (mp_present(gw_recv(g)))
        ;
    gw_msg(g, "D", "chat", "r", NULL, 1, "\x07", 1);
    mp_t m = gw_recv(g);
    assert_true(is(m, "r", "r") && is(m, "x", "D"));
    assert_true(is(f_of(m), "type", "chat") && is(f_of(m), "from", "D"));
    assert_int_equal(int_of(mp_get(f_of(m), "payload")), 7);
    expect_ack(g, "D", 1);
    gw_msg(g, "D", "dm", NULL, "E", 2, NULL, 0);
    m = gw_recv(g);
    assert_true(is(m, "c", "E") && is(f_of(m), "from", "D"));
    assert_false(mp_present(mp_get(f_of(m), "room")));
    expect_ack(g, "D", 2);
    gw_msg(g, "D", "dm", NULL, "F", 3, NULL, 0); /* no shared room */
    expect_error(g, "D", 3, "peer_not_found");
    gw_msg(g, "D", "dm", "r", "F", 4, NULL, 0); /* F not in r */
    expect_error(g, "D", 4, "peer_not_found");
    gw_msg(g, "F", "chat", "r", NULL, 5, NULL, 0); /* F not in r, no auto-join */
    expect_error(g, "F", 5, "not_in_room");
    gw_msg(g, "D", "chat", NULL, NULL, 6, NULL, 0);
    expect_error(g, "D", 6, "bad_request");
    gw_msg(g, "D", "sys:reboot", NULL, NULL, 7, NULL, 0);
    expect_error(g, "D", 7, "unknown_type");
    gw_msg(g, "D", "webrtc:offer", "r", "E", 8, NULL, 0);
    expect_error(g, "D", 8, "unavailable");
    gw_msg(g, "D", "ping", NULL, NULL, 9, NULL, 0);
    expect_ack(g, "D", 9);
    gw_destroy(&g);
}

/* ---- handlers and middleware ---- */

static void on_chat(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    assert_int_equal(router_join(r, m->conn, m->room, MP_NONE), RT_OK);
    router_publish(r, m->room, m->type, m->conn, m->payload, m->conn);
    router_ack(r, m, MP_NONE);
    router_ack(r, m, MP_NONE); /* a second answer is ignored */
    router_error(r, m, RT_E_INTERNAL, "ignored");
}

static void on_forgetful(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)m;
    (void)arg;
}

/* A custom ping: answers with a payload of one element where the built-in answers {}. */
static void on_my_ping(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    router_ack(r, m, (mp_t){(const uint8_t *)"\x91\x01", 2});
}

static bool deny_secret(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)arg;
    return strncmp(m->type, "secret", 6) != 0;
}

static void test_handlers_and_middleware(void **state)
{
    (void)state;
    assert_int_equal(router_on(R, "chat:message", on_chat, NULL), 0);
    assert_int_equal(router_on(R, "quiet:*", on_forgetful, NULL), 0);
    assert_int_equal(router_use(R, deny_secret, NULL), 0);
    gw_t *g = gw_new("g5");
    gw_open(g, "G", NULL);
    gw_open(g, "H", NULL);
    gw_msg(g, "H", "room:join", "c", NULL, 0, NULL, 0);
    while (mp_present(gw_recv(g)))
        ;
    gw_msg(g, "G", "chat:message", "c", NULL, 1, "\xa2hi", 3);
    assert_true(is(gw_recv(g), "t", "joined")); /* router_join */
    assert_true(is(f_of(gw_recv(g)), "type", "presence:join"));
    mp_t m = gw_recv(g);
    assert_true(is(f_of(m), "type", "chat:message") && is(m, "x", "G"));
    expect_ack(g, "G", 1);
    expect_nothing(g); /* exactly one answer */

    gw_msg(g, "G", "quiet:x", NULL, NULL, 2, NULL, 0); /* handler forgot: {} */
    assert_int_equal(mp_count(expect_ack(g, "G", 2)), 0);
    gw_msg(g, "G", "secret", "c", NULL, 3, NULL, 0); /* middleware stop */
    expect_error(g, "G", 3, "forbidden");
    expect_nothing(g);

    /* router_on for a built-in's own type replaces the built-in */
    assert_int_equal(router_on(R, "ping", on_my_ping, NULL), 0);
    gw_msg(g, "G", "ping", NULL, NULL, 4, NULL, 0);
    assert_int_equal(mp_count(expect_ack(g, "G", 4)), 1);
    expect_nothing(g);
    gw_destroy(&g);
}

static void test_garbage_and_unknown_gateways(void **state)
{
    (void)state;
    gw_t *g = gw_new("g6");
    router_stats_t before, after;
    router_stats(R, &before);
    zmq_send(zsock_resolve(g->dealer), "\xc1", (size_t)1, 0); /* never valid msgpack */
    zmq_send(zsock_resolve(g->dealer), "\xdf\xff\xff\xff\xff", (size_t)5,
             0);                                                          /* map32 of 4G entries */
    zmq_send(zsock_resolve(g->dealer), "\x93\x01\x02\x03", (size_t)4, 0); /* not a map */
    pump();
    router_stats(R, &after);
    assert_int_equal(after.bad_frames - before.bad_frames, 3);
    expect_nothing(g);

    zsock_t *ghost = zsock_new_sub(FANOUT, "ghost");
    zsock_t *dealer = zsock_new_dealer(INGRESS);
    mp_t m = MP_NONE;
    zmsg_t *msg = NULL;
    for (int i = 0; i < 100 && !msg; i++) { /* until the ghost's SUB is live */
        mpw_t w = MPW_INIT;
        mpw_map(&w, 2);
        mpw_kstr(&w, "t", "hb");
        mpw_kstr(&w, "gw", "ghost");
        zmq_send(zsock_resolve(dealer), w.buf, w.len, 0);
        mpw_free(&w);
        pump();
        zsock_set_rcvtimeo(ghost, 10);
        msg = zmsg_recv(ghost);
    }
    assert_non_null(msg);
    zframe_t *f = zmsg_last(msg);
    assert_int_equal(mp_check(zframe_data(f), zframe_size(f), 64, &m), 0);
    assert_true(is(m, "t", "unknown"));
    zmsg_destroy(&msg);
    zsock_destroy(&ghost);
    zsock_destroy(&dealer);
    gw_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_presence_and_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_limit_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handlers_and_middleware, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_and_unknown_gateways, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
