"""clients/js/realtime.js unit test (fake WebSocket) under node, when node is installed."""
import os
import shutil
import subprocess

import pytest

from rt import SOURCE_DIR


def test_realtime_js_offline_logic():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.skip("node not installed")
    p = subprocess.run([node, os.path.join(SOURCE_DIR, "clients", "js", "realtime.test.js")],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
