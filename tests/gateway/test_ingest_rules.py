"""Unit tests of the pure ingest rules: sequence triage (SYNC-011…014) and dedup (SYNC-020…023)."""

from __future__ import annotations

from creditx.gateway.ingest.dedup import decide
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.sequence import triage
from creditx.gateway.ingest.values import Checked, Decision, IncomingRecord


def rec(seq: int, payload: bytes = b"") -> IncomingRecord:
    return IncomingRecord(seq, "t", payload or f"p{seq}".encode(), ())


def stored(seq: int, payload: bytes) -> Decision:
    return Decision(seq, Outcome.ACCEPTED, Checked(seq, rec(seq, payload).payload_sha), log_index=seq - 1)


def test_in_order_records_are_checked_and_expected_advances():
    t = triage([rec(1), rec(2), rec(3)], 0, lambda s: None)
    assert [p for p, _ in t.to_check] == [0, 1, 2] and not t.settled and t.next_expected == 4


def test_replay_with_same_bytes_returns_stored_ack_without_checking():
    db = {1: stored(1, b"p1")}
    t = triage([rec(1), rec(2)], 1, db.get)
    assert [p for p, _ in t.to_check] == [1]
    d = t.settled[0]
    assert d.replay and not d.stored and d.outcome is Outcome.ACCEPTED and d.log_index == 0


def test_same_seq_different_bytes_is_a_conflict_not_stored():
    t = triage([rec(1, b"other")], 1, {1: stored(1, b"p1")}.get)
    d = t.settled[0]
    assert d.outcome is Outcome.REJECTED and d.reason == "SYNC_SEQ_CONFLICT" and d.requirement == "SYNC-012"
    assert not d.stored and not t.to_check


def test_gap_rejects_the_rest_of_the_batch_without_deciding():
    t = triage([rec(1), rec(3), rec(4)], 0, lambda s: None)
    assert [p for p, _ in t.to_check] == [0]
    assert [t.settled[i].reason for i in (1, 2)] == ["SYNC_SEQ_GAP"] * 2
    assert not any(d.stored for d in t.settled.values()) and t.next_expected == 2


def test_in_batch_repeat_is_a_replay_or_a_conflict():
    t = triage([rec(1), rec(1), rec(1, b"x")], 0, lambda s: None)
    assert t.settled[1].replay and t.settled[2].reason == "SYNC_SEQ_CONFLICT"


def ok(seq, fp, nk, version=1) -> Checked:
    return Checked(seq, b"s", fingerprint=fp, natural_key=nk, version=version, record_type="XZCF")


def test_dedup_outcomes():
    store_fps = {b"old"}
    store_versions = {"K": 2}
    got = decide(
        [
            ok(1, b"new", "N"),  # new key → ACCEPTED
            ok(2, b"old", "X"),  # stored fingerprint → DUPLICATE
            ok(3, b"new", "N"),  # same fp earlier in batch → DUPLICATE
            ok(4, b"k3", "K", 3),  # newer → SUPERSEDED, current
            ok(5, b"k1", "K", 1),  # older → SUPERSEDED OLDER_THAN_STORED
            ok(6, b"k3b", "K", 3),  # same version, other content → conflict
            Checked(7, b"s", reason="USCC_CHECKSUM", requirement="REC-ID-001", field="CF_XDR_SHXYM", message="bad"),
        ],
        store_fps.__contains__,
        store_versions.get,
    )
    assert [(d.outcome, d.reason, d.current) for d in got] == [
        (Outcome.ACCEPTED, "", True),
        (Outcome.DUPLICATE, "", False),
        (Outcome.DUPLICATE, "", False),
        (Outcome.SUPERSEDED, "", True),
        (Outcome.SUPERSEDED, "OLDER_THAN_STORED", False),
        (Outcome.REJECTED, "SYNC_VERSION_CONFLICT", False),
        (Outcome.REJECTED, "USCC_CHECKSUM", False),
    ]
    assert got[6].field == "CF_XDR_SHXYM" and got[6].stored and got[5].requirement == "SYNC-023"


def test_older_version_after_in_batch_newer_is_older_than_stored():
    got = decide([ok(1, b"a", "K", 5), ok(2, b"b", "K", 4)], lambda fp: False, lambda k: None)
    assert [d.reason for d in got] == ["", "OLDER_THAN_STORED"]
