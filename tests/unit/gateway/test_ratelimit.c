/* ratelimit: token bucket, rate_limited, and the 10-second streak that closes with 1008. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_burst_then_rate(void **state)
{
    (void)state;
    rl_t rl;
    rl_init(&rl, 1000, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rl_take(&rl, 1000, 5, 10), RL_PASS);
    assert_int_equal(rl_take(&rl, 1000, 5, 10), RL_LIMITED);
    /* 5 per second: one token every 200 ms */
    assert_int_equal(rl_take(&rl, 1199, 5, 10), RL_LIMITED);
    assert_int_equal(rl_take(&rl, 1200, 5, 10), RL_PASS);
    /* a long pause refills up to the burst only */
    int passed = 0;
    for (int i = 0; i < 30; i++)
        passed += rl_take(&rl, 100000, 5, 10) == RL_PASS;
    assert_int_equal(passed, 10);
}

static void test_rate_zero_is_off(void **state)
{
    (void)state;
    rl_t rl;
    rl_init(&rl, 0, 1);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(rl_take(&rl, 0, 0, 1), RL_PASS);
}

static void test_limited_for_ten_consecutive_seconds_closes(void **state)
{
    (void)state;
    rl_t rl;
    rl_init(&rl, 0, 1);
    rl_result_t r = RL_PASS;
    int64_t t = 0, closed_at = -1;
    /* a flood: 20 frames every 100 ms at 5/s */
    for (; t < 20000 && closed_at < 0; t += 100)
        for (int i = 0; i < 20 && closed_at < 0; i++)
            if ((r = rl_take(&rl, t, 5, 1)) == RL_CLOSE)
                closed_at = t;
    assert_true(closed_at >= 9000 && closed_at < 10000);
}

static void test_a_quiet_second_ends_the_streak(void **state)
{
    (void)state;
    rl_t rl;
    rl_init(&rl, 0, 1);
    /* limited for 8 s, quiet for 1 s, limited again: the streak starts over */
    for (int64_t t = 0; t < 8000; t += 100) {
        rl_take(&rl, t, 1, 1);
        assert_int_not_equal(rl_take(&rl, t, 1, 1), RL_CLOSE);
    }
    for (int64_t t = 9100; t < 17000; t += 100) {
        rl_take(&rl, t, 1, 1);
        assert_int_not_equal(rl_take(&rl, t, 1, 1), RL_CLOSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_rate_zero_is_off),
        cmocka_unit_test(test_limited_for_ten_consecutive_seconds_closes),
        cmocka_unit_test(test_a_quiet_second_ends_the_streak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
