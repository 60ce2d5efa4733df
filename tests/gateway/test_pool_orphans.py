"""A gateway killed with SIGKILL leaves no verification workers behind (gateway/ingest/pool.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

CHILD = """
import os, sys
from creditx.gateway.exchange.pool import CheckPool
pool = CheckPool(2)
pool.warm()
print(" ".join(str(p) for p in pool._pool._processes), flush=True)
sys.stdin.read()  # stay up until killed
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its (new) parent's wait() counts as gone
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_the_gateway_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        workers = [int(p) for p in proc.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)  # polls a real condition with a deadline
        assert not any(_alive(p) for p in workers), "pool workers outlived the killed gateway"
    finally:
        proc.kill()
