/* services: which patterns may be registered, exact before the longest prefix, round-robin
 * over live registrations, expiry by silence, and patterns that stay service-owned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "services.h"

#define RID(s) (s), strlen(s)

static void test_pattern_rules(void **state)
{
    (void)state;
    const char *ok[] = {"chat:*", "chat:message", "*", "webrtc:*", "webrtc:offer", "a", "roo*"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(services_check_pattern(ok[i], strlen(ok[i])), RT_OK);
    const char *forbidden[] = {"room:*", "room:join", "presence:*", "sys:x",
                               "mesh:*", "conn:open", "ping"};
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++)
        assert_int_equal(services_check_pattern(forbidden[i], strlen(forbidden[i])),
                         RT_E_FORBIDDEN);
    const char *bad[] = {"",
                         "a b",
                         "x*y",
                         "**",
                         "chat:\xc3\xa9",
                         "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(services_check_pattern(bad[i], strlen(bad[i])), RT_E_BAD_REQUEST);
}

static const char *owner(services_t *s, const char *type)
{
    services_pattern_t *p = services_match(s, type);
    return p ? services_pattern_text(p) : NULL;
}

static void test_exact_before_longest_prefix(void **state)
{
    (void)state;
    services_t *s = services_new();
    assert_int_equal(services_register(s, RID("A"), "a", "chat:*", 0), 0);
    assert_int_equal(services_register(s, RID("A"), "a", "chat:room:*", 0), 0);
    assert_int_equal(services_register(s, RID("B"), "b", "chat:message", 0), 0);
    assert_int_equal(services_register(s, RID("B"), "b", "*", 0), 0);
    assert_string_equal(owner(s, "chat:message"), "chat:message");
    assert_string_equal(owner(s, "chat:room:x"), "chat:room:*");
    assert_string_equal(owner(s, "chat:typing"), "chat:*");
    assert_string_equal(owner(s, "other"), "*");
    /* reserved namespaces never go to services, webrtc: aside */
    assert_null(owner(s, "room:join"));
    assert_null(owner(s, "sys:x"));
    assert_string_equal(owner(s, "webrtc:offer"), "*");
    assert_int_equal(services_register(s, RID("C"), "sig", "webrtc:*", 0), 0);
    assert_string_equal(owner(s, "webrtc:offer"), "webrtc:*");
    assert_int_equal(services_count(s), 3);
    assert_int_equal(services_patterns(s), 5);
    /* a refused pattern changes nothing */
    assert_int_equal(services_register(s, RID("D"), "d", "room:*", 0), -1);
    assert_int_equal(services_count(s), 3);
    services_destroy(&s);
    assert_null(s);
    services_destroy(&s); /* safe twice */
}

static const char *pick(services_t *s, const char *type)
{
    service_t *sv = services_pick(s, services_match(s, type));
    return sv ? service_name(sv) : NULL;
}

static void test_round_robin_and_expiry(void **state)
{
    (void)state;
    services_t *s = services_new();
    services_register(s, RID("one"), "one", "rr:*", 0);
    services_register(s, RID("two"), "two", "rr:*", 0);
    services_register(s, RID("two"), "two", "rr:*", 0); /* again: no second slot */
    services_register(s, RID("three"), "three", "rr:*", 0);
    const char *seen[6];
    for (int i = 0; i < 6; i++)
        seen[i] = pick(s, "rr:x");
    for (int i = 0; i < 3; i++)
        assert_string_equal(seen[i], seen[i + 3]);
    assert_string_not_equal(seen[0], seen[1]);
    assert_string_not_equal(seen[1], seen[2]);
    assert_string_not_equal(seen[0], seen[2]);

    /* heartbeats keep one and two alive; three goes silent */
    assert_true(services_touch(s, RID("one"), 2500));
    assert_true(services_touch(s, RID("two"), 2500));
    assert_false(services_touch(s, RID("nobody"), 2500));
    assert_null(services_expired(s, 3000, 3000));
    service_t *dead = services_expired(s, 3001, 3000);
    assert_non_null(dead);
    assert_string_equal(service_name(dead), "three");
    services_drop(s, dead);
    assert_null(services_find(s, RID("three")));
    for (int i = 0; i < 4; i++)
        assert_string_not_equal(pick(s, "rr:x"), "three");

    /* none live: the pattern still owns its types, nobody to pick */
    services_drop(s, services_find(s, RID("one")));
    services_drop(s, services_find(s, RID("two")));
    assert_int_equal(services_count(s), 0);
    assert_non_null(services_match(s, "rr:x"));
    assert_null(pick(s, "rr:x"));
    /* a new registration of the pattern serves it again; seq numbers are never reused */
    services_register(s, RID("one"), "one-again", "rr:*", 5000);
    assert_string_equal(pick(s, "rr:x"), "one-again");
    assert_int_equal(service_seq(services_find(s, RID("one"))), 4);
    services_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_rules),
        cmocka_unit_test(test_exact_before_longest_prefix),
        cmocka_unit_test(test_round_robin_and_expiry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
