#!/usr/bin/python3
"""Dev tool: plays a fake gateway against a running rt-router (docs/internals.md) and checks
the basics: hello, sync, open two conns, join, room message, direct message, errors, close,
garbage on the ingress socket. Not a system test (those start the real gateway).

    /usr/bin/python3 tests/system/router_probe.py [INGRESS] [FANOUT]
    (defaults tcp://127.0.0.1:5555 tcp://127.0.0.1:5556)
"""
import sys
import time

import msgpack
import zmq

INGRESS = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5555"
FANOUT = sys.argv[2] if len(sys.argv) > 2 else "tcp://127.0.0.1:5556"
GW = "probe-gw-%d" % int(time.time() * 1000 % 100000)

ctx = zmq.Context()
dealer = ctx.socket(zmq.DEALER)
dealer.linger = 0
dealer.connect(INGRESS)
sub = ctx.socket(zmq.SUB)
sub.linger = 0
sub.setsockopt_string(zmq.SUBSCRIBE, GW)
sub.connect(FANOUT)


def send(m):
    dealer.send(msgpack.packb(m, use_bin_type=True))


def recv(timeout=2.0):
    """Next map on our topic, skipping router heartbeats."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sub.poll(int(max(0.0, deadline - time.time()) * 1000)):
            topic, body = sub.recv_multipart()
            assert topic.decode() == GW, topic
            m = msgpack.unpackb(body, raw=False)
            if m.get("t") == "hb":
                continue
            return m
    raise AssertionError("timeout waiting on the fan-out")


def expect(pred, what, timeout=2.0):
    m = recv(timeout)
    assert pred(m), "%s: got %r" % (what, m)
    print("ok  %-40s %r" % (what, m))
    return m


def expect_silence(what, timeout=0.3):
    try:
        m = recv(timeout)
    except AssertionError:
        print("ok  %s" % what)
        return
    raise AssertionError("%s: unexpected %r" % (what, m))


# hello on the ingress socket
send({"t": "hello", "gw": GW})
assert dealer.poll(2000), "no hello reply"
hello = msgpack.unpackb(dealer.recv(), raw=False)
assert hello["t"] == "hello" and hello["ep"] and hello["node"], hello
print("ok  hello", hello)

# sync until synced arrives (slow joiner)
for n in range(50):
    send({"t": "sync", "gw": GW, "n": n})
    if sub.poll(100):
        m = msgpack.unpackb(sub.recv_multipart()[1], raw=False)
        if m.get("t") == "synced":
            print("ok  synced", m)
            break
else:
    raise AssertionError("never synced")
time.sleep(0.2)
while sub.poll(0):
    sub.recv_multipart()

send({"t": "attach", "gw": GW, "conns": []})
send({"t": "open", "gw": GW, "c": "A", "u": "alice"})
send({"t": "open", "gw": GW, "c": "B", "u": None})

send({"t": "msg", "gw": GW, "c": "A", "type": "room:join", "room": "lobby", "id": 1,
      "payload": {"nick": "al"}})
expect(lambda m: m["t"] == "joined" and m["c"] == "A" and m["r"] == "lobby", "joined A")
expect(lambda m: m["t"] == "out" and m["c"] == "A" and m["f"]["type"] == "ack" and m["f"]["id"] == 1
       and m["f"]["payload"]["members"] == [{"id": "A", "user": "alice", "meta": {"nick": "al"}}],
       "ack join A")
send({"t": "msg", "gw": GW, "c": "B", "type": "room:join", "room": "lobby", "id": 2})
expect(lambda m: m["t"] == "joined" and m["c"] == "B", "joined B")
expect(lambda m: m["t"] == "out" and m["r"] == "lobby" and m["x"] == "B"
       and m["f"] == {"type": "presence:join", "room": "lobby",
                      "payload": {"id": "B", "user": None, "meta": {}}}, "presence:join B")
expect(lambda m: m["f"]["type"] == "ack" and [x["id"] for x in m["f"]["payload"]["members"]] == ["A", "B"],
       "ack join B, join order")
# idempotent rejoin: ack only
send({"t": "msg", "gw": GW, "c": "B", "type": "room:join", "room": "lobby", "id": 3, "payload": {"x": 1}})
expect(lambda m: m["f"]["type"] == "ack" and m["f"]["payload"]["members"][1]["meta"] == {}, "rejoin ack, meta kept")

send({"t": "msg", "gw": GW, "c": "A", "type": "chat:message", "room": "lobby", "id": 4, "payload": {"text": "hi"}})
expect(lambda m: m["t"] == "out" and m["r"] == "lobby" and m["x"] == "A"
       and m["f"] == {"type": "chat:message", "room": "lobby", "from": "A", "payload": {"text": "hi"}},
       "room event except sender")
expect(lambda m: m["f"] == {"type": "ack", "id": 4, "payload": {}}, "ack message")

send({"t": "msg", "gw": GW, "c": "A", "type": "dm", "to": "B", "payload": 7})
expect(lambda m: m["c"] == "B" and m["f"] == {"type": "dm", "from": "A", "payload": 7}, "direct to B")
send({"t": "msg", "gw": GW, "c": "A", "type": "dm", "to": "nobody", "id": 5})
expect(lambda m: m["f"]["type"] == "error" and m["f"]["payload"]["code"] == "peer_not_found", "peer_not_found")
send({"t": "msg", "gw": GW, "c": "A", "type": "room:bogus", "id": 6})
expect(lambda m: m["f"]["payload"]["code"] == "unknown_type", "unknown_type")
send({"t": "msg", "gw": GW, "c": "A", "type": "webrtc:offer", "room": "lobby", "to": "B", "id": 7})
expect(lambda m: m["f"]["payload"]["code"] == "unavailable", "webrtc unavailable")
send({"t": "msg", "gw": GW, "c": "A", "type": "x", "id": 8})
expect(lambda m: m["f"]["payload"]["code"] == "bad_request", "neither room nor to")
send({"t": "msg", "gw": GW, "c": "A", "type": "x", "room": "other", "id": 9})
expect(lambda m: m["f"]["payload"]["code"] == "not_in_room", "not_in_room")
send({"t": "msg", "gw": GW, "c": "A", "type": "ping", "id": 10})
expect(lambda m: m["f"] == {"type": "ack", "id": 10, "payload": {}}, "ping")

# garbage: none of it may get an answer or stop the router
dealer.send(b"\xc1garbage")
dealer.send(msgpack.packb([1, 2, 3]))
dealer.send(b"\xdf\xff\xff\xff\xff")           # map32 claiming 4G entries
send({"t": "msg", "gw": 42})
expect_silence("garbage dropped")
send({"t": "msg", "gw": GW, "c": "A"})          # no type: bad_request, without id
expect(lambda m: m["f"]["type"] == "error" and "id" not in m["f"]
       and m["f"]["payload"]["code"] == "bad_request", "missing type")
send({"t": "msg", "gw": GW, "c": "A", "type": "ping", "id": 11})
expect(lambda m: m["f"]["id"] == 11, "still alive after garbage")

# a gateway the router does not know
ghost = ctx.socket(zmq.SUB)
ghost.setsockopt_string(zmq.SUBSCRIBE, "ghost-gw")
ghost.connect(FANOUT)
time.sleep(0.3)
send({"t": "hb", "gw": "ghost-gw"})
assert ghost.poll(2000), "no unknown for a ghost gateway"
print("ok  unknown", msgpack.unpackb(ghost.recv_multipart()[1], raw=False))
ghost.close()

# B leaves, then closes A: presence:leave
send({"t": "msg", "gw": GW, "c": "B", "type": "room:leave", "room": "lobby", "id": 12})
expect(lambda m: m["t"] == "left" and m["c"] == "B", "left B")
expect(lambda m: m["t"] == "out" and m["f"]["type"] == "presence:leave"
       and m["f"]["payload"] == {"id": "B", "user": None}, "presence:leave B")
expect(lambda m: m["f"] == {"type": "ack", "id": 12, "payload": {}}, "ack leave")
send({"t": "close", "gw": GW, "c": "A"})
send({"t": "msg", "gw": GW, "c": "B", "type": "room:join", "room": "lobby", "id": 13})
expect(lambda m: m["t"] == "joined", "B rejoins")
expect(lambda m: m["f"]["type"] == "ack" and [x["id"] for x in m["f"]["payload"]["members"]] == ["B"],
       "A is gone after close")
print("all ok")
