"""examples/python-service/service.py against a real router and gateway, checked the way users
see it: WebSocket clients sending demo:* and receiving what the service publishes."""
import asyncio
import os
import time

from rt import SLOW, SOURCE_DIR, Client

SERVICE = os.path.join(SOURCE_DIR, "examples", "python-service", "service.py")


def start_service(rt, r, name="python-service"):
    return rt.spawn(name, ["/usr/bin/python3", "-u", SERVICE,
                           "--api", "tcp://127.0.0.1:%d" % r.ports["api"],
                           "--events", "tcp://127.0.0.1:%d" % r.ports["events"]])


async def until_served(c, timeout=10.0):
    """Sends demo:echo until the service answers it (registration takes a moment)."""
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < deadline:
        try:
            last = await c.request("demo:echo", timeout=2, payload={"probe": True})
        except AssertionError as e:     # unanswered (e.g. in flight while the router restarted)
            last = str(e)
            continue
        if last["type"] == "ack":
            return last
        await asyncio.sleep(0.1)
    raise AssertionError("the service never answered demo:echo; last answer %r" % last)


def test_python_service_echo_shout_errors_greeting(rt):
    r = rt.router()
    g = rt.gateway(r)
    start_service(rt, r)

    async def main():
        a = await Client.connect(g.url)
        b = await Client.connect(g.url)
        await until_served(a)
        # demo:echo: the ack carries the payload back, whatever JSON it is
        payload = {"n": [1, 2.5, None, True], "s": "h\u00e9llo", "o": {"deep": {"x": -3}}}
        assert await a.ok("demo:echo", payload=payload) == payload
        assert await a.ok("demo:echo", payload=42) == 42
        assert await a.ok("demo:echo", payload="text") == "text"
        # demo:shout: everybody in the room, with the sender in `from`, text upper-cased
        await a.join("loud")
        await b.join("loud")
        await a.expect_event("presence:join", room="loud")
        assert await a.ok("demo:shout", room="loud", payload={"text": "hello"}) == {}
        for c in (a, b):
            ev = await c.expect_event("demo:shout", room="loud")
            assert ev["from"] == a.id and ev["payload"] == {"text": "HELLO"}, ev
        # errors answered by the service reach the client as they are
        e = await a.err("demo:shout", "bad_request", payload={"text": "no room"})
        assert "room" in e["payload"]["message"]
        await a.err("demo:shout", "bad_request", room="loud", payload={"txt": 1})
        await a.err("demo:nope", "bad_request", room="loud")
        # the standalone publish: joining a demo-* room gets a demo:welcome from the service
        await b.join("demo-hall", {"name": "bee"})
        w = await b.expect_event("demo:welcome", room="demo-hall")
        assert w["payload"] == {"id": b.id, "meta": {"name": "bee"}} and "from" not in w, w
        await a.join("demo-hall")
        w = await b.expect_event("demo:welcome", room="demo-hall")
        assert w["payload"]["id"] == a.id
        await a.expect_event("demo:welcome", room="demo-hall")
        await a.close()
        await b.close()
    asyncio.run(main())


def test_python_service_registers_again_after_a_router_restart_and_goes_unavailable(rt):
    r = rt.router()
    g = rt.gateway(r)
    svc = start_service(rt, r)

    async def main():
        c = await Client.connect(g.url)
        await until_served(c)
        r.kill()
        await asyncio.to_thread(rt.restart_router, r)
        # the gateway re-attaches (the client stays connected); the service hears
        # registered:false on its next heartbeat and registers again
        ack = await until_served(c, 15)
        assert ack["payload"] == {"probe": True}
        assert "registering again" in svc.stderr() or "reconnecting" in svc.stderr()
        # a pattern stays owned once registered: without its service, unavailable
        assert svc.stop() == 0
        deadline = time.monotonic() + 10 * SLOW
        while True:
            a = await c.request("demo:echo", payload=1, timeout=8)
            if a["type"] == "error" and a["payload"]["code"] == "unavailable":
                break
            assert time.monotonic() < deadline, "still %r after the service stopped" % a
            await asyncio.sleep(0.2)
        await c.close()
    asyncio.run(main())
