"""The ``creditx.v1.Exchange`` servicer: Handshake, Push, Heartbeat (creditx/standard/spec/05-sync.md).

Translates proto ↔ domain values and maps :class:`BatchError` to status codes; the work is
in :class:`creditx.gateway.exchange.batches.BatchIngest`. Push reads requests on a helper thread that triages
and submits each batch to the workers as it arrives, so batch N+1 is verified while batch N
commits; responses are yielded in batch order, each after its commit (SYNC-032).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, cast

import grpc

from creditx.gateway.access import caller
from creditx.gateway.audit.checkpoints import origin_for
from creditx.gateway.call_errors import BatchError, abort, from_identity
from creditx.gateway.config import GatewayConfig
from creditx.gateway.exchange.batches import BatchIngest
from creditx.gateway.exchange.keys import KeyRegistry, check_signing_cert
from creditx.gateway.exchange.presence import Presence
from creditx.gateway.ingest.values import Decision, IncomingRecord, SignatureValue
from creditx.gateway.store.lease import Fenced, WriterLease
from creditx.gateway.write_alarm import WRITE_ERRORS, WriteAlarm
from creditx.pki.identity import Identity, IdentityError
from creditx.pki.tls import StreamTrust
from creditx.standard.call_status import WRITER_KEY
from creditx.standard.lists.log import list_log_origin
from creditx.standard.timestamps import rfc3339
from creditx.v1 import exchange_pb2 as pb
from creditx.v1 import exchange_pb2_grpc

if TYPE_CHECKING:
    from creditx.gateway.events import GatewayEvents


def to_incoming(req: pb.PushRequest, max_records: int) -> list[IncomingRecord]:
    if len(req.records) > max_records:
        raise BatchError(
            "RESOURCE_EXHAUSTED",
            "BATCH_TOO_LARGE",
            f"batch {req.batch_id} has {len(req.records)} records, the limit is {max_records} "
            "(HandshakeResponse.max_batch_records); split it",
            rule="SYNC-040",
        )
    out = []
    for i, r in enumerate(req.records):
        if r.source_seq == 0 or not r.HasField("envelope"):
            raise BatchError(
                "INVALID_ARGUMENT",
                "BATCH_MALFORMED",
                f"records[{i}] of batch {req.batch_id}: source_seq must be >= 1 and an envelope is required (SYNC-010)",
                rule="SYNC-040",
            )
        e = r.envelope
        sigs = tuple([SignatureValue.of(s.keyid, s.suite, s.sig) for s in e.signatures])
        out.append(IncomingRecord.of(r.source_seq, e.payload_type, e.payload, sigs))
    return out


PROTOCOL_VERSION = 1  # EXCHANGE-STANDARD §5
MAX_INT64 = 2**63 - 1


def check_handshake(req: pb.HandshakeRequest, max_name_chars: int) -> str:
    """SYNC-041: the node name to store, or BatchError naming the bound it breaks."""
    if req.protocol_version != PROTOCOL_VERSION:
        raise BatchError(
            "INVALID_ARGUMENT",
            "PROTOCOL_VERSION",
            f"protocol_version {req.protocol_version} is not supported; this gateway speaks "
            f"{PROTOCOL_VERSION} (SYNC-041)",
        )
    name = req.node_name
    if len(name) > max_name_chars or not name.isprintable():
        raise BatchError(
            "INVALID_ARGUMENT",
            "NODE_NAME_INVALID",
            f"node_name must be at most {max_name_chars} printable characters (max_node_name_chars), "
            f"got {len(name)} characters{'' if name.isprintable() else ' with control characters'} "
            "(SYNC-041)",
        )
    if len(req.software) > 256 or len(req.signing_certificates) > 16:
        raise BatchError(
            "INVALID_ARGUMENT",
            "HANDSHAKE_LIMIT",
            "software is at most 256 characters and at most 16 signing certificates are presented (SYNC-041)",
        )
    return name


def check_int64(**values: int) -> None:
    """SYNC-041: every 64-bit value a node sends fits a signed 64-bit column."""
    for name, v in values.items():
        if v > MAX_INT64:
            raise BatchError(
                "INVALID_ARGUMENT",
                "VALUE_OUT_OF_RANGE",
                f"{name} {v} is above 2^63-1, the largest value any store holds (SYNC-041)",
            )


def store_write_failed(exc: BaseException) -> BatchError:
    """SYNC-052: a batch the gateway could not write is refused as a whole, to be resent."""
    return BatchError(
        "UNAVAILABLE",
        "STORE_WRITE_FAILED",
        f"the gateway could not write its database ({type(exc).__name__}: {exc}); nothing of this batch was committed",
        rule="SYNC-052",
        hint="resend after a backoff (SYNC-017); the gateway's operator must free disk space",
    )


def to_ack(d: Decision) -> pb.RecordAck:
    return pb.RecordAck(
        source_seq=d.source_seq,
        outcome=cast(pb.Outcome, int(d.outcome)),
        reason_code=d.reason,
        requirement=d.requirement,
        field=d.field,
        message=d.message,
        fingerprint=d.fingerprint,
        log_index=max(d.log_index, 0),
        decided_at=d.decided_at,
        logged=d.logged,
        warnings=[
            pb.RecordWarning(reason_code=w.reason, requirement=w.requirement, field=w.field, message=w.message)
            for w in d.warnings
        ],
    )


def _lists_origin(name: str) -> str:
    try:
        return list_log_origin(name)  # DIST-051
    except ValueError:
        return ""  # a name that is no host: the gateway serves no list log checkpoints


class ExchangeServicer(exchange_pb2_grpc.ExchangeServicer):
    on_applied: Callable[[str, int], None] | None = None  # creditx.gateway.lists.wiring.Lists.applied
    on_node_time: Callable[[str, int, datetime], None] | None = None  # DIST-023: Lists.witnesses.heard
    write_alarm: WriteAlarm | None = None  # SYNC-052: failed database writes, for health and metrics
    events: GatewayEvents | None = None  # creditx.gateway.events.GatewayEvents: log lines and latency histograms

    def __init__(
        self,
        ingest: BatchIngest,
        keys: KeyRegistry,
        presence: Presence,
        cfg: GatewayConfig,
        clock: Callable[[], datetime],
        *,
        identity: Callable[[grpc.ServicerContext], Identity] = caller,
        checkpointer=None,
        signing_cert_der: bytes = b"",
        member_registry: Callable[[], bytes] = lambda: b"",
    ) -> None:
        self.ingest, self.keys, self.presence, self.cfg, self.clock = ingest, keys, presence, cfg, clock
        self.store = ingest.store
        self.identity = identity  # the caller verified by the gate (creditx.gateway.access)
        self.checkpointer = (
            checkpointer  # creditx.gateway.audit.checkpoints.Checkpointer: receipts, fail closed (AUD-040)
        )
        self.signing_cert_der = signing_cert_der  # handed to nodes for checkpoint checks
        self.member_registry = member_registry  # the signed registry in force, handed to nodes (SEC-039)
        self.stopping = threading.Event()
        self.lease: WriterLease | None = None  # several gateways on one database: only the writer ingests
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _node(self, context: grpc.ServicerContext) -> tuple[Identity, str]:
        """The calling node's identity and member id (SEC-092: its region for a city platform
        and the 370000 node, a department's own id otherwise) — the key of everything the
        gateway keeps per node."""
        if self.stopping.is_set():
            raise BatchError("UNAVAILABLE", "SHUTTING_DOWN", "the gateway is shutting down; retry later")
        if self.lease is not None and not self.lease.is_writer:
            writer = self.lease.writer_address()
            raise BatchError(
                "UNAVAILABLE",
                "GATEWAY_STANDBY",
                f"this gateway is a standby; the writer is at {writer or 'an address not known yet'}",
                hint=f"push to {writer}"
                if writer
                else "retry: a standby takes over within seconds of the writer's end",
                metadata=((WRITER_KEY, writer),) if writer else (),
            )
        ident = self.identity(context)  # verified by the gate (creditx.gateway.access)
        member = ident.member  # its member URI, else its region (SEC-092); the gate admitted it (SEC-094)
        assert ident.region is not None and member is not None, "the gate refuses a node certificate without a region"
        return ident, member

    def _still_trusted(self, peer: StreamTrust) -> None:
        """SEC-042: a stream opened before a revocation ends at its next batch."""
        try:
            peer.check(self.keys.trust, self.clock())
        except IdentityError as exc:
            raise from_identity(exc) from None

    def Handshake(self, request: pb.HandshakeRequest, context: grpc.ServicerContext) -> pb.HandshakeResponse:
        try:
            ident, node = self._node(context)
            name = check_handshake(request, self.cfg.max_node_name_chars)
            now = self.clock()
            results = self.keys.present(node, list(request.signing_certificates), now)
            for _, _, row in results:
                if row is not None:
                    self.store.add_signing_cert(row, rfc3339(now))
            self.store.upsert_node(node, name or ident.name, ident.serial, ident.not_after.isoformat(), rfc3339(now))
            self.presence.seen(node, now)
            if self.events is not None:
                self.events.connected(node, name or ident.name, ident.serial)
            return pb.HandshakeResponse(
                committed_seq=self.store.committed_seq(node),
                max_batch_records=self.cfg.max_batch_records,
                max_message_bytes=self.cfg.max_message_bytes,
                max_in_flight_batches=self.cfg.max_in_flight_batches,
                gateway_id=self.cfg.name,
                region=ident.region or "",
                gateway_signing_certificate=self.signing_cert_der,
                member_registry=self.member_registry(),
                audit_origin=origin_for(self.cfg.name),
                lists_origin=_lists_origin(self.cfg.name),
                origin_signing_certificates=self._origin_signers(now),
                checkpoint_size=latest.size if (latest := self.store.latest_checkpoint(node)) else 0,
            )
        except BatchError as err:
            abort(context, err)

    def _origin_signers(self, now: datetime) -> list[bytes]:
        """DIST-080: the signing certificates a node needs for origin envelopes (DIST-032): every
        node-signing certificate held and not revoked, and the gateway's (imported entries)."""
        held = [
            sc.cert_der
            for sc in self.store.signing_certs()
            if check_signing_cert(sc.cert_der, self.keys.trust, sc.region, now)[1].reason != "CERT_REVOKED"
        ]
        return held + ([self.signing_cert_der] if self.signing_cert_der else [])

    def Heartbeat(self, request: pb.HeartbeatRequest, context: grpc.ServicerContext) -> pb.HeartbeatResponse:
        try:
            _, node = self._node(context)
            check_int64(
                backlog=request.backlog,
                last_source_seq=request.last_source_seq,
                applied_list_seq=request.applied_list_seq,
                node_time_unix_ms=request.node_time_unix_ms,
            )
        except BatchError as err:
            abort(context, err)
        now = self.clock()
        try:
            self.store.heartbeat(node, request.backlog, request.last_source_seq, rfc3339(now))
        except WRITE_ERRORS as exc:  # SYNC-052: the bookkeeping failed; the node still gets its answer
            if self.write_alarm is not None:
                self.write_alarm.failed("heartbeat", exc)
        else:
            if self.write_alarm is not None:
                self.write_alarm.ok("heartbeat")
        if self.on_applied is not None:  # DIST-043: the node's list replica cursor
            self.on_applied(node, request.applied_list_seq)
        if self.on_node_time is not None:  # DIST-023: the node's clock vouches for (or against) ours
            self.on_node_time(node, request.node_time_unix_ms, now)
        self.presence.seen(node, now)
        return pb.HeartbeatResponse(
            committed_seq=self.store.committed_seq(node), server_time_unix_ms=int(now.timestamp() * 1000)
        )

    def _lock_for(self, node: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(node, threading.Lock())

    def Push(
        self, request_iterator: Iterator[pb.PushRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.PushResponse]:
        try:
            ident, node = self._node(context)
        except BatchError as err:
            abort(context, err)
        lock = self._lock_for(node)
        if not lock.acquire(timeout=self.cfg.stream_lock_timeout_s):
            abort(
                context,
                BatchError(
                    "ABORTED",
                    "STREAM_BUSY",
                    f"another Push stream of {node} is open; one stream per node, retry after it closes",
                    rule="SYNC-015",
                ),
            )
        self.presence.open(node, self.clock())
        try:
            yield from self._push(ident, request_iterator, context)
        finally:
            self.presence.close(node, self.clock())
            lock.release()

    def _push(self, ident: Identity, request_iterator, context):
        node = ident.member  # SEC-092: the member id, checked by _node
        region = ident.region
        assert node is not None and region is not None, "the gate refuses a node certificate without a region"
        pipe: queue.Queue = queue.Queue(maxsize=max(1, self.cfg.max_in_flight_batches))
        in_flight: dict[int, bytes] = {}
        guard = threading.Lock()
        done = threading.Event()
        peer = StreamTrust(ident)

        def reader() -> None:
            expected_after = self.store.committed_seq(node)
            try:
                for req in request_iterator:
                    if done.is_set():
                        return
                    if self.stopping.is_set():
                        raise BatchError(
                            "UNAVAILABLE",
                            "SHUTTING_DOWN",
                            "the gateway is shutting down; unacked batches were not decided, resend them",
                        )
                    refusal = self.checkpointer.refusal() if self.checkpointer else ""
                    if refusal:
                        raise BatchError(
                            "UNAVAILABLE",
                            "AUDIT_UNSEALED",
                            refusal.removeprefix("AUD-040 AUDIT_UNSEALED: "),
                            rule="AUD-040",
                        )
                    self._still_trusted(peer)
                    arrived = time.perf_counter()
                    check_int64(backlog=req.backlog)
                    records = to_incoming(req, self.cfg.max_batch_records)
                    now = self.clock()
                    grants = self.keys.grants(node, self.store.signing_certs(node), now)
                    with guard:
                        snapshot = dict(in_flight)
                    pending = self.ingest.start(
                        node,
                        region,
                        records,
                        expected_after,
                        grants,
                        now.date(),
                        snapshot.get,
                        checkpoint=req.checkpoint,
                        consistency=list(req.consistency_proof),
                    )
                    expected_after = pending.next_expected - 1
                    with guard:
                        for pos in pending.positions:
                            in_flight[records[pos].source_seq] = records[pos].payload_sha
                    pipe.put((req.batch_id, req.backlog, records, pending, arrived))
                pipe.put(None)
            except BatchError as err:
                pipe.put(err)
            except Exception as exc:  # a broken stream or our bug: end the call, never hang
                pipe.put(exc)

        t = threading.Thread(target=reader, name=f"push-{node}", daemon=True)
        t.start()
        try:
            while True:
                item = pipe.get()
                if item is None:
                    return
                if isinstance(item, BatchError):
                    if self.events is not None:
                        self.events.push_refused(node, item.reason, item.message)
                    abort(context, item)
                if isinstance(item, Exception):
                    if context.is_active():
                        raise item
                    return
                batch_id, backlog, records, pending, arrived = item
                try:
                    decisions, committed = self.ingest.finish(pending)
                except BatchError as err:  # a bound (REJECT_BUDGET): nothing of this batch was committed
                    abort(context, err)
                except Fenced as exc:  # lost the writer lease mid-stream: nothing of this batch was written
                    abort(context, BatchError("UNAVAILABLE", "GATEWAY_STANDBY", str(exc), hint=exc.hint))
                except WRITE_ERRORS as exc:  # SYNC-052: disk full: nothing of this batch was committed
                    if self.write_alarm is not None:
                        self.write_alarm.failed("ingest", exc)
                    abort(context, store_write_failed(exc))
                if self.write_alarm is not None:
                    self.write_alarm.ok("ingest")
                with guard:
                    for r in records:
                        in_flight.pop(r.source_seq, None)
                now = self.clock()
                self.store.report_backlog(node, backlog, rfc3339(now))
                self.presence.seen(node, now)
                # AUD-035 (1.1): every response carries a checkpoint, also one whose batch added no leaf
                size = max((d.log_index + 1 for d in decisions), default=0)
                receipt = self.checkpointer.covering(size) if self.checkpointer else ""
                if self.events is not None:
                    self.events.batch(node, batch_id, decisions, committed, time.perf_counter() - arrived)
                yield pb.PushResponse(
                    batch_id=batch_id, acks=[to_ack(d) for d in decisions], committed_seq=committed, checkpoint=receipt
                )
        finally:
            done.set()
