"""bench/propagation.py runs end to end with a few followers (real gateway process, Subscribe
streams over mTLS with their own node certificates) and every change reaches every follower."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_small_run_delivers_every_change_to_every_follower():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "propagation.py"),
            *("--followers", "3", "--rate", "20", "--seconds", "1", "--procs", "2", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    assert r["changes"] == 20 and r["deliveries"] == r["expected_deliveries"] == 60
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"] and r["gateway_cpu_s"] > 0
    assert r["parse_bound_us_per_change"] >= 0 and r["clients_cpu_s"] > 0
