/* jsonb: the JSON <-> msgpack bridge at the edge. Client text goes in with jsonb_to_mp,
 * msgpack comes out as compact JSON with jsonb_from_mp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonb.h"

/* JSON text -> msgpack -> JSON text; returns the jsonb error and the output in *out. */
static jsonb_err_t through(const char *in, size_t len, int depth, char **out)
{
    mpw_t w = MPW_INIT;
    char why[128];
    *out = NULL;
    jsonb_err_t e = jsonb_to_mp(in, len, depth, &w, why, sizeof why);
    if (e == JSONB_OK) {
        mp_t v;
        assert_int_equal(mp_check(w.buf, w.len, MP_CHECK_DEPTH_CAP, &v), 0);
        buf_t b = BUF_INIT;
        assert_int_equal(jsonb_from_mp(v, &b), 0);
        assert_int_equal(jsonb_size(v), b.len); /* the size is exact */
        buf_putc(&b, '\0');
        *out = b.data;
    } else {
        assert_true(why[0] != '\0'); /* every error says why */
    }
    mpw_free(&w);
    return e;
}

static void assert_same(const char *in, const char *want)
{
    char *out;
    assert_int_equal(through(in, strlen(in), 64, &out), JSONB_OK);
    assert_string_equal(out, want);
    free(out);
}

static void assert_err(const char *in, size_t len, int depth, jsonb_err_t want)
{
    char *out;
    assert_int_equal(through(in, len, depth, &out), want);
    assert_null(out);
}

static void test_client_frame(void **state)
{
    const char *frame = "{\"type\":\"chat:msg\",\"room\":\"lobby\",\"id\":7,"
                        "\"payload\":{\"text\":\"hi\",\"n\":[1,2.5,true,false,null]}}";
    mpw_t w = MPW_INIT;
    assert_int_equal(jsonb_to_mp(frame, strlen(frame), 32, &w, NULL, 0), JSONB_OK);
    mp_t m;
    assert_int_equal(mp_check(w.buf, w.len, MP_MAX_DEPTH, &m), 0);
    assert_true(mp_str_eq(mp_get(m, "type"), "chat:msg"));
    int64_t id;
    assert_int_equal(mp_int(mp_get(m, "id"), &id), 0);
    assert_int_equal(id, 7);
    /* Keys keep their order, so the text comes back unchanged. */
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(m, &b), 0);
    assert_int_equal(b.len, strlen(frame));
    assert_memory_equal(b.data, frame, b.len);
    buf_free(&b);
    mpw_free(&w);
    assert_same(" { \"a\" : [ ] , \"b\" : { } } ", "{\"a\":[],\"b\":{}}");
    assert_same("\"top-level string\"", "\"top-level string\"");
    assert_same("{\"k\":1,\"k\":2}", "{\"k\":2}"); /* duplicate keys: the last wins, */
    assert_same("{\"k\":1,\"x\":0,\"k\":2}", "{\"k\":2,\"x\":0}"); /* where the first was */
}

static void test_unicode(void **state)
{
    assert_same("\"\\u00e9\\u20ac\"", "\"\xc3\xa9\xe2\x82\xac\"");
    assert_same("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""); /* pair -> 4-byte UTF-8 */
    assert_same("\"\xc3\xa9\"", "\"\xc3\xa9\"");               /* raw UTF-8 kept */
    assert_err("\"\\ud83d\"", 8, 64, JSONB_SYNTAX);            /* lone high surrogate */
    assert_err("\"\\ude00x\"", 9, 64, JSONB_SYNTAX);           /* lone low surrogate */
    assert_err("\"\xff\"", 3, 64, JSONB_SYNTAX);               /* invalid UTF-8 */
    assert_err("\"\xc0\xaf\"", 4, 64, JSONB_SYNTAX);           /* overlong */
    assert_err("\"\xed\xa0\x80\"", 5, 64, JSONB_SYNTAX);       /* encoded surrogate */
}

static void test_nul_in_string(void **state)
{
    const char in[] = "{\"a\":\"x\\u0000y\"}";
    mpw_t w = MPW_INIT;
    assert_int_equal(jsonb_to_mp(in, sizeof in - 1, 8, &w, NULL, 0), JSONB_OK);
    mp_t m;
    assert_int_equal(mp_check(w.buf, w.len, 8, &m), 0);
    const char *s;
    size_t len;
    assert_int_equal(mp_str(mp_get(m, "a"), &s, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "x\0y", 3);
    mpw_free(&w);
    assert_same(in, in);
    /* jansson refuses NUL inside object keys, even with JSON_ALLOW_NUL. */
    const char key[] = "{\"a\\u0000b\":1}";
    assert_err(key, sizeof key - 1, 8, JSONB_SYNTAX);
}

static void test_integers_exact(void **state)
{
    assert_same("9007199254740991", "9007199254740991"); /* 2^53 - 1 */
    assert_same("9007199254740993", "9007199254740993"); /* 2^53 + 1: not rounded */
    assert_same("9223372036854775807", "9223372036854775807");
    assert_same("-9223372036854775808", "-9223372036854775808");
    assert_same("-0", "0");
    assert_err("18446744073709551616", 20, 64, JSONB_RANGE); /* 2^64 */
    assert_err("9223372036854775808", 19, 64, JSONB_RANGE);  /* INT64_MAX + 1 */
    assert_err("1e400", 5, 64, JSONB_RANGE);

    /* uint64 values above INT64_MAX from services are written exactly. */
    mpw_t w = MPW_INIT;
    mpw_uint(&w, UINT64_MAX);
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "18446744073709551615");
    buf_free(&b);
    mpw_free(&w);
}

static void test_floats_shortest(void **state)
{
    assert_same("0.1", "0.1");
    assert_same("1e-7", "1e-7");
    assert_same("1.7976931348623157e308", "1.7976931348623157e308");
    assert_same("-0.0", "-0.0");
    assert_same("2.0", "2.0");      /* stays a float */
    assert_same("1e+300", "1e300"); /* exponents are written compactly */
    assert_same("2.5E-05", "2.5e-5");
    /* Subnormals may print with more digits than the shortest form (%.15g is tried first)
     * but still read back to the same bits: see test_float_round_trip_bits. */
    assert_same("1e21", "1e21");
    assert_same("100000000000000000000.0", "1e20");
    assert_same("0.30000000000000004", "0.30000000000000004");
    assert_same("123456.789", "123456.789");
    assert_err("NaN", 3, 64, JSONB_SYNTAX);
    assert_err("Infinity", 8, 64, JSONB_SYNTAX);

    /* Non-finite doubles from services become null. */
    mpw_t w = MPW_INIT;
    mpw_array(&w, 3);
    mpw_double(&w, 0.0 / 0.0);
    mpw_double(&w, 1.0 / 0.0);
    mpw_double(&w, -1.0 / 0.0);
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "[null,null,null]");
    buf_free(&b);
    mpw_free(&w);
}

/* The text form of floats is exact: reading the output gives back the same bits. */
static void test_float_round_trip_bits(void **state)
{
    const double vals[] = {0.1,
                           1e-7,
                           1.7976931348623157e308,
                           5e-324,
                           2.2250738585072014e-308,
                           1.0 / 3.0,
                           123456789012345678.0,
                           -1.5,
                           4.35,
                           1e21,
                           1e22};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        mpw_t w = MPW_INIT, w2 = MPW_INIT;
        buf_t b = BUF_INIT;
        mpw_double(&w, vals[i]);
        assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
        assert_int_equal(jsonb_to_mp(b.data, b.len, 1, &w2, NULL, 0), JSONB_OK);
        double back;
        assert_int_equal(mp_double(mpw_view(&w2), &back), 0);
        assert_memory_equal(&back, &vals[i], sizeof back);
        buf_free(&b);
        mpw_free(&w);
        mpw_free(&w2);
    }
}

/* Depth: the top-level object is level 1. */
static char *nested(int levels, const char *inner)
{
    size_t n = strlen(inner);
    char *s = malloc(2 * (size_t)levels + n + 1);
    memset(s, '[', (size_t)levels);
    memcpy(s + levels, inner, n);
    memset(s + levels + n, ']', (size_t)levels);
    s[2 * (size_t)levels + n] = '\0';
    return s;
}

static void test_depth(void **state)
{
    char *out;
    char *ok = nested(32, "1");
    assert_int_equal(through(ok, strlen(ok), 32, &out), JSONB_OK);
    assert_string_equal(out, ok);
    free(out);
    char *deep = nested(33, "1");
    assert_err(deep, strlen(deep), 32, JSONB_DEPTH);
    free(ok);
    free(deep);
    assert_err("{\"a\":{}}", 8, 1, JSONB_DEPTH);
    assert_same("{\"a\":1}", "{\"a\":1}");
    assert_err("{\"a\":1}", 7, 0, JSONB_DEPTH);
    assert_same("5", "5"); /* a scalar has depth 0 */

    char *huge = nested(100000, "");
    assert_err(huge, strlen(huge), 32, JSONB_DEPTH);
    assert_err(huge, strlen(huge), 1000000, JSONB_DEPTH); /* jansson's own cap (2048) */
    free(huge);
}

static void test_syntax_errors(void **state)
{
    assert_err("{\"a\":1} x", 9, 8, JSONB_SYNTAX); /* trailing garbage */
    assert_err("{\"a\":1}{}", 9, 8, JSONB_SYNTAX);
    assert_err("{\"a\":1,}", 8, 8, JSONB_SYNTAX);
    assert_err("{'a':1}", 7, 8, JSONB_SYNTAX);
    assert_err("", 0, 8, JSONB_SYNTAX);
    assert_err("{\"a\":1", 6, 8, JSONB_SYNTAX);
    assert_err("\"tab\there\"", 10, 8, JSONB_SYNTAX); /* raw control char in a string */
    /* The length is respected: the bytes after len are never read. */
    assert_same("{}", "{}");
    char *out;
    assert_int_equal(through("[1]garbage", 3, 8, &out), JSONB_OK);
    assert_string_equal(out, "[1]");
    free(out);
}

static void test_output_escaping(void **state)
{
    mpw_t w = MPW_INIT;
    const char s[] = "q\" b\\ n\n r\r t\t b\b f\f c\x01 d\x1f e\x7f /";
    mpw_str(&w, s, sizeof s - 1);
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
    buf_putc(&b, '\0');
    assert_string_equal(b.data,
                        "\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f c\\u0001 d\\u001f e\x7f /\"");
    /* The output parses back to the same string. */
    mpw_t w2 = MPW_INIT;
    assert_int_equal(jsonb_to_mp(b.data, b.len - 1, 1, &w2, NULL, 0), JSONB_OK);
    assert_int_equal(w2.len, w.len);
    assert_memory_equal(w2.buf, w.buf, w.len);
    buf_free(&b);
    mpw_free(&w);
    mpw_free(&w2);
}

/* Strings from services may be invalid UTF-8: every bad byte becomes U+FFFD. */
static void test_invalid_utf8_from_msgpack(void **state)
{
    mpw_t w = MPW_INIT;
    const char s[] = "a\xff"
                     "b\xc3(\xed\xa0\x80\xe2\x82\xac\xf0\x9f\x98";
    mpw_str(&w, s, sizeof s - 1);
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
    buf_putc(&b, '\0');
#define FFFD "\xef\xbf\xbd"
    assert_string_equal(b.data,
                        "\"a" FFFD "b" FFFD "(" FFFD FFFD FFFD "\xe2\x82\xac" FFFD FFFD FFFD "\"");
    /* ... and the result is valid JSON for a strict parser. */
    mpw_t w2 = MPW_INIT;
    assert_int_equal(jsonb_to_mp(b.data, b.len - 1, 1, &w2, NULL, 0), JSONB_OK);
    buf_free(&b);
    mpw_free(&w);
    mpw_free(&w2);
}

static void test_bin_ext_and_keys(void **state)
{
    mpw_t w = MPW_INIT;
    mpw_map(&w, 5);
    mpw_cstr(&w, "bin");
    mpw_bin(&w, "hello", 5);
    mpw_cstr(&w, "b1");
    mpw_bin(&w, "h", 1);
    mpw_cstr(&w, "b0");
    mpw_bin(&w, "", 0);
    mpw_int(&w, 42); /* non-string key */
    mpw_bool(&w, true);
    mpw_array(&w, 1); /* array key: its JSON text, quoted */
    mpw_cstr(&w, "k");
    mpw_nil(&w);
    buf_t b = BUF_INIT;
    assert_int_equal(jsonb_from_mp(mpw_view(&w), &b), 0);
    size_t len = b.len;
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "{\"bin\":\"aGVsbG8=\",\"b1\":\"aA==\",\"b0\":\"\",\"42\":true,"
                                "\"[\\\"k\\\"]\":null}");
    assert_int_equal(jsonb_size(mpw_view(&w)), len);
    buf_free(&b);
    mpw_free(&w);

    const uint8_t ext[] = {0x92, 0xd4, 0x01, 0x02, 0xc7, 0x02, 0x05, 'a', 'b'};
    mp_t v = {ext, sizeof ext};
    assert_int_equal(jsonb_from_mp(v, &b), 0);
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "[null,null]");
    buf_free(&b);
}

static void test_from_mp_rejects_bad_input(void **state)
{
    buf_t b = BUF_INIT;
    const uint8_t truncated[] = {0x92, 0x01};
    assert_int_equal(jsonb_from_mp(MP_NONE, &b), -1);
    assert_int_equal(jsonb_from_mp((mp_t){truncated, sizeof truncated}, &b), -1);
    assert_int_equal(jsonb_size((mp_t){truncated, sizeof truncated}), 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_frame),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_integers_exact),
        cmocka_unit_test(test_floats_shortest),
        cmocka_unit_test(test_float_round_trip_bits),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_output_escaping),
        cmocka_unit_test(test_invalid_utf8_from_msgpack),
        cmocka_unit_test(test_bin_ext_and_keys),
        cmocka_unit_test(test_from_mp_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
