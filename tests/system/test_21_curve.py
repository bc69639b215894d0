"""CURVE on the mesh and the service sockets (CONTRACT.md section 4, last paragraph;
docs/mesh.md): --curve-secret-key FILE --curve-allow DIR. Nodes sharing an allowed key pair
mesh as usual; a node whose key is not allowed neither hears the others nor reaches them; a
service DEALER gets answers only with an allowed client key."""
import asyncio
import os
import re
import shutil
import subprocess
import time

import msgpack
import zmq

from rt import SLOW, Client, binary, clean_env, close_all, converge, free_port, mesh_ports

CTX = zmq.Context.instance()


def keygen(path):
    """A zcert pair via rt-keygen: path (public) and path_secret; returns (public, secret) Z85."""
    out = subprocess.run([binary("rt-keygen"), path], capture_output=True, text=True, check=True)
    text = open(path + "_secret").read()
    pub = re.search(r'public-key = "(.{40})"', text).group(1)
    sec = re.search(r'secret-key = "(.{40})"', text).group(1)
    assert out.stdout.strip() == pub
    return pub, sec


def allow_dir(tmp, name, *certs):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    for c in certs:
        shutil.copy(c, os.path.join(d, os.path.basename(c)))
    return d


def peer(p, key=None):
    return "tcp://127.0.0.1:%d" % p["mesh"] + ("#" + key if key else "")


def test_bad_curve_flags_exit_2(rt):
    keygen(os.path.join(rt.tmp, "k"))
    os.makedirs(os.path.join(rt.tmp, "pub"))
    shutil.copy(os.path.join(rt.tmp, "k"), os.path.join(rt.tmp, "pub", "only_public"))
    cases = [
        (["--curve-secret-key", os.path.join(rt.tmp, "missing"), "--curve-allow", rt.tmp],
         "--curve-secret-key"),
        (["--curve-secret-key", os.path.join(rt.tmp, "pub", "only_public"), "--curve-allow",
          rt.tmp], "--curve-secret-key"),
        (["--curve-secret-key", os.path.join(rt.tmp, "k_secret"), "--curve-allow",
          os.path.join(rt.tmp, "nodir")], "--curve-allow"),
        (["--curve-secret-key", os.path.join(rt.tmp, "k_secret")], "--curve-allow"),
        (["--curve-allow", rt.tmp], "--curve-allow"),
    ]
    for args, flag in cases:
        p = subprocess.run([binary("rt-router"), "--api", "tcp://127.0.0.1:%d" % free_port()] + args,
                           capture_output=True, text=True, timeout=10 * SLOW, env=clean_env())
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and flag in lines[0], (args, p.stderr)


def test_plain_non_loopback_bind_warns(rt):
    r = rt.router(api="tcp://0.0.0.0:%d" % free_port())
    time.sleep(0.2)
    assert re.search(r"service api tcp://0\.0\.0\.0:\d+ is reachable from other hosts without CURVE",
                     r.stderr()), r.stderr()
    assert "events tcp://127.0.0.1:%d is reachable" % r.ports["events"] not in r.stderr()


def test_mesh_refuses_a_node_whose_key_is_not_allowed(rt):
    cluster = os.path.join(rt.tmp, "cluster")
    stranger = os.path.join(rt.tmp, "stranger")
    cluster_pub, _ = keygen(cluster)
    keygen(stranger)
    allow = allow_dir(rt.tmp, "allow", cluster)
    # the intruder accepts everybody and names the cluster's real key for n1 and n2
    allow_all = allow_dir(rt.tmp, "allow_all", cluster, stranger)
    ports = mesh_ports(3)
    plain_peers = ",".join(peer(p) for p in ports)
    routers = [rt.router(node_id="n%d" % (i + 1), ports=ports[i], mesh_peers=plain_peers,
                         peer_timeout=2000, curve_secret_key=cluster + "_secret",
                         curve_allow=allow) for i in range(2)]
    routers.append(rt.router(node_id="n3", ports=ports[2], peer_timeout=2000,
                             mesh_peers=",".join([peer(ports[0], cluster_pub),
                                                  peer(ports[1], cluster_pub), peer(ports[2])]),
                             curve_secret_key=stranger + "_secret", curve_allow=allow_all))
    gws = [rt.gateway(r) for r in routers]

    async def main():
        c1, c2, c3 = [await Client.connect(g.url) for g in gws]
        for c in (c1, c2, c3):
            await c.join("hall", {"n": c.id})
        await converge([c1, c2], "hall", [c1.id, c2.id])
        await converge([c3], "hall", [c3.id])
        for c in (c1, c2, c3):
            c.backlog = [f for f in c.backlog if f.get("type") != "presence:join"]
        await c1.send({"type": "chat:msg", "room": "hall", "payload": {"from": 1}})
        f = await c2.wait_for(lambda f: f.get("type") == "chat:msg", 5, "chat:msg")
        assert f["payload"] == {"from": 1} and f["from"] == c1.id
        await c3.send({"type": "chat:msg", "room": "hall", "payload": {"from": 3}})
        await c3.send({"type": "chat:msg", "to": c1.id, "payload": {"direct": 3}})
        await c1.expect_silence(1.5 * SLOW, types=["chat:msg", "presence:join"])
        await c2.expect_silence(0.2, types=["chat:msg", "presence:join"])
        await c3.expect_silence(0.2, types=["chat:msg", "presence:join"])
        a = await c3.request("chat:msg", to=c1.id, payload={"direct": 3})
        assert a["type"] == "error", a     # c1 does not exist as far as n3 knows
        await converge([c1, c2], "hall", [c1.id, c2.id])
        await converge([c3], "hall", [c3.id])
        await close_all([c1, c2, c3])

    asyncio.run(main())
    for r in routers:
        assert r.alive()


def test_mesh_with_one_key_pair_per_node(rt):
    """Each node its own pair; peers named with #Z85KEY; one allow dir holding both. A node
    killed and restarted with its key rejoins the CURVE mesh (new handshakes both ways)."""
    k1, k2 = os.path.join(rt.tmp, "n1"), os.path.join(rt.tmp, "n2")
    pub1, _ = keygen(k1)
    pub2, _ = keygen(k2)
    allow = allow_dir(rt.tmp, "allow", k1, k2)
    ports = mesh_ports(2)
    peers = ",".join([peer(ports[0], pub1), peer(ports[1], pub2)])
    routers = [rt.router(node_id="n%d" % (i + 1), ports=ports[i], mesh_peers=peers,
                         curve_secret_key=k + "_secret", curve_allow=allow)
               for i, k in enumerate((k1, k2))]
    gws = [rt.gateway(r) for r in routers]

    async def main():
        c1, c2 = [await Client.connect(g.url) for g in gws]
        for c in (c1, c2):
            await c.join("hall")
        await converge([c1, c2], "hall", [c1.id, c2.id])
        await c2.send({"type": "chat:msg", "room": "hall", "payload": {"x": 2}})
        f = await c1.wait_for(lambda f: f.get("type") == "chat:msg", 5, "chat:msg")
        assert f["payload"] == {"x": 2}
        # n2 killed and restarted on the same ports and key: its gateway re-attaches c2
        routers[1].kill()
        routers[1] = rt.restart_router(routers[1])
        await converge([c1, c2], "hall", [c1.id, c2.id], timeout=15)
        for sender, receiver, x in ((c1, c2, 3), (c2, c1, 4)):
            await sender.send({"type": "chat:msg", "room": "hall", "payload": {"x": x}})
            f = await receiver.wait_for(lambda f: f.get("type") == "chat:msg" and
                                        f["payload"] == {"x": x}, 5, "chat:msg %d" % x)
            assert f["from"] == sender.id
        await close_all([c1, c2])

    asyncio.run(main())


def api_call(endpoint, keys=None, server_key=None, timeout=1.0):
    """Sends a stats request on a fresh DEALER; the reply or None."""
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    if keys:
        s.curve_publickey, s.curve_secretkey = keys
        s.curve_serverkey = server_key
    s.connect(endpoint)
    try:
        s.send(msgpack.packb({"op": "stats", "req": "r1"}))
        if not s.poll(int(timeout * 1000 * SLOW)):
            return None
        return msgpack.unpackb(s.recv(), raw=False)
    finally:
        s.close()


def test_service_api_and_events_need_an_allowed_key(rt):
    node = os.path.join(rt.tmp, "node")
    svc = os.path.join(rt.tmp, "svc")
    node_pub, _ = keygen(node)
    svc_pub, svc_sec = keygen(svc)
    allow = allow_dir(rt.tmp, "allow", svc)
    r = rt.router(curve_secret_key=node + "_secret", curve_allow=allow)
    g = rt.gateway(r)
    api = "tcp://127.0.0.1:%d" % r.ports["api"]
    server = node_pub.encode()

    reply = api_call(api, (svc_pub.encode(), svc_sec.encode()), server, 5.0)
    assert reply and reply["op"] == "reply" and reply["ok"] is True, reply
    stranger = zmq.curve_keypair()
    assert api_call(api, stranger, server) is None
    assert api_call(api) is None                      # plain, no CURVE at all
    # the node's own key pair is not in this allow list either
    # events: an allowed subscriber hears conn:open, a stranger does not
    subs = []
    for keys in ((svc_pub.encode(), svc_sec.encode()), stranger):
        s = CTX.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_publickey, s.curve_secretkey = keys
        s.curve_serverkey = server
        s.setsockopt(zmq.SUBSCRIBE, b"conn:")
        s.connect("tcp://127.0.0.1:%d" % r.ports["events"])
        subs.append(s)
    time.sleep(0.5 * SLOW)

    async def main():
        c = await Client.connect(g.url)
        await c.close()

    asyncio.run(main())
    allowed, refused = subs
    assert allowed.poll(int(5000 * SLOW)), "allowed subscriber got no event"
    assert allowed.recv_multipart()[0] == b"conn:open"
    assert not refused.poll(500)
    for s in subs:
        s.close()
    assert "is reachable from other hosts" not in r.stderr()

    # rtctl (the C service library) with and without an allowed client key
    def rtctl(*args):
        return subprocess.run([binary("rtctl"), "--api", api, "--timeout", "1500"] + list(args),
                              capture_output=True, text=True, timeout=20 * SLOW, env=clean_env())
    p = rtctl("--curve-secret-key", svc + "_secret", "--curve-server-key", node_pub, "stats")
    assert p.returncode == 0 and '"services"' in p.stdout, (p.returncode, p.stdout, p.stderr)
    assert rtctl("stats").returncode == 3
    p = rtctl("--curve-secret-key", node + "_secret", "stats")   # node's pair: not in DIR
    assert p.returncode == 3, (p.returncode, p.stderr)
    p = rtctl("--curve-secret-key", os.path.join(rt.tmp, "missing"), "stats")
    assert p.returncode == 2 and "--curve-secret-key" in p.stderr


def test_signaling_registers_with_an_allowed_key(rt):
    node = os.path.join(rt.tmp, "node")
    svc = os.path.join(rt.tmp, "svc")
    node_pub, _ = keygen(node)
    keygen(svc)
    allow = allow_dir(rt.tmp, "allow", svc)
    r = rt.router(curve_secret_key=node + "_secret", curve_allow=allow)
    s = rt.signaling(r, curve_secret_key=svc + "_secret", curve_server_key=node_pub)
    assert s.alive()
    # with the node's own pair (not in the allow list) it never registers
    s2 = rt.signaling(r, ready=False, curve_secret_key=node + "_secret")
    time.sleep(1.5 * SLOW)
    assert "registered at" not in s2.stderr()
    p = subprocess.run([binary("rt-signaling"), "--curve-secret-key", os.path.join(rt.tmp, "nope")],
                       capture_output=True, text=True, timeout=10 * SLOW, env=clean_env())
    assert p.returncode == 2 and "--curve-secret-key" in p.stderr, p.stderr
