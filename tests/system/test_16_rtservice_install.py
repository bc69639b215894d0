"""The installed service library, used the way a user outside this tree uses it: `cmake --install`
into a fresh prefix, examples/c-service's source compiled there with nothing but
`cc my.c $(pkg-config --cflags --libs rtservice)`, run against a real router and gateway."""
import asyncio
import glob
import os
import shutil
import subprocess
import time

from rt import BIN_DIR, SANITIZE, SLOW, SOURCE_DIR
from test_15_c_service import shout_round_trip

BUILD_DIR = os.path.dirname(os.path.abspath(BIN_DIR))


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, "%s failed (%d):\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr)
    return p.stdout


def install_and_build(tmp):
    """Installs the build into tmp/prefix and builds a copy of the shout example against it.
    Returns (program, the prefix's library folder)."""
    prefix = os.path.join(tmp, "prefix")
    run([shutil.which("cmake") or "cmake", "--install", BUILD_DIR, "--prefix", prefix])
    pcs = glob.glob(os.path.join(prefix, "lib*", "**", "pkgconfig", "rtservice.pc"),
                    recursive=True)
    assert len(pcs) == 1, "rtservice.pc not installed once: %r" % pcs
    pcdir = os.path.dirname(pcs[0])
    libdir = os.path.dirname(pcdir)
    assert glob.glob(os.path.join(libdir, "librtservice.so.1")), os.listdir(libdir)
    # Outside the source tree, so that only the installed headers can be found.
    src = os.path.join(tmp, "my.c")
    shutil.copy(os.path.join(SOURCE_DIR, "examples", "c-service", "main.c"), src)
    exe = os.path.join(tmp, "my-shout")
    # The sanitizer build's library needs the sanitizer runtimes in the program.
    extra = " -fsanitize=address,undefined" if SANITIZE else ""
    run("cc my.c -o my-shout $(pkg-config --cflags --libs rtservice)" + extra, shell=True,
        cwd=tmp, env=dict(os.environ, PKG_CONFIG_PATH=pcdir))
    # The library's code is in the shared object, not copied into the program.
    assert " U svc_new" in run(["nm", exe]), "svc_new is not taken from librtservice.so"
    return exe, libdir


def test_installed_library_serves_a_client(rt, tmp_path):
    exe, libdir = install_and_build(str(tmp_path))
    r = rt.router()
    g = rt.gateway(r)
    p = rt.spawn("my-shout", [exe, "--router-api", "tcp://127.0.0.1:%d" % r.ports["api"]],
                 env={"LD_LIBRARY_PATH": libdir})
    deadline = time.time() + 10 * SLOW
    while "registered at" not in p.stderr():
        assert p.alive(), p.stderr()
        assert time.time() < deadline, "my-shout never registered:\n" + p.stderr()
        time.sleep(0.05)
    with open("/proc/%d/maps" % p.pid) as f:
        loaded = {line.split()[-1] for line in f if "librtservice" in line}
    assert loaded == {os.path.realpath(os.path.join(libdir, "librtservice.so.1"))}, loaded

    asyncio.run(shout_round_trip(g.url))
