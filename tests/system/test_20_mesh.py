"""The mesh (CONTRACT.md section 4, docs/mesh.md): several routers joined by ZeroMQ PUB/SUB behave as
one node. Three routers, one gateway each, every router naming the others in --mesh-peers."""
import asyncio
import time

import msgpack
import pytest
import zmq

from rt import (SLOW, Client, api_request, close_all, converge, join_all,
                mesh_ports, peers_flag)


def start_mesh(rt, n=3, order=None, delay=0.0, **flags):
    """Routers n1..nN (started in `order`, `delay` s apart) and one gateway each."""
    ports = mesh_ports(n)
    flags.setdefault("peer_timeout", 2000)
    routers = [None] * n
    for i in (order or range(n)):
        routers[i] = rt.router(node_id="n%d" % (i + 1), ports=ports[i],
                               mesh_peers=peers_flag(ports), **flags)
        if delay:
            time.sleep(delay)
    gateways = [rt.gateway(r) for r in routers]
    return routers, gateways


def test_room_events_exactly_once_in_sender_order(rt):
    routers, gws = start_mesh(rt)

    async def main():
        cs = [await Client.connect(g.url) for g in gws for _ in range(2)]
        await join_all(cs, "hall")
        n = 30
        for i in range(n):
            for c in cs:
                await c.send({"type": "chat:msg", "room": "hall", "payload": {"i": i}})
        for c in cs:
            got = {}
            for _ in range(n * (len(cs) - 1)):
                f = await c.wait_for(lambda f: f.get("type") == "chat:msg", 10, "chat:msg")
                assert f["room"] == "hall"
                got.setdefault(f["from"], []).append(f["payload"]["i"])
            assert sorted(got) == sorted(x.id for x in cs if x is not c)
            for frm, seq in got.items():
                assert seq == list(range(n)), "from %s: %s" % (frm, seq)
        for c in cs:   # exactly once: nothing more comes
            await c.expect_silence(0.3 if c is cs[0] else 0.05, types=["chat:msg"])
        await close_all(cs)
    asyncio.run(main())


def test_presence_across_nodes(rt):
    routers, gws = start_mesh(rt)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        await a.join("p", {"name": "ann"})
        ev_deadline = time.monotonic() + 5 * SLOW
        while True:   # b's join ack lists a once n2 knows a
            ack = await b.join("p", {"name": "bob"})
            if len(ack["members"]) == 2 or time.monotonic() > ev_deadline:
                break
            await b.ok("room:leave", room="p")
            await asyncio.sleep(0.1)
        assert [m["id"] for m in ack["members"]] == [a.id, b.id]
        ev = await a.expect_event("presence:join", room="p", timeout=5)
        assert ev["payload"] == {"id": b.id, "user": None, "meta": {"name": "bob"}}
        await c.join("p")
        for x in (a, b):
            ev = await x.expect_event("presence:join", room="p", timeout=5)
            assert ev["payload"] == {"id": c.id, "user": None, "meta": {}}
        await converge([a, b, c], "p", [a.id, b.id, c.id])
        metas = [sorted((m["id"], m["meta"].get("name", "")) for m in
                        (await x.ok("presence:list", room="p"))["members"]) for x in (a, b, c)]
        assert metas[0] == metas[1] == metas[2]
        await c.ok("room:leave", room="p")
        for x in (a, b):
            ev = await x.expect_event("presence:leave", room="p", timeout=5)
            assert ev["payload"] == {"id": c.id, "user": None}
        await b.close()                       # a connection that ends leaves everywhere
        ev = await a.expect_event("presence:leave", room="p", timeout=5)
        assert ev["payload"]["id"] == b.id
        await converge([a], "p", [a.id])
        await c.err("presence:list", "not_in_room", room="p")
        await close_all([a, c])
    asyncio.run(main())


def test_direct_messages_across_nodes(rt):
    routers, gws = start_mesh(rt)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        await join_all([a, b], "dm")
        assert await a.ok("note", to=b.id, payload={"hi": 1}) == {}
        ev = await b.expect_event("note", timeout=5)
        assert ev == {"type": "note", "from": a.id, "payload": {"hi": 1}}
        await a.ok("note", room="dm", to=b.id, payload=2)
        ev = await b.expect_event("note", timeout=5)
        assert ev == {"type": "note", "room": "dm", "from": a.id, "payload": 2}
        await a.err("note", "peer_not_found", to=c.id, payload=3)   # no shared room
        await c.expect_silence(0.3, types=["note"])
        await close_all([a, b, c])
    asyncio.run(main())


def test_service_api_acts_across_nodes(rt):
    routers, gws = start_mesh(rt, max_rooms=3)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        await join_all([a, b], "svc")
        # publish on node 3's API: members on nodes 1 and 2 get it once
        rep = await asyncio.to_thread(api_request, routers[2],
                                      {"op": "publish", "room": "svc", "type": "news", "payload": 1})
        assert rep["ok"], rep
        for x in (a, b):
            ev = await x.expect_event("news", timeout=5)
            assert ev == {"type": "news", "room": "svc", "payload": 1}
        # send to a connection of node 2 through node 1
        rep = await asyncio.to_thread(api_request, routers[0],
                                      {"op": "send", "to": b.id, "type": "dm", "payload": "x"})
        assert rep["ok"], rep
        assert (await b.expect_event("dm", timeout=5))["payload"] == "x"
        # join a connection of node 1 through node 3: answered once node 1 did it, with the
        # member listed; then a publish through node 3 reaches it at once
        rep = await asyncio.to_thread(api_request, routers[2],
                                      {"op": "join", "conn": a.id, "room": "more",
                                       "meta": {"via": "n3"}})
        assert rep["ok"], rep
        assert rep["result"]["members"] == [{"id": a.id, "user": None, "meta": {"via": "n3"}}], rep
        rep = await asyncio.to_thread(api_request, routers[2],
                                      {"op": "publish", "room": "more", "type": "hello"})
        assert rep["ok"], rep
        assert (await a.expect_event("hello", timeout=5))["room"] == "more"
        await converge([a], "more", [a.id])
        # the owner's refusal comes back: a's node allows 3 rooms (svc, more, +1)
        rep = await asyncio.to_thread(api_request, routers[2],
                                      {"op": "join", "conn": a.id, "room": "third"})
        assert rep["ok"], rep
        rep = await asyncio.to_thread(api_request, routers[2],
                                      {"op": "join", "conn": a.id, "room": "fourth"})
        assert not rep["ok"] and rep["error"]["code"] == "limit", rep
        # leave through node 2, answered after node 1 did it
        rep = await asyncio.to_thread(api_request, routers[1],
                                      {"op": "leave", "conn": a.id, "room": "third"})
        assert rep["ok"], rep
        rep = await asyncio.to_thread(api_request, routers[1],
                                      {"op": "leave", "conn": a.id, "room": "third"})
        assert not rep["ok"] and rep["error"]["code"] == "not_in_room", rep
        rep = await asyncio.to_thread(api_request, routers[1], {"op": "presence", "room": "svc"})
        assert sorted(m["id"] for m in rep["result"]["members"]) == sorted([a.id, b.id])
        for x in (a, b):
            await x.expect_silence(0.2, types=["news"])
        await close_all([a, b])
    asyncio.run(main())


def test_router_killed_then_back(rt):
    routers, gws = start_mesh(rt, peer_timeout=2000)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        await join_all([a, b, c], "k")
        t0 = time.monotonic()
        routers[2].kill()
        for x in (a, b):
            ev = await x.expect_event("presence:leave", room="k", timeout=5 * 2)
            assert ev["payload"]["id"] == c.id
        # within the peer timeout of the kill (plus what a loaded machine adds)
        took = time.monotonic() - t0
        assert took < 2.0 + (0.5 if SLOW == 1 else 1.5), "leave after %.2fs" % took
        await converge([a, b], "k", [a.id, b.id])
        await a.send({"type": "chat", "room": "k", "payload": "still"})
        assert (await b.expect_event("chat", timeout=5))["payload"] == "still"
        # back on the same ports: its gateway re-attaches c, the others see c join again
        r3 = await asyncio.to_thread(rt.restart_router, routers[2])
        assert r3.alive()
        for x in (a, b):
            ev = await x.expect_event("presence:join", room="k", timeout=15)
            assert ev["payload"]["id"] == c.id
        await converge([a, b, c], "k", [a.id, b.id, c.id], timeout=15)
        await c.send({"type": "chat", "room": "k", "payload": "back"})
        for x in (a, b):
            assert (await x.expect_event("chat", timeout=5))["payload"] == "back"
        await close_all([a, b, c])
    asyncio.run(main())


@pytest.mark.parametrize("order,delay", [([2, 0, 1], 0.7), ([1, 2, 0], 0.0), ([0, 2, 1], 1.5)])
def test_start_order_does_not_matter(rt, order, delay):
    """Any start order, nodes started together or seconds apart (slow joiners): one cluster."""
    routers, gws = start_mesh(rt, order=order, delay=delay)

    async def main():
        cs = [await Client.connect(g.url) for g in gws]
        await join_all(cs, "o")
        for i, sender in enumerate(cs):
            await sender.send({"type": "chat", "room": "o", "payload": i})
            for x in cs:
                if x is not sender:
                    assert (await x.expect_event("chat", timeout=5))["payload"] == i
        await close_all(cs)
    asyncio.run(main())


def test_peer_events_and_stats(rt):
    ports = mesh_ports(2)
    ctx = zmq.Context.instance()
    r1 = rt.router(node_id="n1", ports=ports[0], mesh_peers=peers_flag(ports), peer_timeout=1500)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"mesh:")
    sub.connect("tcp://127.0.0.1:%d" % ports[0]["events"])
    time.sleep(0.5)
    try:
        r2 = rt.router(node_id="n2", ports=ports[1], mesh_peers=peers_flag(ports),
                       peer_timeout=1500)

        def next_event():
            assert sub.poll(10000 * SLOW), "no mesh event"
            topic, body = sub.recv_multipart()
            return topic.decode(), msgpack.unpackb(body, raw=False)

        topic, ev = next_event()
        assert topic == "mesh:peer_up" and ev["peer"] == "n2" and ev["node"] == "n1"
        assert api_request(r1, {"op": "stats"})["result"]["mesh_peers"] == 1
        r2.kill()
        topic, ev = next_event()
        assert topic == "mesh:peer_down" and ev["peer"] == "n2"
        assert api_request(r1, {"op": "stats"})["result"]["mesh_peers"] == 0
    finally:
        sub.close()


def test_disconnect_and_gateway_death_across_nodes(rt):
    routers, gws = start_mesh(rt)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        await join_all([a, b, c], "d")
        rep = await asyncio.to_thread(api_request, routers[0],
                                      {"op": "disconnect", "conn": b.id, "code": 4001})
        assert rep["ok"], rep
        await b.expect_close(4001)
        for x in (a, c):
            ev = await x.expect_event("presence:leave", room="d", timeout=5)
            assert ev["payload"]["id"] == b.id
        # a gateway that dies: its router drops its connections, every node sees them leave
        gws[2].kill()
        ev = await a.expect_event("presence:leave", room="d", timeout=10)
        assert ev["payload"]["id"] == c.id
        await converge([a], "d", [a.id])
        await a.close()
    asyncio.run(main())


def test_quick_restart_within_peer_timeout(rt):
    routers, gws = start_mesh(rt, n=2, peer_timeout=5000)

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        await join_all([a, b], "q")
        routers[1].kill()
        r2 = await asyncio.to_thread(rt.restart_router, routers[1])
        assert r2.alive()
        # b's gateway re-attaches to the new router; a's view converges on both members
        await converge([a, b], "q", [a.id, b.id], timeout=15)
        await b.send({"type": "chat", "room": "q", "payload": "again"})
        assert (await a.expect_event("chat", timeout=10))["payload"] == "again"
        await a.send({"type": "chat", "room": "q", "payload": "hello"})
        assert (await b.expect_event("chat", timeout=10))["payload"] == "hello"
        await close_all([a, b])
    asyncio.run(main())


def test_services_are_cluster_wide_local_preferred(rt):
    from test_10_service_api import Service
    routers, gws = start_mesh(rt)

    def handler_of(name):
        def handler(m):
            actions = [{"op": "publish", "room": m["room"], "type": "calc:done",
                        "payload": name}] if m.get("room") else []
            return {"reply": {"by": name, "from": m["from"], "node": m["node"]},
                    "actions": actions}
        return handler
    remote = Service(routers[1], "on-n2", ["calc:*"], handler_of("on-n2"))

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        await join_all([a, b, c], "s")
        deadline = time.monotonic() + 5 * SLOW   # registrations travel with heartbeats (1 s)
        while True:
            ans = await a.request("calc:add", room="s", payload=[1, 2])
            # (until then the default route acks {})
            if ans.get("payload", {}).get("by") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert ans["type"] == "ack", ans
        assert ans["payload"] == {"by": "on-n2", "from": a.id, "node": "n1"}  # the client's node
        for x in (a, b, c):   # the service's publish reaches every node once
            assert (await x.expect_event("calc:done", timeout=5))["payload"] == "on-n2"
        # a local registration wins over the remote one
        local = Service(routers[0], "on-n1", ["calc:*"], handler_of("on-n1"))
        assert (await a.ok("calc:add", payload=1))["by"] == "on-n1"
        assert (await c.ok("calc:add", payload=1))["by"] == "on-n2"  # n3 has none: remote
        for x in (a, b, c):
            await x.expect_silence(0.2, types=["calc:done"])
        local.stop()
        await close_all([a, b, c])
    try:
        asyncio.run(main())
    finally:
        remote.stop()


def test_lost_deltas_are_repaired_by_resync(rt):
    """n1 drops every 3rd replication delta (test-only RTTEST_MESH_DROP_CTL): n2 notices the
    gaps from the sequence numbers, resyncs, and ends with exactly n1's members."""
    ports = mesh_ports(2)
    r1 = rt.router(node_id="n1", ports=ports[0], mesh_peers=peers_flag(ports),
                   env={"RTTEST_MESH_DROP_CTL": "3"})
    r2 = rt.router(node_id="n2", ports=ports[1], mesh_peers=peers_flag(ports))
    g1, g2 = rt.gateway(r1), rt.gateway(r2)

    async def main():
        # the drops must hit a stream n2 already follows: wait until n2 has n1 in sync
        deadline = time.monotonic() + 10
        while "peer n1 up" not in r2.stderr():
            assert time.monotonic() < deadline, "n2 never saw n1 come up"
            await asyncio.sleep(0.05)
        watcher = await Client.connect(g2.url)
        cs = [await Client.connect(g1.url) for _ in range(6)]
        rooms = ["g%d" % i for i in range(3)]
        for room in rooms:
            await watcher.join(room)
        for i, c in enumerate(cs):
            for room in rooms:
                await c.join(room, {"i": i})
        for c in cs[::2]:
            await c.ok("room:leave", room="g0")
        await cs[5].close()
        for room in rooms:
            want = [watcher.id] + [c.id for i, c in enumerate(cs) if i != 5 and
                                   not (room == "g0" and i % 2 == 0)]
            await converge([watcher, cs[1]], room, want, timeout=10)
        assert "gap or new epoch in the stream of n1" in r2.stderr()
        assert "dropping every 3-th delta" in r1.stderr()
        await close_all([watcher] + cs[:5])
    asyncio.run(main())


def test_member_gets_events_before_its_join_is_replicated(rt):
    """A member that joined on n2 gets the room's events from n1 as soon as its join is acked,
    even while n1 does not know of it yet (n2's deltas are all lost here, test-only
    RTTEST_MESH_DROP_CTL=1, so n1 learns of the member only from the resync a heartbeat later)."""
    ports = mesh_ports(2)
    r1 = rt.router(node_id="n1", ports=ports[0], mesh_peers=peers_flag(ports))
    r2 = rt.router(node_id="n2", ports=ports[1], mesh_peers=peers_flag(ports),
                   env={"RTTEST_MESH_DROP_CTL": "1"})
    g1, g2 = rt.gateway(r1), rt.gateway(r2)

    async def main():
        a = await Client.connect(g1.url)
        b = await Client.connect(g2.url)
        await join_all([a, b], "warmup")   # the mesh is up both ways
        for i in range(5):
            room = "fresh%d" % i
            await a.join(room)
            await b.join(room)
            await a.ok("chat:say", room=room, payload=i)   # at once, n1 not told of b yet
            e = await b.expect_event("chat:say", room=room, timeout=3)
            assert e["payload"] == i and e["from"] == a.id, e
        await close_all([a, b])
    asyncio.run(main())


def test_snapshot_in_many_parts(rt):
    """A snapshot goes out in parts (test-only RTTEST_MESH_SNAP_PART=600 bytes: a few
    connections per part): a node started later gets all of n1's members, rooms and meta."""
    ports = mesh_ports(2)
    r1 = rt.router(node_id="n1", ports=ports[0], mesh_peers=peers_flag(ports),
                   env={"RTTEST_MESH_SNAP_PART": "600"})
    g1 = rt.gateway(r1)

    async def main():
        cs = [await Client.connect(g1.url) for _ in range(40)]
        for i, c in enumerate(cs):
            await c.join("even" if i % 2 == 0 else "odd", {"i": i})
            await c.join("all", {"i": i, "pad": "x" * 50})
        r2 = rt.router(node_id="n2", ports=ports[1], mesh_peers=peers_flag(ports))
        g2 = rt.gateway(r2)
        b = await Client.connect(g2.url)
        for room in ("all", "even", "odd"):
            await b.join(room, {"i": -1})
        await converge([b], "all", [c.id for c in cs] + [b.id], timeout=15)
        await converge([b], "even", [c.id for c in cs[0::2]] + [b.id])
        await converge([b], "odd", [c.id for c in cs[1::2]] + [b.id])
        members = (await b.ok("presence:list", room="all"))["members"]
        assert sorted(m["meta"]["i"] for m in members) == list(range(-1, 40))
        assert all(m["meta"]["pad"] == "x" * 50 for m in members if m["id"] != b.id)
        assert "mesh: test mode" not in r2.stderr()
        await close_all(cs + [b])
    asyncio.run(main())


async def raw_member_ids(c, room):
    a = await c.ok("presence:list", room=room)
    return [m["id"] for m in a["members"]]


def test_member_order_is_the_same_on_every_node(rt):
    """Members are listed in join order, by the join time their own node gave them, so every
    node lists them in the same order, also after resyncs (n3 loses every 2nd delta here,
    test-only RTTEST_MESH_DROP_CTL) and a restart."""
    ports = mesh_ports(3)
    routers = [rt.router(node_id="n%d" % (i + 1), ports=ports[i], mesh_peers=peers_flag(ports),
                         peer_timeout=2000, env={"RTTEST_MESH_DROP_CTL": "2"} if i == 2 else None)
               for i in range(3)]
    gws = [rt.gateway(r) for r in routers]

    async def main():
        cs = [await Client.connect(gws[i % 3].url) for i in range(12)]
        for c in cs:   # one at a time, round-robin over the nodes
            await c.join("ord")
        await converge(cs, "ord", [c.id for c in cs], timeout=15)
        lists = [await raw_member_ids(c, "ord") for c in cs[:3]]
        assert lists[0] == [c.id for c in cs], lists[0]
        assert lists[1] == lists[0] and lists[2] == lists[0], lists
        # n2 restarts: its gateway re-attaches its clients (joined again, now): same order
        routers[1].kill()
        routers[1] = rt.restart_router(routers[1])
        await converge(cs, "ord", [c.id for c in cs], timeout=20)
        deadline = time.monotonic() + 10 * SLOW
        while True:
            lists = [await raw_member_ids(c, "ord") for c in cs[:3]]
            if lists[1] == lists[0] and lists[2] == lists[0]:
                break
            assert time.monotonic() < deadline, lists
            await asyncio.sleep(0.2)
        await close_all(cs)
    asyncio.run(main())
