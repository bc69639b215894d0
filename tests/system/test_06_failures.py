"""Failures between processes: a gateway dies, the router restarts, garbage on ZeroMQ ports."""
import asyncio
import os
import random
import signal
import socket
import time

import msgpack
import zmq

from rt import SLOW, Client, clients, close_all


def test_gateway_sigkill_members_leave_within_5s(rt):
    r = rt.router()
    g1 = rt.gateway(r)
    g2 = rt.gateway(r)

    async def main():
        a = await Client.connect(g1.url)
        b, c = await clients(g2.url, 2)
        await a.join("x")
        await a.join("y")
        await b.join("x")
        await c.join("y")
        await a.expect_event("presence:join", room="x")
        await a.expect_event("presence:join", room="y")
        await asyncio.to_thread(g2.kill)
        t0 = time.monotonic()
        l1 = await a.expect_event("presence:leave", room="x", timeout=8)
        l2 = await a.expect_event("presence:leave", room="y", timeout=8)
        dt = time.monotonic() - t0
        assert l1["payload"] == {"id": b.id, "user": None}
        assert l2["payload"] == {"id": c.id, "user": None}
        assert dt <= 5.0 + (SLOW - 1), "presence:leave only after %.1fs" % dt
        ack = await a.ok("presence:list", room="x")
        assert [m["id"] for m in ack["members"]] == [a.id]
        await a.err("dm", "peer_not_found", to=b.id)
        await a.close()
    asyncio.run(main())


def test_frozen_gateway_dropped_then_reattached(rt):
    """A gateway that stops (SIGSTOP) looks dead to the router: its members leave within 5 s.
    Resumed, it re-attaches its still-open connections: they are members again, the others see
    presence:join (docs/internals.md, attach), and messages flow."""
    r = rt.router()
    g1 = rt.gateway(r)
    g2 = rt.gateway(r)

    async def main():
        a = await Client.connect(g1.url)
        b = await Client.connect(g2.url)
        await a.join("fz")
        await b.join("fz", {"who": "b"})
        await a.expect_event("presence:join", room="fz")
        g2.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            leave = await a.expect_event("presence:leave", room="fz", timeout=8)
            assert leave["payload"]["id"] == b.id
            assert time.monotonic() - t0 <= 5.0 + (SLOW - 1)
        finally:
            g2.signal(signal.SIGCONT)
        join = await a.expect_event("presence:join", room="fz", timeout=10)
        assert join["payload"] == {"id": b.id, "user": None, "meta": {"who": "b"}}
        await a.ok("after.freeze", room="fz", payload=1)
        assert (await b.expect_event("after.freeze", room="fz"))["payload"] == 1
        await close_all([a, b])
    asyncio.run(main())


async def retry_ok(c, type, deadline_s, **fields):
    """A request retried after its own timeout (the contract allows one in flight to be lost)."""
    t0 = time.monotonic()
    while True:
        try:
            a = await c.request(type, timeout=1.0, **fields)
        except AssertionError:
            if time.monotonic() - t0 > deadline_s:
                raise
            continue
        if a["type"] == "ack":
            return a["payload"]
        if time.monotonic() - t0 > deadline_s:
            raise AssertionError("%s %s -> %r" % (type, fields, a))
        await asyncio.sleep(0.2)


def test_router_restart_keeps_clients_and_memberships(rt):
    r = rt.router()
    g1 = rt.gateway(r)
    g2 = rt.gateway(r)

    async def main():
        a = await Client.connect(g1.url)
        b = await Client.connect(g2.url)
        await a.join("keep", {"who": "a"})
        await b.join("keep", {"who": "b"})
        await a.join("solo")
        await a.expect_event("presence:join", room="keep")
        await asyncio.to_thread(r.kill)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(rt.restart_router, r)
        t0 = time.monotonic()
        ack = await retry_ok(a, "presence:list", 10 * SLOW, room="keep")
        want = [{"id": a.id, "user": None, "meta": {"who": "a"}},
                {"id": b.id, "user": None, "meta": {"who": "b"}}]
        # both gateways must have re-registered: wait until the list is whole again
        while sorted(ack["members"], key=lambda m: m["id"]) != sorted(want, key=lambda m: m["id"]):
            assert time.monotonic() - t0 < 10 * SLOW, ack
            await asyncio.sleep(0.2)
            ack = await retry_ok(a, "presence:list", 5 * SLOW, room="keep")
        assert sorted([m["id"] for m in ack["members"]]) == sorted([a.id, b.id])
        assert time.monotonic() - t0 < 5 * SLOW, "memberships back only after %.1fs" % (
            time.monotonic() - t0)
        ack = await retry_ok(b, "presence:list", 5 * SLOW, room="keep")
        assert len(ack["members"]) == 2
        await retry_ok(a, "presence:list", 5 * SLOW, room="solo")
        # messages flow both ways
        await a.ok("after", room="keep", payload="a->b")
        assert (await b.expect_event("after", room="keep"))["payload"] == "a->b"
        await b.ok("after", room="keep", payload="b->a")
        assert (await a.expect_event("after", room="keep"))["payload"] == "b->a"
        await a.ok("dm", to=b.id, payload=1)
        assert (await b.expect_event("dm"))["from"] == a.id
        # nobody saw the other leave: the connections never ended
        for c in (a, b):
            assert not [f for f in c.seen if f.get("type") == "presence:leave"], c.seen
        assert a.ws.open and b.ws.open
        # a client arriving now gets a fresh id and sees both
        c = await Client.connect(g2.url)
        assert c.id not in (a.id, b.id)
        ack = await c.join("keep")
        assert len(ack["members"]) == 3
        await close_all([a, b, c])
    asyncio.run(main())


def garbage_frames():
    rnd = random.Random(42)
    frames = [b"", b"\x00", b"\xc1", b"\xff" * 16, os.urandom(1000),
              msgpack.packb([1, 2, 3]), msgpack.packb("hello"), msgpack.packb(None),
              msgpack.packb({}), msgpack.packb({"t": 5}), msgpack.packb({"t": "nope"}),
              msgpack.packb({"t": "msg"}), msgpack.packb({"t": "msg", "gw": 7, "c": []}),
              msgpack.packb({"t": "msg", "gw": "ghost", "c": "ghost.1", "type": "x",
                             "room": "r", "payload": None}),
              msgpack.packb({"t": "hello", "gw": None}),
              msgpack.packb({"t": "attach", "gw": "ghost", "conns": "x"}),
              msgpack.packb({"t": "attach", "gw": "ghost", "conns": [{"c": 1, "rooms": 2}]}),
              msgpack.packb({"t": "close", "gw": 1.5, "c": {"a": 1}}),
              msgpack.packb({b"t": b"hb", b"gw": b"\xff\xfe"}),
              msgpack.packb({"op": "publish", "req": 1, "room": 5}),
              msgpack.packb({"op": "register", "req": 2, "name": "x", "types": "y"}),
              b"\xdf\xff\xff\xff\xff",              # map32 announcing 4 G entries
              b"\xdd\xff\xff\xff\xff",              # array32 likewise
              b"\xdb\xff\xff\xff\xff" + b"a" * 10,  # str32 announcing 4 GiB
              b"\x91" * 5000 + b"\xc0",             # arrays nested 5000 deep
              msgpack.packb({"t": "msg", "gw": "g", "payload": [[[[[[[[[[[[1]]]]]]]]]]]]}),
              b"\x00" * (5 * 1024 * 1024)]          # over the 4 MiB frame limit
    frames += [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))) for _ in range(100)]
    return frames


def send(sock, frame):
    try:
        sock.send(frame)
    except zmq.Again:
        pass


def send_multi(sock, frames):
    try:
        sock.send_multipart(frames)
    except zmq.Again:
        pass


def test_zmq_garbage_does_not_hurt_the_router(rt):
    r = rt.router()
    g = rt.gateway(r)
    ports = r.ports

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("safe")
        await b.join("safe")
        await a.expect_event("presence:join", room="safe")

        def attack():
            ctx = zmq.Context()
            ctx.setsockopt(zmq.LINGER, 0)
            ctx.setsockopt(zmq.SNDTIMEO, 300)       # a socket with no compatible peer must not block
            socks = []
            try:
                for port in (ports["ingress"], ports["api"]):
                    ep = "tcp://127.0.0.1:%d" % port
                    d = ctx.socket(zmq.DEALER)
                    d.setsockopt(zmq.LINGER, 0)
                    d.connect(ep)
                    socks.append(d)
                    for f in garbage_frames():
                        send(d, f)
                    # wrong multipart shapes
                    send_multi(d, [b"a", b"b", b"c"])
                    send_multi(d, [b"", msgpack.packb({"t": "hello", "gw": "x"})])
                    send_multi(d, [msgpack.packb({"t": "hb", "gw": "x"})] * 3)
                    q = ctx.socket(zmq.REQ)
                    q.setsockopt(zmq.LINGER, 0)
                    q.connect(ep)
                    socks.append(q)
                    send(q, b"garbage from a REQ")
                    pub = ctx.socket(zmq.PUB)                 # wrong socket type for a ROUTER
                    pub.setsockopt(zmq.LINGER, 0)
                    pub.connect(ep)
                    socks.append(pub)
                    send(pub, b"x")
                for port in (ports["fanout"], ports["events"]):
                    ep = "tcp://127.0.0.1:%d" % port
                    s = ctx.socket(zmq.SUB)
                    s.setsockopt(zmq.LINGER, 0)
                    s.setsockopt(zmq.SUBSCRIBE, b"")
                    s.connect(ep)
                    socks.append(s)
                    p = ctx.socket(zmq.PUB)                   # PUB to PUB: refused by ZMTP
                    p.setsockopt(zmq.LINGER, 0)
                    p.connect(ep)
                    socks.append(p)
                    d = ctx.socket(zmq.DEALER)
                    d.setsockopt(zmq.LINGER, 0)
                    d.connect(ep)
                    socks.append(d)
                    for f in garbage_frames()[:30]:
                        send(d, f)
                        send_multi(p, [b"gw", f])
                    # XPUB-style subscription garbage from a raw-ish XSUB
                    x = ctx.socket(zmq.XSUB)
                    x.setsockopt(zmq.LINGER, 0)
                    x.connect(ep)
                    socks.append(x)
                    send(x, b"\x01")
                    send(x, b"\x00not-subscribed")
                    send(x, b"\x07junk")
                # raw TCP on every port: random bytes (not even ZMTP), and a ZMTP 3.0 greeting
                # followed by frame headers that declare 1 GiB and 2^62 bytes (libzmq allocates
                # what the header says unless ZMQ_MAXMSGSIZE is set)
                rnd = random.Random(7)
                greeting = (b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x03\x00" + b"NULL"
                            + b"\x00" * 16 + b"\x00" + b"\x00" * 31)
                for port in ports.values():
                    for data in (bytes(rnd.getrandbits(8) for _ in range(4096)),
                                 greeting + b"\x06" + (1 << 30).to_bytes(8, "big") + b"x" * 100,
                                 greeting + b"\x06" + (1 << 62).to_bytes(8, "big")):
                        try:
                            t = socket.create_connection(("127.0.0.1", port), 1)
                            t.sendall(data)
                            time.sleep(0.05)
                            t.close()
                        except OSError:
                            pass
                time.sleep(1.0)
            finally:
                for s in socks:
                    s.close(0)
                ctx.term()

        await asyncio.to_thread(attack)
        assert r.alive() and g.alive()
        # clients keep being served
        await a.ok("ping")
        await a.ok("still", room="safe", payload="ok")
        assert (await b.expect_event("still", room="safe"))["payload"] == "ok"
        await b.ok("room:leave", room="safe")
        assert (await a.expect_event("presence:leave", room="safe"))["payload"]["id"] == b.id
        c = await Client.connect(g.url)
        ack = await c.join("safe")
        assert [m["id"] for m in ack["members"]] == [a.id, c.id]
        # and a second burst did not stall it either
        await asyncio.to_thread(attack)
        await c.ok("still", room="safe", payload=2)
        assert (await a.expect_event("still", room="safe"))["payload"] == 2
        await close_all([a, b, c])
    asyncio.run(main())
