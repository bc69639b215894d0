/* frame / fqueue: one encoding shared by reference, bounded per-connection queues. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

static void test_frame_keeps_headroom_and_text(void **state)
{
    (void)state;
    frame_t *f = frame_new(16, "hello", 5);
    assert_non_null(f);
    assert_int_equal(frame_len(f), 5);
    assert_memory_equal(frame_data(f), "hello", 5);
    /* the headroom in front is writable (the WebSocket header goes there) */
    memset(frame_data(f) - 16, 0xAA, 16);
    frame_unref(&f);
    assert_null(f);
    frame_unref(&f); /* safe twice */
}

static void test_one_frame_shared_by_many_queues(void **state)
{
    (void)state;
    fqueue_t a = FQUEUE_INIT, b = FQUEUE_INIT;
    frame_t *f = frame_new(16, "{\"type\":\"x\"}", 12);
    assert_int_equal(fqueue_push(&a, f, 0), 0);
    assert_int_equal(fqueue_push(&b, f, 0), 0);
    frame_unref(&f); /* the queues keep it alive */
    assert_ptr_equal(fqueue_peek(&a), fqueue_peek(&b));
    assert_int_equal(a.bytes, 12);
    fqueue_pop(&a);
    assert_null(fqueue_peek(&a));
    assert_memory_equal(frame_data(fqueue_peek(&b)), "{\"type\":\"x\"}", 12);
    fqueue_clear(&b); /* last reference: freed (ASan checks) */
    fqueue_clear(&a);
}

static void test_queue_is_fifo_across_growth(void **state)
{
    (void)state;
    fqueue_t q = FQUEUE_INIT;
    frame_t *fs[40];
    for (int i = 0; i < 40; i++) {
        char t[8];
        int n = snprintf(t, sizeof t, "%d", i);
        fs[i] = frame_new(4, t, (size_t)n);
        assert_int_equal(fqueue_push(&q, fs[i], 0), 0);
        if (i % 3 == 0) { /* pop some on the way: the ring wraps */
            frame_unref(&fs[i]);
        }
    }
    for (int i = 0; i < 40; i++) {
        char t[8];
        int n = snprintf(t, sizeof t, "%d", i);
        frame_t *f = fqueue_peek(&q);
        assert_non_null(f);
        assert_int_equal(frame_len(f), (size_t)n);
        assert_memory_equal(frame_data(f), t, (size_t)n);
        fqueue_pop(&q);
    }
    assert_int_equal(q.count, 0);
    assert_int_equal(q.bytes, 0);
    assert_null(q.ring); /* a drained large ring is given back */
    for (int i = 0; i < 40; i++)
        frame_unref(&fs[i]);
}

static void test_queue_refuses_past_its_byte_budget(void **state)
{
    (void)state;
    fqueue_t q = FQUEUE_INIT;
    frame_t *f = frame_new(0, "0123456789", 10);
    assert_int_equal(fqueue_push(&q, f, 25), 0);
    assert_int_equal(fqueue_push(&q, f, 25), 0);
    assert_int_equal(fqueue_push(&q, f, 25), -1); /* 30 > 25: the slow-consumer signal */
    assert_int_equal(q.count, 2);
    assert_int_equal(q.bytes, 20);
    fqueue_clear(&q);
    frame_unref(&f);
}

static void test_push_front_jumps_the_queue(void **state)
{
    (void)state;
    fqueue_t q = FQUEUE_INIT;
    frame_t *a = frame_new(0, "a", 1), *w = frame_new(0, "welcome", 7);
    assert_int_equal(fqueue_push(&q, a, 0), 0);
    assert_int_equal(fqueue_push(&q, a, 0), 0);
    assert_int_equal(fqueue_push_front(&q, w), 0); /* the welcome goes out first */
    assert_ptr_equal(fqueue_at(&q, 0), w);
    assert_ptr_equal(fqueue_at(&q, 1), a);
    assert_ptr_equal(fqueue_at(&q, 2), a);
    assert_null(fqueue_at(&q, 3));
    assert_int_equal(q.bytes, 9);
    fqueue_clear(&q);
    frame_unref(&a);
    frame_unref(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_keeps_headroom_and_text),
        cmocka_unit_test(test_one_frame_shared_by_many_queues),
        cmocka_unit_test(test_queue_is_fifo_across_growth),
        cmocka_unit_test(test_queue_refuses_past_its_byte_budget),
        cmocka_unit_test(test_push_front_jumps_the_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
