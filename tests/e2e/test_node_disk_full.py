"""SYNC-051 on a really full disk: a real node process whose directory is on a small tmpfs, a
real gateway process elsewhere. With the disk full, upward sync cannot record its progress:
the node stays up, raises the critical alarm (health NOT_SERVING, creditx_node_alarm), keeps
retrying with backoff, and once the filler is removed it syncs everything and clears the alarm
by itself — no restart, no SyncStateError."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from creditx.demo.procs import Child, read_json_file, run_creditx, start_gateway, start_node
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node
from creditx.standard.synth import generate_rows, write_rows
from tests.disk import fill, small_disk
from tests.e2e.test_crash import _fix_gateway_port, _quick_node_limits
from tests.ports import GATEWAY_FREE_PORTS, NODE_FREE_PORTS

pytestmark = pytest.mark.slow
N = 300


def _health(node) -> int:
    run = read_json_file(node / "run.json")
    assert run is not None
    with grpc.insecure_channel(run["health"]) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        return stub.Check(  # type: ignore[attr-defined]  # grpc's HealthStub declares no methods
            health_pb2.HealthCheckRequest(service=""), timeout=5
        ).status


def _metrics(node) -> str:
    run = read_json_file(node / "run.json")
    assert run is not None
    with urllib.request.urlopen(run["metrics"], timeout=10) as r:
        return r.read().decode()


def test_a_node_on_a_full_disk_alarms_keeps_running_and_resumes_when_room_returns(tmp_path):
    now = dt.datetime.now(dt.UTC)
    ca = init_ca(tmp_path / "ca", at=now)
    gw = tmp_path / "gateway"
    run_creditx(
        "gateway", "init", "--dir", str(gw), "--ca-dir", str(issue_gateway(ca, at=now).dir), *GATEWAY_FREE_PORTS,
        "--console-listen", "127.0.0.1:0",
    )  # fmt: skip
    creds = issue_node(ca, region="370300", name="zibo", at=now)
    children: list[Child] = []
    with small_disk(tmp_path, "24m") as disk:
        try:
            gateway, info = start_gateway(gw)
            children.append(gateway)
            _fix_gateway_port(gw, info["address"])
            node = disk / "node"
            run_creditx(
                "node", "init", "--dir", str(node), "--region", "370300", "--certs", str(creds.dir), *NODE_FREE_PORTS,
                "--gateway", info["address"].replace("127.0.0.1", "localhost"),
            )  # fmt: skip
            _quick_node_limits(node)
            rows = list(generate_rows("370300", "XZCF", N, seed=5, today=dt.date.today() - dt.timedelta(days=2)))
            with open(tmp_path / "a.csv", "wb") as out:
                write_rows(out, rows, record_type="XZCF", fmt="csv")
            run_creditx("node", "import", str(tmp_path / "a.csv"), "--dir", str(node))
            gateway.stop()  # the node starts while the gateway is away: its records stay pending
            children.remove(gateway)
            proc = start_node(node)
            children.append(proc)
            proc.wait_until(lambda: read_json_file(node / "run.json") is not None, timeout=30, what="run.json")
            fill(disk / "filler")  # the disk fills while the node runs (its log cannot be written either)
            gateway, _ = start_gateway(gw)
            children.append(gateway)

            def alarmed() -> bool:
                return 'creditx_node_alarm{name="sync_store_write",severity="critical"} 1.0' in _metrics(node)

            proc.wait_until(alarmed, timeout=60, what="the sync_store_write alarm")
            assert _health(node) == health_pb2.HealthCheckResponse.NOT_SERVING

            (disk / "filler").unlink()  # room again

            def synced() -> bool:
                s = json.loads(run_creditx("node", "status", "--dir", str(node), "--json").stdout)
                return s["last_committed_seq"] == N and not s["alarms"]

            proc.wait_until(synced, timeout=120, what=f"{N} records synced and the alarm cleared")
            assert _health(node) == health_pb2.HealthCheckResponse.SERVING
            assert "creditx_node_alarm{" not in _metrics(node)
            log = proc.log.read_text("utf-8", "replace")
            assert "SyncStateError" not in log and "cannot rollback" not in log
            assert proc.alive()
        finally:
            for c in children:
                c.kill()
