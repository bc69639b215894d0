"""End-to-end checks of the Compose stack, from outside it: WebSocket clients through the load
balancer only, and the docker CLI to scale and stop gateway replicas (tests/compose/run.sh
starts the stack and calls this with the stack up and healthy).

  /usr/bin/python3 tests/compose/check.py --port PORT --compose "docker-compose -p P -f ... "

Phases (each prints its time): the chat page and health through the LB; chat, presence, the
Python service and a signaling round trip with one gateway; --scale gateway=3 and new
connections reaching the new replicas; chat, presence and signaling between clients on
different gateways attached to different routers; one gateway container stopped while the
others keep serving old and new connections. With --phase curve (after the stack was updated
with deploy/compose.curve.yml): chat across routers, the Python service and signaling again.
Exits 1 with a message on the first failure."""
import argparse
import asyncio
import http.client
import os
import re
import shlex
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from rt import Client  # noqa: E402  (the system tests' WebSocket client)

T0 = time.monotonic()
ARGS = None


def step(what):
    print("[%6.1fs] %s" % (time.monotonic() - T0, what), flush=True)


def sh(argv, check=True):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), p.returncode, p.stdout,
                                                        p.stderr))
    return p.stdout + p.stderr


def compose(*args):
    return sh(shlex.split(ARGS.compose) + list(args))


def http_get(path):
    c = http.client.HTTPConnection("127.0.0.1", ARGS.port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def gateways():
    """{gateway id: container name} for the running gateway replicas (the id from each log)."""
    out = {}
    for cid in compose("ps", "-q", "gateway").split():
        name = sh(["docker", "inspect", "-f", "{{.Name}}", cid]).strip().lstrip("/")
        if sh(["docker", "inspect", "-f", "{{.State.Running}}", cid]).strip() != "true":
            continue
        m = re.search(r"rt-gateway INFO gateway (\w+): router", sh(["docker", "logs", cid]))
        assert m, "no gateway id in the log of %s" % name
        out[m.group(1)] = name
    return out


def gw_of(c):
    return c.id.split(".")[0]


def url():
    return "ws://127.0.0.1:%d/realtime" % ARGS.port


async def connect_until(want, limit=60, within=40.0):
    """Connects clients through the LB until `want(clients)` holds; returns all of them."""
    clients = []
    deadline = time.monotonic() + within
    while not want(clients):
        assert len(clients) < limit and time.monotonic() < deadline, (
            "after %d connections: %s" % (len(clients), sorted({(gw_of(c), c.welcome["payload"]
                                                                 ["node"]) for c in clients})))
        clients.append(await Client.connect(url(), timeout=15))
        if len(clients) % 3 == 0:
            await asyncio.sleep(0.5)
    return clients


async def chat(a, b, room, text):
    """a and b in `room` (either may already be a member): a's message reaches b, b's reaches a."""
    await a.ok("chat:msg", room=room, payload={"text": text})
    await b.expect_event("chat:msg", room=room, frm=a.id, payload={"text": text}, timeout=10)
    await b.ok("chat:msg", room=room, payload={"text": text + " back"})
    await a.expect_event("chat:msg", room=room, frm=b.id, payload={"text": text + " back"},
                         timeout=10)


async def until_ack(c, type, within=30.0, **fields):
    """The ack payload of `type`, asked again each second while a service (re)registers."""
    deadline = time.monotonic() + within
    while True:
        r = await c.request(type, timeout=5, **fields)
        if r["type"] == "ack":
            return r.get("payload")
        assert time.monotonic() < deadline, "%s never acked: %r" % (type, r)
        await asyncio.sleep(1)


async def signaling_round_trip(a, b, room):
    """webrtc:join both, offer a -> b, answer b -> a, through rt-signaling."""
    await until_ack(a, "webrtc:join", room=room)
    ack = await b.ok("webrtc:join", room=room, timeout=10)
    assert ack["peers"] == [a.id], ack
    offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}
    await a.ok("webrtc:offer", room=room, to=b.id, payload=offer, timeout=10)
    ev = await b.expect_event("webrtc:offer", room=room, frm=a.id, timeout=10)
    assert ev["payload"] == offer, ev
    answer = {"type": "answer", "sdp": "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\n"}
    await b.ok("webrtc:answer", room=room, to=a.id, payload=answer, timeout=10)
    ev = await a.expect_event("webrtc:answer", room=room, frm=b.id, timeout=10)
    assert ev["payload"] == answer, ev


async def one_gateway():
    step("the chat page, /healthz and /metrics through the load balancer")
    status, body = http_get("/")
    assert status == 200 and "<html" in body.lower(), (status, body[:200])
    status, body = http_get("/realtime.js")
    assert status == 200 and len(body) > 100, status
    assert http_get("/healthz")[0] == 200
    status, body = http_get("/metrics")
    assert status == 200 and "rt_gateway_connections" in body, (status, body[:200])

    step("chat and presence between two clients")
    a = await Client.connect(url(), timeout=15)
    b = await Client.connect(url(), timeout=15)
    ack = await a.join("lobby", {"nick": "ann"})
    assert [m["id"] for m in ack["members"]] == [a.id], ack
    ack = await b.join("lobby", {"nick": "bob"})
    assert sorted(m["id"] for m in ack["members"]) == sorted([a.id, b.id]), ack
    ev = await a.expect_event("presence:join", room="lobby", timeout=10)
    assert ev["payload"]["id"] == b.id and ev["payload"]["meta"] == {"nick": "bob"}, ev
    await chat(a, b, "lobby", "hello")

    step("the Python example service (registered on router-2) answers through the mesh")
    r = await until_ack(a, "demo:echo", payload={"x": [1, "two"]})
    assert r == {"x": [1, "two"]}, r
    await a.ok("demo:shout", room="lobby", payload={"text": "hey"})
    ev = await b.expect_event("demo:shout", room="lobby", frm=a.id, timeout=10)
    assert ev["payload"] == {"text": "HEY"}, ev

    step("a signaling round trip (rt-signaling)")
    await signaling_round_trip(a, b, "call-1")
    await b.close()
    ev = await a.expect_event("presence:leave", room="lobby", timeout=10)
    assert ev["payload"]["id"] == b.id, ev
    await a.close()


async def scaled():
    before = gateways()
    assert len(before) == 1, before
    step("--scale gateway=3")
    compose("up", "-d", "--no-build", "--scale", "gateway=3")
    deadline = time.monotonic() + 60
    while len(gateways()) < 3:
        assert time.monotonic() < deadline, "3 gateways not running: %s" % gateways()
        await asyncio.sleep(1)
    gws = gateways()
    new = set(gws) - set(before)
    assert len(new) == 2, (before, gws)
    step("new connections reach the new replicas (%s)" % ", ".join(gws[g] for g in sorted(new)))
    clients = await connect_until(lambda cs: set(gws) <= {gw_of(c) for c in cs})
    counts = {gws[g]: sum(gw_of(c) == g for c in clients) for g in gws}
    step("%d connections: %s" % (len(clients), counts))

    by_node = {}
    for c in clients:
        by_node.setdefault(c.welcome["payload"]["node"], []).append(c)
    assert set(by_node) == {"router-1", "router-2"}, "nodes seen: %s" % list(by_node)
    x = by_node["router-2"][0]
    y = next(c for c in by_node["router-1"] if gw_of(c) != gw_of(x))
    z = next(c for c in clients if gw_of(c) not in (gw_of(x), gw_of(y)))
    step("chat and presence between gateways on different routers: %s/%s (%s), %s/%s (%s), "
         "%s/%s (%s)" % (gws[gw_of(x)], x.id, x.welcome["payload"]["node"], gws[gw_of(y)], y.id,
                         y.welcome["payload"]["node"], gws[gw_of(z)], z.id,
                         z.welcome["payload"]["node"]))
    await x.join("across", {"nick": "x"})
    await y.join("across", {"nick": "y"})
    ev = await x.expect_event("presence:join", room="across", timeout=10)
    assert ev["payload"]["id"] == y.id, ev
    await z.join("across", {"nick": "z"})
    for c in (x, y):
        ev = await c.expect_event("presence:join", room="across", timeout=10)
        assert ev["payload"]["id"] == z.id, ev
    lst = await x.ok("presence:list", room="across")
    assert sorted(m["id"] for m in lst["members"]) == sorted([x.id, y.id, z.id]), lst
    await chat(x, y, "across", "over the mesh")
    await chat(y, z, "across", "third gateway")
    await x.ok("chat:direct", to=z.id, payload="psst")
    ev = await z.expect_event("chat:direct", frm=x.id, timeout=10)
    assert ev["payload"] == "psst", ev

    step("signaling round trip across routers")
    await signaling_round_trip(x, y, "call-2")

    victim = gws[gw_of(z)]
    step("stop gateway container %s" % victim)
    sh(["docker", "stop", "-t", "10", victim])
    for c in (x, y):
        ev = await c.expect_event("presence:leave", room="across", timeout=15)
        assert ev["payload"]["id"] == z.id, ev
    await chat(x, y, "across", "still here")
    for c in clients:
        if gw_of(c) == gw_of(z):
            await c.expect_close(1001, timeout=15)

    step("new connections after the stop reach the remaining gateways")
    fresh = []
    for i in range(8):
        c = await Client.connect(url(), timeout=15)
        assert gw_of(c) != gw_of(z), "a new connection landed on the stopped gateway"
        fresh.append(c)
    await fresh[0].join("across")
    await chat(fresh[0], x, "across", "newcomer")
    seen = sorted({gws[gw_of(c)] for c in fresh})
    step("%d new connections on %s" % (len(fresh), seen))
    for c in clients + fresh:
        if gw_of(c) != gw_of(z):
            await c.close()


async def curve():
    """After `up` with deploy/compose.curve.yml: the routers restarted with CURVE on the mesh and
    the service API; the gateways (plain links) re-registered. Chat across routers, the Python
    service and signaling (both CURVE clients now) must work as before."""
    gws = gateways()
    step("CURVE: chat across routers, the Python service, signaling (%d gateways)" % len(gws))
    deadline = time.monotonic() + 40
    clients = []
    while True:
        clients.append(await Client.connect(url(), timeout=15))
        nodes = {c.welcome["payload"]["node"] for c in clients}
        if nodes == {"router-1", "router-2"}:
            break
        assert len(clients) < 20 and time.monotonic() < deadline, "nodes seen: %s" % nodes
    x = next(c for c in clients if c.welcome["payload"]["node"] == "router-1")
    y = next(c for c in clients if c.welcome["payload"]["node"] == "router-2")
    await x.join("secure", {"nick": "x"})
    await y.join("secure", {"nick": "y"})
    ev = await x.expect_event("presence:join", room="secure", timeout=10)
    assert ev["payload"]["id"] == y.id, ev
    await chat(x, y, "secure", "over CURVE")
    r = await until_ack(x, "demo:echo", payload="curve")
    assert r == "curve", r
    await signaling_round_trip(x, y, "call-3")
    for c in clients:
        await c.close()


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True, help="the load balancer's host port")
    ap.add_argument("--compose", required=True, help="the compose command line (with -p and -f)")
    ap.add_argument("--phase", choices=("main", "curve"), default="main",
                    help="main: one gateway, then scaled; curve: after deploy/compose.curve.yml")
    ARGS = ap.parse_args()
    try:
        if ARGS.phase == "main":
            asyncio.run(one_gateway())
            asyncio.run(scaled())
        else:
            asyncio.run(curve())
    except Exception as e:  # any failure: a clear message and exit 1
        traceback.print_exc()
        print("compose check FAILED: %s: %s" % (type(e).__name__, e), flush=True)
        return 1
    step("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
