"""creditx.node.receipts: a node keeps the checkpoints it saw and detects a forked or rewritten log
(AUD-030) and proves its own records' decisions (AUD-031). Real SQLite file, real signatures."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from creditx.node.receipts import AckView, LogAlarm, ReceiptBook, check_receipt
from creditx.standard.checkpoint import Checkpoint, sign_checkpoint, verifier_for
from creditx.standard.merkle import consistency_proof, inclusion_proof, leaf_hash, root

ORIGIN = "gateway/audit/v1"
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
VKEY = verifier_for(ORIGIN, KEY.public_key()).to_string()


def leaf(seq: int, decision: str = "ACCEPTED") -> bytes:
    return json.dumps(
        {
            "at": "2026-01-05T08:00:00.000Z",
            "decision": decision,
            "fp": f"{seq:064x}",
            "kind": "record",
            "node": "370100",
            "reason": "",
            "seq": seq,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def note(leaves: list[bytes]) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, len(leaves), root([leaf_hash(x) for x in leaves])), ORIGIN, KEY)


def proofs_of(leaves):
    return lambda old, new: consistency_proof(old, [leaf_hash(x) for x in leaves[:new]])


def test_consistent_growth_is_stored_and_a_fork_raises_and_keeps_both_notes(tmp_path):
    log = [leaf(i) for i in range(1, 12)]
    book = ReceiptBook(tmp_path / "receipts.db")
    book.observe(note(log[:5]), VKEY, proofs_of(log), "t1")
    assert book.observe(note(log), VKEY, proofs_of(log), "t2").size == 11
    forked = log[:3] + [leaf(99)] + log[4:] + [leaf(12)]  # leaf 3 rewritten, then grown
    with pytest.raises(LogAlarm) as e:
        book.observe(note(forked), VKEY, proofs_of(forked), "t3")
    assert e.value.reason == "FORK"
    (alarm,) = book.alarms()
    assert alarm["old_note"] == note(log) and alarm["new_note"] == note(forked)
    with pytest.raises(LogAlarm) as e:
        book.observe(note(log[:8]), VKEY, proofs_of(log), "t4")
    assert e.value.reason == "ROLLBACK"
    same_size_other_root = log[:10] + [leaf(77)]
    with pytest.raises(LogAlarm) as e:
        book.observe(note(same_size_other_root), VKEY, proofs_of(same_size_other_root), "t5")
    assert e.value.reason == "FORK"
    latest = book.latest()
    assert latest is not None and latest[0].size == 11  # nothing inconsistent was stored
    book.close()


def test_key_change_is_an_alarm(tmp_path):
    book = ReceiptBook(tmp_path / "r.db")
    book.observe(note([leaf(1)]), VKEY, proofs_of([leaf(1)]), "t1")
    other = verifier_for(ORIGIN, ed25519.Ed25519PrivateKey.generate().public_key()).to_string()
    with pytest.raises(LogAlarm) as e:
        book.observe(note([leaf(1)]), other, proofs_of([leaf(1)]), "t2")
    assert e.value.reason == "KEY_CHANGED"


def test_receipt_check_rebuilds_the_ack_and_verifies_inclusion():
    log = [leaf(i, "REJECTED" if i == 3 else "ACCEPTED") for i in range(1, 8)]
    hashes = [leaf_hash(x) for x in log]
    cp = Checkpoint(ORIGIN, 7, root(hashes))
    ack = AckView(3, "REJECTED", "", bytes.fromhex(f"{3:064x}"), 2)
    assert check_receipt(ack, "370100", log[2], inclusion_proof(2, hashes), cp) == ""
    assert "decision" in check_receipt(
        AckView(3, "ACCEPTED", "", ack.fingerprint, 2), "370100", log[2], inclusion_proof(2, hashes), cp
    )
    assert "root" in check_receipt(ack, "370100", log[2], inclusion_proof(1, hashes), cp)
