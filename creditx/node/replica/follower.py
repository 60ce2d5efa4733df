"""The node's Subscribe / Snapshot client loop (DIST-030…074): the thin gRPC shell that keeps
the replica following the gateway's list log. What to do next (bootstrap, follow, restart,
retry, halt) is decided by the pure table in :mod:`creditx.node.replica.steps`; the list rules
live in :mod:`creditx.standard.lists.replica`, :mod:`creditx.standard.lists.snapshot` and
:mod:`creditx.node.replica.store`; this module only moves data and carries out the steps.

Invariants kept here:

* DIST-030/040 every (re)subscription starts at the replica's committed applied list_seq + 1,
  read from SQLite, never from memory — so a kill at any moment resumes without gap or
  duplicate (duplicates that still arrive are skipped by plan_batch).
* DIST-041, NODE-042 a change whose origin envelope does not match its entry, or a batch with a
  gap, is not applied: the session ends and resubscribes after a backoff; an illegal move means
  the replica diverged: it is discarded and re-bootstrapped from a snapshot.
* DIST-072 a snapshot is resumed from the committed progress after a kill; DIST_SNAPSHOT_GONE
  or a mixed/out-of-order chunk discards the partial state and starts a new snapshot.
* NODE-043 with an alarm set (checkpoint fork, divergence) nothing is applied.
* NODE-013 backoff with equal jitter after failures, reset by progress; every unary call and the
  Snapshot stream have deadlines; the channel has keepalive (creditx.node.sync.client.ChannelSettings).
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from creditx.node.alarms import CRITICAL, WARNING, Alarms
from creditx.node.call_status import call_reason
from creditx.node.replica import steps
from creditx.node.replica.origin import check_origin
from creditx.node.replica.steps import Phase, Step
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.wire import batch_changes, change_from_pb, chunk_from_pb
from creditx.node.sync.state import SyncPolicy, backoff_delay
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.withheld import check_index_keys, withholds_origin
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowPolicy:
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    rpc_timeout_s: float = 10.0
    snapshot_timeout_s: float = 3600.0  # deadline of a whole Snapshot stream
    max_batch_changes: int = 1000
    snapshot_threshold: int = 10_000  # an empty replica this far behind the head bootstraps
    max_chunk_bytes: int = 0  # 0: the gateway's
    max_chunk_entries: int = 0
    compressed_changes: bool = True  # DIST-086: ask for batches compressed once for every node


class Halted(Exception):
    """The replica carries an alarm (NODE-043): nothing is applied until an operator resets it."""


class Follower:
    def __init__(
        self,
        replica: ReplicaStore,
        channel: Callable[[], grpc.Channel],
        policy: FollowPolicy,
        *,
        resolve_key: Callable[[str], Any | None] = lambda kid: None,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
        on_applied: Callable[[int], None] = lambda seq: None,
        on_contact: Callable[[], None] = lambda: None,
        alarms: Alarms | None = None,
        on_error: Callable[[grpc.RpcError], object] = lambda exc: None,
    ) -> None:
        self.on_error = on_error  # SYNC-018: a failed call may move the channel to another gateway
        self.replica, self.channel, self.policy = replica, channel, policy
        self.resolve_key, self.rng, self.wall, self.on_applied = (
            resolve_key,
            rng or random.SystemRandom(),
            wall,
            on_applied,
        )
        self.on_contact = on_contact  # NODE-015: every batch or chunk received is contact
        self.alarms = alarms if alarms is not None else Alarms()
        self.attempt = 0
        self.unverified_signatures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()  # contact() cuts a backoff short
        self._call: Any = None
        self._lock = threading.Lock()

    def _stub(self) -> pb_grpc.DistributionStub:
        return pb_grpc.DistributionStub(self.channel())

    def _now_ms(self) -> int:
        return int(self.wall() * 1000)

    def _track(self, call: Any) -> Any:
        with self._lock:
            self._call = call
            if self._stop.is_set():
                call.cancel()
        return call

    def contact(self) -> None:
        """NODE-015: the gateway answered on another path (a heartbeat): the backoff starts over."""
        self.attempt = 0
        self._wake.set()

    def _contacted(self) -> None:
        self.attempt = 0
        self.alarms.clear("list_stream")
        self.on_contact()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        """Follow until :meth:`stop`; failures back off (NODE-013) and are recorded in the replica meta."""
        policy = SyncPolicy(backoff_base=self.policy.backoff_base_s, backoff_cap=self.policy.backoff_cap_s)
        while not self._stop.is_set():
            store_error = False
            try:
                self.session()
                error = ""
            except Halted as exc:
                error, self.attempt = str(exc), 64
            except (grpc.RpcError, ListError) as exc:
                error = _describe(exc)
                if isinstance(exc, grpc.RpcError):
                    self.on_error(exc)
            except (sqlite3.Error, OSError) as exc:  # a failed write (disk full; a feed file): retry, never die
                error = f"local store: {type(exc).__name__}: {exc} (retrying with backoff; free disk space)"
                store_error = True
            except Exception as exc:  # noqa: BLE001 - SYNC-051: no failure ends the thread; logged in full
                log.exception("list replica: unexpected failure; retrying with backoff")
                error = f"unexpected {type(exc).__name__}: {exc}"
            if store_error:  # SYNC-051: raised until a session gets past its writes again
                self.alarms.raise_("list_store_write", CRITICAL, f"the list replica cannot write: {error}")
            elif error and not self._stop.is_set():  # cleared by the next batch received
                self.alarms.raise_("list_stream", WARNING, f"the list stream is down: {error}")
            if self._stop.is_set():
                break
            if error:
                try:
                    self.replica.set_meta(last_error=error, last_error_ms=self._now_ms())
                except sqlite3.Error:
                    pass  # the same full disk: the log line below still says it
                log.warning("list replica: %s", error)
            delay = backoff_delay(self.attempt, policy, self.rng) if error else 0.0
            self.attempt += 1 if error else 0
            self._wake.clear()
            self._wake.wait(delay)

    def _next(self, phase: Phase, event: steps.Event) -> Step:
        return steps.next_step(phase, event, steps.Limits(snapshot_threshold=self.policy.snapshot_threshold))

    def _end(self, step: Step, exc: BaseException) -> None:
        """RESTART or RETRY: end the session with ``exc`` (the run loop backs off); RESTART first
        discards the partial snapshot or the diverged replica."""
        if step is Step.RESTART:
            self.replica.discard_snapshot()
        raise exc

    def session(self) -> None:
        """One Subscribe call (after finishing a snapshot in progress) until it ends."""
        st = self.replica.state()
        # NODE-048: a reset replica re-bootstraps by snapshot, so the departments get its difference
        step = self._next(Phase.START, steps.Session(st.alarm, st.snapshot is not None or st.rebootstrap_from > 0))
        if step is Step.HALT:
            raise Halted(f"replica halted: {st.alarm} (creditx node replica --dir DIR --reset to re-bootstrap)")
        if step is Step.BOOTSTRAP:
            self.bootstrap()
        self.subscribe()

    def subscribe(self) -> None:
        applied = self.replica.applied()
        req = pb.SubscribeRequest(
            from_list_seq=applied + 1,
            max_batch_changes=self.policy.max_batch_changes,
            subject_index_key=self.replica.key,  # DIST-077: the gateway hashes persons' IDs with it
            compressed_changes=self.policy.compressed_changes,  # DIST-086; an older gateway ignores it
        )
        try:
            call = self._track(self._stub().Subscribe(req))
            for batch in call:
                self._contacted()
                if self._next(Phase.FOLLOWING, steps.Batch(applied, batch.head_list_seq)) is Step.BOOTSTRAP:
                    call.cancel()  # an empty replica far behind: a snapshot is faster (DIST-070)
                    self.bootstrap()
                    return
                try:
                    applied = self.apply(batch)
                except ListError as exc:
                    self._end(self._next(Phase.FOLLOWING, steps.Broken(exc.reason)), exc)
        except grpc.RpcError as exc:
            if exc.code() is grpc.StatusCode.CANCELLED and self._stop.is_set():
                return
            step = self._next(Phase.FOLLOWING, steps.Refused(exc.code().name, call_reason(exc)))
            if step is Step.BOOTSTRAP:
                self.bootstrap()
                return
            self._end(step, exc)

    def apply(self, batch: pb.ListChangeBatch) -> int:
        """Verify the origins of the new changes of one batch and apply it with its cursor."""
        msgs = batch_changes(batch)  # DIST-086…089: either form, the same changes
        changes = [change_from_pb(m) for m in msgs]
        applied = self.replica.applied()
        fields, sent = {}, {}
        for c, m in zip(changes, msgs, strict=True):
            if c.list_seq <= applied:
                continue
            if c.origin is None and withholds_origin(c.entry):  # DIST-076: a person's origin stays away
                sent[c.list_seq] = check_index_keys(c.list_seq, m.subject_index)
                continue
            check = check_origin(c, self.resolve_key)
            fields[c.list_seq] = check.fields
            self.unverified_signatures += not check.signature_verified
        plan = self.replica.apply_batch(
            changes, fields, now_ms=self._now_ms(), sent_keys=sent
        )  # ListError: steps.Broken
        self.replica.set_meta(head=batch.head_list_seq, live=batch.live, last_error="")
        self.alarms.clear("list_store_write")
        if plan.apply:
            self.attempt = 0
            self.on_applied(plan.applied_seq)
        return plan.applied_seq

    def bootstrap(self) -> None:
        """DIST-070…073: fetch (or resume) a snapshot, chunk by chunk, each chunk committed."""
        progress = self.replica.state().snapshot
        req = pb.SnapshotRequest(
            at_list_seq=progress.at_list_seq if progress else 0,
            from_chunk=progress.next_chunk if progress else 0,
            max_chunk_bytes=self.policy.max_chunk_bytes,
            max_chunk_entries=self.policy.max_chunk_entries,
            subject_index_key=self.replica.key,  # DIST-077
            canonical_entries=True,  # DIST-081: canonical bytes, compressed, stored as they come
            without_origins=True,  # DIST-082: the snapshot's origins are not used (NODE-053)
        )
        if progress:
            log.info(
                "list snapshot at list_seq %d: resuming at chunk %d of %d",
                progress.at_list_seq,
                progress.next_chunk,
                progress.total,
            )
        try:
            call = self._track(self._stub().Snapshot(req, timeout=self.policy.snapshot_timeout_s))
            reported = -1
            for m in call:
                chunk, origins, sent, bodies = chunk_from_pb(m)  # DIST-075/077/081
                progress = self.replica.apply_chunk(
                    chunk,
                    bytes(m.frontier),
                    now_ms=self._now_ms(),
                    origins=origins,
                    sent_keys=sent,
                    bodies=bodies,
                )
                self._contacted()
                self.alarms.clear("list_store_write")
                tenth = progress.next_chunk * 10 // max(progress.total, 1)
                if tenth > reported:  # long work shows progress: a log line every 10 %
                    reported = tenth
                    log.info(
                        "list snapshot at list_seq %d: chunk %d of %d (%d %%, %d entries in all)",
                        progress.at_list_seq,
                        progress.next_chunk,
                        progress.total,
                        tenth * 10,
                        m.entries_total,
                    )
        except grpc.RpcError as exc:
            self._end(self._next(Phase.BOOTSTRAPPING, steps.Refused(exc.code().name, call_reason(exc))), exc)
        except ListError as exc:
            self._end(self._next(Phase.BOOTSTRAPPING, steps.Broken(exc.reason)), exc)
        if progress is None or self._next(Phase.BOOTSTRAPPING, steps.Ended(progress.complete)) is Step.RETRY:
            raise ListError(
                "DIST_SNAPSHOT_ORDER",
                "DIST-072",
                "the snapshot stream ended before its last chunk",
                hint="the node resumes it from the next chunk",
            )
        self.on_applied(progress.at_list_seq)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"Distribution: {exc.code().name}: {exc.details()}"
    return str(exc)
