"""rt-signaling: webrtc:join (ack shape, peers, polite symmetry, TURN credentials), relay of
offer/answer/candidate/bye with `from`, membership errors, payload validation, --auto-join-rooms,
several instances side by side, and `unavailable` without any signaling service."""
import asyncio
import base64
import hashlib
import hmac
import time

import pytest

from rt import SLOW, Client, clients, close_all

SECRET = "s3cret-for-tests"
STUN = "stun:stun.example.org:3478,stun:127.0.0.1:3479"
TURN = "turn:127.0.0.1:3478?transport=udp,turns:127.0.0.1:5349"

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 10.0.0.1 50000 typ host",
             "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"}


@pytest.fixture
def sig(rt):
    """A router, a gateway and one rt-signaling with STUN and TURN configured."""
    r = rt.router()
    g = rt.gateway(r)
    s = rt.signaling(r, stun=STUN, turn_uri=TURN, turn_secret=SECRET, turn_ttl=3600)
    return rt, r, g, s


async def webrtc_room(url, n, room):
    """n clients that joined `room` with webrtc:join, in order; returns (clients, acks)."""
    cs = await clients(url, n)
    acks = []
    for c in cs:
        acks.append(await c.ok("webrtc:join", room=room))
    return cs, acks


def test_join_ack_shape_peers_polite(sig):
    rt, r, g, s = sig

    async def main():
        cs, acks = await webrtc_room(g.url, 3, "call")
        a, b, c = cs
        for i, (x, ack) in enumerate(zip(cs, acks)):
            assert set(ack) == {"room", "peers", "iceServers", "polite"}, ack
            assert ack["room"] == "call"
            assert sorted(ack["peers"]) == sorted(y.id for y in cs[:i]), ack
            assert x.id not in ack["peers"]
            assert set(ack["polite"]) == set(ack["peers"])
        # polite symmetry: for every pair, exactly one side is polite, and both agree
        for j in range(3):
            for i in range(j):
                x, y = cs[i], cs[j]
                pol_y_to_x = acks[j]["polite"][x.id]     # y joined later and saw x
                assert pol_y_to_x == (y.id > x.id), (x.id, y.id, acks[j]["polite"])
        # the earlier members got presence:join (joined "as room:join")
        ev = await a.expect_event("presence:join", room="call")
        assert ev["payload"]["id"] == b.id
        # joining again is idempotent and still acks
        again = await a.ok("webrtc:join", room="call")
        assert sorted(again["peers"]) == sorted([b.id, c.id])
        assert again["polite"] == {b.id: a.id > b.id, c.id: a.id > c.id}
        # webrtc:join makes a real member: presence:list works
        lst = await c.ok("presence:list", room="call")
        assert sorted(m["id"] for m in lst["members"]) == sorted(x.id for x in cs)
        # the payload is the member meta, checked as room:join's
        d = await Client.connect(g.url)
        await d.err("webrtc:join", "bad_request", room="call", payload="not an object")
        await d.ok("webrtc:join", room="call", payload={"nick": "d"})
        lst = await d.ok("presence:list", room="call")
        assert {"id": d.id, "user": None, "meta": {"nick": "d"}} in lst["members"], lst
        await d.close()
        await close_all(cs)
    asyncio.run(main())


def test_ice_servers_and_turn_credentials(sig):
    rt, r, g, s = sig

    async def main():
        c = await Client.connect(g.url)
        t0 = int(time.time())
        ack = await c.ok("webrtc:join", room="turn-room")
        t1 = int(time.time())
        ice = ack["iceServers"]
        assert len(ice) == 2, ice
        assert ice[0] == {"urls": STUN.split(",")}, ice[0]
        turn = ice[1]
        assert set(turn) == {"urls", "username", "credential"}, turn
        assert turn["urls"] == TURN.split(",")
        expiry, conn = turn["username"].split(":", 1)
        assert conn == c.id
        assert t0 + 3600 <= int(expiry) <= t1 + 3600 + 1, (expiry, t0)
        want = base64.b64encode(hmac.new(SECRET.encode(), turn["username"].encode(),
                                         hashlib.sha1).digest()).decode()
        assert turn["credential"] == want
        await c.close()
    asyncio.run(main())


def test_no_ice_servers_configured(rt):
    r = rt.router()
    g = rt.gateway(r)
    rt.signaling(r)

    async def main():
        c = await Client.connect(g.url)
        ack = await c.ok("webrtc:join", room="plain")
        assert ack == {"room": "plain", "peers": [], "iceServers": [], "polite": {}}, ack
        await c.close()
    asyncio.run(main())


def test_relay_offer_answer_candidate_bye(sig):
    rt, r, g, s = sig

    async def main():
        (a, b, c), _ = await webrtc_room(g.url, 3, "relay")
        assert await a.ok("webrtc:offer", room="relay", to=b.id, payload=OFFER) == {}
        ev = await b.expect_event("webrtc:offer")
        assert ev == {"type": "webrtc:offer", "room": "relay", "from": a.id, "payload": OFFER}, ev
        assert await b.ok("webrtc:answer", room="relay", to=a.id, payload=ANSWER) == {}
        ev = await a.expect_event("webrtc:answer")
        assert ev == {"type": "webrtc:answer", "room": "relay", "from": b.id, "payload": ANSWER}
        for p in (CANDIDATE, None, {"candidate": ""}):
            await a.ok("webrtc:candidate", room="relay", to=b.id, payload=p)
            ev = await b.expect_event("webrtc:candidate")
            assert ev["from"] == a.id and ev["payload"] == p, ev
        await a.ok("webrtc:bye", room="relay", to=b.id, payload={"reason": "hangup"})
        ev = await b.expect_event("webrtc:bye")
        assert ev["payload"] == {"reason": "hangup"} and ev["from"] == a.id
        # without id: still relayed, no answer
        await a.send({"type": "webrtc:candidate", "room": "relay", "to": b.id, "payload": None})
        ev = await b.expect_event("webrtc:candidate")
        assert ev["from"] == a.id
        # only the target gets it
        await c.expect_silence(0.4, types=["webrtc:offer", "webrtc:answer", "webrtc:candidate",
                                           "webrtc:bye"])
        await close_all([a, b, c])
    asyncio.run(main())


def test_membership_errors(sig):
    rt, r, g, s = sig

    async def main():
        (a, b), _ = await webrtc_room(g.url, 2, "m")
        outsider, other = await clients(g.url, 2)
        await other.ok("webrtc:join", room="elsewhere")
        # sender not a member
        await outsider.err("webrtc:offer", "not_in_room", room="m", to=a.id, payload=OFFER)
        # unknown peer
        await a.err("webrtc:offer", "peer_not_found", room="m", to="n0:nobody", payload=OFFER)
        # peer exists but is not in the room
        await a.err("webrtc:offer", "peer_not_found", room="m", to=other.id, payload=OFFER)
        # a room nobody is in
        await a.err("webrtc:bye", "not_in_room", room="empty-room", to=b.id)
        await other.expect_silence(0.3, types=["webrtc:offer"])
        await close_all([a, b, outsider, other])
    asyncio.run(main())


def test_validation(sig):
    rt, r, g, s = sig

    async def main():
        (a, b), _ = await webrtc_room(g.url, 2, "v")
        bad = [
            ("webrtc:offer", dict(to=b.id, payload=OFFER)),                       # no room
            ("webrtc:offer", dict(room="v", payload=OFFER)),                      # no to
            ("webrtc:offer", dict(room="v", to=b.id, payload=ANSWER)),            # type mismatch
            ("webrtc:answer", dict(room="v", to=b.id, payload={"type": "answer"})),
            ("webrtc:offer", dict(room="v", to=b.id, payload="v=0")),
            ("webrtc:candidate", dict(room="v", to=b.id, payload={"sdpMid": "0"})),
            ("webrtc:candidate", dict(room="v", to=b.id,
                                      payload={"candidate": "x", "sdpMLineIndex": "0"})),
            ("webrtc:candidate", dict(room="v", to=b.id, payload=17)),
            ("webrtc:join", dict()),                                              # no room
        ]
        for t, fields in bad:
            await a.err(t, "bad_request", **fields)
        # candidate: 2 KiB is fine, one byte more is not
        ok = dict(CANDIDATE, candidate="c" * 2048)
        await a.ok("webrtc:candidate", room="v", to=b.id, payload=ok)
        assert (await b.expect_event("webrtc:candidate"))["payload"] == ok
        await a.err("webrtc:candidate", "bad_request", room="v", to=b.id,
                    payload=dict(CANDIDATE, candidate="c" * 2049))
        await b.expect_silence(0.2, types=["webrtc:candidate"])
        await a.err("webrtc:dance", "unknown_type", room="v", to=b.id)
        await b.expect_silence(0.3, types=["webrtc:offer", "webrtc:dance"])
        await close_all([a, b])
    asyncio.run(main())


def test_sdp_at_limit(rt):
    """A 64 KiB sdp is accepted, one byte more is bad_request (the gateway's frame limit is
    raised so that such frames reach the service at all)."""
    r = rt.router()
    g = rt.gateway(r, max_message="256K")
    rt.signaling(r)

    async def main():
        (a, b), _ = await webrtc_room(g.url, 2, "big")
        sdp = "s" * (64 * 1024)
        await a.ok("webrtc:offer", room="big", to=b.id, payload={"type": "offer", "sdp": sdp})
        ev = await b.expect_event("webrtc:offer")
        assert ev["payload"]["sdp"] == sdp
        await a.err("webrtc:offer", "bad_request", room="big", to=b.id,
                    payload={"type": "offer", "sdp": sdp + "s"})
        await close_all([a, b])
    asyncio.run(main())


def test_auto_join_rooms(rt):
    r = rt.router()
    g = rt.gateway(r)
    rt.signaling(r, auto_join_rooms=True)

    async def main():
        a, b = await clients(g.url, 2)
        await b.ok("webrtc:join", room="aj")
        # a never joined: the offer joins it first (b sees presence:join), then relays
        await a.ok("webrtc:offer", room="aj", to=b.id, payload=OFFER)
        ev = await b.expect_event("presence:join", room="aj")
        assert ev["payload"]["id"] == a.id
        ev = await b.expect_event("webrtc:offer")
        assert ev["from"] == a.id
        lst = await a.ok("presence:list", room="aj")
        assert sorted(m["id"] for m in lst["members"]) == sorted([a.id, b.id])
        # the target must still be a member
        c = await Client.connect(g.url)
        await a.err("webrtc:offer", "peer_not_found", room="aj", to=c.id, payload=OFFER)
        await close_all([a, b, c])
    asyncio.run(main())


def test_rate_limited(rt):
    r = rt.router()
    g = rt.gateway(r)
    rt.signaling(r, rate_limit=1, rate_burst=3)

    async def main():
        (a, b), _ = await webrtc_room(g.url, 2, "rl")
        codes = []
        for _ in range(6):
            x = await a.request("webrtc:bye", room="rl", to=b.id)
            codes.append(x["payload"]["code"] if x["type"] == "error" else "ok")
        # a's join took one of its 3 tokens, two byes pass, then the bucket is empty (it
        # refills at 1/s, so a slow run may let one more through)
        assert codes[:2] == ["ok", "ok"], codes
        assert set(codes[2:]) <= {"ok", "rate_limited"}, codes
        assert codes[2:].count("rate_limited") >= 3, codes
        # another connection is not affected
        await b.ok("webrtc:bye", room="rl", to=a.id)
        await close_all([a, b])
    asyncio.run(main())


def test_two_instances_one_killed(rt):
    r = rt.router()
    g = rt.gateway(r)
    s1 = rt.signaling(r, stun="stun:one.example:3478")
    s2 = rt.signaling(r, stun="stun:two.example:3478")

    async def main():
        a, b = await clients(g.url, 2)
        await a.ok("webrtc:join", room="ha")
        await b.ok("webrtc:join", room="ha")
        # both instances serve (round-robin): both STUN configs show up
        seen = set()
        for _ in range(6):
            ack = await a.ok("webrtc:join", room="ha")
            seen.add(ack["iceServers"][0]["urls"][0])
        assert seen == {"stun:one.example:3478", "stun:two.example:3478"}, seen
        for _ in range(4):
            await a.ok("webrtc:offer", room="ha", to=b.id, payload=OFFER)
            assert (await b.expect_event("webrtc:offer"))["from"] == a.id
        s1.kill()
        # within the router's 3 s liveness window requests may time out; after it, all served
        deadline = time.monotonic() + 15 * SLOW
        while True:
            x = await a.request("webrtc:join", room="ha", timeout=8)
            if x["type"] == "ack":
                break
            assert x["payload"]["code"] in ("timeout", "unavailable"), x
            assert time.monotonic() < deadline, "never served again after one instance died"
        await asyncio.sleep(3.5 * SLOW)
        for _ in range(6):
            ack = await a.ok("webrtc:join", room="ha")
            assert ack["iceServers"][0]["urls"] == ["stun:two.example:3478"]
            await a.ok("webrtc:offer", room="ha", to=b.id, payload=OFFER)
            assert (await b.expect_event("webrtc:offer"))["from"] == a.id
        await close_all([a, b])
    asyncio.run(main())


def test_no_signaling_unavailable(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("u")
        await b.join("u")
        await a.err("webrtc:offer", "unavailable", room="u", to=b.id, payload=OFFER)
        await a.err("webrtc:join", "unavailable", room="u")
        await close_all([a, b])
    asyncio.run(main())


def test_router_restart_reregisters(rt):
    """After a router restart (registered:false to the heartbeat) rt-signaling registers again
    and serves webrtc:* without being restarted itself."""
    r = rt.router()
    g = rt.gateway(r)
    s = rt.signaling(r)

    async def main():
        a, b = await clients(g.url, 2)
        await a.ok("webrtc:join", room="rs")
        await b.ok("webrtc:join", room="rs")
        await asyncio.to_thread(r.kill)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(rt.restart_router, r)
        t0 = time.monotonic()
        while True:         # until the gateway re-registered a, b and the service is back
            try:
                x = await a.request("webrtc:offer", timeout=2, room="rs", to=b.id,
                                    payload=OFFER)
            except AssertionError:
                x = None
            if x and x["type"] == "ack":
                break
            assert time.monotonic() - t0 < 15 * SLOW, "not served after the restart: %r" % x
            await asyncio.sleep(0.2)
        assert (await b.expect_event("webrtc:offer"))["from"] == a.id
        assert s.alive()
        await close_all([a, b])
    asyncio.run(main())


def test_signaling_bad_flags(rt):
    import subprocess
    from rt import binary
    for argv, flag in ((["--turn-uri", "turn:x:3478"], "--turn-secret"),
                       (["--stun", "http://x"], "--stun"),
                       (["--turn-ttl", "0"], "--turn-ttl"),
                       (["--router-api", "nowhere"], "--router-api")):
        p = subprocess.run([binary("rt-signaling")] + argv, capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 2, (argv, p.returncode, p.stderr)
        assert flag in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = subprocess.run([binary("rt-signaling"), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 0
    for f in ("--router-api", "--router-events", "--auto-join-rooms", "--stun", "--turn-uri",
              "--turn-secret", "--turn-ttl", "--log-level", "--rate-limit"):
        assert f in p.stdout, f
