/* validate: the payload rules of webrtc:offer/answer/candidate/bye, at and over the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonb.h"
#include "validate.h"

/* Validates the msgpack form of JSON text. */
static int check_json(sig_kind_t kind, const char *json)
{
    mpw_t w = MPW_INIT;
    assert_int_equal(jsonb_to_mp(json, strlen(json), 64, &w, NULL, 0), JSONB_OK);
    char why[128] = "";
    int rc = validate_payload(kind, mpw_view(&w), why, sizeof why);
    if (rc != 0)
        assert_true(strlen(why) > 0);
    mpw_free(&w);
    return rc;
}

/* A description {type, sdp} whose sdp has n bytes. */
static int check_sdp(sig_kind_t kind, const char *type, size_t n)
{
    mpw_t w = MPW_INIT;
    char *sdp = malloc(n + 1);
    memset(sdp, 'v', n);
    mpw_map(&w, 2);
    mpw_kstr(&w, "type", type);
    mpw_cstr(&w, "sdp");
    mpw_str(&w, sdp, n);
    char why[128];
    int rc = validate_payload(kind, mpw_view(&w), why, sizeof why);
    free(sdp);
    mpw_free(&w);
    return rc;
}

static int check_candidate_len(size_t n)
{
    mpw_t w = MPW_INIT;
    char *c = malloc(n + 1);
    memset(c, 'c', n);
    mpw_map(&w, 3);
    mpw_cstr(&w, "candidate");
    mpw_str(&w, c, n);
    mpw_kstr(&w, "sdpMid", "0");
    mpw_kint(&w, "sdpMLineIndex", 0);
    char why[128];
    int rc = validate_payload(SIG_CANDIDATE, mpw_view(&w), why, sizeof why);
    free(c);
    mpw_free(&w);
    return rc;
}

static void test_kind(void **state)
{
    assert_int_equal(validate_kind("webrtc:offer"), SIG_OFFER);
    assert_int_equal(validate_kind("webrtc:answer"), SIG_ANSWER);
    assert_int_equal(validate_kind("webrtc:candidate"), SIG_CANDIDATE);
    assert_int_equal(validate_kind("webrtc:bye"), SIG_BYE);
    assert_int_equal(validate_kind("webrtc:join"), SIG_JOIN);
    assert_int_equal(validate_kind("webrtc:other"), SIG_UNKNOWN);
    assert_int_equal(validate_kind("webrtc:offerx"), SIG_UNKNOWN);
    assert_int_equal(validate_kind(NULL), SIG_UNKNOWN);
}

static void test_description_shapes(void **state)
{
    assert_int_equal(check_json(SIG_OFFER, "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}"), 0);
    assert_int_equal(check_json(SIG_ANSWER, "{\"type\":\"answer\",\"sdp\":\"\",\"x\":1}"), 0);
    /* type must match the message */
    assert_int_equal(check_json(SIG_OFFER, "{\"type\":\"answer\",\"sdp\":\"v=0\"}"), -1);
    assert_int_equal(check_json(SIG_ANSWER, "{\"type\":\"offer\",\"sdp\":\"v=0\"}"), -1);
    assert_int_equal(check_json(SIG_OFFER, "{\"sdp\":\"v=0\"}"), -1);
    assert_int_equal(check_json(SIG_OFFER, "{\"type\":\"offer\"}"), -1);
    assert_int_equal(check_json(SIG_OFFER, "{\"type\":\"offer\",\"sdp\":5}"), -1);
    assert_int_equal(check_json(SIG_OFFER, "{\"type\":\"offer\",\"sdp\":null}"), -1);
    assert_int_equal(check_json(SIG_OFFER, "\"v=0\""), -1);
    assert_int_equal(check_json(SIG_OFFER, "null"), -1);
    assert_int_equal(check_json(SIG_OFFER, "[]"), -1);
    char why[64];
    assert_int_equal(validate_payload(SIG_OFFER, MP_NONE, why, sizeof why), -1);
}

static void test_sdp_limit(void **state)
{
    assert_int_equal(check_sdp(SIG_OFFER, "offer", SIG_SDP_MAX), 0);
    assert_int_equal(check_sdp(SIG_OFFER, "offer", SIG_SDP_MAX + 1), -1);
    assert_int_equal(check_sdp(SIG_ANSWER, "answer", 65536), 0);
    assert_int_equal(check_sdp(SIG_ANSWER, "answer", 65537), -1);
}

static void test_candidate_shapes(void **state)
{
    assert_int_equal(check_json(SIG_CANDIDATE, "null"), 0); /* end of candidates */
    assert_int_equal(check_json(SIG_CANDIDATE,
                                "{\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.1 5000 typ "
                                "host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,"
                                "\"usernameFragment\":\"abcd\"}"),
                     0);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\"}"), 0);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"sdpMid\":null,"
                                               "\"sdpMLineIndex\":null,"
                                               "\"usernameFragment\":null}"),
                     0);
    assert_int_equal(check_json(SIG_CANDIDATE, "{}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":1}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"sdpMid\":1}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"sdpMLineIndex\":\"0\"}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"sdpMLineIndex\":-1}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"sdpMLineIndex\":1.5}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "{\"candidate\":\"\",\"usernameFragment\":[]}"), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "\"candidate:1\""), -1);
    assert_int_equal(check_json(SIG_CANDIDATE, "7"), -1);
}

static void test_candidate_limit(void **state)
{
    assert_int_equal(check_candidate_len(SIG_CANDIDATE_MAX), 0);
    assert_int_equal(check_candidate_len(2048), 0);
    assert_int_equal(check_candidate_len(2049), -1);
}

static void test_bye_anything(void **state)
{
    assert_int_equal(check_json(SIG_BYE, "null"), 0);
    assert_int_equal(check_json(SIG_BYE, "{\"reason\":\"hangup\"}"), 0);
    assert_int_equal(check_json(SIG_BYE, "[1,2,3]"), 0);
    char why[64];
    assert_int_equal(validate_payload(SIG_BYE, MP_NONE, why, sizeof why), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_description_shapes),
        cmocka_unit_test(test_sdp_limit),
        cmocka_unit_test(test_candidate_shapes),
        cmocka_unit_test(test_candidate_limit),
        cmocka_unit_test(test_bye_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
