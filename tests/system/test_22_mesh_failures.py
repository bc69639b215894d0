"""Failures in a mesh (CONTRACT.md sections 1 and 4, docs/mesh.md "Failures"): a gateway given
several routers fails over to the next one when its router dies, and a router that freezes
(SIGSTOP, a partition as seen by the others) is declared down, then rejoins when resumed.
Clients stay connected, presence views converge on every node, and messages after the failure
reach every recipient exactly once."""
import asyncio
import signal
import time

from rt import (SLOW, Client, api_converge, api_request, assert_open, assert_views, close_all,
                converge, exchange, http_get, join_all, mesh_ports, peers_flag, wait_mesh_up,
                wait_until)

HB_TIMEOUT = 3.0      # gateway: router heartbeats missing this long -> next router (link.c)


def start_routers(rt, n, **flags):
    ports = mesh_ports(n)
    return [rt.router(node_id="n%d" % (i + 1), ports=ports[i], mesh_peers=peers_flag(ports),
                      **flags) for i in range(n)]


async def failover(rt, peer_timeout):
    """Routers n1..n3; G1 on [n1, n2], G2 on n2, G3 on n3. Room "f": a1, a2 (G1), b (G2), c (G3);
    room "solo": a1 and c only (so n2 has no member of it before the failover). n1 is killed."""
    routers = start_routers(rt, 3, peer_timeout=peer_timeout)
    g1 = rt.gateway([routers[0], routers[1]])
    g2 = rt.gateway(routers[1])
    g3 = rt.gateway(routers[2])
    await wait_mesh_up(routers)
    a1 = await Client.connect(g1.url)
    a2 = await Client.connect(g1.url)
    b = await Client.connect(g2.url)
    c = await Client.connect(g3.url)
    assert a1.welcome["payload"]["node"] == "n1"
    everyone = [a1, a2, b, c]
    await join_all(everyone, "f")
    await join_all([a1, c], "solo")
    await exchange(everyone, "f", everyone, "before")

    t0 = time.monotonic()
    await asyncio.to_thread(routers[0].kill)
    # G1 notices the missing heartbeats (3 s), says hello to n2, re-attaches a1 and a2
    await asyncio.to_thread(wait_until, lambda: "router link up: node n2" in g1.stderr(),
                            HB_TIMEOUT + 7, "G1 up on n2")
    took = time.monotonic() - t0
    assert took < HB_TIMEOUT + 3 * SLOW, "failover took %.1fs" % took
    assert http_get(g1.port, "/healthz")[0] == 200
    await converge(everyone, "f", [x.id for x in everyone], timeout=peer_timeout / 1000 + 10)
    await converge([a1, c], "solo", [a1.id, c.id], timeout=10)
    await api_converge(routers[1:], "f", [x.id for x in everyone])
    await api_converge(routers[1:], "solo", [a1.id, c.id])
    # n1's peer timeout must not take a1 and a2 away again once they live on n2: wait past it
    # (measured from the kill) and look again
    wait = t0 + peer_timeout / 1000 + 1.0 * SLOW - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    await converge(everyone, "f", [x.id for x in everyone], timeout=5)
    await api_converge(routers[1:], "f", [x.id for x in everyone], timeout=5)
    assert_open(everyone)

    # messages both ways, exactly once: room events, the room only n2 and n3 share, directs
    await exchange(everyone, "f", everyone, "after")
    await exchange([a1, c], "solo", [a1, c], "solo-msg")
    await exchange([c], "solo", [a1, c], "dm", to=a1)
    await exchange([a1], "solo", [a1, c], "dm", to=c)
    assert await a1.ok("note", to=b.id, payload=1) == {}
    assert (await b.expect_event("note", timeout=10))["from"] == a1.id
    assert await b.ok("note", to=a2.id, payload=2) == {}
    assert (await a2.expect_event("note", timeout=10))["from"] == b.id
    # a1 leaves "solo": c sees it once; a1's membership is really n2's now
    await a1.ok("room:leave", room="solo")
    ev = await c.expect_event("presence:leave", room="solo", timeout=10)
    assert ev["payload"]["id"] == a1.id
    await converge([c], "solo", [c.id])
    await api_converge(routers[1:], "solo", [c.id])

    await assert_views(everyone, "f", [x.id for x in everyone])
    await assert_views([c], "solo", [c.id])
    assert_open(everyone)
    if took < peer_timeout / 1000 - 1.0:
        # G1 was on n2 well before n1's peer timeout: a1 and a2 moved without leaving
        for x in (b, c):
            leaves = [f for f in x.seen if f.get("type") == "presence:leave" and
                      f["room"] == "f" and f["payload"]["id"] in (a1.id, a2.id)]
            assert not leaves, "%s saw %s leave though they moved in %.1fs" % (x.id, leaves, took)
    await close_all(everyone)
    return took


def test_gateway_failover_before_peer_timeout(rt):
    """Default peer timeout (5 s): G1 is on n2 (after ~3 s) before n2 and n3 declare n1 down,
    so its connections move from n1 to n2 without ever leaving."""
    asyncio.run(failover(rt, peer_timeout=5000))


def test_gateway_failover_after_peer_timeout(rt):
    """A short peer timeout (1.5 s): n2 and n3 declare n1 down first (its members leave), then
    G1 re-attaches them on n2 and they join again everywhere."""
    asyncio.run(failover(rt, peer_timeout=1500))


def test_frozen_router_leaves_then_rejoins(rt):
    """SIGSTOP n3 (a partition as the others see it): within the peer timeout its members
    leave on n1 and n2; SIGCONT: they join again, n3's own view is repaired, every node lists
    the same members, and messages reach everyone exactly once."""
    peer_timeout = 2000
    routers = start_routers(rt, 3, peer_timeout=peer_timeout)
    gws = [rt.gateway(r) for r in routers]     # one router each: G3 stays with n3

    async def main():
        await wait_mesh_up(routers)
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c1 = await Client.connect(gws[2].url)
        c2 = await Client.connect(gws[2].url)
        everyone = [a, b, c1, c2]
        await join_all(everyone, "p")
        await exchange(everyone, "p", everyone, "before")

        routers[2].signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            for x in (a, b):
                gone = set()
                while gone != {c1.id, c2.id}:
                    ev = await x.expect_event("presence:leave", room="p",
                                              timeout=peer_timeout / 1000 + 5)
                    gone.add(ev["payload"]["id"])
            took = time.monotonic() - t0
            assert took < peer_timeout / 1000 + 2 * SLOW, "leave after %.1fs" % took
            await converge([a, b], "p", [a.id, b.id])
            await api_converge(routers[:2], "p", [a.id, b.id])
            # the rest of the cluster works meanwhile
            await a.ok("during", room="p", payload={"from": a.id})
            assert (await b.expect_event("during", timeout=10))["from"] == a.id
            await a.expect_silence(0.2, types=["during"])
            assert_open(everyone)
        finally:
            routers[2].signal(signal.SIGCONT)
        t1 = time.monotonic()
        for x in (a, b):
            back = set()
            while back != {c1.id, c2.id}:
                ev = await x.expect_event("presence:join", room="p", timeout=15)
                back.add(ev["payload"]["id"])
        took = time.monotonic() - t1
        # the contract: views converge within two heartbeat timeouts
        assert took < 2 * peer_timeout / 1000 + 3 * SLOW, "rejoin after %.1fs" % took
        ids = [x.id for x in everyone]
        await converge(everyone, "p", ids, timeout=15)
        await api_converge(routers, "p", ids)
        for r in routers:
            st = await asyncio.to_thread(api_request, r, {"op": "stats"})
            assert st["result"]["mesh_peers"] == 2, (r.name, st)
        assert_open(everyone)

        # the event sent during the freeze: n3 may deliver it late to c1/c2, but at most once
        for x in (c1, c2):
            assert [f["type"] for f in x.seen].count("during") <= 1
        await exchange(everyone, "p", everyone, "after")
        await exchange([c1], "p", everyone, "dm", to=a)
        await exchange([b], "p", everyone, "dm", to=c2)
        await assert_views(everyone, "p", ids)
        await close_all(everyone)
    asyncio.run(main())


def test_frozen_router_whose_gateway_failed_over(rt):
    """SIGSTOP n1 while G1 (on [n1, n2]) has clients: G1 fails over to n2. SIGCONT n1: it
    still believes it owns G1's connections until it drops the silent gateway (n1 runs with a
    long --gateway-timeout so that this window is certain), and its snapshot claims them for
    n1. That stale claim must not take them away from n2 on any node, nor must n1's own
    drop of G1 afterwards."""
    ports = mesh_ports(3)
    routers = [rt.router(node_id="n%d" % (i + 1), ports=ports[i], mesh_peers=peers_flag(ports),
                         peer_timeout=2000, gateway_timeout=8000 if i == 0 else None)
               for i in range(3)]
    g1 = rt.gateway([routers[0], routers[1]])
    g2 = rt.gateway(routers[1])
    g3 = rt.gateway(routers[2])

    async def main():
        await wait_mesh_up(routers)
        a = await Client.connect(g1.url)
        b = await Client.connect(g2.url)
        c = await Client.connect(g3.url)
        everyone = [a, b, c]
        ids = [x.id for x in everyone]
        await join_all(everyone, "z")
        routers[0].signal(signal.SIGSTOP)
        try:
            await asyncio.to_thread(wait_until, lambda: "router link up: node n2" in g1.stderr(),
                                    HB_TIMEOUT + 7, "G1 up on n2")
            await converge(everyone, "z", ids, timeout=15)
            await api_converge(routers[1:], "z", ids)
        finally:
            routers[0].signal(signal.SIGCONT)
        # n1 comes back: it drops G1 (silent for it; a's connection may have moved to n2 on
        # n1 already, from n2's newer claim), the others see n1 again
        g1_id = a.id.split(".")[0]
        await asyncio.to_thread(wait_until, lambda: "gateway %s silent" % g1_id in
                                routers[0].stderr(), 15, "n1 drops G1")
        await wait_mesh_up(routers, timeout=15)
        await asyncio.sleep(1.0 * SLOW)
        await converge(everyone, "z", ids, timeout=15)
        await api_converge(routers, "z", ids)
        await exchange(everyone, "z", everyone, "after")
        await assert_views(everyone, "z", ids)
        assert_open(everyone)
        await close_all(everyone)
    asyncio.run(main())


def test_restarted_router_does_not_announce_members_again(rt):
    """A router killed and restarted at once: its gateway re-attaches its clients, who already
    list the members of the other nodes: none of them gets a second presence:join, and the
    other nodes' clients see nothing either (the restart was quicker than the peer timeout)."""
    from test_20_mesh import start_mesh
    routers, gws = start_mesh(rt, n=2, peer_timeout=5000)

    async def main():
        a1, a2 = [await Client.connect(gws[0].url) for _ in range(2)]
        b = await Client.connect(gws[1].url)
        await join_all([a1, a2, b], "r")
        routers[1].kill()
        routers[1] = rt.restart_router(routers[1])
        await converge([a1, a2, b], "r", [a1.id, a2.id, b.id], timeout=15)
        await asyncio.sleep(1.5 * SLOW)   # the peers' snapshots and the re-attach have settled
        await assert_views([a1, a2, b], "r", [a1.id, a2.id, b.id])
        await exchange([a1, b], "r", [a1, a2, b], "after")
        await close_all([a1, a2, b])
    asyncio.run(main())
