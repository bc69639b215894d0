"""A real network partition (CONTRACT.md section 4: "a node that dies or is cut off is declared
down after at most 5 s ... when it comes back, the views converge again"): three routers, each
in its own network namespace, on one bridge; nftables in node 3's namespace drops its traffic
with the other two nodes, then the rule goes away.

    host ns: the test, its clients, the gateways        198.18.X.100 --+
    <tag>-n1: rt-router n1                               198.18.X.1  --+-- bridge in <tag>-hub
    <tag>-n2: rt-router n2                               198.18.X.2  --+
    <tag>-n3: rt-router n3, nft drops .1/.2 when cut    198.18.X.3  --+

The gateways stay in the host namespace (a gateway-to-router link runs inside one node), so
only the mesh is cut. Needs root, iproute2 and nftables (deploy/install-deps.sh --test);
skipped otherwise. Everything it creates carries a random tag and is removed at the end: the
namespaces (with their veths, bridge and nft table) and the one host-side veth. The host's
own firewall is never touched: the only nft table lives in node 3's namespace."""
import asyncio
import os
import random
import shutil
import subprocess
import time

import pytest

from rt import (SLOW, Client, api_converge, api_request, assert_open, assert_views, close_all,
                converge, exchange, join_all, mesh_ports, peers_flag, wait_mesh_up)

IP = shutil.which("ip")
NFT = shutil.which("nft")


def run(*argv, ns=None, check=True):
    if ns:
        argv = (IP, "netns", "exec", ns) + argv
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=20)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p


class NetLab:
    """n namespaces on a bridge (in a hub namespace), plus a host veth onto the bridge."""

    def __init__(self, n):
        used = run(IP, "netns", "list").stdout + run(IP, "-o", "link").stdout
        addrs = run(IP, "-4", "addr").stdout + run(IP, "-4", "route").stdout
        while True:
            self.tag = "rt%04x" % random.randrange(0x10000)
            self.third = random.randrange(1, 255)
            self.net = "198.18.%d." % self.third
            if self.tag not in used and self.net not in addrs:
                break
        self.hub = self.tag + "-hub"
        self.nodes = ["%s-n%d" % (self.tag, i + 1) for i in range(n)]
        self.hosts = [self.net + str(i + 1) for i in range(n)]
        self.host_if = self.tag + "h"
        self.created = []          # namespaces, for cleanup
        self.host_link = False

    def setup(self):
        run(IP, "netns", "add", self.hub)
        self.created.append(self.hub)
        run(IP, "link", "add", "br0", "type", "bridge", ns=self.hub)
        run(IP, "link", "set", "br0", "up", ns=self.hub)
        for i, ns in enumerate(self.nodes):
            run(IP, "netns", "add", ns)
            self.created.append(ns)
            inner, outer = "%se%d" % (self.tag, i + 1), "%sb%d" % (self.tag, i + 1)
            # created inside the node namespace: nothing ever appears on the host
            run(IP, "link", "add", inner, "type", "veth", "peer", "name", outer,
                "netns", self.hub, ns=ns)
            run(IP, "link", "set", outer, "master", "br0", ns=self.hub)
            run(IP, "link", "set", outer, "up", ns=self.hub)
            run(IP, "addr", "add", self.hosts[i] + "/24", "dev", inner, ns=ns)
            run(IP, "link", "set", inner, "up", ns=ns)
            run(IP, "link", "set", "lo", "up", ns=ns)
        # the host end: the only thing made in the host's namespace
        self.host_link = True
        run(IP, "link", "add", self.host_if, "type", "veth", "peer", "name", self.tag + "bh",
            "netns", self.hub)
        run(IP, "link", "set", self.tag + "bh", "master", "br0", ns=self.hub)
        run(IP, "link", "set", self.tag + "bh", "up", ns=self.hub)
        run(IP, "addr", "add", self.net + "100/24", "dev", self.host_if)
        run(IP, "link", "set", self.host_if, "up")
        # nftables must work in a namespace (probe: a table made and removed in the hub)
        run(NFT, "add", "table", "inet", "rtprobe", ns=self.hub)
        run(NFT, "delete", "table", "inet", "rtprobe", ns=self.hub)

    def cut(self, i, others):
        """Drops every packet between node i and the hosts `others` (in node i's namespace)."""
        peers = "{ %s }" % ", ".join(others)
        rules = ("table inet rtcut {\n"
                 " chain in { type filter hook input priority 0; ip saddr %s drop; }\n"
                 " chain out { type filter hook output priority 0; ip daddr %s drop; }\n"
                 "}\n" % (peers, peers))
        p = subprocess.run([IP, "netns", "exec", self.nodes[i], NFT, "-f", "-"], input=rules,
                           capture_output=True, text=True, timeout=20)
        if p.returncode != 0:
            raise RuntimeError("nft: %s" % p.stderr)

    def heal(self, i):
        run(NFT, "delete", "table", "inet", "rtcut", ns=self.nodes[i], check=False)

    def cleanup(self):
        if self.host_link:
            run(IP, "link", "del", self.host_if, check=False)
        for ns in reversed(self.created):
            run(IP, "netns", "del", ns, check=False)


@pytest.fixture
def netlab():
    """Three namespaces; skips where they cannot be made. Requested before `rt` so that it is
    torn down after it (the processes stop first, then their namespaces go)."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if not IP or not NFT:
        pytest.skip("needs ip (iproute2) and nft (nftables): deploy/install-deps.sh --test")
    lab = NetLab(3)
    try:
        lab.setup()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        lab.cleanup()
        pytest.skip("network namespaces unavailable here: %s" % e)
    try:
        yield lab
    finally:
        lab.cleanup()


def test_cut_link_leave_then_rejoin(netlab, rt):
    peer_timeout = 2000
    ports = mesh_ports(3)
    routers = [rt.router(node_id="n%d" % (i + 1), ports=ports[i], host=netlab.hosts[i],
                         netns=netlab.nodes[i], peer_timeout=peer_timeout,
                         mesh_peers=peers_flag(ports, netlab.hosts))
               for i in range(3)]
    gws = [rt.gateway(r) for r in routers]

    async def main():
        await wait_mesh_up(routers)
        a = await Client.connect(gws[0].url)
        b = await Client.connect(gws[1].url)
        c = await Client.connect(gws[2].url)
        everyone = [a, b, c]
        ids = [x.id for x in everyone]
        await join_all(everyone, "net")
        await exchange(everyone, "net", everyone, "before")

        netlab.cut(2, netlab.hosts[:2])
        t0 = time.monotonic()
        for x in (a, b):     # n1 and n2 declare n3 down
            ev = await x.expect_event("presence:leave", room="net", timeout=peer_timeout / 1000 + 5)
            assert ev["payload"]["id"] == c.id
        gone = set()
        while gone != {a.id, b.id}:   # and n3, on its side, n1 and n2
            ev = await c.expect_event("presence:leave", room="net", timeout=peer_timeout / 1000 + 5)
            gone.add(ev["payload"]["id"])
        took = time.monotonic() - t0
        assert took < peer_timeout / 1000 + 2 * SLOW, "leave after %.1fs" % took
        await converge([a, b], "net", [a.id, b.id])
        await converge([c], "net", [c.id])
        await api_converge(routers[:2], "net", [a.id, b.id])
        await api_converge(routers[2:], "net", [c.id])
        # each side works on its own meanwhile
        await a.ok("during", room="net", payload={"from": a.id})
        assert (await b.expect_event("during", timeout=10))["from"] == a.id
        assert_open(everyone)

        netlab.heal(2)
        t1 = time.monotonic()
        for x in (a, b):
            ev = await x.expect_event("presence:join", room="net", timeout=20)
            assert ev["payload"]["id"] == c.id
        back = set()
        while back != {a.id, b.id}:
            ev = await c.expect_event("presence:join", room="net", timeout=20)
            back.add(ev["payload"]["id"])
        took = time.monotonic() - t1
        # two heartbeat timeouts, plus TCP's retransmission back-off after the drops
        assert took < 2 * peer_timeout / 1000 + 8 * SLOW, "rejoin after %.1fs" % took
        await converge(everyone, "net", ids, timeout=15)
        await api_converge(routers, "net", ids)
        for r in routers:
            st = await asyncio.to_thread(api_request, r, {"op": "stats"})
            assert st["result"]["mesh_peers"] == 2, (r.name, st)
        # the event sent during the cut may reach c late (it was queued in TCP): at most once
        assert [f["type"] for f in c.seen].count("during") <= 1
        await exchange(everyone, "net", everyone, "after")
        await exchange([c], "net", everyone, "dm", to=a)
        await assert_views(everyone, "net", ids)
        assert_open(everyone)
        await close_all(everyone)
    asyncio.run(main())
