"""Sequence triage of a pushed batch (SYNC-010 … SYNC-014), before any signature is checked.

A node's ``source_seq`` is contiguous from 1 (ADR 0007). For each record, in batch
order, with ``expected`` = committed high-water mark + 1:

* ``seq < expected`` and the stored (or earlier-in-batch) payload has the same SHA-256 → a
  **replay**: answer the stored ack, verify nothing again (SYNC-013);
* ``seq < expected`` with different payload bytes → REJECTED ``SYNC_SEQ_CONFLICT`` (SYNC-012),
  not stored (the seq keeps its first decision);
* ``seq == expected`` → to be checked and decided; ``expected`` advances;
* ``seq > expected`` → REJECTED ``SYNC_SEQ_GAP`` (SYNC-011), not decided, not stored; every
  later record of the batch is then a gap too, since ``expected`` cannot advance past a hole.

Pure: ``lookup(seq)`` returns the stored :class:`Decision` of that seq or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from creditx.gateway.ingest.reasons import Outcome, requirement_of
from creditx.gateway.ingest.values import Decision, IncomingRecord, rejected, unchecked


@dataclass(frozen=True)
class Triage:
    """``to_check`` are the records to verify, in order; ``settled`` maps batch position → decision
    already made without verification (replay, conflict, gap)."""

    to_check: list[tuple[int, IncomingRecord]]
    settled: dict[int, Decision]
    next_expected: int


def triage(records: Sequence[IncomingRecord], committed_seq: int, lookup: Callable[[int], Decision | None]) -> Triage:
    expected = committed_seq + 1
    in_batch: dict[int, bytes] = {}
    to_check: list[tuple[int, IncomingRecord]] = []
    settled: dict[int, Decision] = {}
    for pos, rec in enumerate(records):
        seq = rec.source_seq
        sha = rec.payload_sha
        if seq < expected:
            prior_sha = in_batch.get(seq)
            prior = None if prior_sha is not None else lookup(seq)
            if prior is not None:
                prior_sha = prior.payload_sha
            if prior_sha == sha:
                # SYNC-013: idempotent replay. A replay of a seq decided earlier in this batch (or
                # in a batch still in flight) has no stored decision yet: this placeholder is
                # answered with the stored one after commit (creditx.gateway.exchange.batches).
                settled[pos] = (
                    replace(prior, replay=True, stored=False)
                    if prior is not None
                    else Decision(seq, Outcome.ACCEPTED, unchecked(seq, sha), replay=True, stored=False)
                )
            else:
                settled[pos] = rejected(
                    seq,
                    "SYNC_SEQ_CONFLICT",
                    requirement_of("SYNC_SEQ_CONFLICT"),
                    f"source_seq {seq} was already decided for different payload "
                    "bytes; a source_seq is never reused (protocol violation)",
                    payload_sha=sha,
                    stored=False,
                )
        elif seq == expected:
            to_check.append((pos, rec))
            in_batch[seq] = sha
            expected += 1
        else:
            settled[pos] = rejected(
                seq,
                "SYNC_SEQ_GAP",
                requirement_of("SYNC_SEQ_GAP"),
                f"source_seq {seq} skips {expected}..{seq - 1}; not decided, resend in order from {expected}",
                payload_sha=sha,
                stored=False,
            )
    return Triage(to_check=to_check, settled=settled, next_expected=expected)
