"""What the hall did reaches the province exactly once, across SIGKILLs of the node (HALL-031,
HALL-041): real gateway and node processes, a department on loopback with its own certificate.

The department checks listed subjects over the node's hall gRPC API and reports an action on
each; the node is killed with SIGKILL while reports arrive and are forwarded, and restarted.
Then, with the node stopped, its forwarded marks are cleared — the crash window between the
gateway's commit and the node's mark — so the restarted node forwards everything again. The
gateway must hold each report once, with one audit leaf each, and the sanctions report must
count them per region, department, list type and measure.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import sqlite3
import urllib.request

import grpc
import pytest

from creditx.demo.procs import Child, read_json_file, run_creditx, start_gateway, start_node
from creditx.pki.ca import init_ca
from creditx.pki.issue import issue_department, issue_gateway, issue_node, issue_node_tls
from creditx.standard.catalogue import load_catalogue
from creditx.standard.synth import generate_rows, write_rows
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.halls.client import grpc_channel, signed_report
from tests.ports import GATEWAY_FREE_PORTS, NODE_FREE_PORTS

pytestmark = pytest.mark.slow

REGION = "370300"
REPORTS = 24
KILLS = 3


@pytest.fixture
def province(tmp_path):
    now = dt.datetime.now(dt.UTC)
    ca = init_ca(tmp_path / "ca", at=now)
    gw = tmp_path / "gateway"
    run_creditx(
        "gateway",
        "init",
        "--dir",
        str(gw),
        "--ca-dir",
        str(issue_gateway(ca, at=now).dir),
        *GATEWAY_FREE_PORTS,  # never the fixed defaults (9741-9743): a restart or a parallel test would clash
    )
    node_creds = issue_node(ca, region=REGION, name="zibo", at=now)
    issue_node_tls(ca, region=REGION, name="zibo", at=now, out=tmp_path / "hall-tls")
    dept = issue_department(ca, name="CZ", region=REGION, at=now, out=tmp_path / "dept")
    children: list[Child] = []
    yield tmp_path, gw, node_creds, dept, children
    for c in children:
        c.kill()


def _gateway_actions(gw):
    with sqlite3.connect(f"file:{gw / 'gateway.db'}?mode=ro", uri=True, timeout=30) as db:
        return db.execute("SELECT node, report_id, audit_idx FROM sanction_actions ORDER BY report_id").fetchall()


def _action_leaves(gw) -> list[dict]:
    """The audit leaves of kind "action", and check each stored report points at its own leaf."""
    with sqlite3.connect(f"file:{gw / 'gateway.db'}?mode=ro", uri=True, timeout=30) as db:
        leaves = {i: json.loads(d) for i, d in db.execute("SELECT idx, leaf_data FROM audit_leaves")}
        for report_id, idx in db.execute("SELECT report_id, audit_idx FROM sanction_actions"):
            assert leaves[idx]["kind"] == "action" and leaves[idx]["report"] == report_id
    return [leaf for leaf in leaves.values() if leaf["kind"] == "action"]


def _start(node):
    (node / "halls.json").unlink(missing_ok=True)
    child = start_node(node)
    child.wait_until(lambda: read_json_file(node / "halls.json") is not None, timeout=60, what="halls.json")
    ports = read_json_file(node / "halls.json")
    assert ports is not None
    return child, f"127.0.0.1:{ports['grpc']}"


def test_action_reports_survive_sigkill_and_arrive_once(province):
    tmp, gw, node_creds, dept, children = province
    rng = random.Random(20261201)
    gateway, info = start_gateway(gw)
    children.append(gateway)
    node = tmp / "node"
    run_creditx(
        "node",
        "init",
        "--dir",
        str(node),
        "--region",
        REGION,
        "--certs",
        str(node_creds.dir),
        "--gateway",
        info["address"].replace("127.0.0.1", "localhost"),
        *NODE_FREE_PORTS,
    )
    for f in ("hall-tls.crt", "hall-tls.key"):
        shutil.copy(tmp / "hall-tls" / f, node / f)
    cfg = json.loads((node / "node.json").read_text())
    cfg["limits"] = {
        **cfg["limits"],
        "sync_interval_s": 0.5,
        "backoff_base_s": 0.05,
        "backoff_cap_s": 0.5,
        "checkpoint_interval_s": 1.0,
    }
    cfg["halls"] = {"forward_interval_s": 0.3}
    (node / "node.json").write_text(json.dumps(cfg))

    colours = {lt.code: lt.colour for lt in load_catalogue().list_types}
    rows = [r for r in generate_rows(REGION, "LIST", 40, seed=3, today=dt.date.today())]
    with open(tmp / "lists.csv", "wb") as out:
        write_rows(out, rows, record_type="LIST", fmt="csv")
    run_creditx("node", "import", str(tmp / "lists.csv"), "--dir", str(node), "--json")
    subjects = sorted(
        {
            r.fields["MD_ZT_SHXYM"]
            for r in rows
            if colours[r.fields["MD_LX"]] == "black"
            and r.fields["MD_LX"] != "HGSX"
            and r.fields.get("MD_ZT_SHXYM", "0").startswith("9")
        }
    )
    assert len(subjects) >= 4

    node_proc, target = _start(node)
    children.append(node_proc)

    def stub():
        return pb_grpc.DepartmentsStub(grpc_channel(target, dept.ca, dept.cert, dept.key))

    def answer(uscc):
        try:
            return stub().Check(pb.CheckRequest(subject=pb.Subject(uscc=uscc), department="CZ"), timeout=10)
        except grpc.RpcError:
            return None

    # the subjects reach the replica through the real gateway, and the signed measures list is taken up
    node_proc.wait_until(
        lambda: all((a := answer(u)) is not None and a.measures for u in subjects),
        timeout=120,
        what="listed subjects in the replica",
    )
    node_proc.wait_until(
        lambda: (a := answer(subjects[0])) is not None and a.measures_version == "1.0",
        timeout=60,
        what="the gateway's signed measures list",
    )

    kill_after = set(rng.sample(range(2, REPORTS - 1), KILLS))
    sent = []
    for i in range(REPORTS):
        a = None
        while a is None:  # the node may be restarting
            a = answer(subjects[i % len(subjects)])
        rep = signed_report(
            dept.cert,
            dept.key,
            report_id=f"cz-{i:04d}",
            check_id=a.check_id,
            measure_id=a.measures[i % len(a.measures)].measure_id,
            matter="",
            action="applied" if i % 3 else "not_applied",
            reason="" if i % 3 else "主体已履行",
        )
        assert stub().ReportAction(rep.pb(), timeout=10).report_id == rep_id(i)
        sent.append((rep_id(i), a.measures[i % len(a.measures)].measure_id))
        if i in kill_after:  # SIGKILL right after the node acknowledged: forwarding may be in flight
            node_proc.kill()
            children.remove(node_proc)
            node_proc, target = _start(node)
            children.append(node_proc)
    node_proc.wait_until(lambda: len(_gateway_actions(gw)) == REPORTS, timeout=120, what="every report at the gateway")

    # the crash window after the gateway's commit and before the node's mark: forward everything again
    node_proc.stop()
    children.remove(node_proc)
    with sqlite3.connect(node / "node.db") as db:
        assert db.execute("SELECT COUNT(*) FROM hall_actions").fetchone()[0] == REPORTS
        db.execute("UPDATE hall_actions SET forwarded_at = NULL, gateway_result = NULL")
    node_proc, target = _start(node)
    children.append(node_proc)
    node_proc.wait_until(lambda: _all_duplicates(node), timeout=60, what="the re-forwarded reports settled")

    stored = _gateway_actions(gw)
    assert [r[1] for r in stored] == [r for r, _ in sent]  # each once, none lost
    assert len({r[2] for r in stored}) == REPORTS and len(_action_leaves(gw)) == REPORTS  # one audit leaf each
    report = json.loads(run_creditx("gateway", "sanctions-report", "--dir", str(gw), "--json").stdout)
    applied = sum(
        a["applied"] + a["not_applied"] + a["overridden"]
        for a in report["actions"]
        if a["region"] == REGION and a["department"] == "CZ"
    )
    assert applied >= REPORTS  # a measure triggered by two of a subject's lists counts under each
    assert {a["measure_id"] for a in report["actions"]} == {m for _, m in sent}
    # check counters are kept in memory between flushes (a SIGKILL may lose the last interval's);
    # checks after the restart reach the gateway's figures
    before = _gateway_checks(gw)
    for u in subjects:
        assert answer(u).memberships
    node_proc.wait_until(
        lambda: _gateway_checks(gw)[0] >= before[0] + len(subjects),
        timeout=60,
        what="the new checks in the gateway's figures",
    )
    assert _gateway_checks(gw)[1] >= before[1] + len(subjects)
    table = run_creditx("gateway", "sanctions-report", "--dir", str(gw)).stdout
    assert "CZ" in table and sent[0][1] in table
    metrics = urllib.request.urlopen(info["metrics"], timeout=10).read().decode()
    assert f'creditx_sanctions_checks_total{{department="CZ",region="{REGION}"}}' in metrics
    assert f'measure="{sent[0][1]}",region="{REGION}"' in metrics


def _gateway_checks(gw) -> tuple[int, int]:
    report = json.loads(run_creditx("gateway", "sanctions-report", "--dir", str(gw), "--json").stdout)
    [row] = [c for c in report["checks"] if c["region"] == REGION and c["department"] == "CZ" and not c["list_type"]]
    return row["checks"], row["hits"]


def rep_id(i: int) -> str:
    return f"cz-{i:04d}"


def _all_duplicates(node) -> bool:
    with sqlite3.connect(f"file:{node / 'node.db'}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute("SELECT gateway_result FROM hall_actions").fetchall()
    return len(rows) == REPORTS and all(r[0] == "DUPLICATE" for r in rows)
