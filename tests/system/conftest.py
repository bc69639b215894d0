"""pytest fixtures for the system tests: `rt` is a rt.System whose processes are stopped (and
checked: exit code 0 on SIGTERM, no sanitizer report) when the test ends."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import rt as rtlib  # noqa: E402


@pytest.fixture
def rt(tmp_path):
    system = rtlib.System(tmp_path)
    yield system
    problems = system.teardown()
    if problems:
        pytest.fail("process problems at teardown:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def cluster(rt):
    """One router and one gateway with default options."""
    r = rt.router()
    g = rt.gateway(r)
    return rt, r, g
