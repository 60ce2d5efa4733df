"""The node as a witness of a gateway log (AUD-030): the one rule for both logs it follows.

The node follows two signed logs of its gateway: the audit log (:mod:`creditx.node.receipts`,
``creditx node receipts``) and the list log (:mod:`creditx.node.replica.checkpoints`). For each it
keeps the latest checkpoint it has seen and accepts a new, verified one only if a consistency
proof links the two. Where the checkpoints are kept and what an alarm stops differs per log,
so that part is a :class:`WitnessRecord`; the rule is :meth:`CheckpointWitness.observe`:

* a checkpoint of another log (``WRONG_ORIGIN``), a smaller tree (``ROLLBACK``), or a failing
  proof / another root at the same size (``FORK``) is an alarm: recorded with *both* signed
  notes and raised as :class:`LogAlarm` — evidence to keep, never retried;
* a checkpoint of the size already seen (same root) changes nothing;
* a larger one is remembered. The proof is asked for only when the tree grew.

Signatures are checked by the caller (AUD-026) before a checkpoint comes here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from creditx.standard.checkpoint import Checkpoint, CheckpointError, check_consistent

ALARM_REASONS = frozenset({"FORK", "ROLLBACK", "WRONG_ORIGIN"})


class LogAlarm(CheckpointError):
    """Evidence that the gateway showed inconsistent histories (AUD-030): keep, report, never retry."""


class WitnessRecord(Protocol):
    """Where one log's witnessed checkpoints and alarms are kept."""

    def last_seen(self) -> tuple[Checkpoint, str] | None:
        """The latest checkpoint accepted, with its signed note; None before the first."""

    def remember(self, cp: Checkpoint, note: str) -> None:
        """Keep ``cp`` (consistent with the last one seen) as the latest."""

    def alarm(self, reason: str, message: str, old_note: str, new_note: str) -> None:
        """Record an inconsistency with both notes (and stop whatever must stop)."""


class CheckpointWitness:
    def __init__(self, record: WitnessRecord) -> None:
        self.record = record

    def observe(self, cp: Checkpoint, note: str, consistency: Callable[[int, int], Sequence[bytes]]) -> bool:
        """AUD-030: accept ``cp`` if it extends the last checkpoint seen; True when it is new.
        ``consistency(old_size, new_size)`` gives the gateway's proof (asked only on growth)."""
        prev = self.record.last_seen()
        if prev is not None:
            old, old_note = prev
            try:
                proof = list(consistency(old.size, cp.size)) if cp.size > old.size and cp.origin == old.origin else []
                check_consistent(old, cp, proof)
            except CheckpointError as exc:
                if exc.reason not in ALARM_REASONS:
                    raise
                self.record.alarm(exc.reason, exc.message, old_note, note)
                raise LogAlarm(exc.reason, exc.message, rule=exc.rule) from None
            if cp.size == old.size:
                return False
        self.record.remember(cp, note)
        return True
