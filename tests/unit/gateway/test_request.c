/* request: a client's JSON frame -> the router's msg envelope, or bad_request with the id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

static mpw_t scratch = MPW_INIT, out = MPW_INIT;

static rt_err_t build(const char *json, request_info_t *info, mp_t *msg)
{
    rt_err_t e = request_to_msg(json, strlen(json), 32, "gw1", "gw1.7", &scratch, &out, info);
    if (e == RT_OK)
        assert_int_equal(mp_check(out.buf, out.len, 64, msg), 0);
    return e;
}

static void test_valid_frame_becomes_msg(void **state)
{
    (void)state;
    request_info_t info;
    mp_t m;
    assert_int_equal(build("{\"type\":\"chat.say\",\"room\":\"lobby\",\"id\":3,\"echo\":true,"
                           "\"payload\":{\"text\":\"hi\"},\"extra\":[1]}",
                           &info, &m),
                     RT_OK);
    assert_true(mp_str_eq(mp_get(m, "t"), "msg"));
    assert_true(mp_str_eq(mp_get(m, "gw"), "gw1"));
    assert_true(mp_str_eq(mp_get(m, "c"), "gw1.7"));
    assert_true(mp_str_eq(mp_get(m, "type"), "chat.say"));
    assert_true(mp_str_eq(mp_get(m, "room"), "lobby"));
    int64_t id;
    assert_int_equal(mp_int(mp_get(m, "id"), &id), 0);
    assert_int_equal(id, 3);
    bool echo = false;
    assert_int_equal(mp_bool(mp_get(m, "echo"), &echo), 0);
    assert_true(echo);
    assert_true(mp_str_eq(mp_get(mp_get(m, "payload"), "text"), "hi"));
    assert_false(mp_present(mp_get(m, "extra"))); /* unknown fields are not forwarded */
    assert_false(mp_present(mp_get(m, "to")));
}

static void test_payload_defaults_to_null(void **state)
{
    (void)state;
    request_info_t info;
    mp_t m;
    assert_int_equal(build("{\"type\":\"ping\"}", &info, &m), RT_OK);
    assert_true(mp_is_nil(mp_get(m, "payload")));
    assert_false(mp_present(mp_get(m, "id")));
}

static void test_bad_fields_keep_the_id(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"type\":\"\",\"id\":5}",
        "{\"type\":\"a b\",\"id\":5}",
        "{\"id\":5}",
        "{\"type\":7,\"id\":5}",
        "{\"type\":\"p\",\"room\":\"x#y\",\"id\":5}",
        "{\"type\":\"p\",\"to\":12,\"id\":5}",
        "{\"type\":\"p\",\"echo\":1,\"id\":5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        request_info_t info;
        mp_t m;
        assert_int_equal(build(bad[i], &info, &m), RT_E_BAD_REQUEST);
        assert_int_equal(info.id, 5);
        assert_true(info.why[0] != 0);
    }
}

static void test_bad_ids_and_non_objects(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"type\":\"p\",\"id\":0}",
        "{\"type\":\"p\",\"id\":9007199254740992}",
        "{\"type\":\"p\",\"id\":1.5}",
        "{\"type\":\"p\",\"id\":\"5\"}",
        "{\"type\":\"p\",\"id\":true}",
        "[1]",
        "42",
        "",
        "{}x",
        "{\"type\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        request_info_t info;
        mp_t m;
        assert_int_equal(build(bad[i], &info, &m), RT_E_BAD_REQUEST);
        assert_int_equal(info.id, 0);
    }
}

static const char *nest(int levels, char *buf)
{
    /* {"type":"t","id":9,"payload": [[[...]]] } with `levels` arrays */
    char *p = buf + sprintf(buf, "{\"type\":\"t\",\"id\":9,\"payload\":");
    for (int i = 0; i < levels; i++)
        *p++ = '[';
    for (int i = 0; i < levels; i++)
        *p++ = ']';
    strcpy(p, "}");
    return buf;
}

static void test_payload_nesting_limit(void **state)
{
    (void)state;
    char buf[256];
    request_info_t info;
    mp_t m;
    assert_int_equal(build(nest(32, buf), &info, &m), RT_OK);
    assert_int_equal(build(nest(33, buf), &info, &m), RT_E_BAD_REQUEST);
    assert_int_equal(info.id, 9); /* still answered with its id */
}

static void test_error_and_welcome_json(void **state)
{
    (void)state;
    buf_t b = BUF_INIT;
    assert_int_equal(request_error_json(&b, 4, RT_E_RATE_LIMITED, "slow \"down\"", &scratch), 0);
    const char *want = "{\"type\":\"error\",\"id\":4,\"payload\":{\"code\":\"rate_limited\","
                       "\"message\":\"slow \\\"down\\\"\"}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(request_welcome_json(&b, "g.1", "n1", 25, &scratch), 0);
    want = "{\"type\":\"welcome\",\"payload\":{\"id\":\"g.1\",\"node\":\"n1\",\"heartbeat\":25}}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    buf_free(&b);
}

static int teardown(void **state)
{
    (void)state;
    mpw_free(&scratch);
    mpw_free(&out);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_frame_becomes_msg),
        cmocka_unit_test(test_payload_defaults_to_null),
        cmocka_unit_test(test_bad_fields_keep_the_id),
        cmocka_unit_test(test_bad_ids_and_non_objects),
        cmocka_unit_test(test_payload_nesting_limit),
        cmocka_unit_test(test_error_and_welcome_json),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
