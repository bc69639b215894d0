/* dispatch: exact > longest prefix > (reserved namespace | default route); middleware order
 * and stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "dispatch.h"

static char called[64];

static void h_exact(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)m;
    strcpy(called, (const char *)arg);
}

static const char *find(dispatch_t *d, const char *type, dispatch_kind_t *kind)
{
    rt_handler_fn fn = NULL;
    void *arg = NULL;
    *kind = dispatch_find(d, type, &fn, &arg);
    return *kind == DISPATCH_HANDLER ? (const char *)arg : NULL;
}

static void test_precedence(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    assert_int_equal(dispatch_on(d, "chat:*", h_exact, "chat-prefix"), 0);
    assert_int_equal(dispatch_on(d, "chat:room:*", h_exact, "chat-room-prefix"), 0);
    assert_int_equal(dispatch_on(d, "chat:message", h_exact, "chat-exact"), 0);
    dispatch_kind_t k;
    assert_string_equal(find(d, "chat:message", &k), "chat-exact");          /* exact wins */
    assert_string_equal(find(d, "chat:room:topic", &k), "chat-room-prefix"); /* longest prefix */
    assert_string_equal(find(d, "chat:typing", &k), "chat-prefix");
    assert_null(find(d, "chatter", &k)); /* not a prefix match */
    assert_int_equal(k, DISPATCH_DEFAULT);
    dispatch_destroy(&d);
    assert_null(d);
}

static void test_prefix_registered_in_any_order(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    dispatch_on(d, "a:b:c:*", h_exact, "long");
    dispatch_on(d, "a:*", h_exact, "short");
    dispatch_on(d, "a:b:*", h_exact, "middle");
    dispatch_kind_t k;
    assert_string_equal(find(d, "a:b:c:d", &k), "long");
    assert_string_equal(find(d, "a:b:x", &k), "middle");
    assert_string_equal(find(d, "a:x", &k), "short");
    dispatch_destroy(&d);
}

static void test_later_registration_replaces(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    dispatch_on(d, "x", h_exact, "first");
    dispatch_on(d, "x", h_exact, "second");
    dispatch_on(d, "y:*", h_exact, "first");
    dispatch_on(d, "y:*", h_exact, "second");
    dispatch_kind_t k;
    assert_string_equal(find(d, "x", &k), "second");
    assert_string_equal(find(d, "y:z", &k), "second");
    dispatch_destroy(&d);
}

static void test_reserved_namespaces(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    dispatch_on(d, "room:join", h_exact, "join");
    dispatch_kind_t k;
    assert_string_equal(find(d, "room:join", &k), "join");
    const char *reserved[] = {"room:bogus", "presence:x", "webrtc:offer",
                              "sys:x",      "mesh:x",     "conn:x"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        assert_null(find(d, reserved[i], &k));
        assert_int_equal(k, DISPATCH_RESERVED);
    }
    assert_null(find(d, "rooms:x", &k)); /* only the exact namespace is reserved */
    assert_int_equal(k, DISPATCH_DEFAULT);
    assert_null(find(d, "chat", &k));
    assert_int_equal(k, DISPATCH_DEFAULT);
    dispatch_destroy(&d);
}

static void test_bad_patterns(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    assert_int_equal(dispatch_on(d, "", h_exact, NULL), -1);
    assert_int_equal(dispatch_on(d, "has space", h_exact, NULL), -1);
    assert_int_equal(dispatch_on(d, "a*b", h_exact, NULL), -1);
    assert_int_equal(dispatch_on(d, "ok", NULL, NULL), -1);
    assert_int_equal(dispatch_on(d, "*", h_exact, "all"), 0); /* catch-all prefix */
    dispatch_kind_t k;
    assert_string_equal(find(d, "anything", &k), "all");
    dispatch_destroy(&d);
}

/* ---- middleware ---- */
static char trace[64];

static bool mw_a(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)m;
    (void)arg;
    strcat(trace, "a");
    return true;
}
static bool mw_b(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)arg;
    strcat(trace, "b");
    return strcmp(m->type, "blocked") != 0;
}
static bool mw_c(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)m;
    (void)arg;
    strcat(trace, "c");
    return true;
}
static void h_trace(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)r;
    (void)m;
    (void)arg;
    strcat(trace, "H");
}

static void test_middleware_order_and_stop(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    dispatch_use(d, mw_a, NULL);
    dispatch_use(d, mw_b, NULL);
    dispatch_use(d, mw_c, NULL);
    dispatch_on(d, "*", h_trace, NULL);
    bool stopped;
    rt_msg_t m = {.conn = "A", .type = "fine"};
    trace[0] = '\0';
    assert_int_equal(dispatch_run(d, NULL, &m, &stopped), DISPATCH_HANDLER);
    assert_false(stopped);
    assert_string_equal(trace, "abcH");

    m.type = "blocked";
    trace[0] = '\0';
    dispatch_run(d, NULL, &m, &stopped);
    assert_true(stopped);
    assert_string_equal(trace, "ab"); /* c and the handler never ran */
    dispatch_destroy(&d);
}

static void test_run_without_handler(void **state)
{
    (void)state;
    dispatch_t *d = dispatch_new();
    bool stopped;
    rt_msg_t m = {.conn = "A", .type = "room:nope"};
    called[0] = '\0';
    assert_int_equal(dispatch_run(d, NULL, &m, &stopped), DISPATCH_RESERVED);
    m.type = "chat";
    assert_int_equal(dispatch_run(d, NULL, &m, &stopped), DISPATCH_DEFAULT);
    assert_string_equal(called, "");
    dispatch_destroy(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_prefix_registered_in_any_order),
        cmocka_unit_test(test_later_registration_replaces),
        cmocka_unit_test(test_reserved_namespaces),
        cmocka_unit_test(test_bad_patterns),
        cmocka_unit_test(test_middleware_order_and_stop),
        cmocka_unit_test(test_run_without_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
