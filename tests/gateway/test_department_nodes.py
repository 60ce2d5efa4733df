"""Province-level departments with nodes of their own (SEC-092…096), over real mutual TLS against a
real gateway: each department's node speaks for the bodies granted to its member only, keeps its
own sequence, cannot send city records, signs with its own certificate, and a certificate naming
a member the registry does not hold is refused before any record."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from creditx.cli.main import main
from creditx.pki.files import read_cert
from creditx.pki.issue import issue_node
from creditx.standard.record import decode_record
from creditx.standard.synth.authorities import authority, government_uscc
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc
from creditx.v1 import exchange_pb2 as pb
from creditx.v1 import lists_pb2, lists_pb2_grpc
from tests.gateway.push_client import PushClient, department_payloads, payloads, trailers

A, B = (department_uscc(n) for n in OWN_NODE_DEPARTMENTS[:2])  # 山东省公安厅, 山东省自然资源厅
ACC, REJ = pb.ACCEPTED, pb.REJECTED


def outcome(ack: pb.RecordAck) -> tuple:
    return (ack.outcome, ack.reason_code, ack.requirement, ack.field) if ack.outcome == REJ else (ack.outcome,)


def test_a_department_node_sends_for_its_own_body_only_and_keeps_its_own_sequence(gateway, pki):
    a = PushClient(gateway.address, pki.nodes[A])
    hs = a.handshake()
    assert (hs.region, hs.committed_seq) == ("370000", 0)
    own = department_payloads(A, 1)[0]
    others = department_payloads(B, 1, start_seq=2)[0]  # another department's body
    province = payloads("370000", 1, start_seq=3)[0]  # a body granted to the 370000 node, not to A
    more = department_payloads(A, 1, start_seq=4, seed=2)[0]
    licence = department_payloads(A, 1, start_seq=5, record_type="XZXK")[0]
    (r,) = a.push([a.batch([own, others, province, more, licence])])
    not_granted = (REJ, "SEC_AUTHORITY_NOT_GRANTED", "SEC-036", "CF_CFJGDM")
    assert [outcome(x) for x in r.acks] == [(ACC,), not_granted, not_granted, (ACC,), (ACC,)]
    assert A in r.acks[1].message and "grant" in r.acks[1].message
    assert r.committed_seq == 5
    # the member id keys the department's sequence, apart from the 370000 node's and B's
    assert (gateway.store.committed_seq(A), gateway.store.committed_seq("370000")) == (5, 0)
    assert gateway.store.committed_seq(B) == 0
    a.close()


def test_the_370000_node_still_sends_for_the_departments_granted_to_it_but_no_longer_for_own_node_ones(gateway, pki):
    p = PushClient(gateway.address, pki.nodes["370000"])
    p.handshake()
    (r,) = p.push([p.batch([payloads("370000", 1)[0], department_payloads(A, 1, start_seq=2)[0]])])
    assert [outcome(x) for x in r.acks] == [(ACC,), (REJ, "SEC_AUTHORITY_NOT_GRANTED", "SEC-036", "CF_CFJGDM")]
    p.close()


def test_a_department_node_cannot_send_a_city_record(gateway, pki):
    a = PushClient(gateway.address, pki.nodes[A])
    a.handshake()
    city = decode_record(department_payloads(A, 1)[0])
    from dataclasses import replace

    from creditx.standard.record import encode_record

    as_city = encode_record(replace(city, region="370100"))
    jinan = payloads("370100", 1, start_seq=2)[0]  # a Jinan body, in a Jinan record
    (r,) = a.push([a.batch([as_city, jinan, department_payloads(A, 1, start_seq=3)[0]])])
    mismatch = (REJ, "SEC_REGION_MISMATCH", "SEC-032", "region")
    assert [outcome(x) for x in r.acks] == [mismatch, mismatch, (ACC,)]
    a.close()


def test_a_department_signs_with_its_own_certificate_only(gateway, pki):
    """SEC-095: a signing certificate of another member (a department's, or the 370000 node's) is
    refused at handshake and what it signed is rejected; the department's own goes through."""
    a = PushClient(gateway.address, pki.nodes[A])
    der = [read_cert(pki.nodes[n].signing_cert).public_bytes(Encoding.DER) for n in (A, B, "370000")]
    a.handshake(der)
    from creditx.pki.files import read_key

    rec = department_payloads(A, 3)
    batch = [
        a.batch([rec[0]], 1)[0],
        a.batch([rec[1]], 2, key=read_key(pki.nodes[B].signing_key))[0],
        a.batch([rec[2]], 3, key=read_key(pki.nodes["370000"].signing_key))[0],
    ]
    (r,) = a.push([batch])
    mismatch = (REJ, "SEC_MEMBER_MISMATCH", "SEC-095", "")
    assert [(x.outcome, x.reason_code, x.requirement, "") if x.outcome == REJ else (x.outcome,) for x in r.acks] == [
        (ACC,),
        mismatch,
        mismatch,
    ]
    assert B in r.acks[1].message and A in r.acks[1].message
    assert {sc.keyid for sc in gateway.store.signing_certs(A)} == {a.batch([rec[0]])[0].envelope.signatures[0].keyid}
    a.close()


def test_a_member_the_registry_does_not_hold_is_refused_until_the_operator_adds_it(gateway, gw_dir, pki, tmp_path):
    name = "山东省测试管理局"
    member = government_uscc(name, "370000")
    creds = issue_node(pki.ca, region="370000", member=member, name="test-dept", at=datetime.now(UTC), out=tmp_path)
    c = PushClient(gateway.address, creds)
    with pytest.raises(grpc.RpcError) as err:
        c.handshake()
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (err.value.details() or "").startswith("SEC_MEMBER_UNKNOWN") and member in (err.value.details() or "")
    with pytest.raises(grpc.RpcError) as err:
        c.push([c.batch(department_payloads(A, 1))])
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # at the one gate (SEC-034): every service refuses it, the list distribution too
    lists = lists_pb2_grpc.DistributionStub(c.channel)
    with pytest.raises(grpc.RpcError) as err:
        lists.GetListCheckpoint(lists_pb2.ListCheckpointRequest(), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert dict(trailers(err.value)).get("creditx-reason") == "SEC_MEMBER_UNKNOWN"
    assert all(n.region != member for n in gateway.store.nodes())  # nothing kept for it
    # the operator registers the department and grants it its own body
    base = ["gateway", "members"]
    assert main([*base, "add", "--dir", str(gw_dir), "--member", member, "--region", "370000", "--name", name]) == 0
    grant = [*base, "grant", "--dir", str(gw_dir), "--member", member, "--uscc", member, "--name", name]
    assert main(grant) == 0
    assert c.handshake().committed_seq == 0
    rec = decode_record(department_payloads(A, 1)[0])
    from dataclasses import replace

    from creditx.standard.record import encode_record

    own = encode_record(replace(rec, fields={**rec.fields, "CF_CFJGDM": member, "CF_CFJG": name}))
    (r,) = c.push([c.batch([own, department_payloads(A, 1, start_seq=2)[0]])])
    assert [outcome(x) for x in r.acks] == [(ACC,), (REJ, "SEC_AUTHORITY_NOT_GRANTED", "SEC-036", "CF_CFJGDM")]
    assert gateway.members().member(member).kind == "department"
    c.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--member", A, "--region", "370100", "--name", "x"], "province-level"),
        (["--member", "370100", "--region", "370000", "--name", "x"], "is a region code"),
        (["--region", "370000", "--kind", "department", "--name", "x"], "kind department"),
        (["--member", A, "--region", "370000", "--name", "x"], "already registered"),
    ],
)
def test_members_add_refuses_a_bad_department_with_the_rule(gw_dir, argv, message, capsys):
    assert main(["gateway", "members", "add", "--dir", str(gw_dir), *argv]) == 2
    assert message in capsys.readouterr().err


def test_members_list_shows_the_member_id_and_filters_by_it(gw_dir, capsys):
    import json

    assert main(["gateway", "members", "list", "--dir", str(gw_dir), "--member", A, "--json"]) == 0
    (m,) = json.loads(capsys.readouterr().out)["members"]
    assert (m["id"], m["region"], m["kind"], m["grants"][0]["uscc"]) == (A, "370000", "department", A)
    assert main(["gateway", "members", "list", "--dir", str(gw_dir), "--region", "370000"]) == 0
    out = capsys.readouterr().out
    assert A in out and B in out and authority("market", "370000").uscc in out
