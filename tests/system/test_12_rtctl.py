"""rtctl: every command against a real router, JSON out on stdout, one-line errors on stderr and
the exit codes (0 ok, 1 error reply, 2 usage, 3 unreachable)."""
import asyncio
import json
import subprocess
import time

from rt import SLOW, binary, clean_env, clients, close_all, free_port


def api_of(r):
    return "tcp://127.0.0.1:%d" % r.ports["api"]


async def rtctl(r, *args, timeout_ms=3000):
    """(exit code, stdout, stderr) of rtctl against router r (None: no --api)."""
    argv = [binary("rtctl")]
    if r is not None:
        argv += ["--api", api_of(r)]
    argv += ["--timeout", str(int(timeout_ms * SLOW))] + list(args)
    p = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, env=clean_env())
    out, err = await asyncio.wait_for(p.communicate(), 30 * SLOW)
    return p.returncode, out.decode(), err.decode()


async def ok(r, *args):
    rc, out, err = await rtctl(r, *args)
    assert rc == 0, (args, rc, out, err)
    assert out.endswith("\n") and out.count("\n") == 1, out
    return json.loads(out)


async def fails(r, code, *args):
    rc, out, err = await rtctl(r, *args)
    assert rc == 1, (args, rc, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and code in lines[0], err
    return lines[0]


def test_publish_send_presence_rooms_stats(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("ops", {"nick": "a"})
        await b.join("ops")
        await a.expect_event("presence:join", room="ops")

        assert await ok(r, "publish", "ops", "news", '{"text":"hello","n":[1,2.5,null]}') == {}
        for c in (a, b):
            ev = await c.expect_event("news")
            assert ev == {"type": "news", "room": "ops",
                          "payload": {"text": "hello", "n": [1, 2.5, None]}}, ev

        assert await ok(r, "send", b.id, "dm", '"psst"') == {}
        ev = await b.expect_event("dm")
        assert ev == {"type": "dm", "payload": "psst"}, ev
        assert await ok(r, "send", a.id, "dm", "42", "--room", "ops") == {}
        ev = await a.expect_event("dm")
        assert ev == {"type": "dm", "room": "ops", "payload": 42}, ev
        await fails(r, "peer_not_found", "send", "n0:nobody", "dm", "null")

        pres = await ok(r, "presence", "ops")
        assert pres["room"] == "ops"
        by_id = {m["id"]: m for m in pres["members"]}
        assert set(by_id) == {a.id, b.id}
        assert by_id[a.id]["meta"] == {"nick": "a"}

        rooms = await ok(r, "rooms")
        assert {"room": "ops", "members": 2} in rooms, rooms

        stats = await ok(r, "stats")
        assert isinstance(stats, dict) and stats, stats
        await close_all([a, b])
    asyncio.run(main())


def test_join_leave_disconnect(cluster):
    rt, r, g = cluster

    async def main():
        a, b = await clients(g.url, 2)
        await a.join("j")
        res = await ok(r, "join", b.id, "j", '{"role":"guest"}')
        assert isinstance(res, dict)
        ev = await a.expect_event("presence:join", room="j")
        assert ev["payload"]["id"] == b.id and ev["payload"]["meta"] == {"role": "guest"}
        assert await ok(r, "leave", b.id, "j") == {}
        ev = await a.expect_event("presence:leave", room="j")
        assert ev["payload"]["id"] == b.id
        await fails(r, "not_in_room", "leave", b.id, "j")
        await fails(r, "bad_request", "join", a.id, "j", "[1]")      # meta not an object

        assert await ok(r, "disconnect", b.id, "4001", "kicked by operator") == {}
        await b.expect_close(4001)
        await fails(r, "peer_not_found", "disconnect", "n0:nobody")
        await close_all([a])
    asyncio.run(main())


def test_usage_errors(cluster):
    rt, r, g = cluster

    async def main():
        for args in ([], ["bogus"], ["publish", "room", "type"], ["publish", "r", "t", "{bad"],
                     ["send", "c", "t"], ["presence"], ["rooms", "extra"],
                     ["disconnect", "c", "999"], ["disconnect", "c", "abc"],
                     ["join", "c", "r", "{"], ["leave", "c"], ["--nope", "stats"],
                     ["presence", "r", "--room", "x"]):
            rc, out, err = await rtctl(r, *args)
            assert rc == 2, (args, rc, err)
            assert out == "" and len(err.strip().splitlines()) == 1, (args, err)
        rc, out, err = await rtctl(None, "--api", "not-an-endpoint", "stats")
        assert rc == 2 and "--api" in err, err
        rc, out, err = await rtctl(None, "--timeout", "x", "stats")
        assert rc == 2 and "--timeout" in err, err
    asyncio.run(main())


def test_help():
    p = subprocess.run([binary("rtctl"), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    for word in ("publish", "send", "presence", "rooms", "stats", "disconnect", "join", "leave",
                 "--api", "--timeout", "--room"):
        assert word in p.stdout, word


def test_unreachable():
    port = free_port()               # nothing listens there
    t0 = time.monotonic()
    p = subprocess.run([binary("rtctl"), "--api", "tcp://127.0.0.1:%d" % port, "--timeout",
                        "300", "stats"], capture_output=True, text=True, timeout=30,
                       env=clean_env())
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "unreachable" in p.stderr, p.stderr
    assert time.monotonic() - t0 < 5 * SLOW


def test_env_api(cluster):
    rt, r, g = cluster
    env = clean_env({"RT_API": api_of(r)})
    p = subprocess.run([binary("rtctl"), "rooms"], capture_output=True, text=True, timeout=30,
                       env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == []
