"""The service API (CONTRACT.md §3) against a real router and gateway: Python services on a
DEALER (python3-zmq, python3-msgpack) registering patterns and handling client messages, every
request op with its ok and error cases, the events PUB with prefix subscriptions, and garbage
on the API port."""
import asyncio
import queue
import socket
import threading
import time

import msgpack
import zmq

from rt import SLOW, Client, close_all

CTX = zmq.Context.instance()


class Service:
    """One service: a DEALER owned by a background thread that heartbeats every 300 ms and
    answers each `handle` with handler(msg) (a `handled` map without op/token, or None for no
    answer). call() sends a request with a fresh req and waits for its reply."""

    def __init__(self, router, name="svc", types=None, handler=None, heartbeat=True):
        self.endpoint = "tcp://127.0.0.1:%d" % router.ports["api"]
        self.name = name
        self.handler = handler or (lambda m: {})
        self.heartbeat = heartbeat
        self.handles = []            # every handle received
        self.heartbeats = queue.Queue()
        self.replies = {}
        self.cv = threading.Condition()
        self.out = queue.Queue()
        self.next_req = 0
        self.running = True
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        if types is not None:
            r = self.call("register", name=name, types=types)
            assert r["ok"], r

    def _run(self):
        s = CTX.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(self.endpoint)
        last_hb = 0
        try:
            while self.running:
                while True:
                    try:
                        s.send(self.out.get_nowait())
                    except queue.Empty:
                        break
                if self.heartbeat and time.monotonic() - last_hb > 0.3:
                    s.send(msgpack.packb({"op": "heartbeat"}))
                    last_hb = time.monotonic()
                if not s.poll(20):
                    continue
                m = msgpack.unpackb(s.recv(), raw=False)
                op = m.get("op")
                if op == "handle":
                    with self.cv:
                        self.handles.append(m)
                        self.cv.notify_all()
                    ans = self.handler(m)
                    if ans is not None:
                        s.send(msgpack.packb(dict(ans, op="handled", token=m["token"])))
                elif op == "reply":
                    with self.cv:
                        self.replies[m["req"]] = m
                        self.cv.notify_all()
                elif op == "heartbeat":
                    self.heartbeats.put(m)
        finally:
            s.close()

    def send_raw(self, data):
        self.out.put(data)

    def send(self, **fields):
        self.out.put(msgpack.packb(fields))

    def call(self, op, timeout=5.0, **fields):
        with self.cv:
            self.next_req += 1
            req = "%s-%d" % (self.name, self.next_req)
        self.send(op=op, req=req, **fields)
        return self.reply(req, timeout)

    def reply(self, req, timeout=5.0):
        deadline = time.monotonic() + timeout * SLOW
        with self.cv:
            while req not in self.replies:
                left = deadline - time.monotonic()
                assert left > 0, "%s: no reply to %r" % (self.name, req)
                self.cv.wait(left)
            return self.replies.pop(req)

    def ok(self, op, **fields):
        r = self.call(op, **fields)
        assert r["op"] == "reply" and r["ok"] is True, "%s %s -> %r" % (op, fields, r)
        return r["result"]

    def err(self, op, expect, **fields):
        r = self.call(op, **fields)
        assert r["op"] == "reply" and r["ok"] is False, "%s %s -> %r" % (op, fields, r)
        assert r["error"]["code"] == expect, "%s %s: expected %s, got %r" % (op, fields, expect, r)
        assert isinstance(r["error"]["message"], str)
        return r

    def stop(self):
        """Closes the DEALER: the router drops the registration after 3 s of silence."""
        self.running = False
        self.t.join(5)


class Events:
    """A SUB on the events PUB with one prefix."""

    def __init__(self, router, prefix=""):
        self.s = CTX.socket(zmq.SUB)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.setsockopt(zmq.SUBSCRIBE, prefix.encode())
        self.s.connect("tcp://127.0.0.1:%d" % router.ports["events"])
        time.sleep(0.3 * SLOW)   # slow joiner

    def next(self, timeout=3.0):
        if not self.s.poll(int(timeout * 1000 * SLOW)):
            return None
        topic, body = self.s.recv_multipart()
        ev = msgpack.unpackb(body, raw=False)
        assert ev["type"] == topic.decode(), (topic, ev)
        assert isinstance(ev["node"], str) and isinstance(ev["ts"], int), ev
        assert abs(ev["ts"] - time.time() * 1000) < 60000, ev
        return ev

    def drain(self, seconds=0.5):
        out = []
        deadline = time.monotonic() + seconds * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            ev = self.next(left / SLOW)
            if ev is None:
                return out
            out.append(ev)

    def wait(self, pred, timeout=3.0):
        deadline = time.monotonic() + timeout * SLOW
        seen = []
        while time.monotonic() < deadline:
            ev = self.next(max(0.01, (deadline - time.monotonic()) / SLOW))
            if ev is None:
                break
            if pred(ev):
                return ev
            seen.append(ev)
        raise AssertionError("no matching event; seen %r" % seen)

    def close(self):
        self.s.close()


def test_register_handle_ack_and_default_reply(rt):
    r = rt.router(node_id="n1")
    g = rt.gateway(r)

    def handler(m):
        if m["type"] == "chat:quiet":
            return {}
        return {"reply": {"echo": m["payload"], "type": m["type"]}}
    svc = Service(r, "chat", ["chat:*"], handler)

    async def main():
        a = await Client.connect(g.url)
        await a.join("lobby")
        assert await a.ok("chat:say", room="lobby", payload={"t": "hi"}) == \
            {"echo": {"t": "hi"}, "type": "chat:say"}
        h = svc.handles[-1]
        assert h["op"] == "handle" and h["type"] == "chat:say" and h["room"] == "lobby"
        assert h["from"] == a.id and h["id"] == 1 + 1 and h["payload"] == {"t": "hi"}
        assert h["node"] == "n1" and "token" in h and "user" not in h and "to" not in h
        # no reply in the handled: {} ; the default route is not taken (nobody else gets it)
        assert await a.ok("chat:quiet", payload=[1, 2]) == {}
        # without an id: handled, no answer to the client
        n = len(svc.handles)
        await a.send({"type": "chat:noid", "payload": None})
        await a.expect_silence(0.5, types=["ack", "error"])
        assert len(svc.handles) == n + 1 and "id" not in svc.handles[-1]
        # other types keep their old routes
        await a.err("other:thing", "bad_request")
        await a.ok("ping")
        await a.close()
    asyncio.run(main())
    svc.stop()


def test_error_passthrough_and_actions_in_order(rt):
    r = rt.router()
    g = rt.gateway(r)
    state = {}

    def handler(m):
        p = m["payload"] or {}
        if m["type"] == "svc:fail":
            return {"error": {"code": p["code"], "message": "nope"}}
        return {"reply": {"done": True}, "actions": [
            {"op": "publish", "room": "r1", "type": "svc:news", "payload": {"n": 1},
             "from": m["from"]},
            {"op": "send", "to": state["b"], "type": "svc:direct", "payload": {"n": 2}},
            {"op": "send", "to": "nobody-here", "type": "svc:direct", "payload": {}},
            {"op": "join", "conn": state["b"], "room": "r2", "meta": {"role": "x"}},
        ]}
    svc = Service(r, "svc", ["svc:*"], handler)

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        state["b"] = b.id
        await a.join("r1")
        await b.join("r1")
        for code in ("forbidden", "not_in_room", "rate_limited", "limit"):
            e = await a.err("svc:fail", code, payload={"code": code})
            assert e["payload"]["message"] == "nope"
        await a.err("svc:fail", "internal", payload={"code": "made_up"})
        await a.err("svc:fail", "internal", payload={"code": 42})
        # actions run in order, before the ack
        await a.wait_for(lambda f: f.get("type") == "presence:join")
        assert await a.ok("svc:go", room="r1") == {"done": True}
        got = [await b.wait_for(lambda f: f.get("type", "").startswith(("svc:", "ack")))
               for _ in range(2)]
        assert got[0]["type"] == "svc:news" and got[0]["room"] == "r1" and \
            got[0]["from"] == a.id and got[0]["payload"] == {"n": 1}, got
        assert got[1]["type"] == "svc:direct" and got[1]["payload"] == {"n": 2} and \
            "from" not in got[1], got
        # the publish reached a too, before its ack (the ack was read above: check the order)
        idx_news = next(i for i, f in enumerate(a.seen) if f.get("type") == "svc:news")
        idx_ack = next(i for i, f in enumerate(a.seen) if f.get("type") == "ack" and
                       f.get("payload") == {"done": True})
        assert idx_news < idx_ack
        # the join action: b is in r2 now
        pres = svc.ok("presence", room="r2")
        assert pres == {"room": "r2", "members": [{"id": b.id, "user": None,
                                                   "meta": {"role": "x"}}]}
        await close_all([a, b])
    asyncio.run(main())
    svc.stop()


def test_round_robin_takeover_then_unavailable(rt):
    r = rt.router()
    g = rt.gateway(r)
    s1 = Service(r, "one", ["rr:*"], lambda m: {"reply": {"by": "one"}})
    s2 = Service(r, "two", ["rr:*"], lambda m: {"reply": {"by": "two"}})

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        await a.join("room")
        await b.join("room")
        by = [(await a.ok("rr:x", room="room"))["by"] for _ in range(6)]
        assert sorted(by) == ["one"] * 3 + ["two"] * 3, by
        assert all(by[i] != by[i + 1] for i in range(5)), by   # alternating
        s1.stop()
        await asyncio.sleep(3.6)
        by = [(await a.ok("rr:x", room="room"))["by"] for _ in range(4)]
        assert by == ["two"] * 4, by
        s2.stop()
        await asyncio.sleep(3.6)
        # the pattern stays service-owned: unavailable, never the default route
        await a.err("rr:x", "unavailable", room="room")
        await b.expect_silence(0.3, types=["rr:x"])
        await close_all([a, b])
    asyncio.run(main())


def test_timeout_and_late_handled_ignored(rt):
    r = rt.router(service_timeout=400)
    g = rt.gateway(r)
    svc = Service(r, "slow", ["slow:x"], lambda m: None)

    async def main():
        a = await Client.connect(g.url)
        t0 = time.monotonic()
        await a.err("slow:x", "timeout")
        assert time.monotonic() - t0 >= 0.35
        # a late handled is ignored: no second answer
        svc.send(op="handled", token=svc.handles[-1]["token"], reply={"late": True})
        await a.expect_silence(0.5, types=["ack", "error"])
        # exact pattern: slow:y is not owned
        await a.err("slow:y", "bad_request")
        await a.close()
    asyncio.run(main())
    svc.stop()


def test_register_rules_and_webrtc(rt):
    r = rt.router()
    g = rt.gateway(r)
    svc = Service(r, "sig")
    for p in ("room:*", "presence:list", "sys:x", "conn:*", "mesh:a", "ping"):
        svc.err("register", "forbidden", name="x", types=[p])
    for bad in (["a b"], ["x*y"], [""], [5], [], "chat:*", ["x" * 70]):
        svc.err("register", "bad_request", name="x", types=bad)
    svc.err("register", "bad_request", name="x")
    # a rejected register adds nothing, even its valid patterns
    svc.err("register", "forbidden", name="x", types=["fine:*", "sys:*"])

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        await a.join("call")
        await b.join("call")
        await a.err("fine:x", "not_in_room", room="nope")   # default route: not owned
        await a.err("webrtc:offer", "unavailable", room="call", to=b.id,
                    payload={"type": "offer", "sdp": "v=0"})
        await a.err("webrtc:join", "unavailable", room="call")
        await a.err("webrtc:other", "unknown_type", room="call")
        svc.handler = lambda m: {"reply": {"seen": m["type"]}}
        assert svc.ok("register", name="sig", types=["webrtc:*"]) == {}
        for t in ("webrtc:offer", "webrtc:join", "webrtc:other"):
            assert await a.ok(t, room="call", to=b.id) == {"seen": t}
        await a.err("room:bogus", "unknown_type")
        await close_all([a, b])
    asyncio.run(main())
    svc.stop()


def test_heartbeat_registration_and_expiry(rt):
    r = rt.router()
    s = Service(r, "hb", heartbeat=False)
    s.send(op="heartbeat")
    assert s.heartbeats.get(timeout=5) == {"op": "heartbeat", "registered": False}
    s.ok("register", name="hb", types=["hb:*"])
    s.send(op="heartbeat")
    assert s.heartbeats.get(timeout=5) == {"op": "heartbeat", "registered": True}
    assert s.ok("stats")["services"] == 1
    time.sleep(3.6)
    s.send(op="heartbeat")
    assert s.heartbeats.get(timeout=5) == {"op": "heartbeat", "registered": False}
    assert s.ok("stats")["services"] == 0
    s.stop()


def test_request_ops(rt):
    r = rt.router()
    g = rt.gateway(r)
    svc = Service(r, "ops")

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        c = await Client.connect(g.url)
        await a.join("room1", {"nick": "A"})
        await b.join("room1")
        await a.expect_event("presence:join", room="room1")
        # publish: every member, except, from
        assert svc.ok("publish", room="room1", type="news", payload={"x": 1}) == {}
        for cl in (a, b):
            ev = await cl.expect_event("news", room="room1")
            assert ev["payload"] == {"x": 1} and "from" not in ev
        svc.ok("publish", room="room1", type="news2", payload=None, **{"except": a.id,
                                                                      "from": a.id})
        ev = await b.expect_event("news2", room="room1")
        assert ev["from"] == a.id
        await a.expect_silence(0.3, types=["news2"])
        svc.err("publish", "bad_request", room="bad room", type="x", payload=1)
        svc.err("publish", "bad_request", room="r", payload=1)
        # send
        assert svc.ok("send", to=c.id, type="dm", payload="hello", room="r9", **{"from": a.id}) == {}
        ev = await c.expect_event("dm")
        assert ev == {"type": "dm", "room": "r9", "from": a.id, "payload": "hello"}
        svc.err("send", "peer_not_found", to="nobody", type="dm", payload=1)
        svc.err("send", "bad_request", type="dm", payload=1)
        # join / leave with presence events
        res = svc.ok("join", conn=c.id, room="room1", meta={"by": "svc"})
        assert res["room"] == "room1" and [m["id"] for m in res["members"]] == [a.id, b.id, c.id]
        ev = await a.expect_event("presence:join", room="room1")
        assert ev["payload"] == {"id": c.id, "user": None, "meta": {"by": "svc"}}
        svc.err("join", "peer_not_found", conn="ghost", room="room1")
        svc.err("join", "bad_request", conn=c.id, room="room1", meta=[1])
        svc.err("join", "bad_request", conn=c.id)
        # presence / rooms
        pres = svc.ok("presence", room="room1")
        assert pres["room"] == "room1"
        assert pres["members"][0] == {"id": a.id, "user": None, "meta": {"nick": "A"}}
        assert svc.ok("presence", room="empty") == {"room": "empty", "members": []}
        svc.err("presence", "bad_request")
        assert svc.ok("rooms") == [{"room": "room1", "members": 3}]
        assert svc.ok("leave", conn=c.id, room="room1") == {}
        ev = await a.expect_event("presence:leave", room="room1")
        assert ev["payload"] == {"id": c.id, "user": None}
        svc.err("leave", "not_in_room", conn=c.id, room="room1")
        svc.err("leave", "peer_not_found", conn="ghost", room="room1")
        # stats
        st = svc.ok("stats")
        for k in ("connections", "rooms", "messages_in", "messages_out", "services",
                  "mesh_peers", "bad_frames"):
            assert isinstance(st[k], int), (k, st)
        assert st["connections"] == 3 and st["rooms"] == 1 and st["mesh_peers"] == 0
        assert st["messages_in"] >= 2 and st["messages_out"] > 0
        # unknown op, missing op
        svc.err("frobnicate", "bad_request")
        # no req: done, no reply
        svc.send(op="publish", room="room1", type="quiet", payload=None)
        await b.expect_event("quiet", room="room1")
        # disconnect: code checks first, then the connection
        for code in (999, 1001, 3000, 5000, "x"):
            svc.err("disconnect", "bad_request", conn=c.id, code=code)
        svc.err("disconnect", "peer_not_found", conn="ghost")
        assert svc.ok("disconnect", conn=c.id, code=4321, reason="bye") == {}
        await c.expect_close(4321)
        assert svc.ok("disconnect", conn=b.id) == {}
        await b.expect_close(1000)
        await a.close()
    asyncio.run(main())
    svc.stop()


def test_events_with_prefix_filters(rt):
    r = rt.router(node_id="evnode")
    g = rt.gateway(r)
    chat = Events(r, "chat:")
    every = Events(r, "")

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        await a.join("r", {"k": 1})
        await b.join("r")
        await a.ok("chat:msg", room="r", payload={"text": "hi"})
        await a.ok("other:msg", room="r", to=b.id, payload=3)
        await a.err("chat:msg", "not_in_room", room="elsewhere")   # failed: not published
        await a.ok("ping")
        await a.ok("room:leave", room="r")
        await a.close()
        await b.close()
    asyncio.run(main())
    time.sleep(0.5 * SLOW)
    evs = chat.drain(1.0)
    assert [e["type"] for e in evs] == ["chat:msg"], evs
    e = evs[0]
    assert e["room"] == "r" and e["payload"] == {"text": "hi"} and e["node"] == "evnode"
    assert "to" not in e and "user" not in e and isinstance(e["from"], str)
    a_id = e["from"]
    evs = every.drain(1.0)
    # the gateway's readiness probe may close its connection after we subscribed: skip it
    evs = evs[next(i for i, e in enumerate(evs) if e["type"] == "conn:open"):]
    types = [e["type"] for e in evs]
    assert types[:2] == ["conn:open", "conn:open"], types
    assert types.count("presence:join") == 2 and types.count("conn:close") == 2, types
    assert "ping" not in types and "room:join" not in types, types
    pj = next(e for e in evs if e["type"] == "presence:join" and e["conn"] == a_id)
    assert pj["room"] == "r" and pj["meta"] == {"k": 1} and pj["user"] is None
    other = next(e for e in evs if e["type"] == "other:msg")
    assert other["to"] and other["payload"] == 3
    # a's leave, then b's leave when it closes; each conn:close after its presence:leave
    pl = [e for e in evs if e["type"] == "presence:leave"]
    assert [e["conn"] for e in pl][0] == a_id and all(e["room"] == "r" for e in pl), pl
    for e in evs:
        if e["type"] == "conn:close":
            assert set(e) == {"type", "conn", "user", "node", "ts"}
    chat.close()
    every.close()


def test_service_handled_messages_are_published(rt):
    r = rt.router()
    g = rt.gateway(r)
    svc = Service(r, "pub", ["svc:*"], lambda m: ({"error": {"code": "forbidden", "message": "no"}}
                                                   if m["payload"] == "bad" else {}))
    ev = Events(r, "svc:")

    async def main():
        a = await Client.connect(g.url)
        await a.ok("svc:a", payload="good")
        await a.err("svc:a", "forbidden", payload="bad")
        await a.close()
    asyncio.run(main())
    evs = ev.drain(1.0)
    assert [(e["type"], e["payload"]) for e in evs] == [("svc:a", "good")], evs
    ev.close()
    svc.stop()


def test_malformed_frames_on_the_api_port(rt):
    r = rt.router()
    g = rt.gateway(r)
    svc = Service(r, "bad")
    before = svc.ok("stats")["bad_frames"]
    svc.send_raw(b"\xc1garbage")                                 # not msgpack
    svc.send_raw(msgpack.packb([1, 2, 3]))                        # not a map
    svc.send_raw(b"\xdf\xff\xff\xff\xff")                         # map32 claiming 4 G pairs
    svc.send_raw(msgpack.packb({"req": 7}))                       # no op: req readable
    r7 = svc.reply(7)
    assert r7["ok"] is False and r7["error"]["code"] == "bad_request"
    svc.send_raw(msgpack.packb({"op": 5, "req": "x"}))
    assert svc.reply("x")["error"]["code"] == "bad_request"
    svc.send_raw(msgpack.packb({"op": "publish", "req": 8.5, "room": 1}))
    assert svc.reply(8.5)["error"]["code"] == "bad_request"
    svc.send_raw(msgpack.packb({"op": "handled", "token": "nope"}))  # unknown token: ignored
    # raw TCP garbage on the port (a bogus ZMTP peer)
    s = socket.create_connection(("127.0.0.1", r.ports["api"]))
    s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"garbage" * 100)
    time.sleep(0.2)
    s.close()
    st = svc.ok("stats")
    assert st["bad_frames"] >= before + 4, st
    assert r.alive()

    async def main():
        a = await Client.connect(g.url)
        await a.ok("ping")
        await a.close()
    asyncio.run(main())
    svc.stop()


def test_values_too_deep_for_a_client_frame_are_refused_with_an_answer(rt):
    """A service frame may nest 64 levels, but an answer or an event's payload travels to clients
    two levels down in the router's `out`: one that deep would be dropped on the way silently."""
    r = rt.router()
    g = rt.gateway(r)

    def nested(depth):
        v = 1
        for _ in range(depth):
            v = [v]
        return v
    svc = Service(r, "deep", ["deep:*"],
                  lambda m: {"reply": nested(62 if m["type"] == "deep:ok" else 63)})

    async def main():
        a = await Client.connect(g.url)
        await a.join("d")
        assert await a.ok("deep:ok") == nested(62)
        e = await a.err("deep:ask", "internal")
        await a.expect_silence(0.5, types=["ack", "error"])   # exactly one answer
        svc.err("publish", "bad_request", room="d", type="x", payload=nested(63))
        svc.err("send", "bad_request", to=a.id, type="x", payload=nested(63))
        assert svc.ok("publish", room="d", type="x", payload=nested(62)) == {}
        assert (await a.expect_event("x", room="d"))["payload"] == nested(62)
        await a.expect_silence(0.3, types=["x"])
        assert e["id"] == a.next_id
        await a.close()
    asyncio.run(main())
    svc.stop()
