"""The ``creditx.v1.Distribution`` servicer: Subscribe, Snapshot, GetListCheckpoint, ReportApplied.

Translates between the wire and the list side: the log's rows come from :mod:`creditx.gateway.lists.store`,
wake-ups from :mod:`creditx.gateway.lists.hub`, chunk plans from ``creditx.standard.lists.snapshot``,
checkpoints from the gateway's one :class:`creditx.gateway.audit.checkpoints.Checkpointer`, and
the nodes' reports go to :class:`creditx.gateway.lists.progress.ListProgress`. Every
call needs a node-auth certificate (SEC-030); each stream reads through a SQLite connection of
its own, so a slow reader never holds the ingest writer.

Invariants: a Subscribe stream sends consecutive list_seqs from ``from_list_seq`` in order,
``through_list_seq`` only ever grows and never passes a committed change (DIST-030/033/034);
a Snapshot is read inside one read transaction, so every chunk is of the same ``at_list_seq``
(DIST-070) and chunking is deterministic for given bounds (DIST-071).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import grpc

from creditx.gateway.access import caller
from creditx.gateway.audit.checkpoints import Checkpointer
from creditx.gateway.call_errors import BatchError, abort, from_identity
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.lists import store
from creditx.gateway.lists.fanout import EncodedChanges, SharedBlock, SharedBlocks
from creditx.gateway.lists.hub import Hub
from creditx.gateway.lists.progress import ListProgress
from creditx.gateway.lists.wire import (
    EncodedChange,
    batch_bytes,
    compress_changes,
    compressed_batch_bytes,
    envelope_to_pb,
    snapshot_chunk,
)
from creditx.pki.identity import IdentityError
from creditx.pki.tls import StreamTrust
from creditx.standard.catalogue import load_catalogue
from creditx.standard.errors import UnavailableError
from creditx.standard.lists.compressed import MAX_CHANGES_SIZE
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.snapshot import plan_chunks
from creditx.standard.lists.withheld import check_index_key, may_have_evidence, withholds_origin
from creditx.standard.registry import Registry
from creditx.v1 import lists_pb2 as lpb
from creditx.v1 import lists_pb2_grpc


@dataclass(frozen=True)
class ListLimits:
    """Bounds of the Distribution service (DIST-034, DIST-071); a client may ask for less."""

    max_batch_changes: int = 500
    max_batch_bytes: int = 4 * 1024 * 1024
    max_chunk_bytes: int = 1024 * 1024
    max_chunk_entries: int = 2000
    poll_s: float = 1.0  # re-read the head this often even without a wake-up (other writers)
    fanout_cache_bytes: int = 64 * 1024 * 1024  # the newest changes kept encoded for every subscriber


def _fail(context, status: str, reason: str, rule: str, message: str, hint: str = "") -> None:
    abort(context, BatchError(status, reason, message, rule=rule, hint=hint))


def subscribe_response(m: lpb.ListChangeBatch | bytes) -> bytes:
    """Subscribe's response serializer: a batch comes already encoded (EncodedChanges), the
    "live" marker as a message."""
    return m if isinstance(m, bytes) else m.SerializeToString()


class DistributionServicer(lists_pb2_grpc.DistributionServicer):
    on_delivered: Callable[[Iterable[int]], None] | None = (
        None  # ([at_unix_ms of each change sent]) -> None: creditx.gateway.events
    )
    on_reported: Callable[[], None] | None = (
        None  # () -> None after a node's position is stored: creditx.gateway.console.reach
    )

    def __init__(
        self,
        db_path: Path | str,
        hub: Hub,
        keys: KeyRegistry,
        checkpointer: Checkpointer,
        progress: ListProgress,
        clock: Callable[[], datetime],
        *,
        limits: ListLimits = ListLimits(),
        identity=caller,
        registry: Callable[[], Registry | None] = lambda: None,
    ) -> None:
        self.db_path, self.hub, self.keys, self.checkpointer, self.clock = db_path, hub, keys, checkpointer, clock
        self.progress = progress  # DIST-043 reports, shared with Operator Status and metrics
        self.limits = limits
        self.identity = identity  # the caller verified by the gate (creditx.gateway.access)
        self.registry = registry  # the member registry in force (DIST-079: who may have evidence)
        self.list_types = {lt.code for lt in load_catalogue().list_types}
        self.fanout = EncodedChanges(limits.fanout_cache_bytes)
        self.blocks = SharedBlocks()  # DIST-087: compressed once per position

    def _node(self, context: grpc.ServicerContext) -> str:
        try:
            if self.hub.closed.is_set():
                raise BatchError("UNAVAILABLE", "SHUTTING_DOWN", "the gateway is shutting down; resubscribe later")
            return self.identity(context).member  # SEC-092: the node's member id (its region for a city)
        except BatchError as err:
            abort(context, err)
            raise  # not reached

    def _index_key(self, context: grpc.ServicerContext, key: bytes) -> bytes:
        """DIST-076/077: since 1.1 a node names the key its persons' index keys are made with; a
        1.0 node, which would need the origins, is told so instead of being sent less."""
        why = check_index_key(key)
        if why:
            _fail(
                context,
                "FAILED_PRECONDITION",
                "DIST_INDEX_KEY_REQUIRED",
                "DIST-076",
                f"{why}; natural persons' origin envelopes stay at the gateway (exchange standard 1.1)",
                "upgrade the node to exchange standard 1.1: it sends its subject index key (DIST-077)",
            )
        return key

    # --- Subscribe (DIST-030 … DIST-034) -----------------------------------------------------

    def _still_trusted(self, context: grpc.ServicerContext, peer: StreamTrust, last: list) -> None:
        """SEC-042: a stream opened before a revocation ends within a poll interval of it.
        ``last`` is the stream's [monotonic time] of its last check: the identity is checked
        again (newest CRL, expiry) once per ``poll_s``, not per batch, and verified in full
        only when the trust store changed (:class:`creditx.pki.tls.StreamTrust`)."""
        now = time.monotonic()
        if now - last[0] < self.limits.poll_s:
            return
        try:
            peer.check(self.keys.trust, self.clock())
        except IdentityError as exc:
            abort(context, from_identity(exc))
        last[0] = now

    def Subscribe(
        self, request: lpb.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[lpb.ListChangeBatch | bytes]:
        self._node(context)
        peer = StreamTrust(self.identity(context))
        index_key = self._index_key(context, request.subject_index_key)
        unknown = sorted(set(request.list_types) - self.list_types)
        if unknown:
            _fail(
                context,
                "INVALID_ARGUMENT",
                "LIST_TYPE_UNKNOWN",
                "DIST-033",
                f"list_types: {unknown[0]!r} is not a list type of the catalogue",
                "use codes such as SXBZXR",
            )
        types = frozenset(request.list_types)
        limit = min(request.max_batch_changes or self.limits.max_batch_changes, self.limits.max_batch_changes)
        cursor = max(request.from_list_seq, 1) - 1
        batch = self._compressed_batch if request.compressed_changes else self._batch  # DIST-086
        conn = store.open_conn(self.db_path)
        sub = self.hub.subscribe()
        try:
            head = store.head(conn)
            if cursor > head:
                _fail(
                    context,
                    "FAILED_PRECONDITION",
                    "DIST_CURSOR_AHEAD",
                    "DIST-040",
                    f"from_list_seq {request.from_list_seq} is beyond the log's head {head}",
                    "this replica holds changes the log does not: re-bootstrap from a snapshot",
                )
            live_sent = False
            checked = [float("-inf")]
            while context.is_active() and not self.hub.closed.is_set():
                self._still_trusted(context, peer, checked)
                # the hub's head is published after COMMIT, so readable; past it, ask the log
                # (changes another process committed: creditx gateway import-lists)
                head = self.hub.head if self.hub.head > cursor else store.head(conn)
                if cursor < head:
                    changes = self.fanout.between(
                        cursor + 1, min(head, cursor + limit), partial(store.changes_between, conn)
                    )
                    encoded, cursor, at_ms = batch(changes, cursor, head, types, index_key)
                    live_sent = cursor >= head
                    if self.on_delivered is not None:
                        self.on_delivered(at_ms)
                    yield encoded  # already encoded (see subscribe_response)
                    continue
                if not live_sent:  # DIST-030: tell the node the backlog is drained
                    live_sent = True
                    yield lpb.ListChangeBatch(through_list_seq=cursor, head_list_seq=head, live=True)
                sub.wait(self.limits.poll_s)
            if self.hub.closed.is_set() and context.is_active():
                _fail(
                    context,
                    "UNAVAILABLE",
                    "SHUTTING_DOWN",
                    "DIST-030",
                    "the gateway is shutting down",
                    f"resubscribe from {cursor + 1}",
                )
        finally:
            sub.close()
            conn.close()

    def _select(
        self,
        changes: list[EncodedChange],
        cursor: int,
        types: frozenset[str],
        encode: Callable[[EncodedChange], bytes],
        max_bytes: int,
    ) -> tuple[list[tuple[EncodedChange, bytes]], int]:
        """The changes of one batch from ``changes`` (consecutive, after ``cursor``), each with its
        encoding, about ``max_bytes`` at most, and the batch's through_list_seq (DIST-033/034)."""
        out: list[tuple[EncodedChange, bytes]] = []
        size, through = 0, cursor
        for c in changes:
            if not types or c.list_type in types:
                f = encode(c)
                if out and size + len(f) > max_bytes:
                    break
                out.append((c, f))
                size += len(f)
            through = c.list_seq
        return out, through

    def _batch(
        self, changes: list[EncodedChange], cursor: int, head: int, types: frozenset[str], index_key: bytes
    ) -> tuple[bytes, int, list[int]]:
        """The encoded batch of ``changes`` (consecutive, after ``cursor``) for this subscriber;
        its through_list_seq; its changes' at_unix_ms. A person's change gets the index keys made
        with this node's own ``index_key`` (DIST-077)."""
        picked, through = self._select(
            changes, cursor, types, lambda c: c.field(index_key), self.limits.max_batch_bytes
        )
        fields = [f for _, f in picked]
        return batch_bytes(fields, through, head, through >= head), through, [c.at_ms for c, _ in picked]

    def _compressed_batch(
        self, changes: list[EncodedChange], cursor: int, head: int, types: frozenset[str], index_key: bytes
    ) -> tuple[bytes, int, list[int]]:
        """DIST-086…088: as :meth:`_batch`, the changes in the block shared by every subscriber at
        this position and filter (compressed once), this node's persons' index keys beside it."""

        def make() -> SharedBlock:
            # DIST-089: a block's changes_size stays within the bound every node enforces (a
            # batch passes the limit only by its first change alone, a record of 64 KiB at most)
            limit = min(self.limits.max_batch_bytes, MAX_CHANGES_SIZE)
            picked, through = self._select(changes, cursor, types, lambda c: c.part, limit)
            block, size = compress_changes([c for c, _ in picked])
            persons = [c for c, _ in picked if c.person is not None]
            return SharedBlock(block, size, through, [c.at_ms for c, _ in picked], persons)

        last = changes[-1].list_seq if changes else cursor
        shared = self.blocks.get((cursor, last, types), make)
        if not shared.at_ms:  # every change filtered out: nothing to compress
            return batch_bytes([], shared.through, head, shared.through >= head), shared.through, []
        live = shared.through >= head
        encoded = compressed_batch_bytes(
            shared.block, shared.size, shared.persons, index_key, shared.through, head, live
        )
        return encoded, shared.through, shared.at_ms

    # --- Snapshot (DIST-070 … DIST-074) ------------------------------------------------------

    def Snapshot(self, request: lpb.SnapshotRequest, context: grpc.ServicerContext) -> Iterator[lpb.SnapshotChunk]:
        self._node(context)
        index_key = self._index_key(context, request.subject_index_key)
        max_bytes = min(request.max_chunk_bytes or self.limits.max_chunk_bytes, self.limits.max_chunk_bytes)
        max_entries = min(request.max_chunk_entries or self.limits.max_chunk_entries, self.limits.max_chunk_entries)
        conn = store.open_conn(self.db_path)
        try:
            with store.snapshot(conn, request.at_list_seq, origins=not request.without_origins) as snap:  # DIST-070/082
                try:
                    ranges = plan_chunks(snap.sizes, max_bytes=max_bytes, max_entries=max_entries)
                except ListError as exc:
                    _fail(
                        context,
                        "FAILED_PRECONDITION",
                        exc.reason,
                        exc.rule,
                        exc.detail,
                        "ask with a larger max_chunk_bytes",
                    )
                if request.from_chunk >= len(ranges):
                    _fail(
                        context,
                        "OUT_OF_RANGE",
                        "DIST_SNAPSHOT_ORDER",
                        "DIST-072",
                        f"from_chunk {request.from_chunk}: the snapshot at {snap.at} has {len(ranges)} chunks",
                        "ask from a chunk below the total",
                    )
                snap.skip(ranges[request.from_chunk].start)  # resumption (DIST-072)
                for index in range(request.from_chunk, len(ranges)):
                    chunk = snapshot_chunk(
                        snap.take(len(ranges[index])),
                        snap.at,
                        index,
                        len(ranges),
                        len(snap.sizes),
                        index_key,
                        canonical=request.canonical_entries,  # DIST-081
                        origins=not request.without_origins,  # DIST-082
                    )
                    if index == 0:
                        chunk.frontier = snap.frontier.to_bytes()
                    if not context.is_active():
                        return
                    yield chunk
        except ListError as exc:  # DIST_SNAPSHOT_GONE: asked beyond the head
            _fail(context, "FAILED_PRECONDITION", exc.reason, exc.rule, exc.detail, exc.hint)
        finally:
            conn.close()

    # --- checkpoints and reports (DIST-043, DIST-051/052) --------------------------------------

    def GetListCheckpoint(
        self, request: lpb.ListCheckpointRequest, context: grpc.ServicerContext
    ) -> lpb.ListCheckpointResponse:
        self._node(context)
        try:
            cp = self.checkpointer.sign_now()  # the head's checkpoint, signed once per size (DIST-051)
            proof = self.checkpointer.consistency(request.from_size, cp.size)["hashes"]
        except ListError as exc:
            _fail(context, "FAILED_PRECONDITION", exc.reason, exc.rule, exc.detail, exc.hint)
        except UnavailableError as exc:  # the log shrank below its latest checkpoint (ROLLBACK)
            _fail(context, "UNAVAILABLE", "CHECKPOINT_UNAVAILABLE", "DIST-051", exc.message, exc.hint)
        except Exception as exc:  # signing key unreadable, database busy: as the Audit servicer answers
            _fail(
                context,
                "UNAVAILABLE",
                "CHECKPOINT_UNAVAILABLE",
                "DIST-051",
                f"{type(exc).__name__}: {exc}",
                "retry later",
            )
        return lpb.ListCheckpointResponse(checkpoint=cp.note, consistency_proof=proof)

    def ReportApplied(
        self, request: lpb.ReportAppliedRequest, context: grpc.ServicerContext
    ) -> lpb.ReportAppliedResponse:
        node = self._node(context)
        head = self.progress.report(node, request.applied_list_seq, request.checkpoint_verified)
        if head < request.applied_list_seq:
            _fail(
                context,
                "OUT_OF_RANGE",
                "APPLIED_BEYOND_HEAD",
                "DIST-043",
                f"applied_list_seq {request.applied_list_seq} is beyond the log's head {head}",
                "a replica cannot have applied changes that do not exist: re-bootstrap it",
            )
        if self.on_reported is not None:  # the console's list-reach counter
            self.on_reported()
        return lpb.ReportAppliedResponse(head_list_seq=head)

    # --- evidence (DIST-078/079) --------------------------------------------------------------

    def Evidence(self, request: lpb.EvidenceRequest, context: grpc.ServicerContext) -> lpb.EvidenceResponse:
        node = self._node(context)
        conn = store.open_conn(self.db_path)
        try:
            changes = store.changes_between(conn, request.list_seq, request.list_seq) if request.list_seq else []
        finally:
            conn.close()
        if not changes:
            _fail(
                context,
                "NOT_FOUND",
                "DIST_NO_SUCH_CHANGE",
                "DIST-078",
                f"list_seq {request.list_seq} is not a change of the list log",
                "give the list_seq of a change the node applied",
            )
        c = changes[0]
        reg = self.registry()
        if withholds_origin(c.entry) and not may_have_evidence(c.entry, reg.member(node) if reg else None, node):
            _fail(
                context,
                "PERMISSION_DENIED",
                "DIST_EVIDENCE_NOT_AUTHORISED",
                "DIST-079",
                f"node {node} neither sent change {c.list_seq}'s record nor is granted its deciding body "
                f"{c.entry.authority_uscc} for {c.entry.list_type}: a natural person's origin stays at the gateway",
                "ask through the member that holds the authority, or ask the provincial operator",
            )
        msg = lpb.EvidenceResponse(list_seq=c.list_seq, entry_id=c.entry.entry_id)
        if c.origin is not None:
            msg.origin.CopyFrom(envelope_to_pb(c.origin))
        return msg

    def close(self) -> None:
        self.checkpointer.close()
