/* signaling: the webrtc:* handlers against a fake router (an inproc ROUTER answering the
 * register / join / presence ops by hand): relay with `from`, not_in_room, peer_not_found,
 * bad_request, rate_limited, auto-join, and the webrtc:join ack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ids.h"
#include "jsonb.h"
#include "signaling.h"
#include "turn.h"
#include "zmqio.h"

typedef struct {
    zsock_t *router;
    signaling_t *sig;
    zframe_t *peer;
    zmsg_t *last;
    sig_opts_t opts;
    char ep[64];
} fake_t;

static int counter;

static fake_t *start(bool auto_join, long long rate)
{
    fake_t *f = calloc(1, sizeof *f);
    snprintf(f->ep, sizeof f->ep, "inproc://fake-sig-%d", ++counter);
    f->router = zmqio_socket(ZMQ_ROUTER, f->ep, true, 0);
    assert_non_null(f->router);
    f->opts.router_api = f->ep;
    f->opts.auto_join_rooms = auto_join;
    f->opts.stun = "stun:stun.example.org:3478,stun:127.0.0.1:3478";
    f->opts.turn_uri = "turn:127.0.0.1:3478?transport=udp";
    f->opts.turn_secret = "s3cret";
    f->opts.turn_ttl = 86400;
    f->opts.rate_limit = rate;
    f->opts.rate_burst = 5;
    f->opts.api_timeout = 1000;
    f->sig = signaling_new(&f->opts);
    assert_non_null(f->sig);
    return f;
}

static void stop(fake_t *f)
{
    signaling_destroy(&f->sig);
    signaling_destroy(&f->sig);
    zmsg_destroy(&f->last);
    zframe_destroy(&f->peer);
    zsock_destroy(&f->router);
    free(f);
}

/* The next non-heartbeat message from the service. */
static mp_t fake_recv(fake_t *f)
{
    int64_t deadline = ids_mono_ms() + 2000;
    zmsg_destroy(&f->last);
    while (ids_mono_ms() < deadline) {
        zmsg_t *msg = zmqio_recv(f->router);
        if (msg) {
            zframe_destroy(&f->peer);
            f->peer = zmsg_pop(msg);
            mp_t m;
            assert_int_equal(zmqio_frame_mp(zmsg_first(msg), &m), 0);
            if (mp_str_eq(mp_get(m, "op"), "heartbeat")) {
                zmsg_destroy(&msg);
                continue;
            }
            f->last = msg;
            return m;
        }
        signaling_poll(f->sig, 5);
    }
    fail_msg("the service sent nothing");
    return MP_NONE;
}

static void fake_send_json(fake_t *f, const char *json)
{
    mpw_t w = MPW_INIT;
    assert_int_equal(jsonb_to_mp(json, strlen(json), 64, &w, NULL, 0), JSONB_OK);
    assert_int_equal(zmqio_send(f->router, zframe_data(f->peer), zframe_size(f->peer), true), 0);
    assert_int_equal(zmqio_send_mp(f->router, mpw_view(&w), false), 0);
    mpw_free(&w);
}

static uint64_t req_of(mp_t m)
{
    uint64_t req = 0;
    assert_int_equal(mp_uint(mp_get(m, "req"), &req), 0);
    return req;
}

/* Reply ok to request m with a result given as JSON. */
static void reply_ok(fake_t *f, mp_t m, const char *result_json)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"op\":\"reply\",\"req\":%llu,\"ok\":true,\"result\":%s}",
             (unsigned long long)req_of(m), result_json);
    fake_send_json(f, buf);
}

static void registered(fake_t *f)
{
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "register"));
    mp_iter_t it;
    mp_t t;
    mp_iter(mp_get(m, "types"), &it);
    assert_true(mp_next(&it, &t));
    assert_true(mp_str_eq(t, "webrtc:*"));
    reply_ok(f, m, "{}");
}

static void handle(fake_t *f, const char *token, const char *type, const char *rest)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"op\":\"handle\",\"token\":\"%s\",\"type\":\"%s\",\"from\":\"n1:alice\","
             "\"node\":\"n1\",\"id\":1%s}",
             token, type, rest);
    fake_send_json(f, buf);
}

static const char *MEMBERS =
    "{\"room\":\"call\",\"members\":[{\"id\":\"n1:alice\",\"user\":null,\"meta\":{}},"
    "{\"id\":\"n1:bob\",\"user\":null,\"meta\":{}}]}";

static const char *OFFER = ",\"room\":\"call\",\"to\":\"n1:bob\","
                           "\"payload\":{\"type\":\"offer\",\"sdp\":\"v=0\"}";

static mp_t expect_error(fake_t *f, const char *code)
{
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "handled"));
    assert_true(mp_str_eq(mp_get(mp_get(m, "error"), "code"), code));
    return m;
}

static void test_relay(void **state)
{
    fake_t *f = start(false, 0);
    registered(f);
    handle(f, "t1", "webrtc:offer", OFFER);
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "presence"));
    assert_true(mp_str_eq(mp_get(m, "room"), "call"));
    reply_ok(f, m, MEMBERS);
    m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "handled"));
    assert_true(mp_str_eq(mp_get(m, "token"), "t1"));
    assert_false(mp_present(mp_get(m, "error")));
    mp_iter_t it;
    mp_t a;
    mp_iter(mp_get(m, "actions"), &it);
    assert_true(mp_next(&it, &a));
    assert_true(mp_str_eq(mp_get(a, "op"), "send"));
    assert_true(mp_str_eq(mp_get(a, "to"), "n1:bob"));
    assert_true(mp_str_eq(mp_get(a, "from"), "n1:alice"));
    assert_true(mp_str_eq(mp_get(a, "room"), "call"));
    assert_true(mp_str_eq(mp_get(a, "type"), "webrtc:offer"));
    assert_true(mp_str_eq(mp_get(mp_get(a, "payload"), "sdp"), "v=0"));
    assert_false(mp_next(&it, &a));
    stop(f);
}

static void test_membership_errors(void **state)
{
    fake_t *f = start(false, 0);
    registered(f);
    /* the sender is not in the room */
    handle(f, "t2", "webrtc:offer", OFFER);
    reply_ok(f, fake_recv(f), "{\"room\":\"call\",\"members\":[{\"id\":\"n1:bob\"}]}");
    expect_error(f, "not_in_room");
    /* the target is not in the room */
    handle(f, "t3", "webrtc:offer", OFFER);
    reply_ok(f, fake_recv(f), "{\"room\":\"call\",\"members\":[{\"id\":\"n1:alice\"}]}");
    expect_error(f, "peer_not_found");
    /* presence fails: the router's code passes through */
    handle(f, "t4", "webrtc:bye", ",\"room\":\"call\",\"to\":\"n1:bob\"");
    mp_t m = fake_recv(f);
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"op\":\"reply\",\"req\":%llu,\"ok\":false,\"error\":{\"code\":\"not_in_room\","
             "\"message\":\"no such room\"}}",
             (unsigned long long)req_of(m));
    fake_send_json(f, buf);
    expect_error(f, "not_in_room");
    stop(f);
}

static void test_bad_requests(void **state)
{
    fake_t *f = start(false, 0);
    registered(f);
    handle(f, "b1", "webrtc:offer",
           ",\"to\":\"n1:bob\",\"payload\":{\"type\":\"offer\","
           "\"sdp\":\"\"}");
    expect_error(f, "bad_request"); /* no room */
    handle(f, "b2", "webrtc:offer",
           ",\"room\":\"call\",\"payload\":{\"type\":\"offer\","
           "\"sdp\":\"\"}");
    expect_error(f, "bad_request"); /* no to */
    handle(f, "b3", "webrtc:answer", ",\"room\":\"call\",\"to\":\"n1:bob\",\"payload\":{}");
    expect_error(f, "bad_request");
    handle(f, "b4", "webrtc:candidate", ",\"room\":\"call\",\"to\":\"n1:bob\",\"payload\":5");
    expect_error(f, "bad_request");
    handle(f, "b5", "webrtc:dance", ",\"room\":\"call\"");
    expect_error(f, "unknown_type");
    stop(f);
}

static void test_rate_limit(void **state)
{
    fake_t *f = start(false, 1); /* 1/s, burst 5 */
    registered(f);
    for (int i = 0; i < 5; i++) {
        handle(f, "r", "webrtc:bye", ",\"to\":\"n1:bob\""); /* bad_request, but counted */
        expect_error(f, "bad_request");
    }
    handle(f, "r", "webrtc:bye", ",\"to\":\"n1:bob\"");
    expect_error(f, "rate_limited");
    /* the bucket is per connection */
    assert_true(signaling_rate_ok(f->sig, "n1:other", ids_mono_ms()));
    assert_false(signaling_rate_ok(f->sig, "n1:alice", ids_mono_ms()));
    assert_true(signaling_rate_ok(f->sig, "n1:alice", ids_mono_ms() + 1100));
    stop(f);
}

static void test_auto_join(void **state)
{
    fake_t *f = start(true, 0);
    registered(f);
    handle(f, "a1", "webrtc:candidate", ",\"room\":\"call\",\"to\":\"n1:bob\",\"payload\":null");
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "join"));
    assert_true(mp_str_eq(mp_get(m, "conn"), "n1:alice"));
    assert_true(mp_str_eq(mp_get(m, "room"), "call"));
    reply_ok(f, m, "{}");
    m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "presence"));
    reply_ok(f, m, MEMBERS);
    m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "handled"));
    assert_int_equal(mp_count(mp_get(m, "actions")), 1);
    /* a failing join is the answer */
    handle(f, "a2", "webrtc:bye", ",\"room\":\"call\",\"to\":\"n1:bob\"");
    m = fake_recv(f);
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"op\":\"reply\",\"req\":%llu,\"ok\":false,\"error\":{\"code\":\"limit\","
             "\"message\":\"too many rooms\"}}",
             (unsigned long long)req_of(m));
    fake_send_json(f, buf);
    expect_error(f, "limit");
    stop(f);
}

static void test_join_ack(void **state)
{
    fake_t *f = start(false, 0);
    registered(f);
    handle(f, "j1", "webrtc:join", ",\"room\":\"call\"");
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "join"));
    assert_true(mp_str_eq(mp_get(m, "conn"), "n1:alice"));
    reply_ok(f, m, "{}");
    reply_ok(f, fake_recv(f), MEMBERS);
    int64_t now_s = ids_now_ms() / 1000;
    m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "handled"));
    mp_t ack = mp_get(m, "reply");
    assert_true(mp_str_eq(mp_get(ack, "room"), "call"));
    mp_t peers = mp_get(ack, "peers");
    assert_int_equal(mp_count(peers), 1); /* bob, not alice herself */
    mp_iter_t it;
    mp_t v;
    mp_iter(peers, &it);
    assert_true(mp_next(&it, &v));
    assert_true(mp_str_eq(v, "n1:bob"));
    bool polite = true;
    assert_int_equal(mp_bool(mp_get(mp_get(ack, "polite"), "n1:bob"), &polite), 0);
    assert_false(polite); /* "n1:alice" < "n1:bob": alice is impolite towards bob */
    mp_t ice = mp_get(ack, "iceServers");
    assert_int_equal(mp_count(ice), 2);
    mp_iter(ice, &it);
    assert_true(mp_next(&it, &v));
    assert_int_equal(mp_count(mp_get(v, "urls")), 2);
    assert_false(mp_present(mp_get(v, "username")));
    assert_true(mp_next(&it, &v));
    char user[128], cred[64], want[64];
    assert_int_equal(mp_strcpy(mp_get(v, "username"), user, sizeof user), 0);
    long long expiry = atoll(user);
    assert_true(expiry >= now_s + 86400 - 2 && expiry <= now_s + 86400 + 2);
    assert_string_equal(strchr(user, ':') + 1, "n1:alice");
    assert_int_equal(mp_strcpy(mp_get(v, "credential"), cred, sizeof cred), 0);
    char u2[128];
    assert_int_equal(
        turn_credential("s3cret", "n1:alice", expiry, u2, sizeof u2, want, sizeof want), 0);
    assert_string_equal(cred, want);
    stop(f);
}

/* No STUN/TURN configured: an empty iceServers; a room of one: no peers. */
static void test_join_ack_alone(void **state)
{
    fake_t *f = start(false, 0);
    signaling_destroy(&f->sig);
    f->opts.stun = NULL;
    f->opts.turn_uri = NULL;
    f->sig = signaling_new(&f->opts);
    assert_non_null(f->sig);
    mpw_t members = MPW_INIT;
    const char *json = "[{\"id\":\"n1:alice\"}]";
    assert_int_equal(jsonb_to_mp(json, strlen(json), 8, &members, NULL, 0), JSONB_OK);
    mpw_t w = MPW_INIT;
    signaling_join_ack(f->sig, &w, "solo", "n1:alice", mpw_view(&members), 1700000000);
    buf_t out = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &out), 0);
    buf_putc(&out, '\0');
    assert_string_equal(out.data,
                        "{\"room\":\"solo\",\"peers\":[],\"iceServers\":[],\"polite\":{}}");
    buf_free(&out);
    mpw_free(&w);
    mpw_free(&members);
    stop(f);
}

/* A join op that answers like room:join ({room, members}) saves the presence op. */
static void test_join_result_members(void **state)
{
    fake_t *f = start(false, 0);
    registered(f);
    handle(f, "j2", "webrtc:join", ",\"room\":\"call\"");
    mp_t m = fake_recv(f);
    assert_true(mp_str_eq(mp_get(m, "op"), "join"));
    reply_ok(f, m, MEMBERS);
    m = fake_recv(f); /* no presence op in between */
    assert_true(mp_str_eq(mp_get(m, "op"), "handled"));
    assert_int_equal(mp_count(mp_get(mp_get(m, "reply"), "peers")), 1);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay),          cmocka_unit_test(test_membership_errors),
        cmocka_unit_test(test_bad_requests),   cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_auto_join),      cmocka_unit_test(test_join_ack),
        cmocka_unit_test(test_join_ack_alone),
        cmocka_unit_test(test_join_result_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
