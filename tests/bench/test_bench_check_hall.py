"""bench/check_hall.py runs end to end on a small replica (real node process with two serving
processes, gRPC and HTTPS callers in child processes, wrk when installed) and reports every
figure; no timing assertions."""

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
            *("--entries", "2000", "--seconds", "1", "--callers", "4", "--procs", "2"),
            *("--batch", "5", "--rates", "100,200", "--open-batch", "2", "--processes", "2"),
            *("--closed", "--python-http", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    assert set(r["sqlite"]) == {"1", "2", "5"}  # a bound per call size of the runs
    for name, b in r["sqlite"].items():
        assert b["subjects_per_s"] > 0 and 0 < b["p50_ms"] <= b["p99_ms"], name
    assert r["processes"] == 2 and r["server_idle_cpu_per_s"] >= 0
    runs = r["runs"]
    assert {"gRPC Check", "gRPC CheckMany ×5", "HTTPS check (py)"} <= set(runs)
    opened = {k for k in runs if " open " in k}
    assert opened == {f"{t} open {n}/s ×2" for t in ("HTTPS", "gRPC") for n in (100, 200)}
    assert all(runs[k]["offered_calls_per_s"] > 0 for k in opened)
    for name, x in runs.items():
        assert x["errors"] == 0 and x["subjects_per_s"] > 0 and 0 < x["p50_ms"] <= x["p99_ms"], name
        assert x["subjects_per_s"] == pytest.approx(x["calls_per_s"] * x["batch"]) and x["server_cpu_s"] > 0, name
        assert x["subjects_vs_sqlite"] > 0, name
