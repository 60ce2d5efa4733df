"""bench/check_hall.py runs end to end on a small replica (real node process, gRPC and HTTPS
callers in child processes) and reports every figure; no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_small_run_reports_positive_figures():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "check_hall.py"),
            "--entries",
            "2000",
            "--seconds",
            "1",
            "--callers",
            "4",
            "--procs",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    for side in ("sqlite", "grpc", "http"):
        assert r[side]["per_s"] > 0 and 0 < r[side]["p50_ms"] <= r[side]["p99_ms"], side
    for side in ("grpc", "http"):
        assert r[side]["errors"] == 0 and r[side]["rate_vs_sqlite"] > 0
