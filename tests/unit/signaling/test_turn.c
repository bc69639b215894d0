/* turn: TURN REST-API credentials against vectors computed with Python's hmac, and the
 * polite rule's symmetry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "turn.h"

/* base64(hmac.new(b"s3cret", b"1700000000:n1:abc", hashlib.sha1).digest()) */
static void test_credential_vector(void **state)
{
    char user[128], cred[64];
    assert_int_equal(
        turn_credential("s3cret", "n1:abc", 1700000000, user, sizeof user, cred, sizeof cred), 0);
    assert_string_equal(user, "1700000000:n1:abc");
    assert_string_equal(cred, "d5eeuzUsPnj1pshIe3e8va2J9eg=");
    /* another expiry, another credential */
    assert_int_equal(
        turn_credential("s3cret", "n1:abc", 1700086400, user, sizeof user, cred, sizeof cred), 0);
    assert_string_equal(user, "1700086400:n1:abc");
    assert_string_equal(cred, "dPrr4gWWUTChH0dGltdltA8K0Cw=");
}

static void test_credential_buffers(void **state)
{
    char user[8], cred[64], small[16];
    assert_int_equal(
        turn_credential("s", "n1:abc", 1700000000, user, sizeof user, cred, sizeof cred), -1);
    char big[64];
    assert_int_equal(
        turn_credential("s", "n1:abc", 1700000000, big, sizeof big, small, sizeof small), -1);
}

static void test_polite_symmetry(void **state)
{
    const char *ids[] = {"n1:a", "n1:b", "n2:a", "n1:ab", "A", "a", "z9.x-y_1"};
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (i != j) /* exactly one side of every pair is polite */
                assert_true(turn_polite(ids[i], ids[j]) != turn_polite(ids[j], ids[i]));
    assert_true(turn_polite("n1:b", "n1:a")); /* the greater id is polite */
    assert_false(turn_polite("n1:a", "n1:b"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credential_vector),
        cmocka_unit_test(test_credential_buffers),
        cmocka_unit_test(test_polite_symmetry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
