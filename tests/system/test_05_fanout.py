"""Fan-out: many members of one room each get every message exactly once, in per-sender order."""
import asyncio

from rt import SLOW, Client, clients, close_all

N_CLIENTS = 200
N_MSGS = 50            # per sender


def test_fanout_200_clients_two_senders(cluster):
    rt, r, g = cluster

    async def main():
        receivers = await clients(g.url, N_CLIENTS)
        senders = await clients(g.url, 2)
        everyone = receivers + senders
        await asyncio.gather(*[c.join("fan") for c in everyone])
        ack = await senders[0].ok("presence:list", room="fan")
        assert len(ack["members"]) == N_CLIENTS + 2
        assert {m["id"] for m in ack["members"]} == {c.id for c in everyone}

        async def send(k, s):
            for i in range(N_MSGS):
                await s.send({"type": "fan.msg", "room": "fan", "payload": {"s": k, "i": i}})
                if i % 10 == 9:
                    await asyncio.sleep(0.01)
        await asyncio.gather(send(0, senders[0]), send(1, senders[1]))

        async def collect(c, expected):
            got = {0: [], 1: []}
            for _ in range(expected):
                ev = await c.expect_event("fan.msg", timeout=30)
                assert ev["room"] == "fan"
                assert ev["from"] == senders[ev["payload"]["s"]].id
                got[ev["payload"]["s"]].append(ev["payload"]["i"])
            return got

        results = await asyncio.gather(*[collect(c, 2 * N_MSGS) for c in receivers])
        for c, got in zip(receivers, results):
            assert got[0] == list(range(N_MSGS)), (c.id, got[0])
            assert got[1] == list(range(N_MSGS)), (c.id, got[1])
        # each sender gets the other's messages, not its own
        for k, s in enumerate(senders):
            got = await collect(s, N_MSGS)
            assert got[1 - k] == list(range(N_MSGS)) and got[k] == []
        # exactly once: nothing more arrives
        await asyncio.sleep(0.5)
        for c in everyone:
            await c.expect_silence(0.0, types=["fan.msg"])
        await close_all(everyone)
    asyncio.run(main())
