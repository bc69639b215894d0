/* zmqio: sockets with the project's options, non-blocking send/receive and frame checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zmqio.h"

static void test_dealer_router_round_trip(void **state)
{
    zsock_t *router = zmqio_socket(ZMQ_ROUTER, "inproc://zmqio-test", true, 100);
    zsock_t *dealer = zmqio_socket(ZMQ_DEALER, "inproc://zmqio-test", false, 0);
    assert_non_null(router);
    assert_non_null(dealer);
    assert_int_equal(zsock_linger(router), 0);
    assert_int_equal(zsock_sndhwm(router), 100);

    assert_null(zmqio_recv(router)); /* nothing waiting: returns at once */

    mpw_t w = MPW_INIT;
    mpw_map(&w, 1);
    mpw_kstr(&w, "t", "hello");
    assert_int_equal(zmqio_send_mp(dealer, mpw_view(&w), false), 0);

    zmsg_t *msg = NULL;
    for (int i = 0; i < 200 && !msg; i++) {
        msg = zmqio_recv(router);
        if (!msg)
            zclock_sleep(5);
    }
    assert_non_null(msg);
    assert_int_equal(zmsg_size(msg), 2); /* [identity][map] */
    zframe_t *id = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    mp_t m;
    assert_int_equal(zmqio_frame_mp(body, &m), 0);
    assert_true(mp_str_eq(mp_get(m, "t"), "hello"));

    /* Reply through the ROUTER: identity frame with more = true, then the body. */
    assert_int_equal(zmqio_send(router, zframe_data(id), zframe_size(id), true), 0);
    assert_int_equal(zmqio_send_mp(router, m, false), 0);
    zmsg_t *reply = NULL;
    for (int i = 0; i < 200 && !reply; i++) {
        reply = zmqio_recv(dealer);
        if (!reply)
            zclock_sleep(5);
    }
    assert_non_null(reply);
    assert_int_equal(zmsg_size(reply), 1);

    zmsg_destroy(&reply);
    zframe_destroy(&id);
    zframe_destroy(&body);
    zmsg_destroy(&msg);
    mpw_free(&w);
    zsock_destroy(&dealer);
    zsock_destroy(&router);
}

static void test_frame_checks(void **state)
{
    const uint8_t bad[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    zframe_t *f = zframe_new(bad, sizeof bad);
    mp_t m;
    assert_int_equal(zmqio_frame_mp(f, &m), -1);
    zframe_destroy(&f);
    f = zframe_new(NULL, 0);
    assert_int_equal(zmqio_frame_mp(f, &m), -1);
    zframe_destroy(&f);
    /* Over MP_MAX_FRAME: refused by size before any parsing. */
    size_t big = MP_MAX_FRAME + 16;
    uint8_t *data = calloc(1, big);
    data[0] = 0xdb; /* str32 of MP_MAX_FRAME + 11 bytes: well-formed, but too big */
    uint32_t n = (uint32_t)(big - 5);
    data[1] = (uint8_t)(n >> 24);
    data[2] = (uint8_t)(n >> 16);
    data[3] = (uint8_t)(n >> 8);
    data[4] = (uint8_t)n;
    assert_int_equal(mp_check(data, big, MP_MAX_DEPTH, NULL), 0);
    f = zframe_new(data, big);
    assert_int_equal(zmqio_frame_mp(f, &m), -1);
    zframe_destroy(&f);
    free(data);
}

static void test_bad_endpoint(void **state)
{
    assert_null(zmqio_socket(ZMQ_PUB, "nonsense://x", true, 0));
    assert_null(zmqio_socket(ZMQ_PUB, "", true, 0));
}

static void test_local_only(void **state)
{
    (void)state;
    assert_true(zmqio_local_only(NULL));
    assert_true(zmqio_local_only("tcp://127.0.0.1:5557"));
    assert_true(zmqio_local_only("tcp://localhost:1,ipc:///tmp/x, inproc://y"));
    assert_true(zmqio_local_only("tcp://[::1]:9090"));
    assert_false(zmqio_local_only("tcp://*:5557"));
    assert_false(zmqio_local_only("tcp://0.0.0.0:5557"));
    assert_false(zmqio_local_only("tcp://127.0.0.1:1,tcp://10.0.0.5:2"));
    assert_false(zmqio_local_only("tcp://127.example.com:1"));
}

static void test_peer_endpoint(void **state)
{
    char out[64];
    assert_int_equal(zmqio_peer_endpoint("tcp://*:5556", "tcp://10.0.0.5:5555", out, sizeof out),
                     0);
    assert_string_equal(out, "tcp://10.0.0.5:5556");
    assert_int_equal(
        zmqio_peer_endpoint("tcp://0.0.0.0:7001", "tcp://router.local:5555", out, sizeof out), 0);
    assert_string_equal(out, "tcp://router.local:7001");
    assert_int_equal(
        zmqio_peer_endpoint("tcp://192.168.1.2:5556", "tcp://10.0.0.5:5555", out, sizeof out), 0);
    assert_string_equal(out, "tcp://192.168.1.2:5556"); /* a concrete host is kept */
    assert_int_equal(zmqio_peer_endpoint("ipc:///tmp/fanout", "tcp://h:1", out, sizeof out), 0);
    assert_string_equal(out, "ipc:///tmp/fanout");
    assert_int_equal(zmqio_peer_endpoint("tcp://*:5556", "ipc:///x", out, sizeof out), -1);
    assert_int_equal(zmqio_peer_endpoint("tcp://*:5556", "tcp://10.0.0.5:5555", out, 10), -1);
}

int main(void)
{
    zsys_init();
    zsys_handler_set(NULL); /* keep default signal handling in tests */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dealer_router_round_trip),
        cmocka_unit_test(test_frame_checks),
        cmocka_unit_test(test_bad_endpoint),
        cmocka_unit_test(test_peer_endpoint),
        cmocka_unit_test(test_local_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
