/* rooms: the room table. Members in join order, idempotent add, per-gateway counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rooms.h"

static const uint8_t nick_meta[] = {0x81, 0xa4, 'n', 'i', 'c',
                                    'k',  0xa2, 'a', 'l'}; /* {"nick":"al"} */

static uint32_t gw_count(rooms_t *rooms, const char *room, const char *gw)
{
    const rooms_gw_t *gws;
    size_t n = rooms_gateways(rooms, room, &gws);
    for (size_t i = 0; i < n; i++)
        if (strcmp(gws[i].gw, gw) == 0)
            return gws[i].count;
    return 0;
}

static void test_join_leave(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    assert_non_null(rooms);
    assert_int_equal(rooms_add(rooms, "lobby", "A", "alice", "gw1", MP_NONE), 1);
    assert_true(rooms_is_member(rooms, "lobby", "A"));
    assert_false(rooms_is_member(rooms, "lobby", "B"));
    assert_false(rooms_is_member(rooms, "other", "A"));
    assert_int_equal(rooms_count(rooms), 1);
    assert_int_equal(rooms_size(rooms, "lobby"), 1);

    assert_int_equal(rooms_remove(rooms, "lobby", "B"), 0);
    assert_int_equal(rooms_remove(rooms, "lobby", "A"), 1);
    assert_int_equal(rooms_remove(rooms, "lobby", "A"), 0);
    /* the room goes away with its last member */
    assert_int_equal(rooms_count(rooms), 0);
    assert_null(rooms_first(rooms, "lobby"));
    rooms_destroy(&rooms);
    assert_null(rooms);
    rooms_destroy(&rooms); /* safe twice */
}

static void test_rejoin_is_idempotent_and_keeps_meta(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    mp_t meta = {nick_meta, sizeof nick_meta};
    assert_int_equal(rooms_add(rooms, "r", "A", NULL, "gw1", meta), 1);
    assert_int_equal(rooms_add(rooms, "r", "A", NULL, "gw1", MP_NONE), 0);
    assert_int_equal(rooms_size(rooms, "r"), 1);
    assert_int_equal(gw_count(rooms, "r", "gw1"), 1);
    const rooms_member_t *m = rooms_member(rooms, "r", "A");
    assert_non_null(m);
    mp_t kept = rooms_member_meta(m);
    assert_int_equal(kept.n, sizeof nick_meta);
    assert_memory_equal(kept.p, nick_meta, sizeof nick_meta);
    assert_null(rooms_member_user(m));
    rooms_destroy(&rooms);
}

static void test_absent_meta_is_empty_map(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    rooms_add(rooms, "r", "A", "u", "gw1", MP_NONE);
    mp_t meta = rooms_member_meta(rooms_member(rooms, "r", "A"));
    assert_int_equal(meta.n, 1);
    assert_int_equal(meta.p[0], 0x80);
    assert_string_equal(rooms_member_user(rooms_member(rooms, "r", "A")), "u");
    rooms_destroy(&rooms);
}

static void test_members_in_join_order(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    const char *ids[] = {"C", "A", "D", "B"};
    for (size_t i = 0; i < 4; i++)
        rooms_add(rooms, "r", ids[i], NULL, "gw1", MP_NONE);
    rooms_remove(rooms, "r", "A");                    /* from the middle */
    rooms_add(rooms, "r", "A", NULL, "gw1", MP_NONE); /* back at the end */
    const char *want[] = {"C", "D", "B", "A"};
    size_t i = 0;
    for (const rooms_member_t *m = rooms_first(rooms, "r"); m; m = rooms_next(m), i++) {
        assert_true(i < 4);
        assert_string_equal(rooms_member_conn(m), want[i]);
        assert_string_equal(rooms_member_gw(m), "gw1");
    }
    assert_int_equal(i, 4);
    rooms_destroy(&rooms);
}

static void test_per_gateway_counts(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    rooms_add(rooms, "r", "A", NULL, "gw1", MP_NONE);
    rooms_add(rooms, "r", "B", NULL, "gw1", MP_NONE);
    rooms_add(rooms, "r", "C", NULL, "gw2", MP_NONE);
    rooms_add(rooms, "s", "D", NULL, "gw3", MP_NONE);
    const rooms_gw_t *gws;
    assert_int_equal(rooms_gateways(rooms, "r", &gws), 2);
    assert_int_equal(gw_count(rooms, "r", "gw1"), 2);
    assert_int_equal(gw_count(rooms, "r", "gw2"), 1);
    assert_int_equal(gw_count(rooms, "r", "gw3"), 0); /* other rooms do not count */

    rooms_remove(rooms, "r", "C");
    assert_int_equal(rooms_gateways(rooms, "r", &gws), 1); /* gw2 has nobody left */
    assert_string_equal(gws[0].gw, "gw1");
    rooms_remove(rooms, "r", "A");
    assert_int_equal(gw_count(rooms, "r", "gw1"), 1);
    assert_int_equal(rooms_gateways(rooms, "nowhere", &gws), 0);
    assert_null(gws);
    rooms_destroy(&rooms);
}

static void test_set_gw_moves_a_member(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    rooms_add(rooms, "r", "A", NULL, "@n1", (mp_t){nick_meta, sizeof nick_meta});
    rooms_add(rooms, "r", "B", NULL, "gw2", MP_NONE);
    rooms_add(rooms, "r", "C", NULL, "@n1", MP_NONE);
    assert_int_equal(rooms_set_gw(rooms, "r", "A", "gw1"), 1);
    assert_int_equal(gw_count(rooms, "r", "@n1"), 1);
    assert_int_equal(gw_count(rooms, "r", "gw1"), 1);
    const rooms_member_t *m = rooms_first(rooms, "r"); /* place and meta kept */
    assert_string_equal(rooms_member_conn(m), "A");
    assert_string_equal(rooms_member_gw(m), "gw1");
    assert_int_equal(rooms_member_meta(m).n, sizeof nick_meta);
    assert_int_equal(rooms_set_gw(rooms, "r", "A", "gw1"), 0); /* already there */
    assert_int_equal(rooms_set_gw(rooms, "r", "X", "gw1"), 0); /* not a member */
    assert_int_equal(rooms_set_gw(rooms, "nowhere", "A", "gw1"), 0);
    assert_int_equal(rooms_set_gw(rooms, "r", "C", "gw1"), 1);
    const rooms_gw_t *gws;
    assert_int_equal(rooms_gateways(rooms, "r", &gws), 2); /* @n1 has nobody left */
    assert_int_equal(gw_count(rooms, "r", "gw1"), 2);
    rooms_remove(rooms, "r", "A");
    rooms_remove(rooms, "r", "C");
    assert_int_equal(gw_count(rooms, "r", "gw1"), 0);
    assert_int_equal(rooms_gateways(rooms, "r", &gws), 1);
    rooms_destroy(&rooms);
}

static void count_room(const char *room, size_t members, void *arg)
{
    (void)room;
    *(size_t *)arg += members;
}

static void test_each_room(void **state)
{
    (void)state;
    rooms_t *rooms = rooms_new();
    rooms_add(rooms, "a", "1", NULL, "g", MP_NONE);
    rooms_add(rooms, "a", "2", NULL, "g", MP_NONE);
    rooms_add(rooms, "b", "1", NULL, "g", MP_NONE);
    size_t total = 0;
    rooms_each(rooms, count_room, &total);
    assert_int_equal(total, 3);
    assert_int_equal(rooms_count(rooms), 2);
    rooms_destroy(&rooms);
}

/* rooms_add_at keeps members ordered by (join time, conn) whatever order they come in. */
static void test_order_by_join_time(void **state)
{
    (void)state;
    rooms_t *r = rooms_new();
    const mp_t none = {NULL, 0};
    assert_int_equal(rooms_add_at(r, "o", "c", NULL, "g", none, 30), 1);
    assert_int_equal(rooms_add_at(r, "o", "a", NULL, "g", none, 10), 1);
    assert_int_equal(rooms_add_at(r, "o", "e", NULL, "g", none, 50), 1);
    assert_int_equal(rooms_add_at(r, "o", "b", NULL, "g", none, 30), 1); /* tie: by conn */
    assert_int_equal(rooms_add(r, "o", "d", NULL, "g", none), 1);        /* appended */
    const char *want[] = {"a", "b", "c", "e", "d"};
    const rooms_member_t *m = rooms_first(r, "o");
    for (int i = 0; i < 5; i++, m = rooms_next(m)) {
        assert_non_null(m);
        assert_string_equal(rooms_member_conn(m), want[i]);
    }
    assert_null(m);
    assert_int_equal(rooms_member_ts(rooms_member(r, "o", "d")), 51);
    /* removal from the middle keeps the links */
    assert_int_equal(rooms_remove(r, "o", "c"), 1);
    assert_int_equal(rooms_add_at(r, "o", "f", NULL, "g", none, 0), 1);
    const char *want2[] = {"f", "a", "b", "e", "d"};
    m = rooms_first(r, "o");
    for (int i = 0; i < 5; i++, m = rooms_next(m))
        assert_string_equal(rooms_member_conn(m), want2[i]);
    assert_null(m);
    /* a new join time moves a member to its place */
    assert_int_equal(rooms_set_ts(r, "o", "f", 100), 1);
    assert_int_equal(rooms_set_ts(r, "o", "d", 1), 1);
    assert_int_equal(rooms_set_ts(r, "o", "zz", 1), 0);
    const char *want3[] = {"d", "a", "b", "e", "f"};
    m = rooms_first(r, "o");
    for (int i = 0; i < 5; i++, m = rooms_next(m))
        assert_string_equal(rooms_member_conn(m), want3[i]);
    assert_null(m);
    rooms_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_by_join_time),
        cmocka_unit_test(test_join_leave),
        cmocka_unit_test(test_rejoin_is_idempotent_and_keeps_meta),
        cmocka_unit_test(test_absent_meta_is_empty_map),
        cmocka_unit_test(test_members_in_join_order),
        cmocka_unit_test(test_per_gateway_counts),
        cmocka_unit_test(test_set_gw_moves_a_member),
        cmocka_unit_test(test_each_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
