"""SEC-080/081 with real processes and a really shifted clock: a node process run under
libfaketime (Debian package ``faketime``) 10 minutes slow syncs all its records, with a warning
alarm in ``node status`` and the metrics; the same node a day slow refuses, says that its clock
is the cause, and answers NOT_SERVING on its health port."""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from creditx.demo.procs import Child, read_json_file, run_creditx, start_gateway, start_node
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node
from creditx.standard.synth import generate_rows, write_rows
from tests.e2e.test_crash import _fix_gateway_port, _quick_node_limits
from tests.ports import GATEWAY_FREE_PORTS, NODE_FREE_PORTS

pytestmark = pytest.mark.slow

LIBFAKETIME = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), "")


@pytest.fixture
def faketime():
    if not LIBFAKETIME:
        if os.environ.get("CI"):
            pytest.fail("libfaketime is not installed (Debian package faketime; .ci/run installs it)")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")

    def env(offset: str) -> dict:
        # the wall clock is shifted; the monotonic clock (timeouts, backoff) stays real
        return dict(os.environ, LD_PRELOAD=LIBFAKETIME, FAKETIME=offset, FAKETIME_DONT_FAKE_MONOTONIC="1")

    return env


def _status(node) -> dict:
    return json.loads(run_creditx("node", "status", "--dir", str(node), "--json").stdout)


def _health(node) -> int:
    run = read_json_file(node / "run.json")
    assert run is not None
    with grpc.insecure_channel(run["health"]) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        return stub.Check(  # type: ignore[attr-defined]  # grpc's HealthStub declares no methods
            health_pb2.HealthCheckRequest(service=""), timeout=5
        ).status


def test_a_node_ten_minutes_slow_syncs_and_a_day_slow_refuses_naming_its_clock(tmp_path, faketime):
    now = dt.datetime.now(dt.UTC)
    ca = init_ca(tmp_path / "ca", at=now)
    gw = tmp_path / "gateway"
    run_creditx(
        "gateway", "init", "--dir", str(gw), "--ca-dir", str(issue_gateway(ca, at=now).dir), *GATEWAY_FREE_PORTS,
        "--console-listen", "127.0.0.1:0",
    )  # fmt: skip
    node_creds = issue_node(ca, region="370300", name="zibo", at=now)
    children: list[Child] = []
    try:
        gateway, info = start_gateway(gw)
        children.append(gateway)
        _fix_gateway_port(gw, info["address"])
        node = tmp_path / "node"
        run_creditx(
            "node", "init", "--dir", str(node), "--region", "370300", "--certs", str(node_creds.dir), *NODE_FREE_PORTS,
            "--gateway", info["address"].replace("127.0.0.1", "localhost"),
        )  # fmt: skip
        _quick_node_limits(node)
        rows = list(generate_rows("370300", "XZCF", 210, seed=3, today=dt.date.today() - dt.timedelta(days=2)))
        with open(tmp_path / "a.csv", "wb") as out:
            write_rows(out, rows[:200], record_type="XZCF", fmt="csv")
        with open(tmp_path / "b.csv", "wb") as out:
            write_rows(out, rows[200:], record_type="XZCF", fmt="csv")

        slow = faketime("-10m")
        run_creditx("node", "import", str(tmp_path / "a.csv"), "--dir", str(node), env=slow)
        proc = start_node(node, env=slow)
        children.append(proc)
        proc.wait_until(lambda: _status(node)["last_committed_seq"] == 200, timeout=120, what="200 records synced")
        s = _status(node)
        assert 590 < s["clock_skew_s"] < 610, s  # measured against the gateway's clock
        assert [(a["name"], a["severity"]) for a in s["alarms"]] == [("clock_skew", "warning")]
        assert _health(node) == health_pb2.HealthCheckResponse.SERVING
        run = read_json_file(node / "run.json")
        assert run is not None
        with urllib.request.urlopen(run["metrics"], timeout=10) as r:
            metrics = r.read().decode()
        skew_line = next(x for x in metrics.splitlines() if x.startswith("creditx_node_clock_skew_seconds "))
        assert 590 < float(skew_line.split()[1]) < 610
        assert 'creditx_node_alarm{name="clock_skew",severity="warning"} 1.0' in metrics
        proc.stop()

        day_slow = faketime("-1d")  # before its own certificate's notBefore (an hour before issuance)
        run_creditx("node", "import", str(tmp_path / "b.csv"), "--dir", str(node), env=day_slow)
        proc = start_node(node, env=day_slow)
        children.append(proc)

        def refused() -> bool:
            error = _status(node)["last_error"] or ""
            return "this node's clock reads" in error

        proc.wait_until(refused, timeout=60, what="a refusal naming the clock")
        s = _status(node)
        assert "before its own certificate's notBefore" in s["last_error"] and "s slow" in s["last_error"]
        assert s["last_committed_seq"] == 200  # nothing more went up
        alarms = {a["name"]: a for a in s["alarms"]}  # the list stream is down too (list_stream, a warning)
        assert alarms["clock_skew"]["severity"] == "critical" and "clock" in alarms["clock_skew"]["message"]
        proc.wait_until(
            lambda: _health(node) == health_pb2.HealthCheckResponse.NOT_SERVING, timeout=10, what="NOT_SERVING"
        )
    finally:
        for c in children:
            c.kill()
