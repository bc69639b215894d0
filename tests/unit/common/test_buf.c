/* buf: the growable byte buffer used to build JSON and other text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_grow(void **state)
{
    buf_t b = BUF_INIT;
    buf_puts(&b, "hello");
    buf_putc(&b, ' ');
    buf_append(&b, "world!!", 5);
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.data, "hello world", 11);
    for (int i = 0; i < 10000; i++)
        buf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 10011);
    assert_true(b.cap >= b.len);
    assert_int_equal(b.data[11 + 25], 'z');
    assert_int_equal(b.oom, 0);
    buf_free(&b);
    assert_null(b.data);
    buf_free(&b); /* safe twice */
}

static void test_printf(void **state)
{
    buf_t b = BUF_INIT;
    buf_printf(&b, "%s=%d", "n", 42);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "n=42", 4);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big); /* larger than the free space: grows and retries */
    assert_int_equal(b.len, 4 + 2 + 2999);
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0'); /* printf leaves a NUL after the data */
    buf_free(&b);
}

static void test_reset_keeps_memory(void **state)
{
    buf_t b = BUF_INIT;
    buf_puts(&b, "some text");
    char *mem = b.data;
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "again");
    assert_ptr_equal(b.data, mem);
    buf_free(&b);
}

static void test_oom_is_sticky(void **state)
{
    buf_t b = BUF_INIT;
    assert_int_equal(buf_reserve(&b, SIZE_MAX / 2 + 1), -1); /* impossible size */
    assert_int_equal(b.oom, 1);
    buf_puts(&b, "ignored");
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_reset_keeps_memory),
        cmocka_unit_test(test_oom_is_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
