"""One pushed batch from triage to commit: the handler between the Exchange servicer and the
pure rules (ADR 0003). No gRPC here; the store, the worker pool and the clock are injected.

``start`` (sequence triage + submitting checks to workers) and ``finish`` (dedup, audit
leaves, the list changes of LIST records, one transaction, replays resolved from the store)
are separate so that the servicer can start batch N+1 while batch N commits (pipelining). Invariant: ``finish`` is called in
batch order for a node, and acks are built only from what ``commit_batch`` returned, i.e.
after commit (SYNC-032).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import date, datetime

from creditx.gateway.audit.leaves import leaves_for
from creditx.gateway.call_errors import BatchError
from creditx.gateway.exchange.pool import CheckPool
from creditx.gateway.ingest.check import CheckJob, KeyGrant, _public_key
from creditx.gateway.ingest.dedup import decide
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.sequence import triage
from creditx.gateway.ingest.values import Decision, IncomingRecord, SignatureValue, unchecked
from creditx.gateway.lists.changes import ListBatch, ListStateMoved, decide_batch, is_event
from creditx.gateway.store.base import GatewayStore
from creditx.gateway.store.node_checkpoints import NodeCheckpoint
from creditx.standard.batch import BatchCheckpointError, check_extends, outbox_origin, verify_batch_checkpoint
from creditx.standard.catalogue import load_catalogue
from creditx.standard.checkpoint import Checkpoint, parse_checkpoint, split_note, verifier_for
from creditx.standard.envelope import MAX_PAYLOAD_TYPE_CHARS, MAX_SIGNATURES
from creditx.standard.registry import Registry
from creditx.standard.timestamps import rfc3339

_LIST_ATTEMPTS = 5


@dataclass
class Pending:
    node: str
    records: Sequence[IncomingRecord]
    settled: dict[int, Decision]
    positions: list[int]
    futures: list[Future]
    next_expected: int
    job: CheckJob | None = None  # resubmitted if a worker died under it
    # batch-signed suite: the verified checkpoint, its note and the consistency proof (SYNC-062)
    batch: tuple[Checkpoint, str, list[bytes]] | None = None


@dataclass(frozen=True)
class RejectLimits:
    """Bounds on what a node's rejected records may cost the gateway's disk (SYNC-041).

    ``payload_prefix``: bytes of a rejected payload kept (its SHA-256, reason and this prefix
    are stored, never the whole payload); ``budget_bytes`` per ``window_s``: stored bytes of
    rejected records one node may add before its batches are refused RESOURCE_EXHAUSTED."""

    payload_prefix: int = 1024
    budget_bytes: int = 64 * 1024 * 1024
    window_s: float = 3600.0


class RejectBudget:
    """Per-node stored bytes of rejected records in the current window (in memory: a restart
    opens a new window, which at worst doubles one window's allowance)."""

    def __init__(self, limits: RejectLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self.clock = limits, clock
        self._used: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def charge(self, node: str, nbytes: int) -> None:
        """Count ``nbytes``; raise BatchError naming the bound if the node's window is full."""
        if nbytes <= 0:
            return
        now = self.clock()
        with self._lock:
            start, used = self._used.get(node, (now, 0))
            if now - start >= self.limits.window_s:
                start, used = now, 0
            if used + nbytes > self.limits.budget_bytes:
                raise BatchError(
                    "RESOURCE_EXHAUSTED",
                    "REJECT_BUDGET",
                    f"{node} has stored {used} bytes of rejected records in this window; the bound "
                    f"reject_budget_bytes is {self.limits.budget_bytes} per {self.limits.window_s:.0f} s "
                    "(SYNC-041): fix the records the rejections name, then resend",
                )
            self._used[node] = (start, used + nbytes)


def bounded_for_storage(d: Decision, rec: IncomingRecord, prefix: int) -> IncomingRecord:
    """What is stored of a record: all of an accepted one, the first ``prefix`` bytes and at most
    MAX_SIGNATURES signatures of a rejected one (its payload SHA-256 stays in the decision)."""
    if d.outcome != Outcome.REJECTED or (
        len(rec.payload) <= prefix
        and len(rec.signatures) <= MAX_SIGNATURES
        and len(rec.payload_type) <= MAX_PAYLOAD_TYPE_CHARS
    ):
        return rec
    sigs = tuple(SignatureValue(s.keyid[:128], s.suite[:64], s.sig[:512]) for s in rec.signatures[:MAX_SIGNATURES])
    return IncomingRecord(rec.source_seq, rec.payload_type[:MAX_PAYLOAD_TYPE_CHARS], rec.payload[:prefix], sigs)


def batch_checkpoint(node: str, note: str, grants: dict[str, KeyGrant], covers: int) -> tuple[Checkpoint, str]:
    """SYNC-061: the batch's checkpoint and the key id of the granted signing key that signed it;
    BatchError SYNC_CHECKPOINT_INVALID (the whole batch is refused, nothing stored) otherwise."""
    by_note_id: dict[int, str] = {}
    verifiers = []
    for keyid, g in grants.items():
        if g.spki_der and not g.reason:
            v = verifier_for(outbox_origin(node), _public_key(keyid, g.spki_der))
            verifiers.append(v)
            by_note_id[v.key_id] = keyid
    try:
        cp = verify_batch_checkpoint(note, node, verifiers, covers=covers)
    except BatchCheckpointError as exc:
        raise BatchError("INVALID_ARGUMENT", exc.reason, exc.detail, rule=exc.rule, hint=exc.hint) from None
    signer = next(by_note_id[s.key_id] for s in split_note(note)[1] if s.key_id in by_note_id)
    return cp, signer


def extends(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """SYNC-062: BatchError SYNC_CHECKPOINT_FORK when the node's new checkpoint rewrites history."""
    try:
        check_extends(old, new, proof)
    except BatchCheckpointError as exc:
        raise BatchError("FAILED_PRECONDITION", exc.reason, exc.detail, rule=exc.rule, hint=exc.hint) from None


def stored_bytes(d: Decision, rec: IncomingRecord) -> int:
    return (
        len(rec.payload)
        + len(rec.payload_type)
        + sum(len(s.keyid) + len(s.sig) for s in rec.signatures)
        + len(d.message)
        + len(d.field)
        + 64
    )


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
        rejects: RejectLimits = RejectLimits(),
    ) -> None:
        self.rejects = rejects
        self.reject_budget = RejectBudget(rejects)
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
        region: str,
        records: Sequence[IncomingRecord],
        expected_after: int,
        grants: dict[str, KeyGrant],
        today: date,
        in_flight: Callable[[int], bytes | None] = lambda s: None,
        checkpoint: str = "",
        consistency: Sequence[bytes] = (),
    ) -> Pending:
        """``node`` is the member id (SEC-092), ``region`` its certificates' region (SEC-032).
        Triage against ``expected_after`` (the committed seq, or the previous in-flight
        batch's ``next_expected - 1``) and send the records to check to the workers.
        ``in_flight(seq)`` gives the payload SHA-256 of a seq started but not yet committed."""

        def lookup(seq: int) -> Decision | None:
            sha = in_flight(seq)
            if sha is not None:  # resolved from the store in finish(), after its batch commits
                return Decision(seq, Outcome.ACCEPTED, unchecked(seq, sha))
            return self.store.decision_for(node, seq)

        batch = head = None
        if checkpoint:  # SYNC-061: one signature for the whole batch, verified here once
            cp, keyid = batch_checkpoint(node, checkpoint, grants, max((r.source_seq for r in records), default=0))
            batch, head = (cp, checkpoint, list(consistency)), (cp.size, cp.root_hash, keyid)
        t = triage(records, expected_after, lookup)
        reg = self.registry()
        job = CheckJob(
            region,
            grants,
            tuple(r for _, r in t.to_check),
            today,
            self.subject_key,
            reg.member(node) if reg is not None else None,
            head,
        )
        futures = self.pool.submit(job) if t.to_check else []
        return Pending(node, records, t.settled, [p for p, _ in t.to_check], futures, t.next_expected, job, batch)

    def finish(self, p: Pending) -> tuple[list[Decision], int]:
        """Decide, commit in one transaction, and return (decisions in batch order, committed seq)."""
        checked = self.pool.gather(p.futures, p.job)
        ok = [c for c in checked if c.ok]
        fps, versions = self.store.known_content([(c.natural_key, c.fingerprint) for c in ok])  # one look-up
        decided = decide(checked, fps.__contains__, versions.get)
        by_pos = dict(p.settled)
        by_pos.update(zip(p.positions, decided, strict=True))
        ordered = [by_pos[i] for i in range(len(p.records))]
        kept = [bounded_for_storage(d, r, self.rejects.payload_prefix) for d, r in zip(ordered, p.records, strict=True)]
        self.reject_budget.charge(
            p.node,
            sum(
                stored_bytes(d, r)
                for d, r in zip(ordered, kept, strict=True)
                if d.stored and d.outcome == Outcome.REJECTED
            ),
        )
        now = self.clock()
        leaves = leaves_for(ordered, p.node, now) if self.audit else None
        committed = max(p.next_expected - 1, self.store.committed_seq(p.node))
        items = list(zip(ordered, kept, strict=True))  # a rejected payload only as far as it is kept (SYNC-041)
        stored_cp = None
        if p.batch is not None:  # SYNC-062: in batch order, against the newest stored checkpoint
            cp, note, proof = p.batch
            old = self.store.latest_checkpoint(p.node)
            if old is not None:
                extends(parse_checkpoint(old.note)[0], cp, proof)
            stored_cp = NodeCheckpoint(cp.size, p.records[0].source_seq if p.records else 0, note)
        done, lists = self._commit(p.node, items, leaves, committed, now, stored_cp)
        notices = lists.notices() if lists is not None else {}
        at = rfc3339(now)
        # SYNC-013: a replay answers with the stored decision (also one made earlier in this batch).
        out = []
        for d in done:
            if d.replay:
                prior = self.store.decision_for(p.node, d.source_seq)
                d = replace(prior, replay=True, stored=False) if prior else d
            elif d.logged or d.checked.warnings or d.source_seq in notices:
                # AUD-035: the ack carries the leaf's time; REC-041 / DIST-018: its warnings
                extra = (notices[d.source_seq],) if d.source_seq in notices else ()
                d = d.but(decided_at=at if d.logged else "", warnings=d.checked.warnings + extra)
            out.append(d)
        return out, committed

    def _commit(
        self,
        node: str,
        items: list[tuple[Decision, IncomingRecord]],
        leaves: list[tuple[bytes, bytes]] | None,
        committed: int,
        now: datetime,
        checkpoint: NodeCheckpoint | None = None,
    ) -> tuple[list[Decision], ListBatch | None]:
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
                done = self.store.commit_batch(node, items, leaves, committed, at, lists=lists, checkpoint=checkpoint)
            except ListStateMoved:
                if attempt == _LIST_ATTEMPTS - 1:
                    raise
                continue
            if lists is not None and lists.changes:
                self.on_list_published(self.store.list_head())
            return done, lists
        raise AssertionError("not reached")
