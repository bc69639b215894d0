#!/usr/bin/python3
"""Dev tool: a minimal fake router for poking at rt-gateway by hand (not a test).

It speaks the router side of docs/internals.md just enough: answers hello, sync -> synced,
hb -> hb, acks `ping`, echoes every other msg with a room back to the room (as `out` with
`x` = sender), turns room:join/room:leave into joined/left + ack, and prints every envelope.

    /usr/bin/python3 gateway_probe.py --ingress tcp://127.0.0.1:5555 --fanout tcp://127.0.0.1:5556
    rt-gateway --router tcp://127.0.0.1:5555

Keys while running (stdin): `r` = restart (new epoch: gateways must hello + attach again),
`u` = answer the next hb with `unknown`, `s` = go silent (no hb answers: gateways go down),
`k CONN CODE` = kick a connection.
"""
import argparse
import random
import string
import sys
import threading
import time

import msgpack
import zmq


def rand(n=8):
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingress", default="tcp://127.0.0.1:5555")
    ap.add_argument("--fanout", default="tcp://127.0.0.1:5556")
    ap.add_argument("--node", default="probe")
    a = ap.parse_args()
    ctx = zmq.Context()
    ing = ctx.socket(zmq.ROUTER)
    ing.bind(a.ingress)
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind(a.fanout)
    state = {"ep": rand(), "unknown": False, "silent": False, "kick": None}
    rooms = {}  # room -> set of (gw, conn)

    def stdin():
        for line in sys.stdin:
            w = line.split()
            if not w:
                continue
            if w[0] == "r":
                state["ep"] = rand()
                rooms.clear()
                print("-- restarted, epoch", state["ep"])
            elif w[0] == "u":
                state["unknown"] = True
            elif w[0] == "s":
                state["silent"] = not state["silent"]
                print("-- silent", state["silent"])
            elif w[0] == "k" and len(w) == 3:
                state["kick"] = (w[1], int(w[2]))
    threading.Thread(target=stdin, daemon=True).start()

    def out(gw, m):
        pub.send_multipart([gw.encode(), msgpack.packb(m)])

    def answer(gw, c, rid, payload=None, error=None):
        if not rid:
            return
        f = {"type": "error", "id": rid, "payload": error} if error else \
            {"type": "ack", "id": rid, "payload": payload if payload is not None else {}}
        out(gw, {"t": "out", "c": c, "f": f})

    poller = zmq.Poller()
    poller.register(ing, zmq.POLLIN)
    while True:
        if not poller.poll(200):
            continue
        ident, raw = ing.recv_multipart()
        m = msgpack.unpackb(raw)
        t, gw = m.get("t"), m.get("gw", "")
        if t not in ("hb", "sync"):
            print("<-", m)
        if state["kick"]:
            c, code = state["kick"]
            state["kick"] = None
            out(gw, {"t": "kick", "c": c, "code": code, "reason": "probe"})
        if t == "hello":
            ing.send_multipart([ident, msgpack.packb(
                {"t": "hello", "node": a.node, "ep": state["ep"], "fanout": a.fanout})])
        elif t == "sync":
            out(gw, {"t": "synced", "n": m["n"], "ep": state["ep"]})
        elif t == "hb":
            if state["unknown"]:
                state["unknown"] = False
                out(gw, {"t": "unknown", "ep": state["ep"]})
            elif not state["silent"]:
                out(gw, {"t": "hb", "ep": state["ep"]})
        elif t == "msg":
            c, typ, room, rid = m["c"], m["type"], m.get("room"), m.get("id")
            if typ == "ping":
                answer(gw, c, rid)
            elif typ == "room:join" and room:
                rooms.setdefault(room, set()).add((gw, c))
                out(gw, {"t": "joined", "c": c, "r": room, "m": {}})
                answer(gw, c, rid, {"room": room, "members": [
                    {"id": x, "user": None, "meta": {}} for _, x in sorted(rooms[room])]})
            elif typ == "room:leave" and room:
                rooms.get(room, set()).discard((gw, c))
                out(gw, {"t": "left", "c": c, "r": room})
                answer(gw, c, rid)
            elif room:
                f = {"type": typ, "room": room, "from": c, "payload": m.get("payload")}
                for g in {g for g, _ in rooms.get(room, ())}:
                    out(g, {"t": "out", "r": room, "x": [] if m.get("echo") else c, "f": f})
                answer(gw, c, rid)
            else:
                answer(gw, c, rid, error={"code": "bad_request", "message": "probe: no room"})
        elif t == "close":
            for members in rooms.values():
                members.discard((gw, m["c"]))


if __name__ == "__main__":
    main()
