"""Rooms and presence: room:join, room:leave, presence:list, presence events, limits."""
import asyncio
import json

from rt import Client, clients, close_all


def members(ack):
    return [(m["id"], m["user"], m["meta"]) for m in ack["members"]]


def test_join_ack_members_and_presence_join(cluster):
    rt, r, g = cluster

    async def main():
        a, b, c = await clients(g.url, 3)
        ack = await a.join("lobby", {"name": "ann"})
        assert ack == {"room": "lobby", "members": [{"id": a.id, "user": None,
                                                      "meta": {"name": "ann"}}]}
        ack = await b.join("lobby", {"name": "bob", "n": [1, 2]})
        assert ack["room"] == "lobby"
        assert members(ack) == [(a.id, None, {"name": "ann"}),
                                (b.id, None, {"name": "bob", "n": [1, 2]})]
        ev = await a.expect_event("presence:join", room="lobby")
        assert ev == {"type": "presence:join", "room": "lobby",
                      "payload": {"id": b.id, "user": None, "meta": {"name": "bob", "n": [1, 2]}}}
        ack = await c.join("lobby")                       # no meta: {} (docs/protocol.md)
        assert members(ack)[-1] == (c.id, None, {})
        assert len(members(ack)) == 3
        for x in (a, b):
            ev = await x.expect_event("presence:join", room="lobby")
            assert ev["payload"] == {"id": c.id, "user": None, "meta": {}}
        # the joiner gets no presence:join for itself
        await c.expect_silence(0.3, types=["presence:join"])
        await b.expect_silence(0.1, types=["presence:join"])
        await close_all([a, b, c])
    asyncio.run(main())


def test_rejoin_is_idempotent(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("r1", {"v": 1})
        await b.join("r1")
        await a.expect_event("presence:join", room="r1")
        ack = await b.join("r1", {"v": 2})                # again, other meta
        assert members(ack) == [(a.id, None, {"v": 1}), (b.id, None, {})]
        ack = await a.join("r1", {"v": 3})
        assert members(ack) == [(a.id, None, {"v": 1}), (b.id, None, {})]
        await a.expect_silence(0.4, types=["presence:join", "presence:leave"])
        await b.expect_silence(0.1, types=["presence:join", "presence:leave"])
        ack = await a.ok("presence:list", room="r1")
        assert members(ack) == [(a.id, None, {"v": 1}), (b.id, None, {})]
        await close_all([a, b])
    asyncio.run(main())


def test_meta_rules(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await b.join("m")
        # exactly 1 KiB as compact JSON is fine, one byte more is not
        meta = {"x": "a" * (1024 - len('{"x":""}'))}
        assert len(json.dumps(meta, separators=(",", ":"))) == 1024
        big = {"x": "a" * (1025 - len('{"x":""}'))}
        await a.err("room:join", "bad_request", room="m", payload=big)
        for bad in ([1, 2], "name", 5, True):
            await a.err("room:join", "bad_request", room="m", payload=bad)
        await a.err("room:join", "bad_request")                          # no room
        await a.err("room:join", "bad_request", room="bad room")
        # none of those joined
        await b.expect_silence(0.3, types=["presence:join"])
        await a.err("presence:list", "not_in_room", room="m")
        # pretty-printed size does not count, compact does: spaces in the request are fine
        ack = await a.join("m", meta)
        assert members(ack)[-1] == (a.id, None, meta)
        ev = await b.expect_event("presence:join", room="m")
        assert ev["payload"]["meta"] == meta
        await close_all([a, b])
    asyncio.run(main())


def test_leave_and_presence_leave(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("l")
        await b.join("l")
        await a.expect_event("presence:join", room="l")
        assert await b.ok("room:leave", room="l") == {}
        ev = await a.expect_event("presence:leave", room="l")
        assert ev == {"type": "presence:leave", "room": "l", "payload": {"id": b.id, "user": None}}
        await b.err("room:leave", "not_in_room", room="l")
        await b.err("room:leave", "not_in_room", room="never-joined")
        await b.err("room:leave", "bad_request")
        ack = await a.ok("presence:list", room="l")
        assert members(ack) == [(a.id, None, {})]
        # b no longer receives the room's messages
        await a.ok("l.msg", room="l", payload=1)
        await b.expect_silence(0.3, types=["l.msg"])
        # and may come back
        await b.join("l")
        await a.expect_event("presence:join", room="l")
        await close_all([a, b])
    asyncio.run(main())


def test_rooms_per_connection_limit(rt):
    r = rt.router(max_rooms=3)
    g = rt.gateway(r)

    async def main():
        a = await Client.connect(g.url)
        for i in range(3):
            await a.join("room%d" % i)
        await a.err("room:join", "limit", room="room3")
        await a.join("room1")                                  # rejoining is not a new room
        await a.ok("room:leave", room="room0")
        await a.join("room3")
        await a.err("room:join", "limit", room="room4")
        await a.close()
    asyncio.run(main())


def test_presence_list(cluster):
    rt, r, g = cluster

    async def main():
        a, b, c = await clients(g.url, 3)
        await a.join("p", {"k": "a"})
        await b.join("p", {"k": "b"})
        ack = await b.ok("presence:list", room="p")
        assert ack == {"room": "p", "members": [{"id": a.id, "user": None, "meta": {"k": "a"}},
                                                {"id": b.id, "user": None, "meta": {"k": "b"}}]}
        await c.err("presence:list", "not_in_room", room="p")
        await c.err("presence:list", "not_in_room", room="nobody-here")
        await c.err("presence:list", "bad_request")
        await close_all([a, b, c])
    asyncio.run(main())


def test_close_sends_presence_leave_in_every_room(cluster):
    rt, r, g = cluster

    async def main():
        a, b, c = await clients(g.url, 3)
        await a.join("one")
        await a.join("two")
        await a.join("three")
        await b.join("one")
        await c.join("two")
        await c.join("three")
        await a.close()
        ev = await b.expect_event("presence:leave", room="one")
        assert ev["payload"] == {"id": a.id, "user": None}
        for room in ("two", "three"):
            ev = await c.expect_event("presence:leave", room=room)
            assert ev["payload"] == {"id": a.id, "user": None}
        ack = await b.ok("presence:list", room="one")
        assert members(ack) == [(b.id, None, {})]
        await close_all([b, c])
    asyncio.run(main())


def test_abrupt_tcp_drop_sends_presence_leave(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("drop")
        await b.join("drop")
        a.ws.transport.abort()                                  # no close frame, TCP reset
        ev = await b.expect_event("presence:leave", room="drop", timeout=5)
        assert ev["payload"]["id"] == a.id
        await b.close()
    asyncio.run(main())
