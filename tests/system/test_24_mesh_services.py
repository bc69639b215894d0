"""Services across the mesh (CONTRACT.md sections 2-4, docs/mesh.md "Services across nodes"):
a client message on one node reaches a live service on another; the answer always comes, once,
even when the service's node dies or is paused; a pattern stays service-owned cluster-wide."""
import asyncio
import signal
import threading
import time

from rt import SLOW, Client, api_request, close_all
from test_10_service_api import Service
from test_20_mesh import start_mesh


async def until_handled_by(c, type, timeout=8.0, **fields):
    """Requests type until an ack names a service (registrations travel with 1 s heartbeats;
    until one is heard the default route acks {})."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        ans = await c.request(type, **fields)
        if ans["type"] == "ack" and ans["payload"].get("by"):
            return ans
        assert time.monotonic() < deadline, "never reached a service: %r" % ans
        await asyncio.sleep(0.2)


def by(name):
    return lambda m: {"reply": {"by": name, "node": m["node"], "from": m["from"]}}


async def send_request(c, type, **fields):
    """Sends {type, id} without waiting; returns the id."""
    c.next_id += 1
    await c.send(dict(type=type, id=c.next_id, **fields))
    return c.next_id


async def answers_for(c, rid, seconds):
    """Every ack/error for request rid that arrives within seconds (stretched by SLOW)."""
    got = []
    deadline = time.monotonic() + seconds * SLOW
    while time.monotonic() < deadline:
        try:
            f = await c.wait_for(lambda f: f.get("id") == rid and f["type"] in ("ack", "error"),
                                 timeout=max(0.05, deadline - time.monotonic()) / SLOW)
        except AssertionError:
            break
        got.append(f)
    return got


def test_round_robin_over_other_nodes(rt):
    """No local service: the live ones of the other nodes share the load; `node` in handle is the
    client's node."""
    routers, gws = start_mesh(rt)
    s2 = Service(routers[1], "s2", ["calc:*"], by("s2"))
    s3 = Service(routers[2], "s3", ["calc:*"], by("s3"))

    async def main():
        a = await Client.connect(gws[0].url)
        await until_handled_by(a, "calc:add")
        deadline = time.monotonic() + 8 * SLOW   # until both registrations are heard on n1
        seen = set()
        while seen != {"s2", "s3"} and time.monotonic() < deadline:
            seen.add((await a.ok("calc:add"))["by"])
            await asyncio.sleep(0.05)   # (the gateway's rate limit)
        assert seen == {"s2", "s3"}, seen
        counts = {"s2": 0, "s3": 0}
        for _ in range(20):
            p = await a.ok("calc:add")
            assert p["node"] == "n1" and p["from"] == a.id, p
            counts[p["by"]] += 1
        assert counts == {"s2": 10, "s3": 10}, counts
        await close_all([a])
    try:
        asyncio.run(main())
    finally:
        s2.stop()
        s3.stop()


def test_pattern_of_a_gone_remote_service_stays_owned(rt):
    """A type only a service of another node ever handled gets `unavailable` once that service is
    gone (its node dead or the service silent), never the default route."""
    routers, gws = start_mesh(rt, n=2)
    s2 = Service(routers[1], "s2", ["calc:*"], by("s2"))

    async def main():
        a = await Client.connect(gws[0].url)
        await until_handled_by(a, "calc:add")
        s2.stop()   # n2 drops it after 3 s of silence, n1 hears n2's next heartbeat
        deadline = time.monotonic() + 10 * SLOW
        while True:
            ans = await a.request("calc:add")
            if ans["type"] == "error":
                break
            assert ans["payload"]["by"] == "s2", ans   # never the default route's {}
            assert time.monotonic() < deadline, "the dead service still answers"
            await asyncio.sleep(0.2)
        assert ans["payload"]["code"] == "unavailable", ans
        # the node itself gone: still unavailable; an unrelated type takes the default route
        routers[1].kill()
        await asyncio.sleep(0.5)
        await a.join("r")
        await a.err("calc:mul", "unavailable", room="r")
        assert await a.ok("other:thing", room="r") == {}
        await close_all([a])
    asyncio.run(main())


def test_forwarded_request_gets_unavailable_when_service_node_dies(rt):
    routers, gws = start_mesh(rt, n=2, peer_timeout=1500)
    handled = threading.Event()

    def silent(m):
        handled.set()
        return None   # never answers
    s2 = Service(routers[1], "s2", ["slow:*"], silent)

    async def main():
        a = await Client.connect(gws[0].url)
        # wait until n1 routes slow:* to n2: the handle reaching the service tells
        deadline = time.monotonic() + 8 * SLOW
        while not handled.is_set():
            assert time.monotonic() < deadline, "n1 never forwarded slow:* to n2"
            await a.send({"type": "slow:x", "payload": 0})
            await asyncio.sleep(0.2)
        handled.clear()
        rid = await send_request(a, "slow:x")
        assert await asyncio.get_running_loop().run_in_executor(None, handled.wait, 5 * SLOW)
        t0 = time.monotonic()
        routers[1].kill()
        first = await a.answer(rid, timeout=6)
        # within the peer timeout (1.5 s) plus a heartbeat and scheduling slack
        assert time.monotonic() - t0 < 4 * SLOW
        assert first["type"] == "error" and first["payload"]["code"] == "unavailable", first
        assert await answers_for(a, rid, 1) == []   # and only once
        await close_all([a])
    try:
        asyncio.run(main())
    finally:
        s2.stop()


def test_paused_service_node_answers_once(rt):
    """n2 is paused (SIGSTOP) while its service holds a client's request: n1 declares n2 down and
    answers `unavailable`; after SIGCONT the late answer is not delivered a second time."""
    routers, gws = start_mesh(rt, n=2, peer_timeout=1500)
    handled = threading.Event()
    release = threading.Event()

    def late(m):
        handled.set()
        release.wait(10)
        return {"reply": {"by": "s2"}}
    s2 = Service(routers[1], "s2", ["late:*"], late)

    async def main():
        a = await Client.connect(gws[0].url)
        release.set()
        await until_handled_by(a, "late:x")
        release.clear()
        handled.clear()
        rid = await send_request(a, "late:x")
        assert await asyncio.get_running_loop().run_in_executor(None, handled.wait, 5 * SLOW)
        routers[1].signal(signal.SIGSTOP)
        release.set()   # the service answers into n2's socket while n2 is stopped
        try:
            got = await answers_for(a, rid, 4)
        finally:
            routers[1].signal(signal.SIGCONT)
        assert [f["type"] for f in got] == ["error"], got
        assert got[0]["payload"]["code"] == "unavailable", got
        more = await answers_for(a, rid, 4)   # n2 back: its late ack must not reach the client
        assert more == [], more
        await close_all([a])
    try:
        asyncio.run(main())
    finally:
        release.set()
        s2.stop()


def test_signaling_across_nodes(rt):
    """rt-signaling on n2 only; callers on n1 and n3: join, offer/answer/candidate relayed across
    the mesh with `from`; once the signaling service is gone, webrtc:* gets `unavailable`."""
    from test_11_signaling import ANSWER, CANDIDATE, OFFER
    routers, gws = start_mesh(rt)
    sig = rt.signaling(routers[1])

    async def main():
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[2].url)
        for c in (a, b):   # until n1 / n3 have heard n2's heartbeat listing webrtc:*
            deadline = time.monotonic() + 8 * SLOW
            while (ans := await c.request("webrtc:join", room="call"))["type"] != "ack":
                assert ans["payload"]["code"] == "unavailable", ans
                assert time.monotonic() < deadline, ans
                await asyncio.sleep(0.2)
        assert ans["payload"]["peers"] == [a.id], ans   # membership seen across nodes
        assert await a.ok("webrtc:offer", room="call", to=b.id, payload=OFFER) == {}
        ev = await b.expect_event("webrtc:offer")
        assert ev == {"type": "webrtc:offer", "room": "call", "from": a.id, "payload": OFFER}, ev
        assert await b.ok("webrtc:answer", room="call", to=a.id, payload=ANSWER) == {}
        ev = await a.expect_event("webrtc:answer")
        assert ev["from"] == b.id and ev["payload"] == ANSWER, ev
        assert await a.ok("webrtc:candidate", room="call", to=b.id, payload=CANDIDATE) == {}
        ev = await b.expect_event("webrtc:candidate")
        assert ev["from"] == a.id and ev["payload"] == CANDIDATE, ev
        sig.kill()
        deadline = time.monotonic() + 10 * SLOW
        while (ans := await a.request("webrtc:offer", room="call", to=b.id,
                                      payload=OFFER))["type"] == "ack":
            assert time.monotonic() < deadline, "the dead signaling service still answers"
            await asyncio.sleep(0.3)
        assert ans["payload"]["code"] == "unavailable", ans
        await close_all([a, b])
    asyncio.run(main())


def test_api_join_on_a_frozen_node_gets_unavailable(rt):
    """A service's join of a connection whose node is frozen is answered `unavailable` when that
    node is declared down, not `ok` on faith."""
    routers, gws = start_mesh(rt, n=2, peer_timeout=1500)

    async def main():
        b = await Client.connect(gws[1].url)
        await b.join("r")
        deadline = time.monotonic() + 8 * SLOW   # until n1 knows b
        while not (await asyncio.to_thread(api_request, routers[0],
                                           {"op": "presence", "room": "r"}))["result"]["members"]:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        routers[1].signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            rep = await asyncio.to_thread(api_request, routers[0],
                                          {"op": "join", "conn": b.id, "room": "late"})
            assert not rep["ok"] and rep["error"]["code"] == "unavailable", rep
            assert time.monotonic() - t0 < 4 * SLOW
        finally:
            routers[1].signal(signal.SIGCONT)
        await close_all([b])
    asyncio.run(main())
