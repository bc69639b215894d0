"""WebRTC end to end: rt-router + rt-gateway (--static tests/system/webrtc_page) + rt-signaling,
two headless Chromium browsers running clients/js/webrtc.js. They join one room's call with
webrtc:join, negotiate an RTCPeerConnection (iceServers: [], loopback host candidates) through
the webrtc:* relay, and exchange data channel messages both ways. Skipped when Chromium or
Selenium is missing."""
import asyncio
import os
import shutil
import tempfile
import time

import pytest

from rt import SLOW, SOURCE_DIR, Client, binary, http_get
from test_07_chat_page import CHROMEDRIVER, CHROMIUM, browser, wait_until

PAGE_DIR = os.path.join(SOURCE_DIR, "tests", "system", "webrtc_page")
WEBRTC_TYPES = {"webrtc:join", "webrtc:offer", "webrtc:answer", "webrtc:candidate", "webrtc:bye"}


def start_signaling(rt, r):
    if hasattr(rt, "signaling"):
        return rt.signaling(r)
    return rt.spawn("rt-signaling", [binary("rt-signaling"),
                                     "--router-api", "tcp://127.0.0.1:%d" % r.ports["api"],
                                     "--router-events", "tcp://127.0.0.1:%d" % r.ports["events"]])


async def until_signaling(url, timeout=10.0):
    """webrtc:join from a Python client until rt-signaling answers it (not `unavailable`)."""
    c = await Client.connect(url)
    deadline = time.monotonic() + timeout * SLOW
    while True:
        a = await c.request("webrtc:join", room="probe")
        if a["type"] == "ack":
            break
        assert a["payload"]["code"] == "unavailable", a
        assert time.monotonic() < deadline, "rt-signaling never answered webrtc:join"
        await asyncio.sleep(0.1)
    assert a["payload"] == {"room": "probe", "peers": [], "iceServers": [], "polite": {}}, a
    await c.close()


STATE = """return window.t && {id: t.id, ack: t.ack, joinError: t.joinError, received: t.received,
    open: t.open, states: t.states, left: t.left, errors: t.errors, sent: window.sentTypes}"""


def texts(state, peer):
    return [m["text"] for m in state["received"] if m["peer"] == peer and m["from"] == peer]


def test_page_files_served(rt):
    r = rt.router()
    g = rt.gateway(r, static=PAGE_DIR)
    for name in ("realtime.js", "webrtc.js"):
        status, headers, body = http_get(g.port, "/" + name)
        assert status == 200 and "javascript" in headers.get("content-type", "")
        with open(os.path.join(SOURCE_DIR, "clients", "js", name), "rb") as f:
            assert body == f.read()


def test_two_browsers_open_a_data_channel_through_rt_signaling(rt):
    r = rt.router()
    g = rt.gateway(r, static=PAGE_DIR)
    start_signaling(rt, r)
    asyncio.run(until_signaling(g.url))
    drivers = []
    try:
        a = browser()
        drivers.append(a)
        b = browser()
        drivers.append(b)
        page = "http://127.0.0.1:%d/index.html?room=call-1" % g.port
        a.get(page)
        sa = wait_until(lambda: (a.execute_script(STATE) or {}).get("ack") and
                        a.execute_script(STATE), 10, "first browser's webrtc:join ack")
        assert sa["ack"] == {"room": "call-1", "peers": [], "iceServers": [], "polite": {}}, sa
        b.get(page)
        sb = wait_until(lambda: (b.execute_script(STATE) or {}).get("ack") and
                        b.execute_script(STATE), 10, "second browser's webrtc:join ack")
        ida, idb = sa["id"], sb["id"]
        # the newcomer sees the first browser; exactly one side of the pair is polite
        assert sb["ack"]["peers"] == [ida] and sb["ack"]["iceServers"] == []
        assert sb["ack"]["polite"] == {ida: idb > ida}, sb["ack"]

        # a data channel opens both ways and each side gets the other's hello
        wait_until(lambda: ("hello from " + idb) in texts(a.execute_script(STATE), idb), 20,
                   "a's hello from b")
        wait_until(lambda: ("hello from " + ida) in texts(b.execute_script(STATE), ida), 20,
                   "b's hello from a")
        sa, sb = a.execute_script(STATE), b.execute_script(STATE)
        assert sa["states"].get(idb) == "connected" and sb["states"].get(ida) == "connected"

        # and then more messages both ways, on demand
        assert a.execute_script("return t.send('ping from a')") >= 1
        assert b.execute_script("return t.send('pong from b')") >= 1
        wait_until(lambda: "pong from b" in texts(a.execute_script(STATE), idb), 10, "pong at a")
        wait_until(lambda: "ping from a" in texts(b.execute_script(STATE), ida), 10, "ping at b")

        # glare: both sides add a video track at the same instant, so both offer at once; the
        # polite side yields, and both end up receiving the other's video on the same connection
        at = int(time.time() * 1000) + 500
        offers = (a.execute_script("return t.offers"), b.execute_script("return t.offers"))
        a.execute_script("t.videoAt(arguments[0])", at)
        b.execute_script("t.videoAt(arguments[0])", at)
        wait_until(lambda: [idb, "video"] in a.execute_script("return t.tracks"), 15, "video at a")
        wait_until(lambda: [ida, "video"] in b.execute_script("return t.tracks"), 15, "video at b")
        sa, sb = a.execute_script(STATE), b.execute_script(STATE)
        assert sa["states"].get(idb) == "connected" and sb["states"].get(ida) == "connected"
        assert a.execute_script("return t.offers") > offers[0] and \
            b.execute_script("return t.offers") > offers[1], "both sides should have offered"
        # (t.signaling has each side's signalingState history: in a glare the polite side shows
        # have-local-offer -> stable (rollback) -> have-remote-offer; timing decides whether the
        # offers really cross, so it is not asserted)
        assert a.execute_script("return t.send('after glare')") >= 1
        wait_until(lambda: "after glare" in texts(b.execute_script(STATE), ida), 10, "after glare")

        # leave() says webrtc:bye: the other side drops that peer
        a.execute_script("t.call.leave()")
        wait_until(lambda: [ida, "bye"] in b.execute_script(STATE)["left"], 10, "bye at b")

        for s in (a.execute_script(STATE), b.execute_script(STATE)):
            assert not s["errors"] and not s["joinError"], s
            # webrtc.js speaks only the webrtc:* protocol of the contract
            assert s["sent"] and set(s["sent"]) <= WEBRTC_TYPES, s["sent"]
            assert {"webrtc:join", "webrtc:candidate"} <= set(s["sent"]), s["sent"]
        sent = a.execute_script(STATE)["sent"] + b.execute_script(STATE)["sent"]
        assert "webrtc:offer" in sent and "webrtc:answer" in sent and "webrtc:bye" in sent
    finally:
        for d in drivers:
            d.quit()
            shutil.rmtree(d._rt_profile, ignore_errors=True)


CHAT_DIR = os.path.join(SOURCE_DIR, "examples", "chat")
TILES = """return {note: document.getElementById('call-note').hidden ? null :
                  document.getElementById('call-note').textContent,
    button: document.getElementById('video').textContent,
    tiles: Array.from(document.querySelectorAll('#tiles .tile')).map((t) => ({
      id: t.dataset.id, who: t.querySelector('.who').textContent,
      state: t.querySelector('.state').textContent,
      width: t.querySelector('video').videoWidth}))}"""


def fake_camera_browser():
    """A browser whose getUserMedia gets Chromium's fake camera and microphone (same flags as
    test_07's browser() otherwise)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium / chromedriver not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="rt-chrome-")
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1000,700", "--user-data-dir=" + profile,
              "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d._rt_profile = profile
    return d


@pytest.mark.parametrize("first", ["ann", "bob"])
def test_chat_video_call_with_and_without_a_camera(rt, first):
    """examples/chat: ann has a (fake) camera, bob has none and joins with a data channel only;
    bob sees ann's video, ann sees bob's tile marked as data only. Whoever starts first offers
    to the other before the other is in the call (webrtc:join lists every room member): that
    offer goes stale and the later one must win, on either side of the polite rule (ann joined
    the room first, so her id sorts first and she is the impolite one)."""
    r = rt.router()
    g = rt.gateway(r, static=CHAT_DIR)
    start_signaling(rt, r)
    asyncio.run(until_signaling(g.url))
    drivers = []
    try:
        ann = fake_camera_browser()
        drivers.append(ann)
        bob = browser()
        drivers.append(bob)
        for d, name in ((ann, "ann"), (bob, "bob")):
            d.get("http://127.0.0.1:%d/?name=%s&room=video&join=1" % (g.port, name))
        for d in (ann, bob):
            wait_until(lambda: not d.find_element("css selector", "#video").get_attribute("disabled"),
                       10, "Start video enabled")
        one, two = (ann, bob) if first == "ann" else (bob, ann)
        one.find_element("css selector", "#video").click()
        wait_until(lambda: one.execute_script(TILES)["button"] == "Stop video", 10, "first in the call")
        two.find_element("css selector", "#video").click()
        ida = ann.execute_script("return window.chat.rt.id")
        idb = bob.execute_script("return window.chat.rt.id")

        def tile(d, id):
            return next((t for t in d.execute_script(TILES)["tiles"] if t["id"] == id), None)
        # bob: no camera in this browser -> a note, and ann's video playing in her tile
        wait_until(lambda: (tile(bob, ida) or {}).get("width", 0) > 0, 20, "ann's video at bob")
        sb = bob.execute_script(TILES)
        assert sb["note"] and "data channel only" in sb["note"], sb
        assert tile(bob, ida)["who"] == "ann" and tile(bob, idb)["who"] == "bob (you)"
        # ann: her own camera, and bob's tile says he has none (told over the data channel)
        wait_until(lambda: (tile(ann, idb) or {}).get("state") == "no camera (data only)", 20,
                   "bob's tile at ann")
        sa = ann.execute_script(TILES)
        assert sa["note"] is None and tile(ann, ida)["width"] > 0, sa
        # ann stops: her tile goes away at bob
        ann.find_element("css selector", "#video").click()
        wait_until(lambda: tile(bob, ida) is None, 10, "ann's tile removed at bob")
        assert ann.execute_script(TILES)["tiles"] == []
    finally:
        for d in drivers:
            d.quit()
            shutil.rmtree(d._rt_profile, ignore_errors=True)


def test_webrtc_js_as_es_module(rt, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    for f in ("realtime.js", "realtime.esm.js", "webrtc.js", "webrtc.esm.js"):
        os.symlink(os.path.join(SOURCE_DIR, "clients", "js", f), str(www / f))
    (www / "index.html").write_text("""<!doctype html><script type="module">
import Realtime from './realtime.esm.js';
import RealtimeCall from './webrtc.esm.js';
const rt = new Realtime();
rt.on('welcome', async () => {
  try {
    const ack = await new RealtimeCall(rt, 'esm-call').join();
    window.result = {id: rt.id, ack};
  } catch (e) { window.result = {error: String(e.code || e)}; }
});
</script>""")
    r = rt.router()
    g = rt.gateway(r, static=str(www))
    start_signaling(rt, r)
    asyncio.run(until_signaling(g.url))
    d = browser()
    try:
        d.get("http://127.0.0.1:%d/index.html" % g.port)
        res = wait_until(lambda: d.execute_script("return window.result"), 10, "module result")
        assert res.get("ack") == {"room": "esm-call", "peers": [], "iceServers": [], "polite": {}}, res
    finally:
        d.quit()
        shutil.rmtree(d._rt_profile, ignore_errors=True)
