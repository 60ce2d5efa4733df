"""DIST-001/010/030/032/033: LIST records pushed by a node become list changes that subscribers
receive — backlog, then live — with the origin envelope verifiable; filtering by list type."""

from __future__ import annotations

from typing import cast

import pytest

from creditx.pki.files import read_cert
from creditx.standard.envelope import Envelope, Signature, verify_envelope
from creditx.standard.fingerprint import fingerprint
from creditx.standard.record import decode_record
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient
from tests.gateway_lists.client import Subscriber, list_payload, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def _push(gateway, pki, region, payloads, start=1):
    c = PushClient(gateway.address, pki.nodes[region])
    c.handshake()
    resp = c.push([c.batch(payloads, start_seq=start)])
    c.close()
    return [a.outcome for r in resp for a in r.acks]


def test_pushed_list_record_reaches_subscriber_with_verifiable_origin(gateway, pki):
    rows = list_rows("370100", 3)
    assert _push(gateway, pki, "370100", [list_payload("370100", r, i + 1) for i, r in enumerate(rows)]) == [1, 1, 1]
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    try:
        sub.until(lambda s: s.live and s.through == 3)
        assert [c.list_seq for c in sub.changes] == [1, 2, 3]
        assert all(c.kind == lpb.CHANGE_KIND_ADD for c in sub.changes)
        c = sub.changes[0]
        env = Envelope(
            c.origin.payload_type,
            c.origin.payload,
            tuple(Signature(s.keyid, s.suite, s.sig) for s in c.origin.signatures),
        )
        signer = read_cert(pki.nodes["370100"].signing_cert).public_key()
        verify_envelope(env, lambda kid: signer)  # DIST-032: who said it
        assert fingerprint(decode_record(env.payload)) == c.entry.origin_fingerprint
        assert c.entry.origin_region == "370100" and c.list_type == c.entry.list_type

        # live: a correction and a removal of entry 1 arrive on the open stream, in one or more batches
        fix = list_payload("370100", rows[0], 4, op="U", version=2, MD_LRYY="更正后的列入原因")
        gone = list_payload(
            "370100",
            rows[0],
            5,
            op="U",
            version=3,
            MD_YCRQ=str(rows[0]["fields"]["MD_LRRQ"]),
            MD_YCYY="信用修复",
            MD_YCJG="某机关",
        )
        assert _push(gateway, pki, "370100", [fix, gone], start=4) == [3, 3]
        sub.until(lambda s: s.through == 5)
        kinds = [(c.list_seq, c.kind, c.reason) for c in sub.changes[3:]]
        assert kinds == [
            (4, lpb.CHANGE_KIND_CORRECT, lpb.REMOVAL_REASON_UNSPECIFIED),
            (5, lpb.CHANGE_KIND_REMOVE, lpb.REMOVAL_REASON_REPAIRED),
        ]
        assert sub.changes[4].entry.state == lpb.LIST_ENTRY_STATE_REMOVED
        assert sub.changes[4].entry.entry_id == sub.changes[0].entry.entry_id
    finally:
        sub.close()


def test_filter_by_list_type_advances_through(gateway, pki):
    rows = list_rows("370100", 8, seed=3)
    _push(gateway, pki, "370100", [list_payload("370100", r, i + 1) for i, r in enumerate(rows)])
    wanted = rows[0]["fields"]["MD_LX"]
    expect = [i + 1 for i, r in enumerate(rows) if r["fields"]["MD_LX"] == wanted]
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1, list_types=[wanted], max_batch_changes=2)
    try:
        sub.until(lambda s: s.live and s.through == 8)
        assert [c.list_seq for c in sub.changes] == expect
        assert {c.list_type for c in sub.changes} == {wanted}
    finally:
        sub.close()


def test_unknown_list_type_and_cursor_ahead_are_refused(gateway, pki):
    import grpc
    import pytest

    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1, list_types=["NOPE"])
    with pytest.raises(AssertionError, match="INVALID_ARGUMENT"):
        sub.until(lambda s: False, timeout=5)
    sub.close()
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=7)
    with pytest.raises(AssertionError, match="FAILED_PRECONDITION"):
        sub.until(lambda s: False, timeout=5)
    err = cast(grpc.Call, sub.error)  # the failed stream's error is also its Call
    assert "DIST_CURSOR_AHEAD" in (err.details() or "") and err.code() == grpc.StatusCode.FAILED_PRECONDITION
    sub.close()
