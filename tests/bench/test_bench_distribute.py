"""bench/distribute.py --quick --json runs end to end (real gateway process, real followers over
mutual TLS, a real snapshot bootstrap) and reports every figure; no timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_reports_positive_figures():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distribute.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout)
    prop, snap = r["propagation"], r["snapshot"]
    assert prop["changes"] == prop["committed"] > 0
    assert prop["samples"] == prop["changes"] * prop["nodes"]  # every change measured at every node
    for k in ("p50_s", "p99_s", "max_s", "push_rate_per_s", "gateway_rss_mib", "nodes_process_rss_mib"):
        assert prop[k] > 0, k
    assert prop["p50_s"] <= prop["p99_s"] <= prop["max_s"]
    for k in (
        "bootstrap_s",
        "raw_insert_s",
        "bootstrap_vs_raw_insert",
        "gateway_cpu_s",
        "raw_insert_cpu_s",
        "entries_per_s",
        "gateway_rss_mib",
        "node_rss_mib",
    ):
        assert snap[k] > 0, k
    assert snap["raw_insert_rows"] == snap["entries"] == 3000
    assert set(snap["check"]) == {
        "in_process_listed",
        "in_process_unlisted",
        "grpc_listed",
        "grpc_unlisted",
        "grpc_8_in_flight",
    }
    for name, f in snap["check"].items():
        assert f["p50_ms"] > 0 and f["p99_ms"] >= f["p50_ms"] and f["per_s"] > 0, name


def test_bad_node_count_is_refused_naming_the_option():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distribute.py"), "--nodes", "99"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "--nodes" in proc.stderr
