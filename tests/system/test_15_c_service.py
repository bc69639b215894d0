"""examples/c-service (shout): a C service on the service library, end to end through a gateway."""
import asyncio
import time

from rt import SLOW, binary, clients, close_all


def start_shout(rt, r):
    p = rt.spawn("shout", [binary("shout"), "--router-api",
                           "tcp://127.0.0.1:%d" % r.ports["api"]])
    deadline = time.time() + 10 * SLOW
    while "registered at" not in p.stderr():
        assert p.alive(), p.stderr()
        assert time.time() < deadline, "shout never registered:\n" + p.stderr()
        time.sleep(0.05)
    return p


async def shout_round_trip(url):
    """Two clients in a room: a shout:say is answered and its shout:said reaches both; a bad
    payload gets bad_request. The example service must be registered."""
    a, b = await clients(url, 2)
    await a.join("loud")
    await b.join("loud")
    assert await a.ok("shout:say", room="loud", payload={"text": "hi there"}) == {"length": 8}
    for c in (a, b):
        ev = await c.expect_event("shout:said")
        assert ev == {"type": "shout:said", "room": "loud", "from": a.id,
                      "payload": {"text": "HI THERE"}}, ev
    await a.err("shout:say", "bad_request", room="loud", payload={"text": 5})
    await close_all([a, b])


def test_shout(cluster):
    rt, r, g = cluster
    start_shout(rt, r)

    asyncio.run(shout_round_trip(g.url))
