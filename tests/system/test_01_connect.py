"""Connecting: welcome frame, connection ids, HTTP endpoints, flags, env vars, shutdown."""
import asyncio
import os
import re
import signal
import subprocess

import pytest

from rt import (CONN_ID_RE, SLOW, Client, Gateway, binary, clean_env, clients, close_all,
                free_port, http_get)


def test_welcome_frame_shape(rt):
    r = rt.router(node_id="node-a")
    g = rt.gateway(r)

    async def main():
        c = await Client.connect(g.url)
        w = c.welcome
        assert set(w) == {"type", "payload"}, w
        assert set(w["payload"]) == {"id", "node", "heartbeat"}, w
        assert CONN_ID_RE.match(w["payload"]["id"]), w
        assert w["payload"]["node"] == "node-a"
        assert w["payload"]["heartbeat"] == 25
        await c.close()
    asyncio.run(main())


def test_conn_ids_unique_across_two_gateways(rt):
    r = rt.router()
    g1 = rt.gateway(r)
    g2 = rt.gateway(r)

    async def main():
        cs = await clients(g1.url, 20) + await clients(g2.url, 20)
        ids = [c.id for c in cs]
        assert all(CONN_ID_RE.match(i) for i in ids), ids
        assert len(set(ids)) == len(ids), ids
        await close_all(cs)
    asyncio.run(main())


def test_healthz_and_unknown_path(cluster):
    rt, r, g = cluster
    status, _, _ = http_get(g.port, "/healthz")
    assert status == 200
    assert http_get(g.port, "/no/such/path")[0] == 404
    assert http_get(g.port, "/index.html")[0] == 404      # no --static: nothing else is served


def _total_counters(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([-+0-9.eE]+|NaN|[+-]Inf)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def test_metrics_prometheus_counters(cluster):
    rt, r, g = cluster
    status, headers, body = http_get(g.port, "/metrics")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain"), headers
    text = body.decode()
    assert re.search(r"^# TYPE \S+ counter$", text, re.M), text
    before = _total_counters(text)
    assert before, text

    async def main():
        cs = await clients(g.url, 2)
        for c in cs:
            await c.join("m")
        for i in range(5):
            await cs[0].ok("x.msg", room="m", payload=i)
        for i in range(5):
            await cs[1].expect_event("x.msg", room="m")
        await close_all(cs)
    asyncio.run(main())
    after = _total_counters(http_get(g.port, "/metrics")[2].decode())
    grown = [k for k in after if re.search(r"_total\b", k) and after[k] > before.get(k, 0)]
    assert grown, "no *_total counter grew after 2 connections and 5 messages:\n%s" % after


def test_static_files(rt, tmp_path):
    root = tmp_path / "www"
    (root / "sub").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><p>hello static</p>\n")
    (root / "sub" / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "secret.txt").write_text("do not serve")
    r = rt.router()
    g = rt.gateway(r, static=str(root))
    status, headers, body = http_get(g.port, "/index.html")
    assert status == 200 and b"hello static" in body
    assert headers.get("content-type", "").startswith("text/html"), headers
    status, _, body = http_get(g.port, "/")
    assert status == 200 and b"hello static" in body
    status, headers, body = http_get(g.port, "/sub/a.js")
    assert status == 200 and b"export const a" in body
    assert "javascript" in headers.get("content-type", ""), headers
    assert http_get(g.port, "/missing.html")[0] == 404
    status, _, body = http_get(g.port, "/../secret.txt")
    assert status >= 400 and b"do not serve" not in body
    status, _, body = http_get(g.port, "/sub/../../secret.txt")
    assert status >= 400 and b"do not serve" not in body
    # healthz and metrics still win over the static root
    assert http_get(g.port, "/healthz")[0] == 200
    assert http_get(g.port, "/metrics")[0] == 200


@pytest.mark.parametrize("prog,flags", [
    ("rt-router", ["--node-id", "--ingress", "--fanout", "--api", "--events", "--mesh-bind",
                   "--mesh-peers", "--auto-join", "--max-rooms", "--service-timeout",
                   "--peer-timeout", "--log-level"]),
    ("rt-gateway", ["--listen", "--path", "--router", "--static", "--max-message",
                    "--rate-limit", "--rate-burst", "--max-queue", "--heartbeat", "--log-level"]),
])
def test_help_lists_every_flag(prog, flags):
    p = subprocess.run([binary(prog), "--help"], capture_output=True, text=True, timeout=10,
                       env=clean_env())
    assert p.returncode == 0, p
    out = p.stdout + p.stderr
    for f in flags:
        assert f in out, "%s --help does not list %s:\n%s" % (prog, f, out)
        env = "RT_" + f[2:].upper().replace("-", "_")
        assert env in out, "%s --help does not name %s:\n%s" % (prog, env, out)


@pytest.mark.parametrize("prog,args,flag", [
    ("rt-router", ["--bogus-flag", "1"], "bogus-flag"),
    ("rt-router", ["--max-rooms", "many"], "max-rooms"),
    ("rt-router", ["--ingress", "not an endpoint"], "ingress"),
    ("rt-gateway", ["--bogus-flag", "1"], "bogus-flag"),
    ("rt-gateway", ["--max-message", "abc"], "max-message"),
    ("rt-gateway", ["--heartbeat", "-5"], "heartbeat"),
    ("rt-gateway", ["--listen", "nowhere"], "listen"),
])
def test_bad_flag_exits_2_naming_it(prog, args, flag):
    p = subprocess.run([binary(prog)] + args, capture_output=True, text=True, timeout=10,
                       env=clean_env())
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, "expected one line on stderr:\n%s" % p.stderr
    assert flag in lines[0], "the error does not name %s: %r" % (flag, lines[0])


def test_bad_env_value_exits_2():
    p = subprocess.run([binary("rt-gateway")], capture_output=True, text=True, timeout=10,
                       env=clean_env({"RT_MAX_MESSAGE": "lots"}))
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert re.search(r"max-message|MAX_MESSAGE", p.stderr), p.stderr


def test_env_vars_honoured_flag_wins(rt):
    r1 = rt.router(env={"RT_NODE_ID": "from-env"})
    r2 = rt.router(env={"RT_NODE_ID": "from-env"}, node_id="from-flag")
    g1 = rt.gateway(r1, env={"RT_HEARTBEAT": "7"})
    g2 = rt.gateway(r2, env={"RT_HEARTBEAT": "7"}, heartbeat=9)
    # a gateway configured by its environment alone
    port = free_port()
    g3 = rt.spawn("gw-env-only", [binary("rt-gateway")],
                  env={"RT_LISTEN": "127.0.0.1:%d" % port, "RT_ROUTER": r1.ingress})
    g3.port, g3.router, g3.url = port, r1, "ws://127.0.0.1:%d/realtime" % port
    Gateway.wait_ready(g3)

    async def main():
        a = await Client.connect(g1.url)
        b = await Client.connect(g2.url)
        c = await Client.connect(g3.url)
        assert a.welcome["payload"]["node"] == "from-env"
        assert a.welcome["payload"]["heartbeat"] == 7
        assert b.welcome["payload"]["node"] == "from-flag"
        assert b.welcome["payload"]["heartbeat"] == 9
        assert c.welcome["payload"]["node"] == "from-env"
        await close_all([a, b, c])
    asyncio.run(main())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_signal_closes_clients_1001_and_exits_0(rt, sig):
    r = rt.router()
    g = rt.gateway(r)

    async def main():
        cs = await clients(g.url, 3)
        for c in cs:
            await c.join("bye")
        g.signal(sig)
        for c in cs:
            await c.expect_close(1001, timeout=5)
    asyncio.run(main())
    assert g.p.wait(10 * SLOW) == 0
    r.signal(sig)
    assert r.p.wait(10 * SLOW) == 0


def test_custom_websocket_path(rt):
    r = rt.router()
    g = rt.gateway(r, path="/ws/v1")          # ready = a ping answered on /ws/v1
    assert g.url.endswith("/ws/v1")

    async def main():
        c = await Client.connect(g.url)
        await c.ok("ping")
        await c.close()
        # the default path is not a WebSocket endpoint any more
        try:
            other = await Client.connect("ws://127.0.0.1:%d/realtime" % g.port, welcome=False)
        except Exception:
            return
        await other.close()
        raise AssertionError("/realtime still accepts WebSocket connections with --path /ws/v1")
    asyncio.run(main())
