"""A corpus of hostile identity and authority cases, tried as a hostile node would over real mutual
TLS against a real gateway — cities, the 370000 node and departments with nodes of their own
(SEC-092…095): each gets its status and reason, the honest record beside it goes
through, and nothing current changes — no record version, no list-log change, so no replica
changes (SEC-032, SEC-036/037, SEC-040, SEC-045…047)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import grpc
import pytest

from creditx.gateway import members
from creditx.gateway.lists import store as list_store
from creditx.pki.crl import revoke
from creditx.pki.files import read_cert
from creditx.pki.issue import issue_node
from creditx.pki.profiles import serial_hex
from creditx.standard.divisions import REGIONS
from creditx.standard.natural_key import natural_key
from creditx.standard.record import Record, decode_record, encode_record
from creditx.standard.registry import Grant
from creditx.standard.synth.authorities import authority
from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc
from creditx.v1 import exchange_pb2 as pb
from tests.gateway.push_client import PushClient, department_payloads, payloads

# two province-level departments with nodes of their own (member ids, SEC-092)
DEPT_A, DEPT_B = (department_uscc(n) for n in OWN_NODE_DEPARTMENTS[:2])


def first(region: str, record_type: str, pred: Callable[[Record], bool] = lambda r: True) -> Record:
    found = [r for r in map(decode_record, payloads(region, 200, record_type=record_type)) if pred(r)]
    assert found, (region, record_type)
    return found[0]


def of_department(member: str, record_type: str) -> Record:
    return decode_record(department_payloads(member, 1, record_type=record_type)[0])


def honest(node: str) -> Record:
    """A record the node may send: its region's, or its department's own."""
    p = payloads(node, 1, seed=77)[0] if node in REGIONS else department_payloads(node, 1, seed=77)[0]
    return decode_record(p)


def listing(region: str, list_type: str) -> Record:
    return first(region, "LIST", lambda r: r.fields["MD_LX"] == list_type)


def next_day(d: str) -> str:
    x = date.fromisoformat(d)
    return x.replace(day=min(x.day + 1, 28)).isoformat()


@dataclass(frozen=True)
class Case:
    name: str
    owner: str  # the member id (a region, or a department's USCC) whose node holds the current version
    original: Callable[[], Record]
    sender: str  # the hostile node's member id
    attack: Callable[[Record], Record]
    reason: str
    requirement: str
    field: str


def removal(r: Record, region: str, **fields: str) -> Record:
    return replace(r, op="U", version=2, region=region, fields={**r.fields, "MD_YCJG": r.fields["MD_RDJG"], **fields})


CASES = [
    Case(
        "another city delists a city court's 失信被执行人 entry",
        "370100",
        lambda: listing("370100", "SXBZXR"),
        "370200",
        lambda r: removal(r, "370200", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="信用修复"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "another city revokes (op D) a city's penalty",
        "370100",
        lambda: first("370100", "XZCF"),
        "370200",
        lambda r: replace(r, op="D", version=2, region="370200"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "another city corrects a city's licence",
        "370100",
        lambda: first("370100", "XZXK"),
        "370200",
        lambda r: replace(r, op="U", version=2, region="370200", fields={**r.fields, "BZ": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "XK_XKJGDM",
    ),
    Case(
        "the province-level node delists a city court's entry",
        "370100",
        lambda: listing("370100", "SXBZXR"),
        "370000",
        lambda r: removal(r, "370000", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="撤销"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "a department sends for a body it was not granted",
        "370000",
        lambda: first("370000", "XZCF"),
        "370000",
        lambda r: replace(
            r,
            version=1,
            fields={**r.fields, "CF_CFJGDM": authority("market", "370100").uscc},
            source_id=r.source_id + "-x",
        ),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "a city court entry under a list type its court is not granted",
        "370100",
        lambda: listing("370100", "SXBZXR"),
        "370100",
        lambda r: replace(r, version=1, source_id=r.source_id + "-x", fields={**r.fields, "MD_LX": "ZDSSWF"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "another city revokes (op D) a city court's listing",
        "370100",
        lambda: listing("370100", "SXBZXR"),
        "370200",
        lambda r: replace(r, op="D", version=2, region="370200"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "another city corrects a city court's listing",
        "370100",
        lambda: listing("370100", "SXBZXR"),
        "370200",
        lambda r: replace(r, op="U", version=2, region="370200", fields={**r.fields, "MD_LRYY": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "another city removes a city's listing as 主体注销",
        "370100",
        lambda: listing("370100", "SCJGYZWF"),
        "370200",
        lambda r: removal(r, "370200", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="主体注销"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "a city repairs a province-level department's listing",
        "370000",
        lambda: first("370000", "LIST"),
        "370100",
        lambda r: removal(r, "370100", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="信用修复"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "the province-level node corrects a city's penalty",
        "370100",
        lambda: first("370100", "XZCF"),
        "370000",
        lambda r: replace(r, op="U", version=2, region="370000", fields={**r.fields, "BZ": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "a node sends another region's record",
        "370100",
        lambda: first("370100", "XZCF"),
        "370200",
        lambda r: replace(r, op="U", version=2),  # region stays 370100
        "SEC_REGION_MISMATCH",
        "SEC-032",
        "region",
    ),
    Case(
        "one department corrects another department's penalty",
        DEPT_A,
        lambda: of_department(DEPT_A, "XZCF"),
        DEPT_B,
        lambda r: replace(r, op="U", version=2, fields={**r.fields, "BZ": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "one department revokes (op D) another department's licence",
        DEPT_A,
        lambda: of_department(DEPT_A, "XZXK"),
        DEPT_B,
        lambda r: replace(r, op="D", version=2),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "XK_XKJGDM",
    ),
    Case(
        "one department removes another department's listing",
        DEPT_A,
        lambda: of_department(DEPT_A, "LIST"),
        DEPT_B,
        lambda r: removal(r, "370000", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="撤销"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "one department corrects another department's listing",
        DEPT_A,
        lambda: of_department(DEPT_A, "LIST"),
        DEPT_B,
        lambda r: replace(r, op="U", version=2, fields={**r.fields, "MD_LRYY": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "the 370000 node corrects the penalty of a department with its own node",
        DEPT_A,
        lambda: of_department(DEPT_A, "XZCF"),
        "370000",
        lambda r: replace(r, op="U", version=2, fields={**r.fields, "BZ": "改"}),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "a department node delists an entry of a department granted to the 370000 node",
        "370000",
        lambda: first("370000", "LIST"),
        DEPT_A,
        lambda r: removal(r, "370000", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="撤销"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "MD_RDJGDM",
    ),
    Case(
        "a department node corrects a city's penalty",
        "370100",
        lambda: first("370100", "XZCF"),
        DEPT_A,
        lambda r: replace(r, op="U", version=2, fields={**r.fields, "BZ": "改"}),  # region stays 370100
        "SEC_REGION_MISMATCH",
        "SEC-032",
        "region",
    ),
    Case(
        "a department node revokes a city's penalty as a province-level record",
        "370100",
        lambda: first("370100", "XZCF"),
        DEPT_A,
        lambda r: replace(r, op="D", version=2, region="370000"),
        "SEC_AUTHORITY_NOT_GRANTED",
        "SEC-036",
        "CF_CFJGDM",
    ),
    Case(
        "the owner repairs a market-regulation listing a day after listing",
        "370100",
        lambda: listing("370100", "SCJGYZWF"),
        "370100",
        lambda r: removal(r, "370100", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="信用修复"),
        "LIST_EARLY_REPAIR",
        "SEC-045",
        "MD_YCRQ",
    ),
    Case(
        "the owner removes an unpaid-wages listing as 期满 before its period ends",
        "370100",
        lambda: listing("370100", "TQNMGGZ"),
        "370100",
        lambda r: removal(r, "370100", MD_YCRQ=next_day(r.fields["MD_LRRQ"]), MD_YCYY="期满"),
        "LIST_NOT_EXPIRED",
        "SEC-047",
        "MD_YCRQ",
    ),
    Case(
        "the owner stretches a work-safety listing past its term",
        "370100",
        lambda: listing("370100", "AQSCSX"),
        "370100",
        lambda r: replace(r, op="U", version=2, fields={**r.fields, "MD_GLQX_Z": "2099-12-31"}),
        "LIST_TERM_EXCEEDED",
        "SEC-046",
        "MD_GLQX_Z",
    ),
]


def head(gw_dir) -> int:
    conn = list_store.open_conn(gw_dir / "gateway.db")
    try:
        return list_store.head(conn)
    finally:
        conn.close()


def grant_departments_their_lists(gateway, gw_dir) -> None:
    """The departments' own nodes decide lists too (for the cases above): the operator grants it."""
    reg = gateway.members()
    now = datetime.now(UTC)
    for m in (DEPT_A, DEPT_B):
        name = reg.member(m).name
        reg = members.grant(reg, now, m, Grant(m, name, ("XZXK", "XZCF", "LIST")))
    members.write_registry(gw_dir, reg, gw_dir / "tls" / "signing.key")
    assert gateway.members().member(DEPT_A).grants[0].allows("LIST", "JYYC")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case_is_refused_and_nothing_changes(case, gateway, gw_dir, pki):
    grant_departments_their_lists(gateway, gw_dir)
    owner = PushClient(gateway.address, pki.nodes[case.owner])
    owner.handshake()
    original = replace(case.original(), source_seq=1)
    (r,) = owner.push([owner.batch([encode_record(original)])])
    assert r.acks[0].outcome == pb.ACCEPTED, r.acks[0]
    key = natural_key(original, (gw_dir / "subject.key").read_bytes())
    listed = head(gw_dir)
    hostile = owner if case.sender == case.owner else PushClient(gateway.address, pki.nodes[case.sender])
    if hostile is not owner:
        hostile.handshake()
    seq = gateway.store.committed_seq(case.sender) + 1
    honest_ = replace(honest(case.sender), source_seq=seq + 1)
    attack = replace(case.attack(original), source_seq=seq)
    (r,) = hostile.push([hostile.batch([encode_record(attack), encode_record(honest_)], seq)])
    a = r.acks[0]
    assert (a.outcome, a.reason_code, a.requirement, a.field) == (
        pb.REJECTED,
        case.reason,
        case.requirement,
        case.field,
    )
    assert a.message and r.acks[1].outcome == pb.ACCEPTED  # the rest of the batch goes through
    assert gateway.store.current_versions([key]) == {key: 1}
    assert head(gw_dir) == listed + (1 if honest_.type == "LIST" else 0)  # nothing published for the attack
    owner.close()
    if hostile is not owner:
        hostile.close()


def test_a_revoked_node_is_refused_before_any_record(gateway, pki, tmp_path):
    rogue = issue_node(pki.ca, region="370200", name="rogue", at=datetime.now(UTC), out=tmp_path / "r")
    c = PushClient(gateway.address, rogue)
    c.handshake()
    revoke(pki.ca, serial_hex(read_cert(rogue.auth_cert).serial_number), at=datetime.now(UTC))
    assert gateway.crl.refresh()  # what the scheduled job does every crl_reload_s
    with pytest.raises(grpc.RpcError) as err:
        c.push([c.batch(payloads("370200", 1))])
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and details.startswith("CERT_REVOKED")
    assert gateway.store.committed_seq("370200") == 0
    c.close()
