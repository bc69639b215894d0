/* gateway core without a router and without lws: connections wait for their welcome,
 * requests get `unavailable`, heartbeats close silent clients (4009), shutdown closes
 * with 1001, /healthz and /metrics say so. The WebSocket side is stubbed below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway.h"
#include "ws.h"

/* ---- stubs of the WebSocket module (ws.c is not linked in) ---- */
static int wakes, closes;
void ws_conn_wake(void *wsi)
{
    (void)wsi;
    wakes++;
}
void ws_conn_close(void *wsi)
{
    (void)wsi;
    closes++;
}

static gateway_t *new_gateway(void)
{
    gateway_config_t cfg = {
        .router = "tcp://127.0.0.1:1", /* nobody there: the link stays down */
        .max_depth = 32,
        .rate_limit = 100,
        .rate_burst = 200,
        .max_queue = 1 << 20,
        .heartbeat = 25,
        .headroom = 16,
    };
    return gateway_new(&cfg);
}

/* The next thing the connection would write. */
static gw_write_t next_write(gw_conn_t *c)
{
    gw_write_t w;
    gateway_conn_writable(c, &w);
    return w;
}

static void test_requests_while_the_router_is_down(void **state)
{
    (void)state;
    gateway_t *gw = new_gateway();
    assert_non_null(gw);
    int dummy;
    gw_conn_t *c = gateway_conn_open(gw, &dummy);
    assert_non_null(c);
    assert_int_equal(gateway_conn_count(gw), 1);
    const char *req = "{\"type\":\"ping\",\"id\":7}";
    gateway_conn_text(c, req, strlen(req));
    /* the `unavailable` answer is queued, but nothing goes out before the welcome */
    assert_int_equal(next_write(c).kind, GW_WRITE_NONE);
    buf_t b = BUF_INIT;
    gateway_metrics(gw, &b);
    buf_putc(&b, 0);
    assert_non_null(strstr(b.data, "rt_gateway_errors_total{code=\"unavailable\"} 1\n"));
    assert_non_null(strstr(b.data, "rt_gateway_router_up 0\n"));
    assert_non_null(strstr(b.data, "rt_gateway_connections 1\n"));
    assert_int_equal(gateway_health(gw, &b), 503);
    buf_free(&b);
    gateway_conn_closed(&c);
    assert_null(c);
    assert_int_equal(gateway_conn_count(gw), 0);
    gateway_destroy(&gw);
    gateway_destroy(&gw); /* safe twice */
}

static void test_silent_client_closed_after_two_heartbeats(void **state)
{
    (void)state;
    gateway_t *gw = new_gateway();
    int d1, d2;
    gw_conn_t *silent = gateway_conn_open(gw, &d1), *alive = gateway_conn_open(gw, &d2);
    closes = 0;
    for (int beat = 0; beat < 3; beat++) {
        gateway_heartbeat(gw);
        assert_int_equal(next_write(alive).kind, GW_WRITE_PING);
        gateway_conn_alive(alive); /* its pong */
        if (beat < 2)
            assert_int_equal(next_write(silent).kind, GW_WRITE_PING);
    }
    assert_int_equal(closes, 1);
    gw_write_t w = next_write(silent);
    assert_int_equal(w.kind, GW_WRITE_CLOSE);
    assert_int_equal(w.code, 4009);
    assert_int_equal(next_write(alive).kind, GW_WRITE_NONE);
    gateway_conn_closed(&silent);
    gateway_conn_closed(&alive);
    gateway_destroy(&gw);
}

static void test_shutdown_closes_everyone_with_1001(void **state)
{
    (void)state;
    gateway_t *gw = new_gateway();
    int d[3];
    gw_conn_t *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = gateway_conn_open(gw, &d[i]);
    gateway_shutdown(gw);
    for (int i = 0; i < 3; i++) {
        gw_write_t w = next_write(c[i]);
        assert_int_equal(w.kind, GW_WRITE_CLOSE);
        assert_int_equal(w.code, 1001);
    }
    assert_null(gateway_conn_open(gw, &d[0])); /* no newcomers while shutting down */
    for (int i = 0; i < 3; i++)
        gateway_conn_closed(&c[i]);
    gateway_destroy(&gw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_while_the_router_is_down),
        cmocka_unit_test(test_silent_client_closed_after_two_heartbeats),
        cmocka_unit_test(test_shutdown_closes_everyone_with_1001),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
