"""CheckMany answers a batch from one replica read and says the same as one Check per subject,
over gRPC and HTTPS; bounds, per-check errors, the rate limit by subjects, and the HTTP server's
refusals (HALL-004, HALL-010, HALL-020)."""

from __future__ import annotations

import http.client

import grpc
import pytest
from google.protobuf import json_format

from creditx.node.halls.grpc_api import answer_to_pb
from creditx.node.halls.http_api import MAX_BODY, answer_json
from creditx.node.halls.service import Ask, Caller, subject_question
from creditx.node.halls.store import HallStore
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc
from tests.halls.client import grpc_channel, https, post
from tests.halls.conftest import CLEAN, DEBTOR, PERSON, TAXPAYER

MATTERS = ("ZFCG-GYS-001", "GOV_PROCUREMENT", "LAND_SUPPLY", "")


def _stub(hall):
    return pb_grpc.DepartmentsStub(grpc_channel(hall.grpc_target, hall.cz.ca, hall.cz.cert, hall.cz.key))


def _same(a: pb.CheckResponse) -> pb.CheckResponse:
    """The answer without what differs per call (the check id's nonce and time)."""
    out = pb.CheckResponse()
    out.CopyFrom(a)
    out.check_id = ""
    return out


def _requests() -> list[pb.CheckRequest]:
    subjects = [
        pb.Subject(uscc=DEBTOR),
        pb.Subject(uscc=CLEAN),
        pb.Subject(uscc=TAXPAYER),
        pb.Subject(person=pb.PersonId(id_type="身份证", id_number=PERSON)),
        pb.Subject(uscc=DEBTOR),  # the same subject twice in one batch
    ]
    return [pb.CheckRequest(subject=s, matter=m) for s in subjects for m in MATTERS]


def test_grpc_check_many_says_what_each_check_says(hall):
    stub = _stub(hall)
    reqs = _requests()
    many = stub.CheckMany(pb.CheckManyRequest(checks=reqs), timeout=10).answers
    one_by_one = [stub.Check(r, timeout=10) for r in reqs]
    assert len(many) == len(reqs)
    assert [_same(a) for a in many] == [_same(b) for b in one_by_one]
    # and the answers are the subjects' own: a debtor's entries, none for the clean subject
    assert [len(a.memberships) for a in many[:: len(MATTERS)]] == [1, 0, 1, 1, 1]
    assert len({a.check_id for a in many}) == len(many)  # each check has its own id


def test_grpc_check_many_names_the_bad_check_and_keeps_the_bound(hall):
    stub = _stub(hall)
    reqs = [pb.CheckRequest(subject=pb.Subject(uscc=DEBTOR)), pb.CheckRequest(subject=pb.Subject(uscc="91370100X"))]
    with pytest.raises(grpc.RpcError) as exc:
        stub.CheckMany(pb.CheckManyRequest(checks=reqs), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (exc.value.details() or "").startswith("checks[1]: ") and "subject.uscc" in (exc.value.details() or "")
    limit = hall.app.halls.settings.max_batch
    ok = stub.CheckMany(pb.CheckManyRequest(checks=[reqs[0]] * limit), timeout=10)
    assert len(ok.answers) == limit
    with pytest.raises(grpc.RpcError) as exc:
        stub.CheckMany(pb.CheckManyRequest(checks=[reqs[0]] * (limit + 1)), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "HALL-020" in (exc.value.details() or "")


def test_http_check_many_matches_grpc_and_names_the_bad_check(hall):
    reqs = _requests()
    grpc_answers = _stub(hall).CheckMany(pb.CheckManyRequest(checks=reqs), timeout=10).answers
    body = {"checks": [json_format.MessageToDict(r, preserving_proto_field_name=True) for r in reqs]}
    conn = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
    status, got = post(conn, "/v1/check-many", body)
    assert status == 200, got
    as_pb = [json_format.ParseDict(a, pb.CheckResponse()) for a in got["answers"]]
    assert [_same(a) for a in as_pb] == [_same(b) for b in grpc_answers]
    # the same connection (keep-alive, the same client certificate) serves the next request
    status, err = post(conn, "/v1/check-many", {"checks": [{"subject": {"uscc": DEBTOR}}, {"subject": {}}]})
    assert status == 400 and err["error"].startswith("checks[1]: ") and "HALL-010" in err["error"]
    limit = hall.app.halls.settings.max_batch
    conn = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
    status, err = post(conn, "/v1/check-many", {"checks": [{"subject": {"uscc": DEBTOR}}] * (limit + 1)})
    assert status == 400 and "HALL-020" in err["error"]


def test_answer_json_is_the_proto3_json_of_the_answer(hall):
    halls = hall.app.halls.halls
    caller = Caller("CZ", "test", "370100")
    asks = [
        Ask(subject_question("uscc", DEBTOR, "", halls.key), "ZFCG-GYS-001"),  # entries, measures, own records
        Ask(subject_question("uscc", TAXPAYER, "", halls.key), "GOV_PROCUREMENT"),  # incentives
        Ask(subject_question("uscc", CLEAN, "", halls.key)),  # nothing
    ]
    answers = halls.check_many(caller, asks)
    assert answers[0].records and answers[0].measures and answers[1].incentives
    for a in answers:
        assert answer_json(a) == json_format.MessageToDict(
            answer_to_pb(a), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )


def test_http_rate_limit_counts_subjects_and_bounds_the_body(hall):
    _, token = HallStore(hall.app.store, b"").issue_token("CZ", "rate test")
    conn = https(hall.http_base, hall.cz.ca)
    limit = hall.app.halls.settings.max_batch
    body = {"checks": [{"subject": {"uscc": CLEAN}}] * limit}
    # the bucket holds `burst` subjects and refills at `rate_per_s`: batches of `limit` drain it
    statuses = []
    for _ in range(200):
        status, err = post(conn, "/v1/check-many", body, token=token)
        statuses.append(status)
        if status != 200:
            break
    assert statuses[-1] == 429 and "HALL-004" in err["error"] and statuses[0] == 200
    # a body over the bound is refused before it is read
    conn = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
    conn.putrequest("POST", "/v1/check")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(MAX_BODY + 1))
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413
    # unknown resources and the OpenAPI document
    conn = https(hall.http_base, hall.cz.ca, hall.cz.cert, hall.cz.key)
    assert post(conn, "/v1/nothing", {})[0] == 404
    c2: http.client.HTTPSConnection = https(hall.http_base, hall.cz.ca)
    c2.request("GET", "/openapi.json")
    r = c2.getresponse()
    assert r.status == 200 and b"/v1/check-many" in r.read()


def test_entry_json_is_the_proto3_json_of_every_entry_form():
    """The HTTP answer's entries are built without the proto (http_api._entry_json): every
    state, removal reason, a 64-bit version and a masked ID number give MessageToDict's object."""
    import dataclasses
    import datetime as dt

    from creditx.node.halls.http_api import _entry_json
    from creditx.node.replica.wire import entry_to_pb
    from creditx.standard.lists.lifecycle import ListEntry, State

    listed = ListEntry(
        "LIST|SXBZXR|k", "SXBZXR", "black", "济南某某", "自然人", "", "3701********1234", dt.date(2025, 3, 1),
        dt.date(2025, 3, 1), None, "理由", "依据", "文书", "(2025)1号", "法院", "11370000004265891L", "措施",
        State.LISTED, None, "", "", 7, bytes(range(32)), "370100",
    )  # fmt: skip
    forms = [listed] + [
        dataclasses.replace(
            listed,
            state=State.REMOVED,
            removed_on=dt.date(2026, 1, 2),
            removal_reason=r,
            removal_authority="法院",
            period_end=dt.date(2026, 1, 1),
            version=2**40 + 3,
            listing=2,
        )  # fmt: skip
        for r in ("EXPIRED", "REPAIRED", "REVOKED", "DEREGISTERED")
    ]
    for e in forms:
        assert _entry_json(e) == json_format.MessageToDict(
            entry_to_pb(e), preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
