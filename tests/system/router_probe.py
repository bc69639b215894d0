#!/usr/bin/python3
"""Dev tool: plays fake gateways against rt-router (docs/internals.md) and checks the router
side of the protocol: hello, sync, open, join, room and direct messages, errors, garbage on the
ingress socket, unknown gateways, gateway timeout (presence:leave), a dropped gateway coming
back (presence:join) and a router restart (silent re-attach). Not a system test: those start
the real gateway. Starts its own router on free 127.0.0.1 ports and stops it by pid.

    /usr/bin/python3 tests/system/router_probe.py [PATH/TO/rt-router]
    (default: build-router/bin/rt-router next to this repo)
"""
import os
import signal
import socket
import subprocess
import sys
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build-router", "bin", "rt-router")
ctx = zmq.Context()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Router:
    def __init__(self, ports=None):
        self.ports = ports or (free_port(), free_port())
        self.ingress = "tcp://127.0.0.1:%d" % self.ports[0]
        self.fanout = "tcp://127.0.0.1:%d" % self.ports[1]
        self.p = subprocess.Popen([BIN, "--ingress", self.ingress, "--fanout", self.fanout,
                                   "--log-level", "warn"])
        time.sleep(0.3)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(5)
        assert rc == 0, "router exit code %s" % rc


class Gw:
    """A fake gateway: DEALER to the ingress, SUB on its own topic."""

    def __init__(self, router, name):
        self.id = "%s-%d" % (name, os.getpid())
        self.dealer = ctx.socket(zmq.DEALER)
        self.dealer.linger = 0
        self.dealer.connect(router.ingress)
        self.sub = ctx.socket(zmq.SUB)
        self.sub.linger = 0
        self.sub.setsockopt_string(zmq.SUBSCRIBE, self.id)
        self.sub.connect(router.fanout)
        self.ep = None

    def send(self, m):
        m = dict(m)
        m.setdefault("gw", self.id)
        self.dealer.send(msgpack.packb(m, use_bin_type=True))

    def msg(self, c, type, **kw):
        self.send(dict(t="msg", c=c, type=type, **kw))

    def handshake(self):
        self.send({"t": "hello"})
        assert self.dealer.poll(2000), "no hello reply"
        hello = msgpack.unpackb(self.dealer.recv(), raw=False)
        assert hello["t"] == "hello" and hello["ep"] and hello["node"], hello
        self.ep = hello["ep"]
        for n in range(50):
            self.send({"t": "sync", "n": n})
            if self.sub.poll(100):
                m = msgpack.unpackb(self.sub.recv_multipart()[1], raw=False)
                if m.get("t") == "synced":
                    assert m["ep"] == self.ep
                    break
        else:
            raise AssertionError("never synced")
        time.sleep(0.2)
        self.drain()

    def drain(self):
        while self.sub.poll(0):
            self.sub.recv_multipart()

    def recv(self, timeout=2.0):
        """Next map on our topic, skipping router heartbeats."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.sub.poll(int(max(0.0, deadline - time.time()) * 1000)):
                topic, body = self.sub.recv_multipart()
                assert topic.decode() == self.id, topic
                m = msgpack.unpackb(body, raw=False)
                if m.get("t") in ("hb", "synced"):
                    continue
                return m
        raise AssertionError("%s: timeout waiting on the fan-out" % self.id)

    def expect(self, pred, what, timeout=2.0):
        m = self.recv(timeout)
        assert pred(m), "%s: got %r" % (what, m)
        print("ok  %-40s %r" % (what, m))
        return m

    def silence(self, what, timeout=0.3):
        try:
            m = self.recv(timeout)
        except AssertionError:
            print("ok  %s" % what)
            return
        raise AssertionError("%s: unexpected %r" % (what, m))

    def close(self):
        self.dealer.close()
        self.sub.close()


def basics(r):
    g = Gw(r, "probe")
    g.handshake()
    g.send({"t": "attach", "conns": []})
    g.send({"t": "open", "c": "A", "u": "alice"})
    g.send({"t": "open", "c": "B", "u": None})

    g.msg("A", "room:join", room="lobby", id=1, payload={"nick": "al"})
    g.expect(lambda m: m["t"] == "joined" and m["c"] == "A" and m["r"] == "lobby", "joined A")
    g.expect(lambda m: m["t"] == "out" and m["c"] == "A" and m["f"]["type"] == "ack" and m["f"]["id"] == 1
             and m["f"]["payload"]["members"] == [{"id": "A", "user": "alice", "meta": {"nick": "al"}}],
             "ack join A")
    g.msg("B", "room:join", room="lobby", id=2)
    g.expect(lambda m: m["t"] == "joined" and m["c"] == "B", "joined B")
    g.expect(lambda m: m["t"] == "out" and m["r"] == "lobby" and m["x"] == "B"
             and m["f"] == {"type": "presence:join", "room": "lobby",
                            "payload": {"id": "B", "user": None, "meta": {}}}, "presence:join B")
    g.expect(lambda m: m["f"]["type"] == "ack" and [x["id"] for x in m["f"]["payload"]["members"]] == ["A", "B"],
             "ack join B, join order")
    g.msg("B", "room:join", room="lobby", id=3, payload={"x": 1})
    g.expect(lambda m: m["f"]["type"] == "ack" and m["f"]["payload"]["members"][1]["meta"] == {},
             "rejoin: ack only, meta kept")
    g.msg("A", "room:join", room="big", id=20, payload={"k": "v" * 1100})
    g.expect(lambda m: m["f"]["payload"]["code"] == "bad_request", "meta over 1 KiB")
    g.msg("A", "room:join", room="big", id=21, payload=[1])
    g.expect(lambda m: m["f"]["payload"]["code"] == "bad_request", "meta not an object")

    g.msg("A", "chat:message", room="lobby", id=4, payload={"text": "hi"})
    g.expect(lambda m: m["t"] == "out" and m["r"] == "lobby" and m["x"] == "A"
             and m["f"] == {"type": "chat:message", "room": "lobby", "from": "A", "payload": {"text": "hi"}},
             "room event except sender")
    g.expect(lambda m: m["f"] == {"type": "ack", "id": 4, "payload": {}}, "ack message")
    g.msg("A", "chat:message", room="lobby", echo=True, payload=1)
    g.expect(lambda m: m["r"] == "lobby" and "x" not in m, "echo:true includes the sender")

    g.msg("A", "dm", to="B", payload=7)
    g.expect(lambda m: m["c"] == "B" and m["f"] == {"type": "dm", "from": "A", "payload": 7}, "direct to B")
    g.msg("A", "dm", to="B", room="lobby", id=22)
    g.expect(lambda m: m["c"] == "B" and m["f"] == {"type": "dm", "room": "lobby", "from": "A", "payload": None},
             "room + to")
    g.expect(lambda m: m["f"]["id"] == 22, "ack room + to")
    g.msg("A", "dm", to="nobody", id=5)
    g.expect(lambda m: m["f"]["type"] == "error" and m["f"]["payload"]["code"] == "peer_not_found", "peer_not_found")
    g.msg("A", "room:bogus", id=6)
    g.expect(lambda m: m["f"]["payload"]["code"] == "unknown_type", "unknown_type")
    g.msg("A", "webrtc:offer", room="lobby", to="B", id=7)
    g.expect(lambda m: m["f"]["payload"]["code"] == "unavailable", "webrtc unavailable")
    g.msg("A", "x", id=8)
    g.expect(lambda m: m["f"]["payload"]["code"] == "bad_request", "neither room nor to")
    g.msg("A", "x", room="other", id=9)
    g.expect(lambda m: m["f"]["payload"]["code"] == "not_in_room", "not_in_room")
    g.msg("A", "presence:list", room="other", id=23)
    g.expect(lambda m: m["f"]["payload"]["code"] == "not_in_room", "presence:list not a member")
    g.msg("A", "ping", id=10)
    g.expect(lambda m: m["f"] == {"type": "ack", "id": 10, "payload": {}}, "ping")

    # garbage: none of it may get an answer or stop the router
    g.dealer.send(b"\xc1garbage")
    g.dealer.send(msgpack.packb([1, 2, 3]))
    g.dealer.send(b"\xdf\xff\xff\xff\xff")           # map32 claiming 4G entries
    g.dealer.send_multipart([b"a", b"b", b"c"])
    g.send({"t": "msg", "gw": 42})
    g.send({"t": "nonsense"})
    g.silence("garbage dropped")
    g.send({"t": "msg", "c": "A"})                    # no type: bad_request, without id
    g.expect(lambda m: m["f"]["type"] == "error" and "id" not in m["f"]
             and m["f"]["payload"]["code"] == "bad_request", "missing type")
    g.msg("A", "ping", id=11)
    g.expect(lambda m: m["f"]["id"] == 11, "still alive after garbage")

    # a gateway the router does not know
    ghost = ctx.socket(zmq.SUB)
    ghost.setsockopt_string(zmq.SUBSCRIBE, "ghost-gw")
    ghost.connect(r.fanout)
    time.sleep(0.3)
    g.send({"t": "hb", "gw": "ghost-gw"})
    assert ghost.poll(2000), "no unknown for a ghost gateway"
    print("ok  unknown", msgpack.unpackb(ghost.recv_multipart()[1], raw=False))
    ghost.close()

    g.msg("B", "room:leave", room="lobby", id=12)
    g.expect(lambda m: m["t"] == "left" and m["c"] == "B", "left B")
    g.expect(lambda m: m["t"] == "out" and m["f"]["type"] == "presence:leave"
             and m["f"]["payload"] == {"id": "B", "user": None}, "presence:leave B")
    g.expect(lambda m: m["f"] == {"type": "ack", "id": 12, "payload": {}}, "ack leave")
    g.msg("B", "room:leave", room="lobby", id=24)
    g.expect(lambda m: m["f"]["payload"]["code"] == "not_in_room", "leave again: not_in_room")
    g.send({"t": "close", "c": "A"})
    g.msg("B", "room:join", room="lobby", id=13)
    g.expect(lambda m: m["t"] == "joined", "B rejoins")
    g.expect(lambda m: m["f"]["type"] == "ack" and [x["id"] for x in m["f"]["payload"]["members"]] == ["B"],
             "A is gone after close")
    g.close()


def failures(r):
    """g1 watches, g2 goes silent (dropped: presence:leave), comes back (presence:join)."""
    g1, g2 = Gw(r, "watch"), Gw(r, "dies")
    g1.handshake()
    g2.handshake()
    g1.send({"t": "open", "c": "W", "u": "w"})
    g2.send({"t": "open", "c": "D", "u": "d"})
    g1.msg("W", "room:join", room="x")
    g1.expect(lambda m: m["t"] == "joined", "W joined")
    g2.msg("D", "room:join", room="x", payload={"m": 1})
    g1.expect(lambda m: m["f"]["type"] == "presence:join" and m["f"]["payload"]["id"] == "D", "W sees D join")
    t0 = time.time()
    while True:      # W's gateway keeps beating, D's does not
        g1.send({"t": "hb"})
        try:
            m = g1.recv(0.5)
            break
        except AssertionError:
            assert time.time() - t0 < 6, "no presence:leave after a gateway died"
    assert m["f"]["type"] == "presence:leave" and m["f"]["payload"] == {"id": "D", "user": "d"}, m
    print("ok  %-40s after %.1f s" % ("presence:leave of a dead gateway", time.time() - t0))
    g2.drain()
    g2.send({"t": "hb"})
    g2.expect(lambda m: m["t"] == "unknown", "dropped gateway told unknown")
    g2.handshake()
    g2.send({"t": "attach", "conns": [{"c": "D", "u": "d", "rooms": [["x", {"m": 1}]]}]})
    g1.expect(lambda m: m["f"] == {"type": "presence:join", "room": "x",
                                   "payload": {"id": "D", "user": "d", "meta": {"m": 1}}},
              "dropped gateway re-attaches loudly")
    g1.close()
    g2.close()


def restart():
    """After a router restart, gateways re-attach silently."""
    r = Router()
    ports = r.ports
    g1, g2 = Gw(r, "r1"), Gw(r, "r2")
    for g in (g1, g2):
        g.handshake()
    r.stop()
    r = Router(ports)
    try:
        restarted(r, g1, g2)
    finally:
        r.stop()


def restarted(r, g1, g2):
    for g in (g1, g2):
        for _ in range(20):      # like a gateway's heartbeat: until the SUB has reconnected
            g.send({"t": "hb"})
            try:
                m = g.recv(0.25)
                break
            except AssertionError:
                pass
        else:
            raise AssertionError("%s: no answer from the new router" % g.id)
        assert m["t"] == "unknown", m
        print("ok  new router does not know %s" % g.id)
        g.handshake()
    g1.send({"t": "attach", "conns": [{"c": "P", "u": None, "rooms": [["y", {}]]}]})
    g2.send({"t": "attach", "conns": [{"c": "Q", "u": "q", "rooms": [["y", None]]}]})
    g1.silence("silent re-attach", 0.5)
    g1.msg("P", "presence:list", room="y", id=1)
    g1.expect(lambda m: [x["id"] for x in m["f"]["payload"]["members"]] == ["P", "Q"], "memberships restored")
    g2.msg("Q", "hello.msg", room="y", payload="hi")
    g1.expect(lambda m: m["r"] == "y" and m["f"]["from"] == "Q", "room traffic after restart")
    g1.close()
    g2.close()


r = Router()
try:
    basics(r)
    failures(r)
finally:
    r.stop()
restart()
print("all ok")
