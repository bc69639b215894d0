"""Frames: validation of every field, size/binary/UTF-8 limits, nesting, rate limit, slow
consumers, silent clients."""
import asyncio
import json
import time

import pytest

from rt import SLOW, Client, RawWS, WSClosed, clients, close_all


def test_oversized_message_closes_1009(rt):
    r = rt.router()
    g = rt.gateway(r, max_message=1024)

    async def main():
        c = await Client.connect(g.url)
        # just under the limit is fine
        body = {"type": "ping", "id": 1, "payload": ""}
        body["payload"] = "a" * (1024 - len(json.dumps(body)))
        assert len(json.dumps(body)) == 1024
        a = await c.request("ping", payload=body["payload"])
        assert a["type"] == "ack"
        await c.send(json.dumps({"type": "ping", "payload": "a" * 2000}))
        await c.expect_close(1009)
    asyncio.run(main())


def test_default_message_limit_is_64_KiB(cluster):
    rt, r, g = cluster

    async def main():
        c = await Client.connect(g.url)
        frame = {"type": "ping", "id": 1, "payload": ""}
        frame["payload"] = "b" * (65536 - len(json.dumps(frame)))
        await c.send(json.dumps(frame))
        assert (await c.answer(1))["type"] == "ack"
        frame["payload"] += "b"
        await c.send(json.dumps(frame))
        await c.expect_close(1009)
    asyncio.run(main())


def test_oversized_declared_frame_closes_1009_at_once(cluster):
    rt, r, g = cluster
    ws = RawWS(g.port)
    ws.recv_json()                               # welcome
    # a frame header declaring 1 GiB, followed by a few bytes only
    ws.send_frame(0x1, b'{"type":"ping"', declared_len=1 << 30)
    code, _ = ws.read_until_close(5 * SLOW)
    ws.close()
    assert code == 1009


def test_binary_frame_closes_1003(cluster):
    rt, r, g = cluster

    async def main():
        c = await Client.connect(g.url)
        await c.send(b'{"type":"ping","id":1}')
        await c.expect_close(1003)
    asyncio.run(main())


def test_invalid_utf8_closes_1007(cluster):
    rt, r, g = cluster
    ws = RawWS(g.port)
    ws.recv_json()
    ws.send_text(b'{"type":"ping","payload":"\xc3\x28"}')
    code, msgs = ws.read_until_close(5 * SLOW)
    ws.close()
    assert code == 1007, (code, msgs)


def test_fragmented_message_is_one_message(cluster):
    rt, r, g = cluster
    ws = RawWS(g.port)
    ws.recv_json()
    msg = json.dumps({"type": "ping", "id": 77, "payload": "x" * 3000}).encode()
    ws.send_frame(0x1, msg[:10], fin=False)
    ws.send_frame(0x0, msg[10:2000], fin=False)
    ws.send_frame(0x0, msg[2000:], fin=True)
    a = ws.recv_json(5 * SLOW)
    ws.close()
    assert a["type"] == "ack" and a["id"] == 77, a


BAD_WITH_ID = [
    {"type": "ping", "id": 5, "room": ""},
    {"type": "ping", "id": 5, "room": "a b"},
    {"type": "ping", "id": 5, "room": "x#y"},
    {"type": "ping", "id": 5, "room": "caf\u00e9"},
    {"type": "ping", "id": 5, "room": "r" * 129},
    {"type": "ping", "id": 5, "room": 12},
    {"type": "x.y", "id": 5, "to": 12},
    {"type": "x.y", "id": 5, "to": ""},
    {"type": "x.y", "id": 5, "to": "a b"},
    {"type": "x.y", "id": 5, "to": "t" * 65},
    {"type": "", "id": 5},
    {"type": "t" * 65, "id": 5},
    {"type": "a b", "id": 5},
    {"type": "a/b", "id": 5},
    {"type": 7, "id": 5},
    {"id": 5},
    {"type": None, "id": 5},
]

BAD_ID = [
    {"type": "ping", "id": 0},
    {"type": "ping", "id": -1},
    {"type": "ping", "id": 2 ** 53},
    {"type": "ping", "id": 1.5},
    {"type": "ping", "id": "x"},
    {"type": "ping", "id": "5"},
    {"type": "ping", "id": True},
]

NOT_OBJECTS = ['{"type":', "[1,2]", '"ping"', "42", "null", "true", "", "{}x", '{"type":"ping"}{}',
               "{'type':'ping'}"]


def test_bad_fields_answer_bad_request_and_keep_the_connection(cluster):
    rt, r, g = cluster

    async def main():
        c = await Client.connect(g.url)
        for m in BAD_WITH_ID:
            await c.send(m)
            e = await c.answer(5)
            assert e["type"] == "error" and e["payload"]["code"] == "bad_request", (m, e)
        for m in BAD_ID:
            await c.send(m)
            e = await c.expect_event("error")
            assert e["payload"]["code"] == "bad_request", (m, e)
        for raw in NOT_OBJECTS:
            await c.send(raw)
            e = await c.expect_event("error")
            assert e["payload"]["code"] == "bad_request", (raw, e)
            assert "id" not in e or e["id"] is None, (raw, e)
        # the connection is still open and healthy
        await c.expect_silence(0.3)
        await c.ok("ping")
        await c.close()
    asyncio.run(main())


def test_field_edges_that_are_valid(cluster):
    rt, r, g = cluster

    async def main():
        c = await Client.connect(g.url)
        await c.send({"type": "ping", "id": 2 ** 53 - 1})
        a = await c.answer(2 ** 53 - 1)
        assert a["type"] == "ack" and a["id"] == 2 ** 53 - 1
        room = "A-z_0.9:@/" + "r" * 118
        assert len(room) == 128
        m = await c.join(room)
        assert m["room"] == room
        t = "T" * 60 + ".:_-"
        await c.ok(t, room=room)
        # unknown extra fields are ignored
        a = await c.request("ping", extra={"x": 1}, whatever=[1, 2])
        assert a["type"] == "ack"
        await c.close()
    asyncio.run(main())


def nest(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v


def test_payload_nesting_32_ok_33_bad_request(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("deep")
        await b.join("deep")
        await a.ok("deep.msg", room="deep", payload=nest(32))
        ev = await b.expect_event("deep.msg", room="deep")
        assert ev["payload"] == nest(32)
        await a.err("deep.msg", "bad_request", room="deep", payload=nest(33))
        await a.err("deep.msg", "bad_request", room="deep", payload={"a": nest(40)})
        await b.expect_silence(0.3, types=["deep.msg"])
        await a.ok("ping")
        await close_all([a, b])
    asyncio.run(main())


def test_rate_limit_burst_then_rate_limited_then_1008(rt):
    r = rt.router()
    g = rt.gateway(r, rate_limit=5, rate_burst=10)

    async def main():
        c = await Client.connect(g.url)
        ids = []
        for i in range(30):
            c.next_id += 1
            ids.append(c.next_id)
            await c.send({"type": "ping", "id": c.next_id})
        answers = [await c.answer(i) for i in ids]
        acked = [a for a in answers if a["type"] == "ack"]
        limited = [a for a in answers if a["type"] == "error"]
        assert all(a["payload"]["code"] == "rate_limited" for a in limited), limited
        assert 10 <= len(acked) <= 13, "burst 10 then 5/s: %d acked" % len(acked)
        assert len(limited) >= 17
        # the budget refills at 5/s: after a pause a request passes again; the pause is long
        # enough to hold one whole second without limiting (it ends the "limited" streak)
        await asyncio.sleep(2.2)
        await c.ok("ping")
        # limited in each of 10 consecutive seconds -> 1008
        t0 = time.monotonic()
        # One frame every 20 ms (50/s, ten times the limit): few frames are in flight when the
        # server closes, so its close frame is not lost to a TCP reset.
        try:
            while time.monotonic() - t0 < 14 * SLOW:
                await c.send({"type": "ping"})
                await asyncio.sleep(0.02)
        except Exception:
            pass
        await c.expect_close(1008, timeout=5)
        elapsed = time.monotonic() - t0
        # 10 consecutive wall-clock seconds, the first and last partial: at least 8 s
        assert 8.0 <= elapsed <= 13 * SLOW, "closed after %.1fs of flooding" % elapsed
    asyncio.run(main())


def test_rate_limit_zero_turns_it_off(rt):
    r = rt.router()
    g = rt.gateway(r, rate_limit=0, rate_burst=10)

    async def main():
        c = await Client.connect(g.url)
        ids = []
        for i in range(400):
            c.next_id += 1
            ids.append(c.next_id)
            await c.send({"type": "ping", "id": c.next_id})
        for i in ids:
            a = await c.answer(i)
            assert a["type"] == "ack", a
        await c.close()
    asyncio.run(main())


def test_slow_consumer_closed_4008_others_unaffected(rt):
    r = rt.router()
    g = rt.gateway(r, max_queue=256 * 1024, rate_limit=0)
    n, size = 400, 16000            # 6.4 MB in all, far beyond 256 KiB + the kernel's buffers

    async def main():
        sender, reader = await clients(g.url, 2)
        await sender.join("flood")
        await reader.join("flood")
        slow = RawWS(g.port, rcvbuf=4096)       # never reads after the join
        slow_id = slow.recv_json()["payload"]["id"]
        slow.send_json({"type": "room:join", "room": "flood", "id": 1})
        assert slow.recv_json()["type"] == "ack"
        await sender.expect_event("presence:join", room="flood")
        await reader.expect_event("presence:join", room="flood")
        blob = "z" * size
        got = []
        for i in range(n):
            await sender.send({"type": "flood.msg", "room": "flood", "payload": [i, blob]})
            if i % 8 == 7:      # the reader keeps up: never more than 128 KiB queued for it
                while len(got) <= i:
                    ev = await reader.expect_event("flood.msg", timeout=20)
                    got.append(ev["payload"][0])
        while len(got) < n:
            ev = await reader.expect_event("flood.msg", timeout=20)
            got.append(ev["payload"][0])
        assert got == list(range(n))
        leave = await reader.expect_event("presence:leave", room="flood", timeout=10)
        assert leave["payload"]["id"] == slow_id
        code, _ = await asyncio.to_thread(slow.read_until_close, 30 * SLOW)
        slow.close()
        assert code == 4008
        await sender.ok("ping")
        await close_all([sender, reader])
    asyncio.run(main())


def test_silent_client_closed_and_leaves(rt):
    r = rt.router()
    g = rt.gateway(r, heartbeat=1)
    g_watch = rt.gateway(r)                 # default heartbeat: the watcher is never at risk

    async def main():
        watcher = await Client.connect(g_watch.url)
        await watcher.join("quiet")
        silent = RawWS(g.port, auto_pong=False)
        welcome = silent.recv_json()
        assert welcome["payload"]["heartbeat"] == 1
        silent_id = welcome["payload"]["id"]
        silent.send_json({"type": "room:join", "room": "quiet", "id": 1})
        ack = silent.recv_json()
        assert ack["type"] == "ack"
        j = await watcher.expect_event("presence:join", room="quiet")
        assert j["payload"]["id"] == silent_id
        t0 = time.monotonic()
        leave = await watcher.expect_event("presence:leave", room="quiet", timeout=6)
        dt = time.monotonic() - t0
        assert leave["payload"]["id"] == silent_id
        assert 1.5 <= dt <= 5 * SLOW, "silent client dropped after %.1fs" % dt
        code, _ = await asyncio.to_thread(silent.read_until_close, 5)
        assert silent.pings >= 1
        silent.close()
        assert code == 4009, code
        await watcher.close()
    asyncio.run(main())


def test_clients_that_answer_pings_stay_connected(rt):
    r = rt.router()
    g = rt.gateway(r, heartbeat=1)

    async def main():
        c = await Client.connect(g.url)                 # websockets answers pings by itself
        assert c.welcome["payload"]["heartbeat"] == 1
        await c.join("alive")
        raw = RawWS(g.port, auto_pong=True)
        raw.recv_json()
        # 4 heartbeats: twice the allowance
        try:
            await asyncio.to_thread(raw.recv_json, 4.5)
            raise AssertionError("unexpected frame")
        except WSClosed as e:
            raise AssertionError("a client that answered %d pings was closed with %s %r" % (
                raw.pings, e.code, e.reason))
        except OSError:                                 # socket.timeout: nothing, as it should
            pass
        assert raw.pings >= 3, raw.pings
        raw.close()
        await c.expect_silence(0.1)
        await c.ok("ping")
        await c.close()
    asyncio.run(main())


# ---- limits defined once: what a flag accepts, the router's frames can carry ----------------

# wire_limits.h: frames of 4 MiB and 64 levels; a member's meta sits five levels down, and
# a client message keeps 1 KiB of the frame free for what the `out` envelope adds.
PAYLOAD_DEPTH_MAX = 64 - 5
MESSAGE_MAX = 4 * 1024 * 1024 - 1024


def nested(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def answers(client, rid):
    return [f for f in client.seen if f.get("type") in ("ack", "error") and f.get("id") == rid]


@pytest.mark.parametrize("flag,limit", [("--max-depth", PAYLOAD_DEPTH_MAX),
                                        ("--max-message", MESSAGE_MAX)])
def test_limit_flags_refuse_what_the_router_cannot_carry(flag, limit):
    import subprocess
    from rt import binary
    p = subprocess.run([binary("rt-gateway"), flag, str(limit + 1)], capture_output=True,
                       text=True, timeout=10 * SLOW)
    assert p.returncode == 2, p.stderr
    assert flag[2:] in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_payload_at_and_just_over_the_deepest_nesting_gets_one_answer(rt):
    r = rt.router()
    g = rt.gateway(r, max_depth=PAYLOAD_DEPTH_MAX)

    async def main():
        a, b = await clients(g.url, 2)
        # a meta at the deepest nesting fits the join ack and presence:join of every member
        meta = {"m": nested(PAYLOAD_DEPTH_MAX - 1)}
        await a.join("deep")
        ack = await b.request("room:join", room="deep", payload=meta)
        assert ack["type"] == "ack", ack
        assert [m["meta"] for m in ack["payload"]["members"]][-1] == meta
        assert (await a.expect_event("presence:join", room="deep"))["payload"]["meta"] == meta
        await a.send({"type": "chat", "room": "deep", "id": 1001, "echo": True,
                      "payload": nested(PAYLOAD_DEPTH_MAX)})
        assert (await a.answer(1001))["type"] == "ack"
        for c in (a, b):
            ev = await c.expect_event("chat", room="deep")
            assert ev["payload"] == nested(PAYLOAD_DEPTH_MAX)
        await a.send({"type": "chat", "room": "deep", "id": 1002, "echo": True,
                      "payload": nested(PAYLOAD_DEPTH_MAX + 1)})
        e = await a.answer(1002)
        assert e["type"] == "error" and e["payload"]["code"] == "bad_request", e
        await asyncio.sleep(0.5 * SLOW)
        with pytest.raises(asyncio.TimeoutError):
            await b.recv_json(0.2)       # the refused message reached nobody
        assert len(answers(a, 1001)) == 1 and len(answers(a, 1002)) == 1, a.seen
        await close_all([a, b])
    asyncio.run(main())


def test_message_at_the_size_limit_and_one_that_outgrows_it_once_encoded(rt):
    r = rt.router()
    g = rt.gateway(r, max_message=MESSAGE_MAX, max_queue="16M")

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("big")
        await b.join("big")
        # a string payload just inside the limit: the room event carries it whole
        text = "x" * (MESSAGE_MAX - 2000)
        await a.send({"type": "chat", "room": "big", "id": 1001, "payload": text})
        assert (await a.answer(1001, timeout=20))["type"] == "ack"
        ev = await b.expect_event("chat", timeout=20, room="big")
        assert ev["payload"] == text
        # within --max-message as JSON, but 9 msgpack bytes for every 4 JSON bytes
        doubles = "[" + ",".join(["1.1"] * ((MESSAGE_MAX - 200) // 4)) + "]"
        frame = '{"type":"chat","room":"big","id":1002,"payload":%s}' % doubles
        assert len(frame) <= MESSAGE_MAX
        await a.send(frame)
        e = await a.answer(1002, timeout=20)
        assert e["type"] == "error" and e["payload"]["code"] == "bad_request", e
        # nothing else broke: the gateway's link to the router still carries traffic
        await b.send({"type": "chat", "room": "big", "id": 1003, "payload": "after"})
        assert (await b.answer(1003))["type"] == "ack"
        assert (await a.expect_event("chat", room="big"))["payload"] == "after"
        assert len(answers(a, 1001)) == 1 and len(answers(a, 1002)) == 1
        await close_all([a, b])
    asyncio.run(main())
