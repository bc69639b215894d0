#!/usr/bin/python3
"""A realtime-core service in Python: the service API (docs/services.md) with pyzmq and msgpack.

    /usr/bin/python3 service.py --api tcp://127.0.0.1:5557 --events tcp://127.0.0.1:5558

It registers the pattern `demo:*` and handles, for clients:
  demo:echo   {payload}             -> the ack carries the payload back
  demo:shout  {room, payload:{text}} -> every member of the room gets
                                       {"type":"demo:shout","room":R,"from":SENDER,"payload":{"text":TEXT}}
                                       with TEXT in upper case (a `publish` action); the ack is {}
  demo:<other>                      -> error bad_request
and, on its own, greets whoever joins a room whose name starts with --greet-prefix (default
"demo-"): it listens to presence:join on the events socket and sends a standalone `publish`
request {"type":"demo:welcome","payload":{"id":CONN,"meta":META}} to that room.

Liveness: a heartbeat every second; the router answers registered:false after it restarted, and
the service registers again. After 3 s without a word from the router the DEALER is replaced.
Needs Debian's python3-zmq and python3-msgpack (/usr/bin/python3). SIGTERM/SIGINT: exit 0.

With --curve-secret-key FILE (a zcert secret certificate, as rt-keygen writes) both sockets use
CurveZMQ, for a router started with --curve-secret-key / --curve-allow (docs/mesh.md, Security);
the router's public key is --curve-server-key, by default the public key in FILE.
"""
import argparse
import itertools
import re
import signal
import sys
import time

import msgpack
import zmq

PATTERNS = ["demo:*"]
HEARTBEAT_S = 1.0       # the contract asks for at least one per second
SILENCE_S = 3.0         # nothing from the router for this long: new socket, register again


def log(*args):
    print(time.strftime("%H:%M:%S"), "python-service:", *args, file=sys.stderr, flush=True)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    # raw=False: msgpack str -> Python str; strict_map_key=False: any key type is tolerated
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def read_zcert(path):
    """(public, secret) Z85 keys of a zcert secret certificate file."""
    text = open(path).read()
    keys = [re.search(r'%s-key\s*=\s*"([^"]{40})"' % k, text) for k in ("public", "secret")]
    if not all(keys):
        raise SystemExit("%s: not a zcert secret certificate" % path)
    return keys[0].group(1).encode(), keys[1].group(1).encode()


class Service:
    def __init__(self, api, events, name, greet_prefix, curve=None):
        self.api = api
        self.curve = curve           # (public, secret, server public) Z85 keys, or None
        self.events = events
        self.name = name
        self.greet_prefix = greet_prefix
        self.ctx = zmq.Context()
        self.dealer = None
        self.sub = None
        self.registered = False
        self.reqs = itertools.count(1)
        self.pending = {}            # req -> what to do with the reply (a function)
        self.last_heard = time.monotonic()
        self.stopping = False

    # ---- sockets -----------------------------------------------------------------------------

    def connect(self):
        """(Re)opens the DEALER to the router's API endpoint and registers the patterns."""
        if self.dealer is not None:
            self.dealer.close(linger=0)
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.apply_curve(self.dealer)
        self.dealer.connect(self.api)
        self.pending.clear()
        self.registered = False
        self.last_heard = time.monotonic()
        self.register()

    def subscribe(self):
        """The events socket: a SUB per topic prefix (the topic frame is the event type)."""
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.apply_curve(self.sub)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"presence:join")
        self.sub.connect(self.events)

    def apply_curve(self, sock):
        """Makes sock a CurveZMQ client of the router (before connect), when keys were given."""
        if self.curve:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self.curve

    def request(self, op, on_reply=None, **fields):
        """Sends {op, req, ...}; on_reply(reply map) runs when the router answers."""
        req = next(self.reqs)
        self.pending[req] = on_reply or (lambda rep: None)
        self.dealer.send(pack(dict(fields, op=op, req=req)))
        return req

    def register(self):
        def done(rep):
            if rep.get("ok"):
                self.registered = True
                log("registered", PATTERNS)
            else:
                log("register refused:", rep.get("error"))
        self.request("register", done, name=self.name, types=PATTERNS)

    # ---- what the router sends ---------------------------------------------------------------

    def on_api(self, msg):
        op = msg.get("op")
        if op == "reply":
            cb = self.pending.pop(msg.get("req"), None)
            if cb:
                cb(msg)
        elif op == "heartbeat":
            if msg.get("registered") is False:
                log("the router does not know us (restarted?): registering again")
                self.registered = False
                self.register()
        elif op == "handle":
            self.dealer.send(pack(self.handle(msg)))
        else:
            log("unexpected message from the router:", msg)

    def handle(self, h):
        """One client message -> the `handled` answer (reply, error or actions)."""
        answer = {"op": "handled", "token": h.get("token")}
        type_ = h.get("type")
        payload = h.get("payload")
        if type_ == "demo:echo":
            answer["reply"] = payload
        elif type_ == "demo:shout":
            text = payload.get("text") if isinstance(payload, dict) else None
            if not h.get("room"):
                answer["error"] = {"code": "bad_request", "message": "demo:shout needs a room"}
            elif not isinstance(text, str):
                answer["error"] = {"code": "bad_request", "message": "demo:shout needs payload.text"}
            else:
                # Relaying for the client: pass its `from` so the others see who shouted.
                answer["actions"] = [{"op": "publish", "room": h["room"], "type": "demo:shout",
                                      "payload": {"text": text.upper()}, "from": h.get("from")}]
                answer["reply"] = {}
        else:
            answer["error"] = {"code": "bad_request",
                               "message": "%s: unknown (demo:echo, demo:shout)" % type_}
        return answer

    def on_event(self, topic, ev):
        room = ev.get("room") or ""
        if ev.get("type") == "presence:join" and room.startswith(self.greet_prefix):
            # A standalone request: nobody asked for it, the service acts on its own.
            self.request("publish",
                         lambda rep: rep.get("ok") or log("greeting failed:", rep.get("error")),
                         room=room, type="demo:welcome",
                         payload={"id": ev.get("conn"), "meta": ev.get("meta")})

    # ---- the loop ----------------------------------------------------------------------------

    def run(self):
        self.subscribe()
        self.connect()
        next_hb = time.monotonic()
        while not self.stopping:
            now = time.monotonic()
            if now >= next_hb:
                self.dealer.send(pack({"op": "heartbeat"}))
                next_hb = now + HEARTBEAT_S
            if now - self.last_heard > SILENCE_S:
                log("no word from the router for %.0f s: reconnecting" % SILENCE_S)
                self.connect()
            poller = zmq.Poller()
            poller.register(self.dealer, zmq.POLLIN)
            poller.register(self.sub, zmq.POLLIN)
            try:
                ready = dict(poller.poll(max(0, int((next_hb - time.monotonic()) * 1000))))
            except zmq.ZMQError:
                continue        # interrupted by a signal
            if self.dealer in ready:
                while True:
                    try:
                        raw = self.dealer.recv(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.last_heard = time.monotonic()
                    try:
                        msg = unpack(raw)
                    except Exception as e:      # never die on a bad frame
                        log("undecodable frame from the router:", e, raw[:300])
                        continue
                    if isinstance(msg, dict):
                        self.on_api(msg)
            if self.sub in ready:
                while True:
                    try:
                        frames = self.sub.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        ev = unpack(frames[1])
                    except Exception as e:
                        log("undecodable event:", e)
                        continue
                    if isinstance(ev, dict):
                        self.on_event(frames[0], ev)
        self.dealer.close(linger=0)
        self.sub.close(linger=0)
        self.ctx.term()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", default="tcp://127.0.0.1:5557", help="router service API (ROUTER)")
    ap.add_argument("--events", default="tcp://127.0.0.1:5558", help="router events (PUB)")
    ap.add_argument("--name", default="python-demo", help="service name given to register")
    ap.add_argument("--greet-prefix", default="demo-",
                    help="greet joiners of rooms whose name starts with this")
    ap.add_argument("--curve-secret-key", metavar="FILE",
                    help="zcert secret certificate: CurveZMQ to a router started with CURVE")
    ap.add_argument("--curve-server-key", metavar="Z85",
                    help="the router's public key (default: the public key of the FILE)")
    args = ap.parse_args()
    curve = None
    if args.curve_secret_key:
        public, secret = read_zcert(args.curve_secret_key)
        server = args.curve_server_key.encode() if args.curve_server_key else public
        curve = (public, secret, server)
    elif args.curve_server_key:
        ap.error("--curve-server-key needs --curve-secret-key")
    svc = Service(args.api, args.events, args.name, args.greet_prefix, curve)

    def stop(signum, frame):
        svc.stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("api", args.api, "events", args.events, "(CurveZMQ)" if curve else "")
    svc.run()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
