/* envelope: the msgpack codec. Shows how a frame is written with mpw_*, validated with
 * mp_check and read back zero-copy, and that hostile input is refused cheaply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "envelope.h"

/* A typical internal envelope: {t:"msg", gw:"g1", c:"conn-1", id:42, payload:{...}} */
static void write_envelope(mpw_t *w)
{
    mpw_map(w, 5);
    mpw_kstr(w, "t", "msg");
    mpw_kstr(w, "gw", "g1");
    mpw_kstr(w, "c", "conn-1");
    mpw_kint(w, "id", 42);
    mpw_cstr(w, "payload");
    mpw_map(w, 7);
    mpw_kstr(w, "text", "hello");
    mpw_cstr(w, "n");
    mpw_int(w, -5);
    mpw_cstr(w, "big");
    mpw_uint(w, UINT64_MAX);
    mpw_cstr(w, "pi");
    mpw_double(w, 3.25);
    mpw_cstr(w, "ok");
    mpw_bool(w, true);
    mpw_cstr(w, "none");
    mpw_nil(w);
    mpw_cstr(w, "list");
    mpw_array(w, 3);
    mpw_int(w, 1);
    mpw_cstr(w, "two");
    mpw_array(w, 0);
}

static void test_round_trip_envelope(void **state)
{
    mpw_t w = MPW_INIT;
    write_envelope(&w);
    mp_t v = mpw_view(&w), m;
    assert_int_equal(mp_check(v.p, v.n, MP_MAX_DEPTH, &m), 0);
    assert_ptr_equal(m.p, v.p);
    assert_int_equal(m.n, v.n);
    assert_int_equal(mp_type(m), MP_MAP);
    assert_int_equal(mp_count(m), 5);

    assert_true(mp_str_eq(mp_get(m, "t"), "msg"));
    char conn[16];
    assert_int_equal(mp_strcpy(mp_get(m, "c"), conn, sizeof conn), 0);
    assert_string_equal(conn, "conn-1");
    assert_int_equal(mp_strcpy(mp_get(m, "c"), conn, 6), -1); /* "conn-1" needs 7 bytes */
    int64_t id;
    assert_int_equal(mp_int(mp_get(m, "id"), &id), 0);
    assert_int_equal(id, 42);

    mp_t p = mp_get(m, "payload");
    const char *s;
    size_t len;
    assert_int_equal(mp_str(mp_get(p, "text"), &s, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "hello", 5);
    int64_t n;
    uint64_t u;
    assert_int_equal(mp_int(mp_get(p, "n"), &n), 0);
    assert_int_equal(n, -5);
    assert_int_equal(mp_uint(mp_get(p, "n"), &u), -1); /* negative */
    assert_int_equal(mp_uint(mp_get(p, "big"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(mp_int(mp_get(p, "big"), &n), -1); /* > INT64_MAX */
    double d;
    assert_int_equal(mp_double(mp_get(p, "pi"), &d), 0);
    assert_true(d == 3.25);
    assert_int_equal(mp_double(mp_get(p, "n"), &d), -1); /* ints are not floats */
    bool b = false;
    assert_int_equal(mp_bool(mp_get(p, "ok"), &b), 0);
    assert_true(b);
    assert_true(mp_is_nil(mp_get(p, "none")));
    assert_true(mp_present(mp_get(p, "none")));
    assert_false(mp_present(mp_get(p, "missing")));
    assert_int_equal(mp_type(mp_get(p, "missing")), MP_ABSENT);

    /* Iterating an array */
    mp_iter_t it;
    mp_t e;
    assert_int_equal(mp_iter(mp_get(p, "list"), &it), 0);
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_type(e), MP_INT);
    assert_true(mp_next(&it, &e));
    assert_true(mp_str_eq(e, "two"));
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_type(e), MP_ARRAY);
    assert_int_equal(mp_count(e), 0);
    assert_false(mp_next(&it, &e));
    assert_int_equal(mp_iter(mp_get(p, "text"), &it), -1); /* not a container */

    /* Iterating a map in wire order */
    const char *keys[] = {"t", "gw", "c", "id", "payload"};
    mp_t k, val;
    int i = 0;
    assert_int_equal(mp_iter(m, &it), 0);
    while (mp_next_pair(&it, &k, &val))
        assert_true(mp_str_eq(k, keys[i++]));
    assert_int_equal(i, 5);
    mpw_free(&w);
}

/* Every scalar type, at every encoding width, reads back as written. */
static void test_round_trip_scalars(void **state)
{
    const int64_t ints[] = {
        0,         1,  127, 128, 255,  256,  65535,  65536,  4294967295LL, 4294967296LL,
        INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,    (int64_t)INT32_MIN - 1,
        INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        mpw_t w = MPW_INIT;
        mpw_int(&w, ints[i]);
        mp_t v;
        int64_t back;
        assert_int_equal(mp_check(w.buf, w.len, 0, &v), 0);
        assert_int_equal(mp_int(v, &back), 0);
        assert_true(back == ints[i]);
        mpw_free(&w);
    }
    const double dbls[] = {0.0, -0.0, 0.1, 1e300, -2.5e-310};
    for (size_t i = 0; i < sizeof dbls / sizeof dbls[0]; i++) {
        mpw_t w = MPW_INIT;
        mpw_double(&w, dbls[i]);
        assert_int_equal(w.len, 9); /* always float64 */
        double back;
        assert_int_equal(mp_double(mpw_view(&w), &back), 0);
        assert_memory_equal(&back, &dbls[i], sizeof back);
        mpw_free(&w);
    }
    /* Strings across the fixstr/str8/str16/str32 boundaries, bin, and NUL inside. */
    const size_t lens[] = {0, 31, 32, 255, 256, 65535, 65536};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *s = malloc(lens[i] + 1);
        assert_non_null(s);
        memset(s, 'x', lens[i]);
        mpw_t w = MPW_INIT;
        mpw_str(&w, s, lens[i]);
        mpw_t wb = MPW_INIT;
        mpw_bin(&wb, s, lens[i]);
        const char *r;
        const uint8_t *rb;
        size_t n;
        assert_int_equal(mp_check(w.buf, w.len, 0, NULL), 0);
        assert_int_equal(mp_str(mpw_view(&w), &r, &n), 0);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(r, s, n);
        assert_int_equal(mp_check(wb.buf, wb.len, 0, NULL), 0);
        assert_int_equal(mp_type(mpw_view(&wb)), MP_BIN);
        assert_int_equal(mp_bin(mpw_view(&wb), &rb, &n), 0);
        assert_int_equal(n, lens[i]);
        mpw_free(&w);
        mpw_free(&wb);
        free(s);
    }
    mpw_t w = MPW_INIT;
    mpw_str(&w, "a\0b", 3);
    char out[8];
    assert_int_equal(mp_strcpy(mpw_view(&w), out, sizeof out), -1); /* NUL inside: refused */
    mpw_reset(&w);
    mpw_cstr(&w, NULL); /* NULL is written as nil */
    assert_true(mp_is_nil(mpw_view(&w)));
    mpw_reset(&w);
    mpw_bool(&w, false);
    bool b = true;
    assert_int_equal(mp_bool(mpw_view(&w), &b), 0);
    assert_false(b);
    mpw_free(&w);
}

/* Types only services produce (float32, ext, fixext, bin) are validated and typed too. */
static void test_foreign_types(void **state)
{
    const uint8_t frame[] = {
        0x95,                         /* array of 5 */
        0xca, 0x3f, 0xc0, 0x00, 0x00, /* float32 1.5 */
        0xd4, 0x01, 0x02,             /* fixext1 */
        0xc7, 0x02, 0x05, 'a',  'b',  /* ext8, 2 bytes */
        0xc4, 0x01, 0xff,             /* bin8, 1 byte */
        0xd0, 0x85,                   /* int8 -123 */
    };
    mp_t v, e;
    assert_int_equal(mp_check(frame, sizeof frame, 1, &v), 0);
    mp_iter_t it;
    assert_int_equal(mp_iter(v, &it), 0);
    double d;
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_double(e, &d), 0);
    assert_true(d == 1.5);
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_type(e), MP_EXT);
    assert_int_equal(e.n, 3);
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_type(e), MP_EXT);
    assert_int_equal(e.n, 5);
    assert_true(mp_next(&it, &e));
    assert_int_equal(mp_type(e), MP_BIN);
    assert_true(mp_next(&it, &e));
    int64_t i;
    assert_int_equal(mp_int(e, &i), 0);
    assert_int_equal(i, -123);
    assert_false(mp_next(&it, &e));
    /* A fixext16 that is one byte short. */
    const uint8_t short_ext[] = {0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(mp_check(short_ext, sizeof short_ext, 0, NULL), -1);
    assert_int_equal(mp_size((mp_t){frame, sizeof frame + 0}), sizeof frame);
    assert_int_equal(mp_size((mp_t){frame + 1, 100}), 5); /* n is only an upper bound */
}

/* The writer uses the smallest encoding. */
static void test_smallest_encodings(void **state)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 1);
    mpw_cstr(&w, "a");
    mpw_int(&w, -1);
    mpw_array(&w, 16);
    const uint8_t want[] = {0x81, 0xa1, 'a', 0xff, 0xdc, 0x00, 0x10};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(w.buf, want, sizeof want);
    mpw_reset(&w);
    mpw_uint(&w, 200);
    mpw_int(&w, -100);
    mpw_map(&w, 70000);
    const uint8_t want2[] = {0xcc, 200, 0xd0, (uint8_t)-100, 0xdf, 0x00, 0x01, 0x11, 0x70};
    assert_int_equal(w.len, sizeof want2);
    assert_memory_equal(w.buf, want2, sizeof want2);
    mpw_free(&w);
}

/* mpw_raw embeds an already-encoded value: the way a payload is forwarded unchanged. */
static void test_raw_forwarding(void **state)
{
    mpw_t in = MPW_INIT, out = MPW_INIT;
    write_envelope(&in);
    mp_t m;
    assert_int_equal(mp_check(in.buf, in.len, MP_MAX_DEPTH, &m), 0);
    mpw_map(&out, 3);
    mpw_kstr(&out, "t", "out");
    mpw_kraw(&out, "f", mp_get(m, "payload"));
    mpw_kraw(&out, "x", mp_get(m, "nope")); /* absent -> nil */
    mp_t o;
    assert_int_equal(mp_check(out.buf, out.len, MP_MAX_DEPTH, &o), 0);
    mp_t f = mp_get(o, "f"), p = mp_get(m, "payload");
    assert_int_equal(f.n, p.n);
    assert_memory_equal(f.p, p.p, p.n);
    assert_true(mp_is_nil(mp_get(o, "x")));
    mpw_free(&in);
    mpw_free(&out);
}

/* Cutting a valid frame anywhere must be detected, at every length. */
static void test_truncated_every_prefix(void **state)
{
    mpw_t w = MPW_INIT;
    write_envelope(&w);
    for (size_t len = 0; len < w.len; len++) {
        /* Copy to an exact-size heap block so ASan catches any read past len. */
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, w.buf, len);
        assert_int_equal(mp_check(copy, len, MP_MAX_DEPTH, NULL), -1);
        free(copy);
    }
    assert_int_equal(mp_check(w.buf, w.len, MP_MAX_DEPTH, NULL), 0);
    mpw_free(&w);
}

static void test_trailing_bytes(void **state)
{
    const uint8_t two_values[] = {0x01, 0x02};
    const uint8_t map_and_junk[] = {0x81, 0xa1, 'a', 0x01, 0xc0};
    assert_int_equal(mp_check(two_values, sizeof two_values, 4, NULL), -1);
    assert_int_equal(mp_check(map_and_junk, sizeof map_and_junk, 4, NULL), -1);
    assert_int_equal(mp_check(map_and_junk, 4, 4, NULL), 0);
}

/* Headers that claim far more than the buffer holds are refused before any descent. */
static void test_hostile_headers(void **state)
{
    const uint8_t hostile[][5] = {
        {0xdf, 0xee, 0x6b, 0x28, 0x00}, /* map32, 4e9 pairs */
        {0xdd, 0xee, 0x6b, 0x28, 0x00}, /* array32, 4e9 elements */
        {0xdb, 0xee, 0x6b, 0x28, 0x00}, /* str32, 4e9 bytes */
        {0xc6, 0xff, 0xff, 0xff, 0xff}, /* bin32 */
        {0xc9, 0xff, 0xff, 0xff, 0xff}, /* ext32 */
        {0xdf, 0x00, 0x00, 0x00, 0x01}, /* map32 with 1 pair but no bytes */
    };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        uint8_t *copy = malloc(5);
        memcpy(copy, hostile[i], 5);
        assert_int_equal(mp_check(copy, 5, MP_MAX_DEPTH, NULL), -1);
        free(copy);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms < 50.0);

    /* An array claiming 3 elements with only 2 bytes left: counts are checked up front. */
    const uint8_t short_array[] = {0x93, 0x01, 0x02};
    assert_int_equal(mp_check(short_array, sizeof short_array, 4, NULL), -1);
    /* Nested: outer array's pending element plus inner count exceed the remaining bytes. */
    const uint8_t nested[] = {0x92, 0x92, 0x01, 0x02};
    assert_int_equal(mp_check(nested, sizeof nested, 4, NULL), -1);
    /* 0xc1 is never used. */
    const uint8_t never[] = {0xc1};
    assert_int_equal(mp_check(never, 1, 4, NULL), -1);
    assert_int_equal(mp_check(NULL, 0, 4, NULL), -1);
}

/* Depth: a scalar is depth 0, [] is depth 1, [[]] is depth 2. */
static void test_depth_limit(void **state)
{
    uint8_t nest[200];
    for (int d = 1; d <= 100; d++) {
        memset(nest, 0x91, (size_t)d - 1); /* d-1 arrays of one element ... */
        nest[d - 1] = 0x90;                /* ... around an empty array */
        assert_int_equal(mp_check(nest, (size_t)d, d, NULL), 0);
        assert_int_equal(mp_check(nest, (size_t)d, d - 1, NULL), -1);
    }
    const uint8_t scalar[] = {0x05};
    assert_int_equal(mp_check(scalar, 1, 0, NULL), 0);
    const uint8_t empty_map[] = {0x80};
    assert_int_equal(mp_check(empty_map, 1, 0, NULL), -1);

    /* 100000 levels with the default limit: refused without recursion. */
    size_t deep = 100000;
    uint8_t *big = malloc(deep + 1);
    memset(big, 0x91, deep);
    big[deep] = 0xc0;
    assert_int_equal(mp_check(big, deep + 1, MP_MAX_DEPTH, NULL), -1);
    free(big);
}

/* mp_get: first of duplicate keys wins; non-string keys are skipped; non-maps give NONE. */
static void test_get_and_duplicates(void **state)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 3);
    mpw_int(&w, 7); /* an int key */
    mpw_cstr(&w, "seven");
    mpw_kint(&w, "k", 1);
    mpw_kint(&w, "k", 2);
    mp_t m;
    assert_int_equal(mp_check(w.buf, w.len, 2, &m), 0);
    int64_t v;
    assert_int_equal(mp_int(mp_get(m, "k"), &v), 0);
    assert_int_equal(v, 1);
    assert_false(mp_present(mp_get(m, "7")));
    assert_false(mp_present(mp_get(mp_get(m, "k"), "x")));
    assert_false(mp_present(mp_get(MP_NONE, "k")));
    mpw_free(&w);
}

/* After an allocation failure the writer is inert and its view is absent. */
static void test_writer_oom_is_sticky(void **state)
{
    mpw_t w = MPW_INIT;
    mpw_cstr(&w, "x");
    w.oom = 1; /* what a failed realloc leaves behind */
    mpw_int(&w, 1);
    assert_false(mp_present(mpw_view(&w)));
    mpw_reset(&w); /* reuse clears it */
    mpw_int(&w, 1);
    assert_true(mp_present(mpw_view(&w)));
    mpw_free(&w);
    mpw_free(&w); /* safe twice */
}

static bool only_lowercase(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return false;
    return len > 0;
}

/* mp_get_strz reads a named str field into a fixed buffer and tells absent from invalid. */
static void test_get_strz(void **state)
{
    (void)state;
    mpw_t w = MPW_INIT;
    mpw_map(&w, 5);
    mpw_kstr(&w, "room", "lobby");
    mpw_kstr(&w, "bad", "Lobby");
    mpw_cstr(&w, "nil");
    mpw_nil(&w);
    mpw_kint(&w, "num", 7);
    mpw_cstr(&w, "nul");
    mpw_str(&w, "a\0b", 3);
    mp_t m;
    assert_int_equal(mp_check(w.buf, w.len, 8, &m), 0);
    char out[8];
    assert_int_equal(mp_get_strz(m, "room", out, sizeof out, only_lowercase), 1);
    assert_string_equal(out, "lobby");
    assert_int_equal(mp_get_strz(m, "room", out, 5, NULL), -1); /* needs 6 bytes */
    assert_int_equal(mp_get_strz(m, "bad", out, sizeof out, only_lowercase), -1);
    assert_int_equal(mp_get_strz(m, "bad", out, sizeof out, NULL), 1);
    assert_int_equal(mp_get_strz(m, "nil", out, sizeof out, NULL), 0);
    assert_int_equal(mp_get_strz(m, "missing", out, sizeof out, NULL), 0);
    assert_int_equal(mp_get_strz(m, "num", out, sizeof out, NULL), -1);
    assert_int_equal(mp_get_strz(m, "nul", out, sizeof out, NULL), -1);
    mpw_free(&w);
}

/* An array opened before its length is known and closed with the count. */
static void test_array_open_close(void **state)
{
    (void)state;
    mpw_t w = MPW_INIT;
    mpw_map(&w, 2);
    mpw_cstr(&w, "xs");
    size_t at = mpw_array_open(&w);
    for (int i = 0; i < 3; i++)
        mpw_int(&w, i * 10);
    mpw_array_close(&w, at, 3);
    mpw_kint(&w, "after", 7);
    mp_t m;
    assert_int_equal(mp_check(w.buf, w.len, 4, &m), 0);
    mp_iter_t it;
    mp_t v;
    int64_t x;
    assert_int_equal(mp_iter(mp_get(m, "xs"), &it), 0);
    for (int i = 0; i < 3; i++) {
        assert_true(mp_next(&it, &v));
        assert_int_equal(mp_int(v, &x), 0);
        assert_int_equal(x, i * 10);
    }
    assert_false(mp_next(&it, &v));
    assert_int_equal(mp_int(mp_get(m, "after"), &x), 0);
    assert_int_equal(x, 7);
    /* a wrong count leaves a value the validator refuses, and a bad offset changes nothing */
    mpw_array_close(&w, at, 4);
    assert_int_equal(mp_check(w.buf, w.len, 4, &m), -1);
    mpw_array_close(&w, w.len, 3);
    mpw_array_close(&w, at, 3);
    assert_int_equal(mp_check(w.buf, w.len, 4, &m), 0);
    mpw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_envelope),  cmocka_unit_test(test_round_trip_scalars),
        cmocka_unit_test(test_foreign_types),        cmocka_unit_test(test_smallest_encodings),
        cmocka_unit_test(test_raw_forwarding),       cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_trailing_bytes),       cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_depth_limit),          cmocka_unit_test(test_get_and_duplicates),
        cmocka_unit_test(test_writer_oom_is_sticky), cmocka_unit_test(test_get_strz),
        cmocka_unit_test(test_array_open_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
