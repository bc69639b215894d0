/* forwards: requests handed to a service of another node get exactly one answer: the service
 * node's, or ours when that node goes down or the deadline passes; a late answer after ours
 * is dropped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "forwards.h"

typedef struct {
    char calls[8][80];
    int n;
} record_t;

static void record(const char *conn, int64_t id, void *arg)
{
    record_t *rec = arg;
    assert_true(rec->n < 8);
    snprintf(rec->calls[rec->n++], sizeof rec->calls[0], "%s/%lld", conn, (long long)id);
}

static void test_answer_clears_request(void **state)
{
    (void)state;
    forwards_t *f = forwards_new(1000, 5000);
    record_t rec = {0};
    assert_int_equal(forwards_add(f, "c1", 7, "B", 0), 0);
    assert_int_equal(forwards_awaited(f), 1);
    assert_true(forwards_answered(f, "c1", 7));
    assert_int_equal(forwards_awaited(f), 0);
    assert_int_equal(forwards_expire(f, 2000, record, &rec), 0);
    assert_int_equal(rec.n, 0);
    /* answers for requests never forwarded pass */
    assert_true(forwards_answered(f, "c1", 8));
    assert_true(forwards_answered(f, "c2", 7));
    forwards_destroy(&f);
    assert_null(f);
    forwards_destroy(&f);
}

static void test_node_down_fails_only_its_requests(void **state)
{
    (void)state;
    forwards_t *f = forwards_new(1000, 5000);
    record_t rec = {0};
    forwards_add(f, "c1", 1, "B", 0);
    forwards_add(f, "c2", 1, "C", 10);
    forwards_add(f, "c1", 2, "B", 20);
    assert_int_equal(forwards_fail_node(f, "B", 100, record, &rec), 2);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.calls[0], "c1/1");
    assert_string_equal(rec.calls[1], "c1/2");
    assert_int_equal(forwards_awaited(f), 1);
    /* B was only paused: its late answers are dropped, once; C's answer passes */
    assert_false(forwards_answered(f, "c1", 1));
    assert_true(forwards_answered(f, "c1", 1));
    assert_true(forwards_answered(f, "c2", 1));
    assert_int_equal(forwards_fail_node(f, "B", 200, record, &rec), 0);
    forwards_destroy(&f);
}

static void test_deadline_and_tombstone_expiry(void **state)
{
    (void)state;
    forwards_t *f = forwards_new(1000, 5000);
    record_t rec = {0};
    forwards_add(f, "c1", 1, "B", 0);
    forwards_add(f, "c2", 1, "B", 500);
    assert_int_equal(forwards_expire(f, 999, record, &rec), 0);
    assert_int_equal(forwards_expire(f, 1000, record, &rec), 1);
    assert_string_equal(rec.calls[0], "c1/1");
    assert_int_equal(forwards_expire(f, 1500, record, &rec), 1);
    assert_string_equal(rec.calls[1], "c2/1");
    assert_int_equal(forwards_awaited(f), 0);
    /* tombstones live tombstone_ms: a late answer within it is dropped, after it passes */
    assert_int_equal(forwards_expire(f, 5999, record, &rec), 0);
    assert_false(forwards_answered(f, "c1", 1));
    assert_int_equal(forwards_expire(f, 6500, record, &rec), 0);
    assert_true(forwards_answered(f, "c2", 1));
    assert_int_equal(rec.n, 2);
    forwards_destroy(&f);
}

static void test_reused_id(void **state)
{
    (void)state;
    forwards_t *f = forwards_new(1000, 5000);
    record_t rec = {0};
    forwards_add(f, "c1", 1, "B", 0);
    forwards_add(f, "c1", 1, "C", 10); /* awaited already: kept as it was */
    assert_int_equal(forwards_awaited(f), 1);
    assert_int_equal(forwards_fail_node(f, "C", 20, record, &rec), 0);
    assert_int_equal(forwards_fail_node(f, "B", 20, record, &rec), 1);
    /* a tombstone is replaced by a new request under the same id */
    assert_int_equal(forwards_add(f, "c1", 1, "C", 30), 0);
    assert_int_equal(forwards_awaited(f), 1);
    assert_true(forwards_answered(f, "c1", 1));
    assert_int_equal(forwards_awaited(f), 0);
    forwards_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_clears_request),
        cmocka_unit_test(test_node_down_fails_only_its_requests),
        cmocka_unit_test(test_deadline_and_tombstone_expiry),
        cmocka_unit_test(test_reused_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
