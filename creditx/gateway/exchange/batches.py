"""One pushed batch from triage to commit: the handler between the Exchange servicer and the
pure rules (ADR 0003). No gRPC here; the store, the worker pool and the clock are injected.

``start`` (sequence triage + submitting checks to workers) and ``finish`` (dedup, audit
leaves, the list changes of LIST records, one transaction, replays resolved from the store)
are separate so that the servicer can start batch N+1 while batch N commits (pipelining). Invariant: ``finish`` is called in
batch order for a node, and acks are built only from what ``commit_batch`` returned, i.e.
after commit (SYNC-032).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import date, datetime

from creditx.gateway.audit.leaves import leaves_for, rfc3339
from creditx.gateway.exchange.pool import CheckPool
from creditx.gateway.ingest.check import CheckJob, KeyGrant
from creditx.gateway.ingest.dedup import decide
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.sequence import triage
from creditx.gateway.ingest.values import Decision, IncomingRecord, unchecked
from creditx.gateway.lists.changes import ListStateMoved, decide_batch, is_event
from creditx.gateway.store.base import GatewayStore
from creditx.standard.catalogue import load_catalogue
from creditx.standard.registry import Registry

_LIST_ATTEMPTS = 5


@dataclass
class Pending:
    node: str
    records: Sequence[IncomingRecord]
    settled: dict[int, Decision]
    positions: list[int]
    futures: list[Future]
    next_expected: int


class BatchIngest:
    def __init__(
        self,
        store: GatewayStore,
        pool: CheckPool,
        clock: Callable[[], datetime],
        subject_key: bytes,
        *,
        audit: bool = True,
        on_list_published: Callable[[int], None] = lambda head: None,
        registry: Callable[[], Registry | None] = lambda: None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.clock = clock
        self.subject_key = subject_key
        self.audit = audit
        self.on_list_published = on_list_published  # after COMMIT only (the list hub's wake-up)
        self.catalogue = load_catalogue()
        self.registry = registry  # the member registry in force (creditx.gateway.members.RegistrySource)

    def start(
        self,
        node: str,
        records: Sequence[IncomingRecord],
        expected_after: int,
        grants: dict[str, KeyGrant],
        today: date,
        in_flight: Callable[[int], bytes | None] = lambda s: None,
    ) -> Pending:
        """Triage against ``expected_after`` (the committed seq, or the previous in-flight
        batch's ``next_expected - 1``) and send the records to check to the workers.
        ``in_flight(seq)`` gives the payload SHA-256 of a seq started but not yet committed."""

        def lookup(seq: int) -> Decision | None:
            sha = in_flight(seq)
            if sha is not None:  # resolved from the store in finish(), after its batch commits
                return Decision(seq, Outcome.ACCEPTED, unchecked(seq, sha))
            return self.store.decision_for(node, seq)

        t = triage(records, expected_after, lookup)
        reg = self.registry()
        job = CheckJob(
            node,
            grants,
            tuple(r for _, r in t.to_check),
            today,
            self.subject_key,
            reg.member(node) if reg is not None else None,
        )
        futures = self.pool.submit(job) if t.to_check else []
        return Pending(node, records, t.settled, [p for p, _ in t.to_check], futures, t.next_expected)

    def finish(self, p: Pending) -> tuple[list[Decision], int]:
        """Decide, commit in one transaction, and return (decisions in batch order, committed seq)."""
        checked = CheckPool.gather(p.futures)
        ok = [c for c in checked if c.ok]
        fps = self.store.stored_fingerprints([c.fingerprint for c in ok])  # one query per batch
        versions = self.store.current_versions([c.natural_key for c in ok])
        decided = decide(checked, fps.__contains__, versions.get)
        by_pos = dict(p.settled)
        by_pos.update(zip(p.positions, decided, strict=True))
        ordered = [by_pos[i] for i in range(len(p.records))]
        now = self.clock()
        leaves = leaves_for(ordered, p.node, now) if self.audit else None
        committed = max(p.next_expected - 1, self.store.committed_seq(p.node))
        items = list(zip(ordered, p.records, strict=True))
        done = self._commit(p.node, items, leaves, committed, now)
        # SYNC-013: a replay answers with the stored decision (also one made earlier in this batch).
        out = []
        for d in done:
            if d.replay:
                prior = self.store.decision_for(p.node, d.source_seq)
                d = replace(prior, replay=True, stored=False) if prior else d
            out.append(d)
        return out, committed

    def _commit(
        self,
        node: str,
        items: list[tuple[Decision, IncomingRecord]],
        leaves: list[tuple[bytes, bytes]] | None,
        committed: int,
        now: datetime,
    ) -> list[Decision]:
        """DIST-010: decide the batch's list changes from the records the workers decoded, then
        commit everything in one store transaction; decide again if another list writer moved an
        entry in between (the expiry job, an import: rare, so a few attempts suffice)."""
        events = [(d, rec) for d, rec in items if is_event(d)]
        at = rfc3339(now)
        for attempt in range(_LIST_ATTEMPTS):
            lists = None
            if events:
                current = self.store.list_entries([d.natural_key for d, _ in events])
                lists = decide_batch(node, events, current, now, self.catalogue)
            try:
                done = self.store.commit_batch(node, items, leaves, committed, at, lists=lists)
            except ListStateMoved:
                if attempt == _LIST_ATTEMPTS - 1:
                    raise
                continue
            if lists is not None and lists.changes:
                self.on_list_published(self.store.list_head())
            return done
        raise AssertionError("not reached")
