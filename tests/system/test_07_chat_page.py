"""The chat example served by the gateway (--static examples/chat), in a headless Chromium
talking to a Python client in the same room. Skipped when Chromium/Selenium are not installed."""
import asyncio
import os
import shutil
import tempfile
import time

import pytest

from rt import SLOW, SOURCE_DIR, Client, http_get

CHAT_DIR = os.path.join(SOURCE_DIR, "examples", "chat")
CHROMIUM = "/usr/lib/chromium/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def test_chat_files_served_including_the_client_symlink(rt):
    r = rt.router()
    g = rt.gateway(r, static=CHAT_DIR)
    status, headers, body = http_get(g.port, "/")
    assert status == 200 and b"realtime.js" in body and b"chat.js" in body
    status, headers, body = http_get(g.port, "/realtime.js")
    assert status == 200, "the realtime.js symlink is not served"
    with open(os.path.join(SOURCE_DIR, "clients", "js", "realtime.js"), "rb") as f:
        assert body == f.read()
    assert "javascript" in headers.get("content-type", "")
    for name in ("chat.js", "style.css"):
        status, _, body = http_get(g.port, "/" + name)
        assert status == 200 and body


def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("chromium / chromedriver not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("python3-selenium not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="rt-chrome-")
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1000,700", "--user-data-dir=" + profile):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d._rt_profile = profile
    return d


def wait_until(fn, timeout=10.0, what="condition"):
    deadline = time.time() + timeout * SLOW
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def test_chat_page_in_a_browser(rt, tmp_path):
    from selenium.webdriver.common.by import By  # noqa: F401  (skip happens in browser())
    r = rt.router()
    g = rt.gateway(r, static=CHAT_DIR)
    d = browser()
    try:
        async def main():
            py = await Client.connect(g.url)
            await py.join("lobby", {"name": "python"})
            url = "http://127.0.0.1:%d/?name=alice&room=lobby&join=1" % g.port
            await asyncio.to_thread(d.get, url)
            j = await py.expect_event("presence:join", room="lobby", timeout=15)
            assert j["payload"]["meta"] == {"name": "alice"}
            alice = j["payload"]["id"]
            # the member list shows both names
            names = lambda: [e.text for e in d.find_elements("css selector", "#members li")]
            await asyncio.to_thread(wait_until, lambda: sorted(names()) == ["alice", "python"],
                                    10, "member list")
            status = d.find_element("css selector", "#status").text
            assert status.startswith("online as " + alice), status
            # a message with markup is shown as text
            evil = '<img src=x onerror="window.pwned=1"><b>bold</b>'
            await py.ok("chat:message", room="lobby", payload={"text": evil})
            await asyncio.to_thread(
                wait_until, lambda: any(evil in e.text for e in d.find_elements(
                    "css selector", "#messages li")), 10, "message in the page")
            assert not d.find_elements("css selector", "#messages img, #messages li span b")
            assert not d.execute_script("return window.pwned === 1")
            # the page sends
            box = d.find_element("css selector", "#text")
            box.send_keys("hello from the browser")
            d.find_element("css selector", "#send").click()
            ev = await py.expect_event("chat:message", room="lobby", timeout=10)
            assert ev["from"] == alice and ev["payload"] == {"text": "hello from the browser"}
            # echo: the sender sees its own line too
            await asyncio.to_thread(
                wait_until, lambda: any("hello from the browser" in e.text for e in
                                        d.find_elements("css selector", "#messages li.mine")),
                10, "own message")
            # presence:leave updates the list
            await py.close()
            await asyncio.to_thread(wait_until, lambda: names() == ["alice"], 10,
                                    "member list after leave")
            d.save_screenshot(str(tmp_path / "chat.png"))
            shot = os.environ.get("RT_CHAT_SCREENSHOT")
            if shot:
                shutil.copy(str(tmp_path / "chat.png"), shot)
        asyncio.run(main())
    finally:
        d.quit()
        shutil.rmtree(d._rt_profile, ignore_errors=True)


def test_browser_client_reconnects_and_rejoins(rt):
    r = rt.router()
    g = rt.gateway(r, static=CHAT_DIR)
    d = browser()
    try:
        async def main():
            py = await Client.connect(g.url)
            await py.join("re", {"name": "python"})
            await asyncio.to_thread(d.get, "http://127.0.0.1:%d/?name=bob&room=re&join=1" % g.port)
            j1 = await py.expect_event("presence:join", room="re", timeout=15)
            # restart the gateway on the same port: the page reconnects and joins again
            assert await asyncio.to_thread(g.stop) == 0
            rt.procs.remove(g)
            g2 = await asyncio.to_thread(rt.gateway, r, port=g.port, static=CHAT_DIR)
            py2 = await Client.connect(g2.url)
            t0 = time.monotonic()
            ack = await py2.join("re", {"name": "python2"})
            bob = [m for m in ack["members"] if m["id"] != py2.id]
            if not bob:                         # the page has not rejoined yet: wait for it
                bob = [(await py2.expect_event("presence:join", room="re", timeout=15))["payload"]]
            assert bob[0]["meta"] == {"name": "bob"}
            assert bob[0]["id"] != j1["payload"]["id"]
            assert d.execute_script("return window.chat.rt.id") == bob[0]["id"]
            assert time.monotonic() - t0 < 15
            # the client API from the page: errors reject with .code, presence() lists members
            code = d.execute_async_script("""
                const done = arguments[arguments.length - 1];
                window.chat.rt.request('room:leave', {room: 'never'})
                  .then(() => done('resolved'), (e) => done(e.code));""")
            assert code == "not_in_room"
            names = d.execute_async_script("""
                const done = arguments[arguments.length - 1];
                window.chat.rt.presence('re')
                  .then((m) => done(m.map((x) => x.meta.name).sort()), (e) => done(e.code));""")
            assert names == ["bob", "python2"]
            assert d.execute_script("return window.chat.rt.rooms") == ["re"]
            await py2.close()
        asyncio.run(main())
    finally:
        d.quit()
        shutil.rmtree(d._rt_profile, ignore_errors=True)


def test_client_as_es_module(rt, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    for f in ("realtime.js", "realtime.esm.js"):
        os.symlink(os.path.join(SOURCE_DIR, "clients", "js", f), str(www / f))
    (www / "index.html").write_text("""<!doctype html><script type="module">
import Realtime, { RealtimeError } from './realtime.esm.js';
const rt = new Realtime();
rt.on('welcome', async () => {
  try {
    const ack = await rt.join('esm', {via: 'module'});
    let code = null;
    try { await rt.request('sys:nope'); } catch (e) { code = (e instanceof RealtimeError) && e.code; }
    window.result = {id: rt.id, members: ack.members.length, code};
  } catch (e) { window.result = {error: String(e)}; }
});
</script>""")
    r = rt.router()
    g = rt.gateway(r, static=str(www))
    d = browser()
    try:
        d.get("http://127.0.0.1:%d/index.html" % g.port)
        res = wait_until(lambda: d.execute_script("return window.result"), 10, "module result")
        assert res.get("members") == 1 and res.get("code") == "unknown_type", res
        assert res["id"]
    finally:
        d.quit()
        shutil.rmtree(d._rt_profile, ignore_errors=True)
