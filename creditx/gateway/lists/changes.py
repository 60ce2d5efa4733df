"""The list changes of one ingest batch, decided before the store is written (DIST-010/011/013/015).

The ingest pipeline (``creditx.gateway.exchange.batches``) calls :func:`decide_batch` with the
batch's stored decisions (each carries the record its check worker already decoded,
``decision.checked.list_record``), their incoming envelopes, and the current state
of the entries they touch; the result, a :class:`ListBatch`, goes to the store's
``commit_batch`` as a typed argument, and the store only writes it. No I/O here.

Only LIST records ACCEPTED or SUPERSEDED *as current* are events; ``entry_id`` is the natural
key the ingest computed, the fingerprint its content fingerprint. A lifecycle refusal is kept
(``list_refusals``) for the operator; the record itself stays stored as the ingest decided.

Optimistic concurrency: the batch names the ``last_seq`` of every entry it read
(:attr:`ListBatch.bases`); the store refuses the write with :class:`ListStateMoved` when another
writer (the expiry job, an import) moved one of them in between, and the pipeline decides again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Decision, IncomingRecord, Notice
from creditx.standard.catalogue import Catalogue
from creditx.standard.envelope import Envelope, Signature
from creditx.standard.lists.lifecycle import ListChange, ListEntry, ListError, apply_change, derive_change

EntryLookup = Callable[[str], ListEntry | None]


@dataclass(frozen=True)
class Refusal:
    node: str
    source_seq: int
    entry_id: str
    error: ListError


@dataclass(frozen=True)
class ListBatch:
    """Unsequenced changes in decision order (each with its origin envelope), the refusals, and
    the ``last_seq`` (0: no entry) of every entry the decisions read."""

    changes: tuple[ListChange, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    bases: Mapping[str, int] = field(default_factory=dict)
    noops: tuple[tuple[int, str], ...] = ()  # (source_seq, SAME_RECORD | OLDER_VERSION | ALREADY_REMOVED)

    def notices(self) -> dict[int, Notice]:
        """DIST-018: what each event that published nothing tells its sender, by source_seq."""
        out = {seq: Notice(reason, _NOOP_RULE.get(reason, "DIST-011"), "", _NOOP_TEXT) for seq, reason in self.noops}
        for r in self.refusals:
            e = r.error
            out[r.source_seq] = Notice(e.reason, e.rule, e.field, f"{e.detail}; no list change was published")
        return out

    def __bool__(self) -> bool:
        return bool(self.changes or self.refusals)


_NOOP_RULE = {"ALREADY_REMOVED": "DIST-015"}
_NOOP_TEXT = "the list entry already rests on this or a newer state; no list change was published"


class ListStateMoved(Exception):
    """An entry a batch decided on changed before the batch was written: decide again."""


class Drafts:
    """Changes decided before they are published: later decisions see earlier ones (two records
    of one entry in one batch), as the store will write them."""

    def __init__(self, lookup: EntryLookup) -> None:
        self.lookup = lookup
        self.pending: list[ListChange] = []
        self._entries: dict[str, ListEntry | None] = {}

    def entry(self, entry_id: str) -> ListEntry | None:
        if entry_id not in self._entries:
            self._entries[entry_id] = self.lookup(entry_id)
        return self._entries[entry_id]

    def add(self, change: ListChange) -> None:
        before = self.entry(change.entry.entry_id)
        self._entries[change.entry.entry_id] = apply_change(before, change)  # DIST-041 on our own side too
        self.pending.append(change)


def is_event(d: Decision) -> bool:
    return d.stored and d.record_type == "LIST" and d.current and d.outcome in (Outcome.ACCEPTED, Outcome.SUPERSEDED)


def origin_of(rec: IncomingRecord) -> Envelope:
    return Envelope(rec.payload_type, rec.payload, tuple(Signature(s.keyid, s.suite, s.sig) for s in rec.signatures))


def decide_batch(
    node: str,
    events: Sequence[tuple[Decision, IncomingRecord]],
    current: Mapping[str, tuple[ListEntry, int]],
    at: datetime,
    catalogue: Catalogue,
) -> ListBatch:
    """DIST-010: the list changes of ``events`` (in batch order) against ``current`` (entry id →
    (entry, last_seq) for the entries that exist)."""
    drafts = Drafts(lambda entry_id: current[entry_id][0] if entry_id in current else None)
    refusals = []
    noops = []
    for d, rec in events:
        record = d.checked.list_record
        if record is None:  # a LIST event is always checked, and its check keeps the record
            raise ValueError(f"decision for seq {d.source_seq} carries no decoded LIST record")
        decision = derive_change(
            drafts.entry(d.natural_key),
            record,
            entry_id=d.natural_key,
            fingerprint=d.fingerprint,
            at=at,
            catalogue=catalogue,
        )
        if decision.error is not None:
            refusals.append(Refusal(node, d.source_seq, d.natural_key, decision.error))
        elif decision.change is not None:
            drafts.add(replace(decision.change, origin=origin_of(rec)))
        elif decision.noop:
            noops.append((d.source_seq, decision.noop))
    bases = {d.natural_key: current[d.natural_key][1] if d.natural_key in current else 0 for d, _ in events}
    return ListBatch(tuple(drafts.pending), tuple(refusals), bases, tuple(noops))
