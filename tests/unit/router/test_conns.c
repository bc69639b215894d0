/* conns: the connection table. Gateway and user of each conn, its rooms, the room limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "conns.h"

static void test_add_lookup_remove(void **state)
{
    (void)state;
    conns_t *conns = conns_new(128);
    assert_int_equal(conns_add(conns, "A", "gw1", "alice"), 0);
    assert_int_equal(conns_add(conns, "B", "gw2", NULL), 0);
    assert_true(conns_exists(conns, "A"));
    assert_false(conns_exists(conns, "Z"));
    assert_int_equal(conns_count(conns), 2);
    assert_string_equal(conns_gw(conns, "A"), "gw1");
    assert_string_equal(conns_user(conns, "A"), "alice");
    assert_null(conns_user(conns, "B")); /* anonymous */
    assert_null(conns_gw(conns, "Z"));
    assert_int_equal(conns_remove(conns, "A"), 0);
    assert_int_equal(conns_remove(conns, "A"), -1);
    assert_int_equal(conns_count(conns), 1);
    conns_destroy(&conns);
    assert_null(conns);
}

static void test_rooms_of_a_conn(void **state)
{
    (void)state;
    conns_t *conns = conns_new(128);
    conns_add(conns, "A", "gw1", NULL);
    assert_int_equal(conns_room_add(conns, "A", "r1"), RT_OK);
    assert_int_equal(conns_room_add(conns, "A", "r2"), RT_OK);
    assert_int_equal(conns_room_add(conns, "A", "r1"), RT_OK); /* idempotent */
    assert_int_equal(conns_room_add(conns, "nobody", "r1"), RT_E_PEER_NOT_FOUND);
    const char *const *rooms;
    assert_int_equal(conns_rooms(conns, "A", &rooms), 2);
    assert_string_equal(rooms[0], "r1");
    assert_string_equal(rooms[1], "r2");
    assert_true(conns_in_room(conns, "A", "r2"));
    assert_int_equal(conns_room_remove(conns, "A", "r1"), 0);
    assert_int_equal(conns_room_remove(conns, "A", "r1"), -1);
    assert_false(conns_in_room(conns, "A", "r1"));
    assert_int_equal(conns_rooms(conns, "A", &rooms), 1);
    assert_string_equal(rooms[0], "r2");
    conns_destroy(&conns);
}

static void test_room_limit(void **state)
{
    (void)state;
    conns_t *conns = conns_new(3);
    conns_add(conns, "A", "gw1", NULL);
    char room[16];
    for (int i = 0; i < 3; i++) {
        snprintf(room, sizeof room, "r%d", i);
        assert_int_equal(conns_room_add(conns, "A", room), RT_OK);
    }
    assert_int_equal(conns_room_add(conns, "A", "r3"), RT_E_LIMIT);
    assert_int_equal(conns_room_add(conns, "A", "r0"), RT_OK); /* already in: no limit */
    conns_room_remove(conns, "A", "r1");
    assert_int_equal(conns_room_add(conns, "A", "r3"), RT_OK); /* room freed */
    conns_destroy(&conns);
}

static void test_readd_moves_and_keeps_rooms(void **state)
{
    (void)state;
    conns_t *conns = conns_new(128);
    conns_add(conns, "A", "gw1", NULL);
    conns_room_add(conns, "A", "r");
    conns_add(conns, "A", "gw2", "bob");
    assert_string_equal(conns_gw(conns, "A"), "gw2");
    assert_string_equal(conns_user(conns, "A"), "bob");
    assert_true(conns_in_room(conns, "A", "r"));
    assert_int_equal(conns_count(conns), 1);
    conns_destroy(&conns);
}

static void test_generation(void **state)
{
    (void)state;
    conns_t *c = conns_new(4);
    assert_int_equal(conns_gen(c, "a"), 0); /* unknown */
    conns_set_gen(c, "a", 7);               /* ignored for an unknown conn */
    assert_false(conns_exists(c, "a"));
    conns_add(c, "a", "@n1", NULL);
    assert_int_equal(conns_gen(c, "a"), 0);
    conns_set_gen(c, "a", 1);
    conns_add(c, "a", "@n2", NULL); /* a move keeps it until set */
    assert_int_equal(conns_gen(c, "a"), 1);
    conns_set_gen(c, "a", 2);
    assert_int_equal(conns_gen(c, "a"), 2);
    conns_remove(c, "a");
    assert_int_equal(conns_gen(c, "a"), 0);
    conns_destroy(&c);
}

static void test_conns_of_gateway(void **state)
{
    (void)state;
    conns_t *conns = conns_new(128);
    conns_add(conns, "A", "gw1", NULL);
    conns_add(conns, "B", "gw2", NULL);
    conns_add(conns, "C", "gw1", NULL);
    size_t n = 0;
    char **list = conns_of_gateway(conns, "gw1", &n);
    assert_non_null(list);
    assert_int_equal(n, 2);
    bool a = false, c = false;
    for (char **p = list; *p; p++) {
        a |= strcmp(*p, "A") == 0;
        c |= strcmp(*p, "C") == 0;
    }
    assert_true(a && c);
    conns_list_free(&list);
    assert_null(list);
    list = conns_of_gateway(conns, "gw9", &n);
    assert_int_equal(n, 0);
    assert_null(list[0]);
    conns_list_free(&list);
    conns_destroy(&conns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_lookup_remove),
        cmocka_unit_test(test_rooms_of_a_conn),
        cmocka_unit_test(test_room_limit),
        cmocka_unit_test(test_readd_moves_and_keeps_rooms),
        cmocka_unit_test(test_conns_of_gateway),
        cmocka_unit_test(test_generation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
