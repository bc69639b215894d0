/* peers: sequence tracking of the mesh control stream (gap, duplicate, new epoch, snapshot),
 * rate-limited resync requests, up/down bookkeeping and expiry, service patterns of peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "peers.h"

static void test_unknown_peer_resyncs_then_snapshot_syncs(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    assert_int_equal(peers_seen(p, "B", "e1", 5, false, 0), PEERS_RESYNC);
    assert_false(peers_synced(p, "B"));
    /* asked a moment ago: no second request within a second */
    assert_int_equal(peers_seen(p, "B", "e1", 6, false, 500), PEERS_IGNORE);
    assert_int_equal(peers_seen(p, "B", "e1", 7, false, 1000), PEERS_RESYNC);
    assert_int_equal(peers_seen(p, "B", "e1", 8, true, 1100), PEERS_APPLY);
    assert_true(peers_synced(p, "B"));
    assert_int_equal(peers_seen(p, "B", "e1", 9, false, 1200), PEERS_APPLY);
    assert_int_equal(peers_seen(p, "B", "e1", 10, false, 1200), PEERS_APPLY);
    peers_destroy(&p);
    assert_null(p);
    peers_destroy(&p);
}

static void test_gap_and_duplicate(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    assert_int_equal(peers_seen(p, "B", "e1", 1, true, 0), PEERS_APPLY);
    assert_int_equal(peers_seen(p, "B", "e1", 2, false, 10), PEERS_APPLY);
    assert_int_equal(peers_seen(p, "B", "e1", 2, false, 20), PEERS_IGNORE); /* duplicate */
    assert_true(peers_synced(p, "B"));
    assert_int_equal(peers_seen(p, "B", "e1", 4, false, 30), PEERS_RESYNC); /* 3 lost */
    assert_false(peers_synced(p, "B"));
    assert_int_equal(peers_seen(p, "B", "e1", 5, false, 40), PEERS_IGNORE);
    assert_int_equal(peers_seen(p, "B", "e1", 6, true, 50), PEERS_APPLY);
    assert_int_equal(peers_seen(p, "B", "e1", 7, false, 60), PEERS_APPLY);
    peers_destroy(&p);
}

static void test_new_epoch_loses_sync(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    assert_int_equal(peers_seen(p, "B", "e1", 1, true, 0), PEERS_APPLY);
    assert_true(peers_set_up(p, "B"));
    assert_false(peers_set_up(p, "B"));
    /* restarted: its sequence starts again */
    assert_int_equal(peers_seen(p, "B", "e2", 1, false, 10), PEERS_RESYNC);
    assert_true(peers_up(p, "B")); /* not reported down for a quick restart */
    assert_int_equal(peers_seen(p, "B", "e2", 3, true, 20), PEERS_APPLY);
    assert_int_equal(peers_seen(p, "B", "e2", 4, false, 30), PEERS_APPLY);
    peers_destroy(&p);
}

static void test_expiry_and_drop(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    peers_seen(p, "B", "e", 1, true, 0);
    peers_seen(p, "C", "e", 1, true, 0);
    peers_set_up(p, "B");
    assert_int_equal(peers_count(p), 2);
    assert_int_equal(peers_count_up(p), 1);
    assert_null(peers_expired(p, 5000, 5000));
    peers_seen(p, "C", "e", 2, false, 4000);
    assert_string_equal(peers_expired(p, 5001, 5000), "B");
    assert_int_equal(peers_drop(p, peers_expired(p, 5001, 5000)), 0);
    assert_int_equal(peers_drop(p, "B"), -1);
    assert_false(peers_up(p, "B"));
    assert_int_equal(peers_count(p), 1);
    /* heard again after the drop: a new peer */
    assert_int_equal(peers_seen(p, "B", "e", 9, false, 6000), PEERS_RESYNC);
    assert_false(peers_up(p, "B"));
    peers_destroy(&p);
}

static void test_service_patterns(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    const char *b[] = {"chat:*", "calc:add"};
    const char *c[] = {"chat:room:*"};
    assert_int_equal(peers_set_services(p, "B", b, 2), -1); /* unknown node */
    peers_seen(p, "B", "e", 1, true, 0);
    peers_seen(p, "C", "e", 1, true, 0);
    assert_int_equal(peers_set_services(p, "B", b, 2), 0);
    assert_int_equal(peers_set_services(p, "C", c, 1), 0);
    assert_null(peers_service_node(p, "chat:x")); /* nobody up yet */
    peers_set_up(p, "B");
    peers_set_up(p, "C");
    assert_string_equal(peers_service_node(p, "chat:x"), "B");
    assert_string_equal(peers_service_node(p, "chat:room:1"), "C"); /* longest prefix */
    assert_string_equal(peers_service_node(p, "calc:add"), "B");    /* exact */
    assert_null(peers_service_node(p, "calc:sub"));
    assert_int_equal(peers_set_services(p, "B", NULL, 0), 0); /* its services went away */
    assert_null(peers_service_node(p, "chat:x"));
    /* ... but their patterns stay service-owned; types never registered do not */
    assert_true(peers_pattern_known(p, "chat:x"));
    assert_true(peers_pattern_known(p, "calc:add"));
    assert_false(peers_pattern_known(p, "calc:sub"));
    assert_false(peers_pattern_known(p, "chat"));
    peers_drop(p, "B");
    assert_true(peers_pattern_known(p, "chat:x"));
    peers_destroy(&p);
}

static void test_service_round_robin_over_nodes(void **state)
{
    (void)state;
    peers_t *p = peers_new();
    const char *chat[] = {"chat:*"};
    const char *exact[] = {"chat:x"};
    const char *nodes[] = {"B", "C", "D"};
    for (int i = 0; i < 3; i++) {
        peers_seen(p, nodes[i], "e", 1, true, 0);
        peers_set_up(p, nodes[i]);
        peers_set_services(p, nodes[i], chat, 1);
    }
    int seen[3] = {0};
    for (int k = 0; k < 30; k++) {
        const char *n = peers_service_node(p, "chat:y");
        assert_non_null(n);
        seen[n[0] - 'B']++;
    }
    assert_int_equal(seen[0], 10); /* an even spread over the three */
    assert_int_equal(seen[1], 10);
    assert_int_equal(seen[2], 10);
    /* a better match on one node wins over the tie */
    peers_set_services(p, "C", exact, 1);
    for (int k = 0; k < 5; k++)
        assert_string_equal(peers_service_node(p, "chat:x"), "C");
    /* a node that is not up is never picked */
    peers_drop(p, "C");
    for (int k = 0; k < 6; k++)
        assert_string_not_equal(peers_service_node(p, "chat:x"), "C");
    peers_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_peer_resyncs_then_snapshot_syncs),
        cmocka_unit_test(test_gap_and_duplicate),
        cmocka_unit_test(test_new_epoch_loses_sync),
        cmocka_unit_test(test_expiry_and_drop),
        cmocka_unit_test(test_service_patterns),
        cmocka_unit_test(test_service_round_robin_over_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
