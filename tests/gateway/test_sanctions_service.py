"""The gateway's Sanctions service over real mutual TLS: the signed measures list, and forwarded
action reports — a bad one is named and never fails the good ones beside it; each report is kept
once with one audit leaf (HALL-002, HALL-041)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import grpc
import pytest
from cryptography import x509

from creditx.pki.issue import issue_department
from creditx.pki.tls import channel_credentials
from creditx.standard.envelope import verify_envelope
from creditx.standard.measures import MEASURES_PAYLOAD_TYPE, load_measures, parse_measures
from creditx.standard.suites import key_id
from creditx.v1 import sanctions_pb2 as spb
from creditx.v1 import sanctions_pb2_grpc as spb_grpc
from tests.halls.client import signed_report

CHECK_ID = "19a.0123456789ab.GOV_PROCUREMENT.SXBZXR.deadbeefdeadbeefdeadbeef"


def _stub(gateway, creds):
    ch = grpc.secure_channel(
        gateway.address,
        channel_credentials(creds.ca, creds.auth_cert, creds.auth_key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    return spb_grpc.SanctionsStub(ch)


def test_measures_document_is_signed_by_the_gateway(gateway, pki):
    doc = _stub(gateway, pki.nodes["370100"]).GetMeasures(spb.GetMeasuresRequest(), timeout=10)
    key = x509.load_pem_x509_certificate(pki.gateway.signing_cert.read_bytes()).public_key()
    from creditx.node.replica.wire import envelope_from_pb

    env = envelope_from_pb(doc.document)
    verify_envelope(env, {key_id(key): key}.get, expected_type=MEASURES_PAYLOAD_TYPE)
    assert doc.version == "1.0" and parse_measures(env.payload).canonical() == load_measures().canonical()


def test_reports_are_checked_one_by_one_and_kept_once(gateway, gw_dir, pki, tmp_path):
    now = datetime.now(UTC)
    jinan = issue_department(pki.ca, name="CZ", region="370100", at=now, out=tmp_path / "cz")
    qingdao = issue_department(pki.ca, name="CZ", region="370200", at=now, out=tmp_path / "qd")
    good = signed_report(jinan.cert, jinan.key, report_id="r-1", check_id=CHECK_ID, measure_id="SXBZXR-01")
    wrong_city = signed_report(qingdao.cert, qingdao.key, report_id="r-2", check_id=CHECK_ID, measure_id="SXBZXR-01")
    wrong_measure = signed_report(jinan.cert, jinan.key, report_id="r-3", check_id=CHECK_ID, measure_id="AJNSR-01")
    tampered = signed_report(jinan.cert, jinan.key, report_id="r-4", check_id=CHECK_ID, measure_id="SXBZXR-02").pb()
    tampered.report.signatures[0].sig = bytes(reversed(tampered.report.signatures[0].sig))
    stub = _stub(gateway, pki.nodes["370100"])
    req = spb.ReportActionsRequest(
        reports=[good.pb(), wrong_city.pb(), wrong_measure.pb(), tampered],
        counters=[spb.CheckCounter(department="CZ", list_type="", checks=5, hits=2)],
    )
    r = stub.ReportActions(req, timeout=10)
    assert list(r.stored) == ["r-1"] and not r.duplicates
    reasons = dict(x.split(": ", 1) for x in r.rejected)
    assert set(reasons) == {"r-2", "r-3", "r-4"}
    assert "HALL-041" in reasons["r-2"] and "not triggered" in reasons["r-3"] and "SIG-011" in reasons["r-4"]
    again = stub.ReportActions(
        spb.ReportActionsRequest(
            reports=[good.pb()], counters=[spb.CheckCounter(department="CZ", list_type="", checks=3, hits=1)]
        ),
        timeout=10,
    )
    assert list(again.duplicates) == ["r-1"] and not again.stored
    with sqlite3.connect(gw_dir / "gateway.db") as db:
        assert db.execute("SELECT COUNT(*) FROM sanction_actions").fetchone()[0] == 1
        assert db.execute("SELECT checks, hits FROM sanction_checks").fetchall() == [(5, 2)]  # never backwards
        leaves = [bytes(d) for (d,) in db.execute("SELECT leaf_data FROM audit_leaves")]
    assert sum(b'"kind":"action"' in d for d in leaves) == 1


def test_only_node_certificates_may_call(gateway, pki, tmp_path):
    op = pki.operator
    ch = grpc.secure_channel(
        gateway.address,
        channel_credentials(op.ca, op.cert, op.key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    with pytest.raises(grpc.RpcError) as exc:
        spb_grpc.SanctionsStub(ch).GetMeasures(spb.GetMeasuresRequest(), timeout=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED and "CERT_WRONG_ROLE" in (exc.value.details() or "")
