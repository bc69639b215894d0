/* gateways: hello, heartbeat expiry, drop and tombstones (a dropped gateway comes back loud). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "gateways.h"

static void test_hello_touch_expire(void **state)
{
    (void)state;
    gateways_t *g = gateways_new();
    assert_false(gateways_known(g, "gw1"));
    assert_int_equal(gateways_touch(g, "gw1", 0), -1);
    assert_int_equal(gateways_hello(g, "gw1", "rid", 3, 1000), 0);
    assert_int_equal(gateways_hello(g, "gw2", "rid2", 4, 1000), 0);
    assert_true(gateways_known(g, "gw1"));
    assert_false(gateways_loud(g, "gw1")); /* first time: a router restart, silent attach */
    assert_int_equal(gateways_count(g), 2);
    assert_null(gateways_expired(g, 3500, 3000));
    assert_int_equal(gateways_touch(g, "gw2", 3000), 0);
    assert_string_equal(gateways_expired(g, 4500, 3000), "gw1");
    gateways_destroy(&g);
    assert_null(g);
}

static void test_drop_and_come_back_loud(void **state)
{
    (void)state;
    gateways_t *g = gateways_new();
    gateways_hello(g, "gw1", "r", 1, 0);
    assert_int_equal(gateways_drop(g, "gw1"), 0);
    assert_int_equal(gateways_drop(g, "gw1"), -1);
    assert_false(gateways_known(g, "gw1"));
    assert_true(gateways_tombstoned(g, "gw1"));
    gateways_hello(g, "gw1", "r", 1, 10);
    assert_true(gateways_known(g, "gw1"));
    assert_true(gateways_loud(g, "gw1"));
    assert_false(gateways_tombstoned(g, "gw1"));
    /* a second hello (re-connect) keeps it loud for the rest of its attach */
    gateways_hello(g, "gw1", "r", 1, 20);
    assert_true(gateways_loud(g, "gw1"));
    gateways_destroy(&g);
}

static void test_drop_with_borrowed_id(void **state)
{
    (void)state;
    gateways_t *g = gateways_new();
    gateways_hello(g, "gw1", "r", 1, 0);
    const char *id = gateways_expired(g, 10000, 3000); /* points into the table */
    assert_non_null(id);
    assert_int_equal(gateways_drop(g, id), 0);
    assert_null(gateways_expired(g, 10000, 3000));
    assert_true(gateways_tombstoned(g, "gw1"));
    gateways_destroy(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_touch_expire),
        cmocka_unit_test(test_drop_and_come_back_loud),
        cmocka_unit_test(test_drop_with_borrowed_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
