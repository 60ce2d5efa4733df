"""Receipts (AUD-035, since 1.1): a record decision proven from its ack and a checkpoint alone.

The audit leaf of a record decision (AUD-004) is rebuilt from the ``RecordAck`` and the node's
own region — ``fp`` from ``fingerprint``, ``seq`` from ``source_seq``, ``decision`` from
``outcome``, ``reason`` from ``reason_code``, ``at`` from ``decided_at`` — and its inclusion at
``log_index`` is verified against a signed checkpoint (AUD-011). An ack with ``logged`` false
(SYNC_SEQ_GAP, SYNC_SEQ_CONFLICT: not decided) has no leaf and no receipt. Pure; vectors:
``vectors/receipts.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from creditx.standard.canonical import canonicalize
from creditx.standard.checkpoint import Checkpoint
from creditx.standard.errors import RemoteError
from creditx.standard.merkle import leaf_hash, verify_inclusion


def record_leaf_data(fp: bytes, node: str, seq: int, decision: str, reason: str, at: str) -> bytes:
    """AUD-004: the leaf content of one record decision (RFC 8785 JSON)."""
    return canonicalize(
        {"kind": "record", "fp": fp.hex(), "node": node, "seq": seq, "decision": decision, "reason": reason, "at": at}
    )


@dataclass(frozen=True)
class AckFacts:
    """What a receipt needs of one ``RecordAck`` (outcome by name: ACCEPTED, REJECTED …)."""

    source_seq: int
    outcome: str
    reason_code: str
    fingerprint: bytes
    log_index: int
    decided_at: str
    logged: bool


class ReceiptError(RemoteError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(
            f"{reason} [AUD-035]: {message}", hint="fetch the ack again (a replay answers it) or ask the gateway"
        )
        self.reason, self.rule, self.detail = reason, "AUD-035", message


def leaf_of(ack: AckFacts, node: str) -> bytes:
    """The leaf content the ack stands for; ReceiptError when it has none or cannot have one."""
    if not ack.logged:
        raise ReceiptError("NO_LEAF", f"source_seq {ack.source_seq} was not decided ({ack.reason_code}): no leaf")
    if not ack.decided_at:
        raise ReceiptError("NO_DECISION_TIME", "the ack has no decided_at (a 1.0 gateway): fetch the leaf instead")
    return record_leaf_data(ack.fingerprint, node, ack.source_seq, ack.outcome, ack.reason_code, ack.decided_at)


def verify_receipt(ack: AckFacts, node: str, checkpoint: Checkpoint, proof: Sequence[bytes]) -> bytes:
    """AUD-035/AUD-011: the ack's leaf is leaf ``log_index`` of ``checkpoint``; returns the leaf
    content. Raises ReceiptError (no leaf) or ProofError (the proof fails)."""
    data = leaf_of(ack, node)
    verify_inclusion(ack.log_index, checkpoint.size, leaf_hash(data), list(proof), checkpoint.root_hash)
    return data
