"""Crash safety of upward sync with real processes (ADR 0007, SYNC-/NODE- cursors).

A real gateway process and a real node process sync a large push over mutual TLS; at random
points of the push (chosen by a seeded RNG as thresholds of the node's committed cursor) one
side is killed with SIGKILL and restarted. After the outbox drains, every record must be stored
at the gateway exactly once under its source_seq, every counter must add up, and the node must
hold an ack for every record.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import grpc
import pytest

from creditx.demo.procs import Child, read_json_file, run_creditx, start_gateway, start_node
from creditx.gateway.store.engine import open_conn
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_gateway, issue_node, issue_operator
from creditx.standard.synth import generate_rows, write_rows
from tests.pg import ENGINES

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("store_url", ENGINES, indirect=True)]

RECORDS = 3000
KILLS = 6


def node_status(node_dir):
    from creditx.v1 import node_api_pb2, node_api_pb2_grpc

    with grpc.insecure_channel(f"unix://{node_dir / 'node.sock'}") as ch:
        resp = node_api_pb2_grpc.NodeApiStub(ch).Status(node_api_pb2.NodeStatusRequest(), timeout=5)
    return {k: int(v) for k, v in resp.counts.items()}, resp.committed_seq


@pytest.fixture
def province(tmp_path, store_url):
    now = dt.datetime.now(dt.UTC)
    ca = init_ca(tmp_path / "ca", at=now)
    gw_creds = issue_gateway(ca, at=now)
    gw = tmp_path / "gateway"
    run_creditx(
        "gateway",
        "init",
        "--dir",
        str(gw),
        "--ca-dir",
        str(gw_creds.dir),
        "--metrics-listen",
        "127.0.0.1:0",
        "--health-listen",
        "127.0.0.1:0",
        "--console-listen",
        "127.0.0.1:0",
        *(("--store", store_url) if store_url else ()),  # the gateway's database: SQLite or PostgreSQL
    )
    issue_operator(ca, name="op", at=now, out=gw / "operator")
    node_creds = issue_node(ca, region="370300", name="zibo", at=now)
    node = tmp_path / "node"
    children: list[Child] = []
    yield gw, node, node_creds, children
    for c in children:
        c.kill()


def _fix_gateway_port(gw, address):
    """Restarted gateways must come back on the port the node was told about."""
    cfg = json.loads((gw / "gateway.json").read_text())
    cfg["listen"] = address
    (gw / "gateway.json").write_text(json.dumps(cfg))


def _quick_node_limits(node):
    cfg = json.loads((node / "node.json").read_text())
    cfg.setdefault("limits", {}).update(
        sync_interval_s=0.5, backoff_base_s=0.05, backoff_cap_s=0.5, max_batch_records=100, heartbeat_interval_s=1.0
    )
    (node / "node.json").write_text(json.dumps(cfg))


def test_kill_9_either_side_repeatedly_loses_and_duplicates_nothing(province, tmp_path, store_url):
    gw, node, node_creds, children = province
    rng = random.Random(20261122)

    gateway, info = start_gateway(gw)
    children.append(gateway)
    _fix_gateway_port(gw, info["address"])
    run_creditx(
        "node",
        "init",
        "--dir",
        str(node),
        "--region",
        "370300",
        "--certs",
        str(node_creds.dir),
        "--metrics-listen",
        "127.0.0.1:0",
        "--health-listen",
        "127.0.0.1:0",
        "--gateway",
        info["address"].replace("127.0.0.1", "localhost"),
    )
    _quick_node_limits(node)

    rows = list(generate_rows("370300", "XZCF", RECORDS, seed=7, today=dt.date.today()))
    with open(tmp_path / "big.csv", "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv")
    report = json.loads(run_creditx("node", "import", str(tmp_path / "big.csv"), "--dir", str(node), "--json").stdout)
    assert report["accepted"] == RECORDS, report

    node_proc = start_node(node)
    children.append(node_proc)
    thresholds = sorted(rng.sample(range(1, RECORDS), KILLS))
    victims = []
    for threshold in thresholds:

        def reached(threshold: int = threshold) -> bool:
            return node_status(node)[1] >= threshold

        node_proc.wait_until(
            reached,
            timeout=120,
            what=f"committed_seq ≥ {threshold}",
        )
        victim = rng.choice(["gateway", "node"])
        victims.append((threshold, victim))
        if victim == "gateway":
            gateway.kill()
            children.remove(gateway)
            gateway, info2 = start_gateway(gw)
            children.append(gateway)
            assert info2["address"] == info["address"]
        else:
            node_proc.kill()
            children.remove(node_proc)
            node_proc = start_node(node)
            children.append(node_proc)

    node_proc.wait_until(
        lambda: node_status(node)[0].get("pending", 0) + node_status(node)[0].get("sent", 0) == 0,
        timeout=180,
        what="a drained outbox",
    )
    counts, committed = node_status(node)
    assert {"gateway", "node"} & {v for _, v in victims}, victims
    assert committed == RECORDS

    # The node holds exactly one outcome per record.
    decided = sum(counts.get(k, 0) for k in ("accepted", "duplicate", "superseded", "rejected"))
    assert decided == RECORDS, counts
    assert counts.get("accepted", 0) == RECORDS, counts  # all rows valid and distinct

    # The gateway stored each source_seq exactly once, 1..N, and its counters agree.
    gateway.stop()
    children.remove(gateway)
    db = open_conn(store_url or gw / "gateway.db")  # the same checks on either store
    try:
        n, distinct, lo, hi = db.execute(
            "SELECT count(*), count(DISTINCT source_seq), min(source_seq), max(source_seq) FROM records"
        ).fetchone()
        leaves = db.execute("SELECT count(*) FROM audit_leaves").fetchone()[0]
        versions = db.execute("SELECT count(*) FROM registry_versions").fetchone()[0]  # AUD-007 leaves
        committed_gw = db.execute("SELECT committed_seq FROM nodes").fetchone()[0]
    finally:
        db.close()
    assert (n, distinct, lo, hi) == (RECORDS, RECORDS, 1, RECORDS)
    assert committed_gw == RECORDS
    assert (
        versions >= 1 and leaves == RECORDS + versions
    )  # one leaf per decision (none doubled) and per registry version
    gateway, _ = start_gateway(gw)
    children.append(gateway)
    status = json.loads(run_creditx("gateway", "status", "--dir", str(gw), "--json").stdout)
    (view,) = status["nodes"]
    assert sum(int(view.get(k, 0)) for k in ("accepted", "duplicate", "superseded", "rejected")) == RECORDS
    run = read_json_file(gw / "run.json")
    assert run is not None and run["address"] == info["address"]
