"""The node's commands and its wired app: init, import (GB18030, quarantine, export), status,
rejects, and ``run`` with the local API on a Unix socket syncing to the fake gateway over mTLS."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import stat
import threading
import time

import grpc
import pytest

from creditx.node.app import NodeApp
from creditx.node.cli import register
from creditx.pki.testing import make_pki
from creditx.standard.errors import CreditxError
from creditx.standard.synth import generate_rows, write_rows
from creditx.v1 import node_api_pb2 as pb
from creditx.v1 import node_api_pb2_grpc as pb_grpc
from tests.node.fake_gateway import FakeGateway, serve
from tests.ports import NODE_FREE_PORTS as FREE_PORTS


def creditx(*argv: object) -> int:
    """Run ``creditx node …`` through the node's own registrar (as the dispatcher does)."""
    parser = argparse.ArgumentParser(prog="creditx")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["node", *map(str, argv)])
    try:
        return args.func(args)
    except CreditxError as exc:
        print(exc.diagnostics())
        return exc.exit_code


@pytest.fixture
def node_dir(tmp_path):
    pki = make_pki(tmp_path)
    fake = FakeGateway(max_batch_records=50)
    server, target = serve(fake, pki)
    d = tmp_path / "jinan"
    assert (
        creditx(
            "init",
            "--dir",
            d,
            "--region",
            "370100",
            "--gateway",
            target,
            "--certs",
            pki.nodes["370100"].dir,
            *FREE_PORTS,
        )
        == 0
    )
    yield d, fake
    server.stop(None)


def test_init_copies_credentials_with_safe_modes_and_writes_limits(node_dir):
    d, _ = node_dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for key in ("auth.key", "signing.key"):
        assert stat.S_IMODE((d / key).stat().st_mode) == 0o600
    cfg = json.loads((d / "node.json").read_text())
    assert cfg["region"] == "370100" and cfg["limits"]["max_batch_records"] == 500


def test_init_refuses_a_bad_region_naming_the_setting(tmp_path, capsys):
    pki = make_pki(tmp_path)
    assert (
        creditx(
            "init",
            "--dir",
            tmp_path / "x",
            "--region",
            "999999",
            "--gateway",
            "h:1",
            "--certs",
            pki.nodes["370100"].dir,
            *FREE_PORTS,
        )
        == 2
    )
    out = capsys.readouterr().out
    assert "region" in out and "hint" in out


def _synth_file(path, n=40, encoding="gb18030"):
    rows = list(generate_rows("370100", "XZCF", n, seed=5, invalid_share=0.25, today=dt.date.today()))
    with open(path, "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv", encoding=encoding)
    return sum(r.defect is not None for r in rows)


def test_import_gb18030_quarantines_bad_rows_beside_good_ones(node_dir, tmp_path, capsys):
    d, _ = node_dir
    bad = _synth_file(tmp_path / "cf.csv")
    assert bad > 0
    assert creditx("import", tmp_path / "cf.csv", "--dir", d, "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 40 and report["quarantined"] == bad and report["accepted"] == 40 - bad
    assert report["sync"] is False and report["first_seq"] == 1 and report["seq_ranges"] == [[1, 40 - bad]]
    assert creditx("quarantine", "--dir", d, "--export", tmp_path / "q.csv") == 0
    with open(tmp_path / "q.csv", encoding="gb18030") as f:  # the encoding it came in
        q = list(csv.DictReader(f))
    assert len(q) == bad and all(r["问题规则"] and r["修改建议"] and r["问题字段"] and r["隔离编号"] for r in q)
    capsys.readouterr()
    assert creditx("status", "--dir", d, "--json") == 0
    s = json.loads(capsys.readouterr().out)
    assert s["outbox"]["pending"] == 40 - bad and s["outbox"]["quarantined"] == len(q)
    assert s["last_sync"] is None
    # importing the same file again adds nothing: every valid row is already submitted
    assert creditx("import", tmp_path / "cf.csv", "--dir", d, "--json") == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["accepted"], again["already_submitted"], again["quarantine_records"]) == (0, 40 - bad, bad)


def test_import_keeps_good_rows_beside_a_superscript_digit_id(node_dir, tmp_path, capsys):
    """The issue's reproduction: one ``²`` ID in a CSV killed the import with 0 of 5 good rows in."""
    d, _ = node_dir
    rows = list(generate_rows("370100", "XZCF", 6, seed=7, today=dt.date.today()))
    f = dict(rows[2].fields, CF_XDR_LB="自然人", CF_XDR_ZJLX="身份证", CF_XDR_ZJHM="37011519851005470²")
    f.pop("CF_XDR_SHXYM", None)
    rows[2] = rows[2].__class__(**{**rows[2].__dict__, "fields": f})
    with open(tmp_path / "sup.csv", "wb") as out:
        write_rows(out, rows, record_type="XZCF", fmt="csv", encoding="utf-8")
    assert creditx("import", tmp_path / "sup.csv", "--dir", d, "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 6 and report["accepted"] == 5 and report["quarantined"] == 1
    assert any(p["rule"] == "REC-ID-07" for p in report["problems"])


def test_import_of_a_missing_file_is_a_clear_error(node_dir, tmp_path, capsys):
    d, _ = node_dir
    assert creditx("import", tmp_path / "nope.csv", "--dir", d) == 2
    assert "nope.csv" in capsys.readouterr().out


def _wait_for(cond, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        threading.Event().wait(0.05)
    return False


def test_run_serves_local_api_on_a_socket_and_syncs(node_dir, tmp_path, capsys):
    d, fake = node_dir
    fake.reject = {2}
    bad = _synth_file(tmp_path / "cf.csv", n=20, encoding="utf-8")
    creditx("import", tmp_path / "cf.csv", "--dir", d, "--json")
    capsys.readouterr()
    app, stop = NodeApp(d), threading.Event()
    t = threading.Thread(target=app.run, args=(stop,))
    t.start()
    try:
        assert _wait_for(lambda: (d / "node.sock").exists())
        assert stat.S_IMODE((d / "node.sock").stat().st_mode) == 0o600
        assert _wait_for(lambda: fake.committed() == 20 - bad)
        with grpc.insecure_channel(f"unix:{d / 'node.sock'}") as ch:
            stub = pb_grpc.NodeApiStub(ch)
            good = dict(generate_rows("370100", "XZCF", 1, seed=99, today=dt.date.today()).__next__().fields)
            resp = stub.Submit(
                pb.NodeSubmitRequest(
                    records=[
                        pb.NodeSubmitRecord(type="XZCF", source_id="city-sys-1", fields=good),
                        pb.NodeSubmitRecord(type="XZCF", source_id="city-sys-2", fields={"CF_WSH": "x"}),
                    ]
                ),
                timeout=10,
            )
            assert resp.results[0].accepted and resp.results[0].source_seq == 20 - bad + 1
            assert not resp.results[1].accepted and resp.results[1].violations[0].rule
            assert _wait_for(lambda: fake.committed() == 20 - bad + 1)  # the submit nudged a sync
            status = stub.Status(pb.NodeStatusRequest(), timeout=10)
            assert status.last_source_seq == 20 - bad + 1
            # SYNC-033: a record of no known type, or with a ² in its ID, is its own violation;
            # the good record of the same call goes in
            good2 = dict(generate_rows("370100", "XZCF", 1, seed=98, today=dt.date.today()).__next__().fields)
            person = dict(good, CF_XDR_LB="自然人", CF_XDR_ZJLX="身份证", CF_XDR_ZJHM="37011519851005470²")
            resp = stub.Submit(
                pb.NodeSubmitRequest(
                    records=[
                        pb.NodeSubmitRecord(type="NOPE"),
                        pb.NodeSubmitRecord(type="XZCF", source_id="p", fields=person),
                        pb.NodeSubmitRecord(type="XZCF", source_id="city-sys-3", fields=good2),
                    ]
                ),
                timeout=10,
            )
            assert [r.accepted for r in resp.results] == [False, False, True]
            assert resp.results[0].violations[0].reason == "REC_UNKNOWN_TYPE"
            assert "REC-ID-07" in {v.rule for v in resp.results[1].violations}
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive() and not (d / "node.sock").exists()
    assert creditx("rejects", "--dir", d, "--json") == 0
    [rej] = json.loads(capsys.readouterr().out)
    assert rej["source_seq"] == 2 and rej["reason"] == "USCC_CHECKSUM"
    assert creditx("status", "--dir", d, "--json") == 0
    s = json.loads(capsys.readouterr().out)
    assert s["outbox"]["rejected"] == 1 and s["outbox"]["accepted"] == 20 - bad + 1
    assert s["last_committed_seq"] == 20 - bad + 2 and s["gateway_reachable"] is True
