"""A hostile node's batch: every malformed record gets its own REJECTED decision with reason and
requirement, every good record beside it is accepted, and the batch commits (SYNC-033).

Each case is one the issue reproduced as failing a whole Push with UNKNOWN."""

from __future__ import annotations

import json

import pytest

from creditx.v1 import envelope_pb2
from creditx.v1 import exchange_pb2 as pb
from tests.gateway.push_client import PushClient, payloads, reseq

ACC, REJ = pb.ACCEPTED, pb.REJECTED
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _fields(payload: bytes, **changes: str) -> bytes:
    obj = json.loads(payload)
    obj["fields"].update(changes)
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _hostile(good: bytes, seq: int) -> dict[str, tuple[bytes, str, str]]:
    """name -> (payload under ``seq``, expected reason, expected requirement)."""
    base = good.replace(b'"source_seq":1', b'"source_seq":%d' % seq)
    obj = json.loads(base)
    person = dict(obj["fields"], CF_XDR_LB="自然人", CF_XDR_ZJLX="身份证")
    person.pop("CF_XDR_SHXYM", None)
    person.pop("CF_XDR_ZZJG", None)

    def with_fields(f: dict) -> bytes:
        return json.dumps(dict(obj, fields=f), ensure_ascii=False, separators=(",", ":")).encode()

    return {
        "5000-digit version": (
            base.replace(b'"version":1', b'"version":' + b"9" * 5000),
            "REC_INT_TOO_LONG",
            "SIG-019",
        ),
        "nested 1000 deep": (
            base.replace(b'"fields":', b'"fields":' + b'{"CF_X":' * 1000, 1).rstrip(b"}") + b"}" * 1002,
            "REC_TOO_DEEP",
            "SIG-019",
        ),
        "lone surrogate in field code": (base.replace(b'"CF_WSH"', b'"CF_\\ud800"'), "REC_LONE_SURROGATE", "SIG-021"),
        "superscript two in ID": (
            with_fields(dict(person, CF_XDR_ZJHM="37011519851005470²")),
            "ID_CHARSET",
            "REC-ID-07",
        ),
        "Arabic-Indic ID": (
            with_fields(dict(person, CF_XDR_ZJHM="370115198510054704".translate(ARABIC_INDIC))),
            "ID_CHARSET",
            "REC-ID-07",
        ),
        "superscript two in org code": (
            with_fields(dict(obj["fields"], CF_XDR_ZZJG="MAEKY1P0²")),
            "ORG_CHARSET",
            "REC-ID-07",
        ),
        "version 2^63": (base.replace(b'"version":1', b'"version":9223372036854775808'), "REC_BAD_VERSION", "SIG-027"),
        "full-width fine": (with_fields(dict(obj["fields"], CF_NR_FK="１.１８")), "AMOUNT_INVALID", "REC-025"),
    }


def test_each_hostile_record_is_rejected_alone_and_its_neighbours_accepted(gateway, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 40)
    proto = _hostile(good[0], 0)
    records, expect, seq = [], {}, 0
    for i, name in enumerate(proto):
        for p in good[2 * i : 2 * i + 2]:  # two good records, then the hostile one
            seq += 1
            records.append(c.batch([reseq(p, seq)], seq)[0])
        seq += 1
        payload, reason, rule = _hostile(good[0], seq)[name]
        records.append(c.batch([payload], seq)[0])
        expect[seq] = (name, reason, rule)
    (resp,) = c.push([records])
    assert resp.committed_seq == seq
    for a in resp.acks:
        if a.source_seq in expect:
            name, reason, rule = expect[a.source_seq]
            assert (a.outcome, a.reason_code, a.requirement) == (REJ, reason, rule), name
            assert a.message and "Traceback" not in a.message
        else:
            assert (a.outcome, a.reason_code) == (ACC, ""), (a.source_seq, a.reason_code, a.message)
    # the decisions are stored: a resend is a replay with the same answers
    (again,) = c.push([records])
    assert [(a.outcome, a.reason_code) for a in again.acks] == [(a.outcome, a.reason_code) for a in resp.acks]
    c.close()


def test_signatures_are_counted_before_unknown_ones_are_dropped(gateway, pki):
    """SIG-013: eight signatures, one by the node's key and seven by unknown keys, is over the limit."""
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 2)
    first, second = c.batch(good)
    for i in range(7):
        second.envelope.signatures.append(envelope_pb2.Signature(keyid=f"unknown-{i}", suite="ED25519", sig=b"x" * 64))
    (resp,) = c.push([[first, second]])
    assert [(a.outcome, a.reason_code) for a in resp.acks] == [(ACC, ""), (REJ, "SIG_LIMIT")]
    assert resp.acks[1].requirement == "SIG-013"
    c.close()


@pytest.mark.parametrize("payload", [b"\x80" * 10, b"[" * 100000, b'{"v":' + b"1" * 10000 + b"}", b"\xed\xa0\x80"])
def test_garbage_payload_is_one_rejection(gateway, pki, payload):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 2)
    batch = [c.batch([good[0]])[0], c.batch([payload], 2)[0], c.batch([reseq(good[1], 3)], 3)[0]]
    (resp,) = c.push([batch])
    outcomes = [(a.outcome, bool(a.reason_code and a.requirement)) for a in resp.acks]
    assert outcomes == [(ACC, False), (REJ, True), (ACC, False)]
    c.close()
