"""A province-level department's own node (SEC-092…096), against a real gateway over mutual TLS:
``node init --member`` checks the certificates name that member, the node takes its own entry
from the registry and refuses at import the rows of bodies not granted to it, and what it sends
is kept under its member id at the gateway."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from creditx.cli.main import main
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.init import init_gateway_dir
from creditx.gateway.server import Gateway
from creditx.node import members
from creditx.node.app import NodeApp
from creditx.pki.testing import make_pki
from creditx.standard.errors import InputError
from creditx.standard.synth import generate_rows, write_rows
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc
from tests.ports import gateway_config

NOW = dt.datetime.now(dt.UTC)
A, B = (department_uscc(n) for n in OWN_NODE_DEPARTMENTS[:2])


@pytest.fixture
def province(tmp_path):
    pki = make_pki(tmp_path, regions=("370000",), members=(A, B))
    gw_dir = tmp_path / "gw"
    init_gateway_dir(gw_dir, pki.gateway.dir, cfg=gateway_config())
    g = Gateway(gw_dir)
    g.start()
    yield g, pki
    g.stop(grace=1)


def init(d, g, certs, *extra: str) -> int:
    argv = ["node", "init", "--dir", str(d), "--region", "370000", "--gateway", g.address, "--certs", str(certs)]
    return main([*argv, *extra])


def _file(path, member: str, name: str, n: int, seed: int):
    rows = [
        dataclasses.replace(r, fields={**r.fields, "CF_CFJGDM": member, "CF_CFJG": name})
        for r in generate_rows("370000", "XZCF", n, seed=seed, today=dt.date.today())
    ]
    with open(path, "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv", encoding="utf-8")
    return path


def test_init_refuses_certificates_of_another_member_with_the_rule(province, tmp_path, capsys):
    g, pki = province
    assert init(tmp_path / "x", g, pki.nodes[A].dir, "--member", B) == 2
    err = capsys.readouterr().err
    assert "SEC-096" in err and A in err and f"--member {A}" in err  # the hint names the right one
    assert init(tmp_path / "y", g, pki.nodes[A].dir) == 2  # without --member it would be the 370000 node
    assert "SEC-096" in capsys.readouterr().err
    assert init(tmp_path / "z", g, pki.nodes["370000"].dir, "--member", A) == 2  # the 370000 node's certs
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def test_a_department_node_imports_its_own_bodys_rows_and_sends_them_under_its_member_id(province, tmp_path, capsys):
    g, pki = province
    d = tmp_path / "gat"
    assert init(d, g, pki.nodes[A].dir, "--member", A) == 0
    assert json.loads((d / "node.json").read_text())["member"] == A
    app = NodeApp(d)
    try:
        app.sync_job()  # the handshake brings the registry (SEC-039)
        known, entry = members.own_entry(d, A, NOW)
        assert known and entry is not None and entry.id == A and entry.kind == "department"
    finally:
        app.close()
    capsys.readouterr()
    b_name = OWN_NODE_DEPARTMENTS[1]
    other = _file(tmp_path / "b.csv", B, b_name, 4, seed=3)
    assert main(["node", "import", str(other), "--dir", str(d), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["accepted"], report["quarantined"]) == (0, 4)
    assert {(p["reason"], p["rule"], p["field"]) for p in report["problems"]} == {
        ("SEC_AUTHORITY_NOT_GRANTED", "SEC-036", "CF_CFJGDM")
    }
    own = _file(tmp_path / "a.csv", A, OWN_NODE_DEPARTMENTS[0], 5, seed=4)
    assert main(["node", "import", str(own), "--dir", str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] == 5
    app = NodeApp(d)
    try:
        app.sync_job()
    finally:
        app.close()
    assert (g.store.committed_seq(A), g.store.committed_seq("370000")) == (5, 0)
    decisions = [g.store.decision_for(A, seq) for seq in range(1, 6)]
    assert all(x is not None and x.outcome == Outcome.ACCEPTED for x in decisions)


def test_a_node_whose_config_names_another_member_than_its_certificates_does_not_start(province, tmp_path):
    g, pki = province
    d = tmp_path / "gat"
    assert init(d, g, pki.nodes[A].dir, "--member", A) == 0
    cfg = json.loads((d / "node.json").read_text())
    (d / "node.json").write_text(json.dumps({**cfg, "member": B}))
    with pytest.raises(InputError, match="SEC-096") as err:
        NodeApp(d)
    assert A in str(err.value)
    (d / "node.json").write_text(json.dumps({**cfg, "member": "37000X"}))
    with pytest.raises(InputError, match="SEC-092"):
        NodeApp(d)


FREE_PORTS = ("--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0")


@pytest.mark.slow
def test_a_department_node_process_sends_its_own_records_and_refuses_to_start_as_another_member(
    province, tmp_path, capsys
):
    """`creditx node run` as a real process: the department's node pushes its import to the
    gateway under its member id; started with node.json naming another member it exits 2 with
    SEC-096 before it opens anything."""
    import signal
    import subprocess
    import sys

    from tests.node.test_cli_app import _wait_for
    from tests.node.test_node_process import _start

    g, pki = province
    d = tmp_path / "gat"
    assert init(d, g, pki.nodes[A].dir, "--member", A, *FREE_PORTS) == 0
    app = NodeApp(d)  # the first handshake brings the registry, so intake can authorise (SEC-039)
    try:
        app.sync_job()
    finally:
        app.close()
    proc = _start(d)
    try:
        assert _wait_for(lambda: (d / "node.sock").exists())
        capsys.readouterr()
        assert (
            main(["node", "import", str(_file(tmp_path / "a.csv", A, OWN_NODE_DEPARTMENTS[0], 6, 5)), "--dir", str(d)])
            == 0
        )
        assert _wait_for(lambda: g.store.committed_seq(A) == 6)
        assert g.store.committed_seq("370000") == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read().decode() if proc.stderr else ""
    cfg = json.loads((d / "node.json").read_text())
    (d / "node.json").write_text(json.dumps({**cfg, "member": B}))
    run = [sys.executable, "-m", "creditx.cli.main", "node", "run", "--dir", str(d)]  # as an operator runs it
    done = subprocess.run(run, capture_output=True, timeout=60, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "SEC-096" in err and A in err and "Traceback" not in err
    assert not (d / "node.sock").exists()
