"""Dispatch: ping, the default route (room broadcast, echo, direct `to`), reserved namespaces,
exactly one answer per request, --auto-join and the custom-router example."""
import asyncio

import pytest

from rt import Client, clients, close_all


async def room_of(url, n, room):
    cs = await clients(url, n)
    for c in cs:
        await c.join(room)
    for i, c in enumerate(cs):            # drain presence:join of the later joiners
        for _ in range(n - 1 - i):
            await c.expect_event("presence:join", room=room)
    return cs


def test_ping_ack(cluster):
    rt, r, g = cluster

    async def main():
        c = await Client.connect(g.url)
        a = await c.request("ping")
        assert a == {"type": "ack", "id": 1, "payload": {}}, a
        await c.send({"type": "ping"})                         # no id: no answer
        await c.expect_silence(0.4)
        await c.close()
    asyncio.run(main())


def test_room_broadcast_except_sender_and_echo(cluster):
    rt, r, g = cluster

    async def main():
        a, b, c = await room_of(g.url, 3, "bc")
        p = {"text": "hi", "n": [1, 2.5, None, True], "big": 2 ** 60}
        assert await a.ok("chat.say", room="bc", payload=p) == {}
        for x in (b, c):
            ev = await x.expect_event("chat.say")
            assert ev == {"type": "chat.say", "room": "bc", "from": a.id, "payload": p}, ev
        await a.expect_silence(0.3, types=["chat.say"])
        # echo:true includes the sender
        await a.ok("chat.say", room="bc", payload=2, echo=True)
        for x in (a, b, c):
            ev = await x.expect_event("chat.say")
            assert ev == {"type": "chat.say", "room": "bc", "from": a.id, "payload": 2}, ev
        # payload absent -> null
        await a.ok("chat.say", room="bc")
        for x in (b, c):
            ev = await x.expect_event("chat.say")
            assert "payload" in ev and ev["payload"] is None, ev
        # no id: delivered, no ack
        await a.send({"type": "chat.say", "room": "bc", "payload": 3})
        ev = await c.expect_event("chat.say")
        assert ev["payload"] == 3
        await a.expect_silence(0.3)
        await close_all([a, b, c])
    asyncio.run(main())


def test_sender_not_member(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await b.join("closed")
        await a.err("chat.say", "not_in_room", room="closed", payload=1)
        await a.err("chat.say", "not_in_room", room="nobody", payload=1)
        await b.expect_silence(0.3, types=["chat.say"])
        await close_all([a, b])
    asyncio.run(main())


def test_auto_join(rt):
    r = rt.router(auto_join=True)
    g = rt.gateway(r)

    async def main():
        a, b = await clients(g.url, 2)
        await b.join("auto")
        assert await a.ok("chat.say", room="auto", payload="x") == {}
        j = await b.expect_event("presence:join", room="auto")
        assert j["payload"]["id"] == a.id
        ev = await b.expect_event("chat.say", room="auto")
        assert ev["from"] == a.id and ev["payload"] == "x"
        # presence:join came before the message
        assert b.seen.index(j) < b.seen.index(ev)
        ack = await a.ok("presence:list", room="auto")
        assert [m["id"] for m in ack["members"]] == [b.id, a.id]
        await close_all([a, b])
    asyncio.run(main())


def test_direct_to(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await room_of(g.url, 2, "shared")
        c = await Client.connect(g.url)
        await c.join("elsewhere")
        assert await a.ok("dm", to=b.id, payload={"k": 1}) == {}
        ev = await b.expect_event("dm")
        assert ev == {"type": "dm", "from": a.id, "payload": {"k": 1}}, ev   # no room
        await a.err("dm", "peer_not_found", to=c.id, payload=1)             # no shared room
        await a.err("dm", "peer_not_found", to="no-such-conn", payload=1)
        await a.err("dm", "peer_not_found", to=c.id + "x", payload=1)
        await c.expect_silence(0.3, types=["dm"])
        await close_all([a, b, c])
    asyncio.run(main())


def test_room_and_to(cluster):
    rt, r, g = cluster

    async def main():
        a, b, c = await room_of(g.url, 3, "rt")
        d = await Client.connect(g.url)
        await d.join("other")
        await a.join("other")
        await d.expect_event("presence:join", room="other")
        await a.ok("whisper", room="rt", to=b.id, payload="psst")
        ev = await b.expect_event("whisper")
        assert ev == {"type": "whisper", "room": "rt", "from": a.id, "payload": "psst"}
        await c.expect_silence(0.3, types=["whisper"])
        await a.expect_silence(0.0, types=["whisper"])
        # target shares another room but is not a member of this one
        await a.err("whisper", "peer_not_found", room="rt", to=d.id)
        # sender not a member of the room
        await d.err("whisper", "not_in_room", room="rt", to=b.id)
        await b.expect_silence(0.3, types=["whisper"])
        await close_all([a, b, c, d])
    asyncio.run(main())


def test_neither_room_nor_to(cluster):
    rt, r, g = cluster

    async def main():
        a = await Client.connect(g.url)
        await a.err("chat.say", "bad_request", payload=1)
        await a.close()
    asyncio.run(main())


@pytest.mark.parametrize("t", ["room:foo", "room:", "presence:bogus", "sys:x", "mesh:hello",
                               "conn:open"])
def test_unknown_reserved_type(cluster, t):
    rt, r, g = cluster

    async def main():
        a = await Client.connect(g.url)
        await a.join("z")
        await a.err(t, "unknown_type", room="z", payload=1)
        await a.close()
    asyncio.run(main())


def test_webrtc_types_unavailable_without_signaling(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await room_of(g.url, 2, "call")
        for t, p in (("webrtc:offer", {"type": "offer", "sdp": "v=0"}),
                     ("webrtc:answer", {"type": "answer", "sdp": "v=0"}),
                     ("webrtc:candidate", None), ("webrtc:bye", None)):
            await a.err(t, "unavailable", room="call", to=b.id, payload=p)
        await a.err("webrtc:join", "unavailable", room="call")
        # a webrtc: type the contract does not list: unknown_type until a service pattern takes it
        await a.err("webrtc:whatever", "unknown_type", room="call")
        await b.expect_silence(0.3, types=["webrtc:offer", "webrtc:answer", "webrtc:candidate",
                                           "webrtc:bye"])
        await close_all([a, b])
    asyncio.run(main())


def test_every_request_gets_exactly_one_answer(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await room_of(g.url, 2, "once")
        reqs = [
            {"type": "ping"},
            {"type": "chat.say", "room": "once", "payload": 1},
            {"type": "chat.say", "room": "none", "payload": 1},
            {"type": "chat.say", "to": b.id},
            {"type": "chat.say", "to": "nobody"},
            {"type": "chat.say"},
            {"type": "room:join", "room": "once"},
            {"type": "room:join", "room": "x", "payload": [1]},
            {"type": "room:leave", "room": "nope"},
            {"type": "presence:list", "room": "once"},
            {"type": "sys:nope"},
            {"type": "webrtc:offer", "room": "once", "to": b.id},
            {"type": "bad type"},
        ]
        ids = []
        for rep in range(4):
            for q in reqs:
                a.next_id += 1
                ids.append(a.next_id)
                await a.send(dict(q, id=a.next_id))
        for i in ids:
            await a.answer(i)
        await a.expect_silence(0.5, types=["ack", "error"])
        answered = [f["id"] for f in a.seen if f.get("type") in ("ack", "error")]
        assert sorted(answered) == [1] + ids          # 1: the room:join of room_of()
        await close_all([a, b])
    asyncio.run(main())


def test_order_one_sender_one_room(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await room_of(g.url, 2, "ord")
        for i in range(150):
            await a.send({"type": "seq", "room": "ord", "payload": i})
        got = [(await b.expect_event("seq"))["payload"] for _ in range(150)]
        assert got == list(range(150))
        await close_all([a, b])
    asyncio.run(main())


def test_custom_router_chat_message(rt):
    r = rt.router(binary_name="custom-router")
    g = rt.gateway(r)

    async def main():
        a, b, c = await clients(g.url, 3)
        await b.join("chat")
        await c.join("chat")
        await b.expect_event("presence:join", room="chat")
        # a is not a member: the chat:message handler joins it, then broadcasts except self
        await a.ok("chat:message", room="chat", payload={"text": "hello"})
        for x in (b, c):
            j = await x.expect_event("presence:join", room="chat")
            assert j["payload"]["id"] == a.id
            ev = await x.expect_event("chat:message", room="chat")
            assert ev["from"] == a.id and ev["payload"] == {"text": "hello"}
        await a.expect_silence(0.3, types=["chat:message"])
        ack = await a.ok("presence:list", room="chat")
        assert {m["id"] for m in ack["members"]} == {a.id, b.id, c.id}
        # built-ins and the default route still work in a custom router
        await b.ok("other.type", room="chat", payload=1)
        assert (await a.expect_event("other.type"))["payload"] == 1
        await close_all([a, b, c])
    asyncio.run(main())
