"""Helpers for the system tests: start the real binaries on free ports, talk to them like users.

- System: starts rt-router / rt-gateway (or custom-router) processes, waits until they serve,
  keeps their stderr in files and stops them by PID (SIGTERM, then SIGKILL) at teardown.
- Client: an asyncio WebSocket client (python3-websockets 10.4) with request/ack matching.
- RawWS: a blocking hand-made WebSocket client for what a library will not do (never answer a
  ping, send invalid UTF-8, stop reading, declare huge frames).
"""
import asyncio
import base64
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import websockets

BIN_DIR = os.environ.get("RT_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
SOURCE_DIR = os.environ.get("RT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SANITIZE = os.environ.get("RT_SANITIZE", "").lower() in ("1", "true", "on", "yes")
# Sanitized builds are slower: stretch every wait (never the contract's own deadlines).
SLOW = 3.0 if SANITIZE else 1.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")
CONN_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

_used_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (and that this run has not handed out)."""
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def binary(name):
    return os.path.join(BIN_DIR, name)


def clean_env(extra=None):
    """The environment for a child: ours minus every RT_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RT_")}
    env.update(extra or {})
    return env


def flag_args(flags):
    """{'max_rooms': 3, 'auto_join': True} -> ['--max-rooms', '3', '--auto-join']."""
    args = []
    for k, v in flags.items():
        name = "--" + k.replace("_", "-")
        if v is True:
            args.append(name)
        elif v is None or v is False:
            continue
        else:
            args += [name, str(v)]
    return args


def http_get(port, path, timeout=5.0):
    """(status, headers dict lower-case, body bytes) of GET path on 127.0.0.1:port."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Proc:
    """One child process; stderr and stdout go to files in the test's tmp dir."""

    def __init__(self, system, name, argv, env=None):
        self.name = name
        self.argv = argv
        self.err_path = os.path.join(system.tmp, name + ".stderr")
        self.out_path = os.path.join(system.tmp, name + ".stdout")
        with open(self.err_path, "ab") as err, open(self.out_path, "ab") as out:
            self.p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                      env=clean_env(env), start_new_session=True)
        self.pid = self.p.pid
        self.expected_rc = 0      # what teardown accepts once this process has exited

    def alive(self):
        return self.p.poll() is None

    def stderr(self):
        with open(self.err_path, "r", errors="replace") as f:
            return f.read()

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL and reap (a crash on purpose: teardown will not complain about the code)."""
        self.signal(signal.SIGKILL)
        self.p.wait(10)
        self.expected_rc = -signal.SIGKILL

    def stop(self, timeout=None):
        """SIGTERM, wait; SIGKILL after the timeout. Returns the exit code (-9 when killed)."""
        timeout = timeout or 10 * SLOW
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(10)
                return "hung"
        return self.p.returncode

    def sanitizer_report(self):
        if not SANITIZE:
            return None
        text = self.stderr()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200): i + 3000]
        return None


class Router(Proc):
    """A router bound on `host` (127.0.0.1); with `netns` it runs in that network namespace
    (`ip netns exec`, which execs: the pid is the router's)."""

    def __init__(self, system, binary_name="rt-router", node_id=None, ports=None, env=None,
                 host="127.0.0.1", netns=None, **flags):
        self.ports = ports or {k: free_port() for k in ("ingress", "fanout", "api", "events", "mesh")}
        self.host = host
        self.netns = netns
        self.ingress = "tcp://%s:%d" % (host, self.ports["ingress"])
        self.fanout = "tcp://%s:%d" % (host, self.ports["fanout"])
        self.binary_name = binary_name
        self.node_id = node_id
        self.flags = flags
        argv = [binary(binary_name), "--ingress", self.ingress, "--fanout", self.fanout,
                "--api", "tcp://%s:%d" % (host, self.ports["api"]),
                "--events", "tcp://%s:%d" % (host, self.ports["events"]),
                "--mesh-bind", "tcp://%s:%d" % (host, self.ports["mesh"])]
        if node_id:
            argv += ["--node-id", node_id]
        argv += flag_args(flags)
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        system.counter += 1
        super().__init__(system, "%02d-%s" % (system.counter, binary_name), argv, env)
        self.wait_ready()

    def wait_ready(self, timeout=None):
        deadline = time.time() + (timeout or 10 * SLOW)
        while time.time() < deadline:
            if not self.alive():
                raise AssertionError("%s exited with %s at start:\n%s" % (
                    self.name, self.p.returncode, self.stderr()[-3000:]))
            ok = True
            for port in (self.ports["ingress"], self.ports["fanout"]):
                try:
                    socket.create_connection((self.host, port), 0.5).close()
                except OSError:
                    ok = False
            if ok:
                return
            time.sleep(0.05)
        raise AssertionError("%s does not listen on its ingress/fan-out ports" % self.name)


class Gateway(Proc):
    """`router` is a Router, or a list of them (--router R1,R2,...: the first is primary)."""

    def __init__(self, system, router, port=None, env=None, ready=True, **flags):
        self.port = port or free_port()
        self.routers = list(router) if isinstance(router, (list, tuple)) else (
            [router] if router is not None else [])
        self.router = self.routers[0] if self.routers else None
        self.path = flags.get("path", "/realtime")
        self.url = "ws://127.0.0.1:%d%s" % (self.port, self.path)
        argv = [binary("rt-gateway"), "--listen", "127.0.0.1:%d" % self.port]
        if self.routers:
            argv += ["--router", ",".join(r.ingress for r in self.routers)]
        argv += flag_args(flags)
        system.counter += 1
        super().__init__(system, "%02d-rt-gateway" % system.counter, argv, env)
        if ready:
            self.wait_ready()

    def wait_ready(self, timeout=None):
        """Until GET /healthz is 200 and a ping gets its ack through the router."""
        deadline = time.time() + (timeout or 15 * SLOW)
        while True:
            if not self.alive():
                raise AssertionError("%s exited with %s at start:\n%s" % (
                    self.name, self.p.returncode, self.stderr()[-3000:]))
            try:
                if http_get(self.port, "/healthz", 1)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError("%s: /healthz never answered 200" % self.name)
            time.sleep(0.05)
        if self.router is None:
            return
        while True:
            try:
                ws = RawWS(self.port, path=getattr(self, "path", "/realtime"), timeout=2)
                try:
                    ws.recv_json(2)                 # welcome
                    ws.send_json({"type": "ping", "id": 1})
                    f = ws.recv_json(1)
                    if f.get("type") == "ack" and f.get("id") == 1:
                        return
                finally:
                    ws.close()
            except (OSError, AssertionError, ValueError, WSClosed):
                pass
            if time.time() > deadline:
                raise AssertionError("%s: a ping never got its ack (router link down?)" % self.name)
            time.sleep(0.1)


class Signaling(Proc):
    """rt-signaling connected to `router`'s service API and events; waits until registered."""

    def __init__(self, system, router, env=None, ready=True, **flags):
        self.router = router
        argv = [binary("rt-signaling"),
                "--router-api", "tcp://127.0.0.1:%d" % router.ports["api"],
                "--router-events", "tcp://127.0.0.1:%d" % router.ports["events"]]
        argv += flag_args(flags)
        system.counter += 1
        super().__init__(system, "%02d-rt-signaling" % system.counter, argv, env)
        if ready:
            self.wait_registered()

    def wait_registered(self, timeout=None):
        deadline = time.time() + (timeout or 10 * SLOW)
        while "registered at" not in self.stderr():
            if not self.alive():
                raise AssertionError("%s exited with %s at start:\n%s" % (
                    self.name, self.p.returncode, self.stderr()[-3000:]))
            if time.time() > deadline:
                raise AssertionError("%s never registered:\n%s" % (self.name, self.stderr()[-3000:]))
            time.sleep(0.05)


class System:
    """The processes of one test. Tests call router()/gateway(); teardown stops them all."""

    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.procs = []
        self.counter = 0

    def router(self, **kw):
        r = Router(self, **kw)
        self.procs.append(r)
        return r

    def restart_router(self, old):
        """A new router process on exactly the ports (and flags) of `old`, which must be dead."""
        assert not old.alive()
        return self.router(binary_name=old.binary_name, node_id=old.node_id, ports=old.ports,
                           host=old.host, netns=old.netns, **old.flags)

    def gateway(self, router, **kw):
        g = Gateway(self, router, **kw)
        self.procs.append(g)
        return g

    def signaling(self, router, **kw):
        s = Signaling(self, router, **kw)
        self.procs.append(s)
        return s

    def spawn(self, name, argv, env=None):
        p = Proc(self, name, argv, env)
        self.procs.append(p)
        return p

    def teardown(self):
        problems = []
        # Gateways first: a gateway whose router left first would only log reconnect attempts.
        order = [p for p in self.procs if isinstance(p, Gateway)] + \
                [p for p in self.procs if not isinstance(p, Gateway)]
        for p in order:
            was_alive = p.alive()
            rc = p.stop()
            if was_alive and rc != 0:
                problems.append("%s: exit code %s after SIGTERM (expected 0)" % (p.name, rc))
            elif not was_alive and rc != p.expected_rc:
                problems.append("%s: died on its own with exit code %s" % (p.name, rc))
            rep = p.sanitizer_report()
            if rep:
                problems.append("%s: sanitizer report:\n%s" % (p.name, rep))
        for p in order:   # shown by pytest only for failing tests
            print("---- %s (pid %d): %s\n%s" % (p.name, p.pid, " ".join(p.argv),
                                                 p.stderr()[-4000:]))
        return problems


# --------------------------------------------------------------------------------------------
# asyncio WebSocket client

class Client:
    """A client on one gateway. Frames that a wait did not ask for are kept in `backlog` (in
    arrival order) for later expect_* calls; `seen` has every frame ever received."""

    def __init__(self, ws):
        self.ws = ws
        self.backlog = []
        self.seen = []
        self.next_id = 0
        self.welcome = None
        self.id = None

    @classmethod
    async def connect(cls, url, welcome=True, timeout=None):
        ws = await asyncio.wait_for(
            websockets.connect(url, max_size=None, max_queue=None, ping_interval=None,
                               close_timeout=2, open_timeout=None), timeout or 10 * SLOW)
        c = cls(ws)
        if welcome:
            w = await c.recv_json(timeout or 10 * SLOW)
            assert w.get("type") == "welcome", "first frame is not a welcome: %r" % w
            c.welcome = w
            c.id = w["payload"]["id"]
        return c

    async def close(self):
        await self.ws.close()

    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, (str, bytes)) else json.dumps(obj))

    async def _read(self, timeout):
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), "server sent a binary frame: %r" % raw[:100]
        obj = json.loads(raw)
        assert isinstance(obj, dict), "server frame is not an object: %r" % raw
        self.seen.append(obj)
        return obj

    async def recv_json(self, timeout=5.0):
        """The next frame (from the backlog first). asyncio.TimeoutError when none arrives."""
        if self.backlog:
            return self.backlog.pop(0)
        return await self._read(timeout * SLOW)

    async def wait_for(self, pred, timeout=5.0, what="frame"):
        """First frame (backlog first) matching pred; other frames go to the backlog."""
        for i, f in enumerate(self.backlog):
            if pred(f):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no %s within %.1fs; backlog: %s" % (
                    self.id, what, timeout * SLOW, self.backlog[-10:]))
            try:
                f = await self._read(left)
            except asyncio.TimeoutError:
                continue
            if pred(f):
                return f
            self.backlog.append(f)

    async def expect_event(self, type, timeout=5.0, **match):
        """The next frame of `type` whose fields equal `match` (frm= stands for from=)."""
        if "frm" in match:
            match["from"] = match.pop("frm")
        return await self.wait_for(
            lambda f: f.get("type") == type and all(f.get(k) == v for k, v in match.items()),
            timeout, "%s %s" % (type, match or ""))

    async def request(self, type, timeout=5.0, **fields):
        """Sends {type, id, **fields} with a fresh id; returns the ack or error carrying it."""
        self.next_id += 1
        rid = self.next_id
        await self.send(dict(type=type, id=rid, **fields))
        return await self.answer(rid, timeout)

    async def answer(self, rid, timeout=5.0):
        return await self.wait_for(
            lambda f: f.get("type") in ("ack", "error") and f.get("id") == rid,
            timeout, "answer to id %d" % rid)

    async def ok(self, type, timeout=5.0, **fields):
        """request() that must be acked; returns the ack payload."""
        a = await self.request(type, timeout, **fields)
        assert a["type"] == "ack", "%s %s -> %r" % (type, fields, a)
        return a.get("payload")

    async def err(self, type, code, timeout=5.0, **fields):
        """request() that must fail with `code`; returns the error frame."""
        a = await self.request(type, timeout, **fields)
        assert a["type"] == "error", "%s %s should fail with %s, got %r" % (type, fields, code, a)
        assert a["payload"]["code"] == code, "%s %s: expected %s, got %r" % (type, fields, code, a)
        assert isinstance(a["payload"].get("message"), str)
        return a

    async def join(self, room, meta=None):
        kw = {"room": room}
        if meta is not None:
            kw["payload"] = meta
        return await self.ok("room:join", **kw)

    async def expect_close(self, code, timeout=5.0):
        """Reads (keeping frames) until the server closes; asserts the close code."""
        deadline = time.monotonic() + timeout * SLOW
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: not closed within %.1fs" % (self.id, timeout * SLOW))
                try:
                    self.backlog.append(await self._read(left))
                except asyncio.TimeoutError:
                    pass
        except websockets.ConnectionClosed:
            pass
        assert self.ws.close_code == code, "%s: closed with %s (%r), expected %s" % (
            self.id, self.ws.close_code, self.ws.close_reason, code)

    async def expect_silence(self, seconds=0.5, types=None):
        """Asserts no frame (of `types`, when given) is waiting or arrives within `seconds`."""
        bad = lambda f: types is None or f.get("type") in types
        pending = [f for f in self.backlog if bad(f)]
        assert not pending, "%s: unexpected frames %r" % (self.id, pending)
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                f = await self._read(left)
            except asyncio.TimeoutError:
                return
            assert not bad(f), "%s: unexpected frame %r" % (self.id, f)
            self.backlog.append(f)


async def clients(url, n, batch=50):
    """n connected clients (welcome received), opened `batch` at a time."""
    out = []
    for i in range(0, n, batch):
        out += await asyncio.gather(*[Client.connect(url) for _ in range(min(batch, n - i))])
    return out


async def close_all(cs):
    await asyncio.gather(*[c.close() for c in cs], return_exceptions=True)


# --------------------------------------------------------------------------------------------
# Raw blocking WebSocket client

class WSClosed(Exception):
    def __init__(self, code, reason=b""):
        super().__init__("closed with %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class RawWS:
    """A minimal RFC 6455 client on a blocking socket. It answers pings only when auto_pong."""

    def __init__(self, port, path="/realtime", timeout=5.0, rcvbuf=None, auto_pong=True,
                 host="127.0.0.1"):
        self.auto_pong = auto_pong
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect((host, port))
        self.s = s
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError("handshake refused: %r" % status)
        self.pings = 0

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send_frame(self, opcode, payload, fin=True, declared_len=None):
        n = len(payload) if declared_len is None else declared_len
        head = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.s.sendall(head + mask + body)

    def send_text(self, text):
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("connection dropped without a close frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self, timeout=5.0):
        """(fin, opcode, payload) of the next frame."""
        self.s.settimeout(timeout)
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        if b1 & 0x80:
            mask = self._need(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._need(n)))
        else:
            data = self._need(n)
        return bool(b0 & 0x80), b0 & 0x0F, data

    def recv_json(self, timeout=5.0):
        """The next text message as an object; answers pings (when auto_pong); raises WSClosed."""
        parts = b""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise socket.timeout("no message within %.1fs" % timeout)
            fin, op, data = self.recv_frame(left)
            if op == 0x9:
                self.pings += 1
                if self.auto_pong:
                    self.send_frame(0xA, data)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                raise WSClosed(code, data[2:])
            parts += data
            if fin:
                return json.loads(parts.decode())

    def read_until_close(self, timeout=5.0):
        """Reads everything until the close frame; returns (close code or None on a bare TCP
        drop, list of text messages read before it)."""
        msgs = []
        deadline = time.time() + timeout
        while True:
            try:
                msgs.append(self.recv_json(max(0.05, deadline - time.time())))
            except WSClosed as e:
                return e.code, msgs
            except (EOFError, ConnectionResetError):
                return None, msgs
            except socket.timeout:
                raise AssertionError("no close within %.1fs" % timeout)


# --------------------------------------------------------------------------------------------
# Mesh helpers (test_20_mesh, test_21_curve, test_22_mesh_failures, test_23_mesh_netns)

def mesh_ports(n):
    return [{k: free_port() for k in ("ingress", "fanout", "api", "events", "mesh")}
            for _ in range(n)]


def peers_flag(ports, hosts=None):
    # every node gets the full list, its own entry included (a node skips its own bind)
    hosts = hosts or ["127.0.0.1"] * len(ports)
    return ",".join("tcp://%s:%d" % (h, p["mesh"]) for h, p in zip(hosts, ports))


async def member_ids(c, room):
    try:
        a = await c.request("presence:list", 2, room=room)
    except AssertionError:      # in flight while its router restarted: may go unanswered
        return "no answer"
    if a["type"] == "error":    # e.g. unavailable while its gateway re-attaches
        return a["payload"]["code"]
    return sorted(m["id"] for m in a["payload"]["members"])


async def until_all_list(view, sources, ids, timeout, what):
    """Until `await view(source)` is sorted(ids) for every source (polled every 100 ms)."""
    want = sorted(ids)
    deadline = time.monotonic() + timeout * SLOW
    while True:
        got = [await view(x) for x in sources]
        if all(g == want for g in got):
            return
        if time.monotonic() > deadline:
            raise AssertionError("%s never converged: want %s, got %s" % (what, want, got))
        await asyncio.sleep(0.1)


async def converge(cs, room, ids, timeout=10.0):
    """Until presence:list of room on every client of cs names exactly ids."""
    await until_all_list(lambda c: member_ids(c, room), cs, ids, timeout, "presence of " + room)


async def join_all(cs, room, timeout=10.0):
    for c in cs:
        await c.join(room, {"n": c.id})
    await converge(cs, room, [c.id for c in cs], timeout)
    for c in cs:   # the presence:join events of the set-up are not what the tests look at
        c.backlog = [f for f in c.backlog if f.get("type") != "presence:join"]


def api_request(router, req):
    """One request on router's service API (a fresh DEALER); returns the reply map."""
    import msgpack
    import zmq
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect("tcp://%s:%d" % (getattr(router, "host", "127.0.0.1"), router.ports["api"]))
    try:
        req = dict(req, req=1)
        s.send(msgpack.packb(req))
        assert s.poll(5000 * SLOW), "no reply to %r" % req
        return msgpack.unpackb(s.recv(), raw=False)
    finally:
        s.close()


def wait_until(pred, timeout, what):
    """Polls pred (a plain function) every 50 ms until true; timeout is stretched by SLOW."""
    deadline = time.monotonic() + timeout * SLOW
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.1fs" % (what, timeout * SLOW))
        time.sleep(0.05)


async def wait_mesh_up(routers, timeout=10.0):
    """Until every router counts every other one as an up peer."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        ups = [(await asyncio.to_thread(api_request, r, {"op": "stats"}))["result"]["mesh_peers"]
               for r in routers]
        if all(u == len(routers) - 1 for u in ups):
            return
        if time.monotonic() > deadline:
            raise AssertionError("mesh never complete: mesh_peers %s" % ups)
        await asyncio.sleep(0.1)


def presence_views(c):
    """Replays every frame c received: {room: members} as the client must see them (the members
    of its room:join ack, the first ack listing the room's members, then presence:join adds,
    presence:leave removes; later presence:list acks are not used).
    Returns (views, problems): a presence:join for a member already present or a
    presence:leave for one absent is a problem (the contract: one presence:join per join,
    presence:leave when it ends)."""
    views, problems = {}, []
    for f in c.seen:
        p = f.get("payload")
        if f.get("type") == "ack" and isinstance(p, dict) and "members" in p and "room" in p:
            if p["room"] not in views:
                views[p["room"]] = {m["id"] for m in p["members"]}
        elif f.get("type") in ("presence:join", "presence:leave"):
            room, who = f.get("room"), p["id"]
            if room not in views:
                problems.append("%s: %s in %s before its join ack" % (c.id, f["type"], room))
                continue
            if f["type"] == "presence:join":
                if who in views[room]:
                    problems.append("%s: presence:join of %s in %s, already a member" % (
                        c.id, who, room))
                views[room].add(who)
            else:
                if who not in views[room]:
                    problems.append("%s: presence:leave of %s in %s, not a member" % (
                        c.id, who, room))
                views[room].discard(who)
    return views, problems


async def assert_views(cs, room, want):
    """After a quiet moment (no presence event for 0.3 s), every client's view of room replayed
    from its events is exactly want, and no event contradicted the view before it."""
    presence = ["presence:join", "presence:leave"]
    for c in cs:   # the events were all kept in c.seen: presence_views looks at them there
        c.backlog = [f for f in c.backlog if f.get("type") not in presence]
    for c in cs:
        await c.expect_silence(0.3 if c is cs[0] else 0.05, types=presence)
    for c in cs:
        views, problems = presence_views(c)
        assert not problems, problems
        assert views.get(room) == set(want), "%s: view of %s from its events is %s, want %s" % (
            c.id, room, sorted(views.get(room, ())), sorted(want))


async def api_members(r, room):
    rep = await asyncio.to_thread(api_request, r, {"op": "presence", "room": room})
    assert rep["ok"], rep
    return sorted(m["id"] for m in rep["result"]["members"])


async def api_converge(routers, room, ids, timeout=10.0):
    """Until the service API presence of room on every router names exactly ids."""
    await until_all_list(lambda r: api_members(r, room), routers, ids, timeout,
                         "API presence of " + room)


async def exchange(senders, room, everyone, tag, to=None):
    """Each sender sends one `tag` event to room (or to `to` in room); every other member of
    `everyone` (or only `to`) receives each exactly once; nobody gets anything more."""
    for s in senders:
        msg = {"type": tag, "room": room, "payload": {"from": s.id}}
        if to is not None:
            msg["to"] = to.id
        assert await s.ok(msg.pop("type"), **msg) == {}
    for c in everyone:
        expect = [s.id for s in senders if s is not c and (to is None or c is to)]
        got = []
        for _ in expect:
            f = await c.expect_event(tag, timeout=10)
            assert f["room"] == room and f["from"] == f["payload"]["from"], f
            got.append(f["from"])
        assert sorted(got) == sorted(expect), "%s got %s from %s, want %s" % (
            c.id, tag, got, expect)
    for c in everyone:
        await c.expect_silence(0.3 if c is everyone[0] else 0.05, types=[tag])


def assert_open(cs):
    for c in cs:
        assert c.ws.open and c.ws.close_code is None, "%s was closed: %s %r" % (
            c.id, c.ws.close_code, c.ws.close_reason)
