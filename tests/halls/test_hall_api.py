"""A hall system on loopback checks a subject over gRPC and HTTP/JSON with only its own
credentials, gets the measures for its matter, reports what it did; callers without a
department certificate or token are refused on both interfaces (HALL-006 … HALL-031)."""

from __future__ import annotations

import json
import ssl
from datetime import UTC

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from creditx.node.halls.store import HallStore
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.halls.client import grpc_channel, https, post, signed_report
from tests.halls.conftest import CLEAN, DEBTOR, PERSON, TAXPAYER
from tests.node.test_cli_app import creditx


def _stub(hall, creds=None):
    creds = creds or hall.cz
    return pb_grpc.DepartmentsStub(grpc_channel(hall.grpc_target, creds.ca, creds.cert, creds.key))


def _measures(answer) -> list[tuple[str, bool, str]]:
    return [(m["measure_id"], m["mandatory"], m["basis"]) for m in answer]


def test_grpc_check_gives_the_measures_for_the_matter(hall):
    a = _stub(hall).Check(
        pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR), matter="ZFCG-GYS-001", department="CZ"), timeout=10
    )
    assert [e.list_type for e in a.memberships] == ["SXBZXR"]
    assert [(m.measure_id, m.mandatory, m.list_types) for m in a.measures] == [
        ("SXBZXR-01", True, ["SXBZXR"]),
        ("ZFCGSX-02", True, ["SXBZXR"]),
    ]
    assert "发改财金〔2016〕141号" in a.measures[0].basis and "财库〔2016〕125号" in a.measures[1].basis
    assert not a.incentives and not a.stale and a.applied_list_seq >= 3 and a.last_update_unix_ms > 0
    assert a.measures_version == "1.0+builtin" and a.check_id.count(".") == 4
    [r] = a.records
    assert r.type == "XZCF" and r.document_number and r.objection == ""
    # another matter, another department: other measures
    b = _stub(hall).Check(
        pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR), matter="LAND_SUPPLY", department="CZ"), timeout=10
    )
    assert [m.measure_id for m in b.measures] == []  # 供地 measures are for 自然资源, not 财政


def test_red_list_incentives_and_a_clean_subject(hall):
    stub = _stub(hall)
    a = stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=TAXPAYER), matter="GOV_PROCUREMENT"), timeout=10)
    assert [m.measure_id for m in a.incentives] == ["AJNSR-03"] and not a.measures
    assert a.incentives[0].kind == "激励" and not a.incentives[0].mandatory
    c = stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=CLEAN), matter="GOV_PROCUREMENT"), timeout=10)
    assert not c.memberships and not c.measures and not c.incentives and not c.records


def test_check_many_in_order_and_bounded(hall):
    stub = _stub(hall)
    reqs = [pb.CheckRequest(subject=pb.Subject(uscc=u), matter="GOV_PROCUREMENT") for u in (CLEAN, DEBTOR, TAXPAYER)]
    r = stub.CheckMany(pb.CheckManyRequest(checks=reqs), timeout=10)
    assert [len(a.memberships) for a in r.answers] == [0, 1, 1]
    with pytest.raises(grpc.RpcError) as exc:
        stub.CheckMany(pb.CheckManyRequest(checks=reqs * 40), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "HALL-020" in (exc.value.details() or "")


def test_http_check_with_certificate_and_with_token(hall, capsys):
    body = {"subject": {"uscc": DEBTOR}, "matter": "ZFCG-GYS-001", "department": "CZ"}
    status, a = post(https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key), "/v1/check", body)
    assert status == 200, a
    assert [e["list_type"] for e in a["memberships"]] == ["SXBZXR"]
    assert [m[0] for m in _measures(a["measures"])] == ["SXBZXR-01", "ZFCGSX-02"]
    assert a["stale"] is False and a["records"][0]["type"] == "XZCF"
    # the operator issues a token; the hall system uses it without a certificate
    assert (
        creditx(
            "tokens", "issue", "--dir", hall.node_dir, "--department", "CZ", "--name", "历下区政务服务中心", "--json"
        )
        == 0
    )
    issued = json.loads(capsys.readouterr().out)
    [row] = HallStore(hall.app.store, b"").tokens()
    assert row.token_id == issued["token_id"] and row.department == "CZ"
    token = issued["token"]
    status, b = post(https(hall.http_base, hall.cz.ca), "/v1/check", body, token=token)
    assert status == 200 and _measures(b["measures"]) == _measures(a["measures"])
    assert creditx("tokens", "revoke", "--dir", hall.node_dir, row.token_id) == 0
    status, c = post(https(hall.http_base, hall.cz.ca), "/v1/check", body, token=token)
    assert status == 401 and "HALL-003" in c["error"]


def test_person_is_answered_masked_over_both_interfaces(hall):
    a = _stub(hall).Check(
        pb.CheckRequest(subject=pb.Subject(person=pb.PersonId(id_type="身份证", id_number=PERSON))), timeout=10
    )
    assert len(a.memberships) == 1 and a.subject_shown != PERSON and a.subject_shown.endswith(PERSON[-4:])
    assert PERSON not in str(a) and PERSON[6:14] not in a.subject_shown
    status, b = post(
        https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key),
        "/v1/check",
        {"subject": {"person": {"id_type": "身份证", "id_number": PERSON}}},
    )
    assert status == 200 and len(b["memberships"]) == 1 and PERSON not in json.dumps(b, ensure_ascii=False)


def test_refused_without_a_department_certificate_or_token(hall):
    req = pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR))
    # no client certificate at all: the TLS handshake fails
    no_cert = pb_grpc.DepartmentsStub(grpc_channel(hall.grpc_target, hall.cz.ca))
    with pytest.raises(grpc.RpcError) as exc:
        no_cert.Check(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    # a certificate of the provincial CA, but not a department's (the node's own auth certificate)
    node = hall.pki.nodes["370100"]
    wrong_role = pb_grpc.DepartmentsStub(grpc_channel(hall.grpc_target, node.ca, node.auth_cert, node.auth_key))
    with pytest.raises(grpc.RpcError) as exc:
        wrong_role.Check(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED and "CERT_WRONG_ROLE" in (exc.value.details() or "")
    # a department of another city
    with pytest.raises(grpc.RpcError) as exc:
        _stub(hall, hall.other_city).Check(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # asking for another department
    with pytest.raises(grpc.RpcError) as exc:
        _stub(hall).Check(pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR), department="SW"), timeout=10)
    assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED and "HALL-011" in (exc.value.details() or "")
    # HTTP: no certificate, no token / a made-up token / a wrong-role certificate
    body = {"subject": {"uscc": DEBTOR}}
    assert post(https(hall.http_base, hall.cz.ca), "/v1/check", body)[0] == 401
    assert post(https(hall.http_base, hall.cz.ca), "/v1/check", body, token="cxh_made-up")[0] == 401
    status, err = post(https(hall.http_base, node.ca, node.auth_cert, node.auth_key), "/v1/check", body)
    assert status == 401 and "CERT_WRONG_ROLE" in err["error"]
    qingdao = https(hall.http_base, hall.cz.ca, hall.other_city.cert, hall.other_city.key)
    assert post(qingdao, "/v1/check", body)[0] == 403


def test_http_rejects_a_bad_subject_with_field_and_rule(hall):
    status, err = post(
        https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key),
        "/v1/check",
        {"subject": {"uscc": "91370100ABCDEFGHIJ"}},
    )
    assert status == 400 and "subject.uscc" in err["error"]
    status, err = post(
        https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key),
        "/v1/check",
        {"subject": {"uscc": DEBTOR}, "matter": "NO-SUCH"},
    )
    assert status == 400 and "HALL-010" in err["error"]


def test_action_reports_are_kept_once_over_both_interfaces(hall):
    stub = _stub(hall)
    a = stub.Check(pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR), matter="ZFCG-GYS-001"), timeout=10)
    rep = signed_report(hall.cz.cert, hall.cz.key, report_id="cz-0001", check_id=a.check_id, measure_id="SXBZXR-01")
    assert stub.ReportAction(rep.pb(), timeout=10).duplicate is False
    assert stub.ReportAction(rep.pb(), timeout=10).duplicate is True
    conn = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
    assert post(conn, "/v1/actions", rep.json()) == (200, {"report_id": "cz-0001", "duplicate": True})
    other = signed_report(
        hall.cz.cert,
        hall.cz.key,
        report_id="cz-0002",
        check_id=a.check_id,
        measure_id="ZFCGSX-02",
        action="not_applied",
        reason="已履行完毕，正在办理移出",
    )
    assert post(conn, "/v1/actions", other.json()) == (200, {"report_id": "cz-0002", "duplicate": False})
    assert HallStore(hall.app.store, b"").action_counts()["kept"] == 2
    # a measure the check did not trigger, a forged check id, a missing reason
    bad = signed_report(hall.cz.cert, hall.cz.key, report_id="cz-0003", check_id=a.check_id, measure_id="AJNSR-03")
    status, err = post(conn, "/v1/actions", bad.json())
    assert status == 400 and "not triggered" in err["error"]
    flipped = a.check_id[:-1] + ("0" if a.check_id[-1] != "0" else "1")
    forged = signed_report(hall.cz.cert, hall.cz.key, report_id="cz-0004", check_id=flipped, measure_id="SXBZXR-01")
    assert post(conn, "/v1/actions", forged.json())[0] == 400
    with pytest.raises(grpc.RpcError) as exc:
        stub.ReportAction(
            signed_report(
                hall.cz.cert,
                hall.cz.key,
                report_id="cz-0005",
                check_id=a.check_id,
                measure_id="SXBZXR-01",
                action="overridden",
            ).pb(),
            timeout=10,
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "needs a reason" in (exc.value.details() or "")


def test_health_reflection_and_openapi(hall):
    ch = grpc_channel(hall.grpc_target, hall.cz.ca, hall.cz.cert, hall.cz.key)
    h = health_pb2_grpc.HealthStub(ch).Check(  # type: ignore[attr-defined]  # the stub's HealthStub declares no methods
        health_pb2.HealthCheckRequest(service="creditx.v1.Departments"), timeout=10
    )
    assert h.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(ch)
    [resp] = list(
        refl.ServerReflectionInfo(  # type: ignore[operator]  # the stub types it as binascii.Incomplete (an exception)
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
    )
    assert "creditx.v1.Departments" in {s.name for s in resp.list_services_response.service}
    conn = https(hall.http_base, hall.cz.ca)
    conn.request("GET", "/openapi.json")
    doc = json.loads(conn.getresponse().read())
    assert doc["openapi"].startswith("3.1") and {"/v1/check", "/v1/check-many", "/v1/actions"} <= set(doc["paths"])


def test_the_node_tls_certificate_is_checked_by_the_client(hall):
    # a client that trusts another CA refuses the node (the hall verifies whom it talks to)
    ctx = ssl.create_default_context()
    import http.client

    host, port = hall.http_base.removeprefix("https://").rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    with pytest.raises(ssl.SSLError):
        conn.request("GET", "/openapi.json")


def test_a_revoked_department_certificate_is_refused_on_the_next_call(hall):
    from datetime import datetime

    from cryptography import x509

    from creditx.pki.crl import revoke
    from creditx.pki.issue import issue_department
    from creditx.pki.profiles import serial_hex

    own = issue_department(
        hall.pki.ca,
        name="CZ:revoked-hall",
        region="370100",
        at=datetime.now(UTC),
        out=hall.node_dir.parent / "dept-revoked",
    )
    stub = _stub(hall, own)
    req = pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR))
    stub.Check(req, timeout=10)  # verified once, remembered (HALL-005)
    serial = serial_hex(x509.load_pem_x509_certificate(own.cert.read_bytes()).serial_number)
    revoke(hall.pki.ca, serial, at=datetime.now(UTC))
    (hall.node_dir / "crl.pem").write_bytes(hall.pki.crl.read_bytes())
    with pytest.raises(grpc.RpcError) as exc:
        stub.Check(req, timeout=10)
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED and "CERT_REVOKED" in (exc.value.details() or "")
    status, err = post(https(hall.http_base, own.ca, own.cert, own.key), "/v1/check", {"subject": {"uscc": DEBTOR}})
    assert status == 401 and "CERT_REVOKED" in err["error"]
    assert _stub(hall).Check(req, timeout=10).memberships  # other departments' certificates still work
