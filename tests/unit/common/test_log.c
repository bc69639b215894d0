/* log: one line per record on stderr, filtered by a process-wide level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* Runs fn with stderr redirected to a temporary file and returns what it wrote. */
static char out[4096];
static void capture(void (*fn)(void))
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

static void log_some(void)
{
    rt_info("listening on %s", ":8080");
    rt_debug("not shown at info");
    rt_warn("slow consumer %d", 7);
}

static void test_format_and_level(void **state)
{
    rt_log_set_name("rt-test");
    rt_log_set_level(RT_LOG_INFO);
    capture(log_some);
    /* 2026-11-25T23:30:00.123Z rt-test INFO listening on :8080 */
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    assert_non_null(strstr(out, "Z rt-test INFO listening on :8080\n"));
    assert_non_null(strstr(out, "Z rt-test WARN slow consumer 7\n"));
    assert_null(strstr(out, "not shown"));

    rt_log_set_level(RT_LOG_ERROR);
    capture(log_some);
    assert_string_equal(out, "");
    rt_log_set_level(RT_LOG_INFO);
}

static void long_record(void)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rt_error("%s", big);
}

static void test_long_records_are_one_line(void **state)
{
    capture(long_record);
    size_t n = strlen(out);
    assert_true(n > 1000 && n < 4096);
    assert_int_equal(out[n - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
}

static void test_parse_level(void **state)
{
    rt_log_level_t l;
    assert_int_equal(rt_log_parse_level("debug", &l), 0);
    assert_int_equal(l, RT_LOG_DEBUG);
    assert_int_equal(rt_log_parse_level("WARN", &l), 0);
    assert_int_equal(l, RT_LOG_WARN);
    assert_int_equal(rt_log_parse_level("verbose", &l), -1);
    rt_log_set_level(RT_LOG_DEBUG);
    assert_int_equal(rt_log_level(), RT_LOG_DEBUG);
    rt_log_set_level(RT_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_level),
        cmocka_unit_test(test_long_records_are_one_line),
        cmocka_unit_test(test_parse_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
