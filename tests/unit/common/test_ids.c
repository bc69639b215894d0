/* ids: random identifiers, the name rules of the client protocol, and clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "ids.h"

static void test_random_ids(void **state)
{
    char a[17], b[17];
    ids_random(a, 16);
    ids_random(b, 16);
    assert_int_equal(strlen(a), 16);
    assert_true(ids_valid_conn(a, 16));
    assert_string_not_equal(a, b);
    /* Every one of the 62 characters shows up in a long enough sample. */
    char big[20001];
    ids_random(big, 20000);
    int seen[256] = {0};
    for (int i = 0; i < 20000; i++)
        seen[(unsigned char)big[i]]++;
    int distinct = 0;
    for (int c = 0; c < 256; c++)
        distinct += seen[c] > 0;
    assert_int_equal(distinct, 62);
    char empty[1] = {'x'};
    ids_random(empty, 0);
    assert_int_equal(empty[0], '\0');
}

static void test_name_rules(void **state)
{
    assert_true(ids_valid_type("chat:msg", 8));
    assert_true(ids_valid_type("a.b_c-d:E9", 10));
    assert_false(ids_valid_type("", 0));
    assert_false(ids_valid_type("has space", 9));
    assert_false(ids_valid_type("a/b", 3)); /* '/' is for rooms only */
    char long_name[130];
    memset(long_name, 'a', sizeof long_name);
    assert_true(ids_valid_type(long_name, 64));
    assert_false(ids_valid_type(long_name, 65));
    assert_true(ids_valid_room("team@org/general", 16));
    assert_true(ids_valid_room(long_name, 128));
    assert_false(ids_valid_room(long_name, 129));
    assert_false(ids_valid_room("a\0b", 3));
    assert_false(ids_valid_room("caf\xc3\xa9", 5));
    assert_true(ids_valid_conn("n1.abc-DEF_9:x", 14));
    assert_false(ids_valid_conn("a@b", 3));
}

static void test_reserved(void **state)
{
    const char *reserved[] = {"room:join", "presence:list", "webrtc:offer", "sys:x",
                              "mesh:y",    "conn:open",     "room:"};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        assert_true(ids_reserved_type(reserved[i], strlen(reserved[i])));
    assert_false(ids_reserved_type("ping", 4));
    assert_false(ids_reserved_type("chat:room:x", 11));
    assert_false(ids_reserved_type("room", 4));
    assert_false(ids_reserved_type("room:join", 4)); /* only the first len bytes count */
}

static void test_clocks(void **state)
{
    int64_t now = ids_now_ms();
    assert_true(now > 1700000000000LL); /* after Nov 2023 */
    int64_t m1 = ids_mono_ms(), m2 = ids_mono_ms();
    assert_true(m2 >= m1);
}

static void test_error_codes(void **state)
{
    assert_string_equal(rt_err_code(RT_E_BAD_REQUEST), "bad_request");
    assert_string_equal(rt_err_code(RT_E_PEER_NOT_FOUND), "peer_not_found");
    assert_string_equal(rt_err_code((rt_err_t)999), "internal");
    for (int e = RT_E_BAD_REQUEST; e < RT_E__COUNT; e++) {
        const char *c = rt_err_code((rt_err_t)e);
        assert_int_equal(rt_err_parse(c, strlen(c)), e);
    }
    assert_int_equal(rt_err_parse("timeout_x", 7), RT_E_TIMEOUT);
    assert_int_equal(rt_err_parse("nonsense", 8), RT_E_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ids),  cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_reserved),    cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_error_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
