"""The thin gRPC shell around :mod:`creditx.node.sync.state` (ADR 0003).

:class:`SyncRunner` turns the machine's actions into I/O — the Handshake call, the Push stream,
reading batches from and writing acks to the :class:`~creditx.node.store.NodeStore` — and feeds what
happened back as events. It decides nothing itself. Wire types stop here: acks become
:class:`~creditx.node.store.AckRow` before they reach the store.

Every unary call has a deadline; the Push stream is bounded by the machine's ack timeout; the
channel has keepalive and message-size limits (ADR 0013). Recording a batch's acks
and the gateway's committed_seq is one store transaction (NODE-003), done *before* the machine
hears of the ack, so a crash between the two only causes an idempotent re-send.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from creditx.node.alarms import CRITICAL, WARNING, Alarms
from creditx.node.call_status import call_reason
from creditx.node.record_signing import signatures
from creditx.node.store import AckRow, NodeStore, OutboxItem
from creditx.node.sync import state as st
from creditx.node.sync.outbox_log import OutboxLog
from creditx.node.sync.targets import Targets
from creditx.standard.envelope import Signer
from creditx.standard.record import RECORD_PAYLOAD_TYPE
from creditx.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc

log = logging.getLogger(__name__)

FATAL_CODES = {
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNIMPLEMENTED,
}
SOFTWARE = "creditx-node/0.1.0"
_CLOSE = object()


@dataclass(frozen=True)
class ChannelSettings:
    target: str
    credentials: grpc.ChannelCredentials
    server_name: str = ""  # TLS name to check, when it differs from the target host
    rpc_timeout: float = 8.0  # deadline of every unary call
    keepalive_time_ms: int = 5_000  # SYNC-043: a ping this long after the last one, on an open call
    keepalive_timeout_ms: int = 3_000  # SYNC-043: no answer to the ping this long: the connection is dead
    max_message_bytes: int = 8 * 1024 * 1024
    cert_validity: tuple[float, float] | None = None  # the node's own certificate (notBefore, notAfter), epoch s
    connect_timeout_ms: int = 5_000  # SYNC-043: TCP + TLS connect; gRPC's own default is 20 s

    def clock_problem(self, now: float) -> str:
        """SEC-080: why the node's clock, not the network, stops the connection ("" if it does not)."""
        if self.cert_validity is None:
            return ""
        nb, na = self.cert_validity
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        if now < nb:
            return (
                f"this node's clock reads {time.strftime(fmt, time.gmtime(now))}, before its own certificate's "
                f"notBefore {time.strftime(fmt, time.gmtime(nb))}: the clock is {nb - now:.0f} s slow; "
                "sync it (NTP) and the node connects by itself (SEC-080)"
            )
        if now > na:
            return (
                f"this node's clock reads {time.strftime(fmt, time.gmtime(now))}, after its own certificate's "
                f"notAfter {time.strftime(fmt, time.gmtime(na))}: either the clock is fast or the certificate "
                "expired; check the clock (NTP) first, then renew the certificate (SEC-080)"
            )
        return ""

    def open(self, target: str = "") -> grpc.Channel:
        """A channel to ``target`` (default: :attr:`target`), with these settings."""
        options: list[tuple[str, int | str]] = [
            ("grpc.keepalive_time_ms", self.keepalive_time_ms),
            ("grpc.keepalive_timeout_ms", self.keepalive_timeout_ms),
            # gRPC ≥ 1.5x waits grpc.http2.ping_timeout_ms (default 60 s) for any ping's ack,
            # whatever keepalive_timeout_ms says: without this a frozen peer costs 65 s (SYNC-043)
            ("grpc.http2.ping_timeout_ms", self.keepalive_timeout_ms),
            ("grpc.keepalive_permit_without_calls", 0),
            ("grpc.http2.max_pings_without_data", 0),
            # gRPC takes its connect deadline from this setting (and its reconnect backoff from
            # grpc.initial/max_reconnect_backoff_ms): a peer that accepts and never answers the
            # TLS handshake is given up after connect_timeout_ms, not 20 s (SYNC-043)
            ("grpc.min_reconnect_backoff_ms", self.connect_timeout_ms),
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
        ]
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return grpc.secure_channel(target or self.target, self.credentials, options=options)


CLOCK_WARN_SKEW_S = 30.0  # SEC-080: default of limits.clock_warn_skew_s
MAX_CLOCK_SKEW_S = 1800.0  # SEC-081: default of limits.max_clock_skew_s


def clock_verdict(skew: float, warn_s: float = CLOCK_WARN_SKEW_S, max_s: float = MAX_CLOCK_SKEW_S) -> tuple[str, str]:
    """SEC-080/081: (severity, message) for a measured skew (gateway time − node time, s):
    ("", "") within ``warn_s``, a warning up to ``max_s``, critical beyond (the node refuses to sync)."""
    if abs(skew) <= warn_s:
        return "", ""
    side = "behind" if skew > 0 else "ahead of"
    if abs(skew) <= max_s:
        return WARNING, (
            f"this node's clock is {abs(skew):.0f} s {side} the gateway's (tolerated up to "
            f"limits.max_clock_skew_s = {max_s:.0f} s): sync it (NTP) (SEC-080)"
        )
    return CRITICAL, (
        f"this node's clock is {abs(skew):.0f} s {side} the gateway's, beyond limits.max_clock_skew_s = "
        f"{max_s:.0f} s: the node does not sync until its clock is corrected (NTP); it resumes by itself (SEC-081)"
    )


def _failed(exc: grpc.RpcError, what: str) -> st.Failed:
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return st.Failed(f"{what}: {code.name}: {details}", fatal=code in FATAL_CODES, reason=call_reason(exc))


_NO_LEAF = ("SYNC_SEQ_GAP", "SYNC_SEQ_CONFLICT")  # not decided: no audit leaf (SYNC-011/012)


def _ack_row(a: exchange_pb2.RecordAck) -> AckRow:
    return AckRow(
        a.source_seq,
        exchange_pb2.Outcome.Name(a.outcome),
        a.reason_code,
        a.requirement,
        a.field,
        a.message,
        bytes(a.fingerprint),
        a.log_index,
        a.decided_at,
        # SYNC-035: true from a 1.1 gateway; false says nothing of a 1.0 one except for the two
        # reasons that never have a leaf
        True if a.logged else (False if a.reason_code in _NO_LEAF else None),
        json.dumps(
            [
                {"reason_code": w.reason_code, "requirement": w.requirement, "field": w.field, "message": w.message}
                for w in a.warnings
            ],
            ensure_ascii=False,
        )
        if a.warnings
        else "",
    )


class _PushStream:
    """One Push call: a request queue feeding gRPC and a reader thread posting events."""

    def __init__(
        self,
        stub: exchange_pb2_grpc.ExchangeStub,
        events: queue.Queue,
        on_error: Callable[[grpc.RpcError], None] = lambda exc: None,
    ) -> None:
        self._on_error = on_error
        self._requests: queue.Queue = queue.Queue()
        self._closing = threading.Event()
        self._call = stub.Push(iter(self._requests.get, _CLOSE))
        self._reader = threading.Thread(target=self._read, args=(events,), daemon=True, name="push-reader")
        self._reader.start()

    def _read(self, events: queue.Queue) -> None:
        try:
            for resp in self._call:
                events.put(resp)
            if not self._closing.is_set():
                events.put(st.Failed("gateway ended the Push stream"))
        except grpc.RpcError as exc:
            if not self._closing.is_set():
                self._on_error(exc)
                events.put(_failed(exc, "Push"))

    def send(self, req: exchange_pb2.PushRequest) -> None:
        self._requests.put(req)

    def close(self) -> None:
        self._closing.set()
        self._requests.put(_CLOSE)
        self._call.cancel()
        self._reader.join(timeout=5)


class SyncRunner:
    """Runs sync sessions for one node. Not thread-safe: call from one scheduler job at a time."""

    def __init__(
        self,
        store: NodeStore,
        settings: ChannelSettings,
        machine: st.SyncMachine,
        *,
        node_name: str,
        signing_certs: Callable[[], list[bytes]],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_gateway_cert: Callable[[bytes], None] | None = None,
        on_registry: Callable[[bytes], None] | None = None,
        on_origin_certs: Callable[[list[bytes]], None] | None = None,
        outbox_log: OutboxLog | None = None,
        signer: Signer | None = None,
        alarms: Alarms | None = None,
        clock_warn_skew_s: float = CLOCK_WARN_SKEW_S,
        max_clock_skew_s: float = MAX_CLOCK_SKEW_S,
        targets: Targets | None = None,
    ) -> None:
        self.store, self.settings, self.machine = store, settings, machine
        # SYNC-018: which of several gateways on one database to call (None: settings.target)
        self.targets = targets
        self._channel_target = ""
        self.on_gateway_cert = on_gateway_cert
        self.on_registry = on_registry  # SEC-039: the signed member registry from each handshake
        self.on_origin_certs = on_origin_certs  # DIST-080: signing certificates of origin envelopes
        self.node_name, self.signing_certs = node_name, signing_certs
        self.clock, self.wall = clock, wall
        self._channel: grpc.Channel | None = None
        self._stream: _PushStream | None = None
        self._events: queue.Queue = queue.Queue()
        self._channel_lock = threading.Lock()  # the heartbeat job shares the channel
        self._contact = threading.Event()  # NODE-015: the gateway answered on another path
        self.outbox_log = outbox_log  # set: batches are pushed batch-signed (SIG-040)
        self.signer = signer  # NODE-051: signs, once, a record intake stored unsigned when pushed as an envelope
        self._checkpoint_size = 0  # SYNC-063: size of the last checkpoint the gateway holds or was sent
        self.alarms = alarms if alarms is not None else Alarms()
        self.clock_warn_skew_s, self.max_clock_skew_s = clock_warn_skew_s, max_clock_skew_s
        self.skew: float | None = None  # gateway time − node time, from the last heartbeat
        self._heartbeat_failure: st.Failed | None = None
        self._heartbeat_answered = False  # a 1.0 gateway sends no server time: measured once is enough

    def _stub(self) -> exchange_pb2_grpc.ExchangeStub:
        with self._channel_lock:
            target = self.gateway
            if self._channel is not None and self._channel_target != target:
                self._channel.close()  # SYNC-018: the writer moved
                self._channel = None
            if self._channel is None:
                self._channel = self.settings.open(target)
                self._channel_target = target
        return exchange_pb2_grpc.ExchangeStub(self._channel)

    @property
    def gateway(self) -> str:
        """The gateway address calls go to now."""
        return self.targets.current() if self.targets is not None else self.settings.target

    def _note_failure(self, exc: grpc.RpcError) -> None:
        """SYNC-018: after a failed call, the next one may go to another configured gateway."""
        if self.targets is not None:
            self.targets.failed_call(exc)

    def close(self) -> None:
        if self._stream:
            self._stream.close()
            self._stream = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def contact(self) -> None:
        """NODE-015: any successful contact with the gateway (thread-safe; applied by sync_once)."""
        self._contact.set()

    def retry_at_wall(self) -> float | None:
        """Wall-clock time of the next retry when backing off (for the scheduler)."""
        if self.machine.state is st.State.BACKOFF:
            return self.wall() + max(0.0, self.machine.retry_at - self.clock())
        return None

    def sync_once(self) -> st.State:
        """Run one session until caught up or backing off. Returns the machine's state."""
        if self.machine.state is not st.State.IDLE and self.machine.state is not st.State.BACKOFF:
            raise st.SyncStateError("sync_once called while a session is running")
        if self._contact.is_set():  # set by heartbeat / list follower threads; applied on this one
            self._contact.clear()
            self.machine.contact(self.clock())
        try:
            pending = self._feed(st.Wake(self.store.first_unacked(), self.store.last_seq()))
            while pending:
                action = pending.pop(0)
                more = self._do(action)
                if more is None:
                    return self.machine.state
                pending.extend(more)
        except sqlite3.Error as exc:
            # A failed local write (disk full) ends the session like a network failure: the
            # machine backs off instead of staying STREAMING, and the next pass resumes from
            # the outbox (what was not recorded is resent and answered as a replay, SYNC-013).
            return self._local_failure(exc)
        return self.machine.state

    def _local_failure(self, exc: sqlite3.Error) -> st.State:
        if self._stream:
            self._stream.close()
            self._stream = None
        error = f"local store: {type(exc).__name__}: {exc} (retrying with backoff; free disk space)"
        log.error("sync: %s", error)
        self.alarms.raise_("sync_store_write", CRITICAL, f"upward sync cannot write: {error}")
        if self.machine.state not in (st.State.IDLE, st.State.BACKOFF):
            self._feed(st.Failed(error))
        try:
            self.store.set_state(last_error=error, last_error_at=self.wall())
        except sqlite3.Error:
            pass
        return self.machine.state

    def _feed(self, ev: st.Event) -> list[st.Action]:
        return self.machine.handle(ev, self.clock())

    def _do(self, a: st.Action) -> list[st.Action] | None:
        if isinstance(a, st.Connect):
            return self._feed(self._handshake())
        if isinstance(a, st.OpenStream):
            self._events = queue.Queue()
            self._stream = _PushStream(self._stub(), self._events, self._note_failure)
            return []
        if isinstance(a, st.SendBatch):
            return self._send(a)
        if isinstance(a, st.AwaitAcks):
            return self._await(a)
        if isinstance(a, st.CloseStream):
            if self._stream:
                self._stream.close()
                self._stream = None
            return []
        if isinstance(a, st.Backoff):
            self.store.set_state(
                last_error=a.error, last_error_reason=a.reason, last_error_at=self.wall(), gateway_reachable=False
            )
            log.warning("sync failed, retrying in %.1fs: %s", a.until - self.clock(), a.error)
            return None
        if isinstance(a, st.Done):
            self.store.set_state(last_sync_at=self.wall(), gateway_reachable=True, last_error="", last_error_reason="")
            self.alarms.clear("sync_store_write")  # SYNC-051: written again: resumed by itself
            return None
        raise st.SyncStateError(f"unknown action {a!r}")

    def _handshake(self) -> st.Event:
        if not self._heartbeat_answered and self.heartbeat() is None:  # SEC-081: measure the clock first
            return self._heartbeat_failure or st.Failed("Heartbeat failed")
        if (
            self.skew is not None
            and clock_verdict(self.skew, self.clock_warn_skew_s, self.max_clock_skew_s)[0] == CRITICAL
        ):
            return st.Failed(f"Handshake refused by this node: {self._clock_alarm(self.skew)}", fatal=False)
        req = exchange_pb2.HandshakeRequest(
            node_name=self.node_name, protocol_version=1, software=SOFTWARE, signing_certificates=self.signing_certs()
        )
        try:
            resp = self._stub().Handshake(req, timeout=self.settings.rpc_timeout)
        except grpc.RpcError as exc:
            self._note_failure(exc)
            return self._call_failed(exc, "Handshake")
        self.store.set_state(
            committed_seq=resp.committed_seq,
            gateway_id=resp.gateway_id,
            last_handshake_at=self.wall(),
            gateway_reachable=True,
        )
        self._pin_origins(resp.audit_origin, resp.lists_origin)
        self._checkpoint_size = resp.checkpoint_size
        if resp.gateway_signing_certificate and self.on_gateway_cert is not None:
            self.on_gateway_cert(resp.gateway_signing_certificate)
        if resp.origin_signing_certificates and self.on_origin_certs is not None:
            self.on_origin_certs(list(resp.origin_signing_certificates))
        if resp.member_registry and self.on_registry is not None:
            self.on_registry(resp.member_registry)
        return st.HandshakeOk(
            resp.committed_seq, resp.max_batch_records, resp.max_message_bytes, resp.max_in_flight_batches
        )

    def _pin_origins(self, audit: str, lists: str) -> None:
        """AUD-020 / DIST-051 (1.1): the log origins of the first handshake that names them are
        pinned; a gateway naming others later keeps the pinned ones (its checkpoints then fail
        WRONG_ORIGIN) and is logged."""
        state = self.store.get_state()
        for key, offered in (("audit_origin", audit), ("lists_origin", lists)):
            pinned = state.get(key)
            if offered and not pinned:
                self.store.set_state(**{key: offered})
            elif offered and offered != pinned:
                log.error("gateway now names %s %r; %r stays pinned (AUD-020, DIST-051)", key, offered, pinned)

    def _send(self, a: st.SendBatch) -> list[st.Action]:
        # Leave room for the PushRequest framing around the records (NODE-011).
        items = self.store.load_batch(a.from_seq, a.max_records, max(1, a.max_bytes - 1024))
        if not items:
            raise st.SyncStateError(f"outbox has no record {a.from_seq} to send")
        while True:
            req, size = self._request(a.batch_id, items)
            if len(items) == 1 or req.ByteSize() <= a.max_bytes - 64:
                break
            items = items[: len(items) * 3 // 4]  # the batch suite's paths made it too big
        self._checkpoint_size = size or self._checkpoint_size
        assert self._stream is not None
        self._stream.send(req)
        self.store.mark_sent(a.from_seq, len(items), self.wall())
        return self._feed(st.BatchSent(a.batch_id, a.from_seq, len(items)))

    def _request(self, batch_id: int, items: list) -> tuple[exchange_pb2.PushRequest, int]:
        """The PushRequest of ``items``: v1.0 envelopes, or batch-signed (one checkpoint for the
        batch, each record's inclusion path as its signature, SIG-042/043); and the checkpoint size."""
        backlog = max(0, self.machine.last_seq - items[-1].source_seq)
        if self.outbox_log is None:
            items = self._signed(items)
            sigs = [[envelope_pb2.Signature(**s) for s in i.signatures] for i in items]
            extra: dict = {}
            size = 0
        else:
            sb = self.outbox_log.for_batch(items[0].source_seq, items[-1].source_seq, self._checkpoint_size)
            sigs = [[envelope_pb2.Signature(keyid=sb.keyid, suite=sb.suite, sig=p)] for p in sb.paths]
            extra = {"checkpoint": sb.checkpoint, "consistency_proof": sb.consistency}
            size = sb.size
        records = [
            exchange_pb2.SignedRecord(
                source_seq=i.source_seq,
                envelope=envelope_pb2.Envelope(payload_type=RECORD_PAYLOAD_TYPE, payload=i.payload, signatures=s),
            )
            for i, s in zip(items, sigs, strict=True)
        ]
        return exchange_pb2.PushRequest(batch_id=batch_id, records=records, backlog=backlog, **extra), size

    def _signed(self, items: list[OutboxItem]) -> list[OutboxItem]:
        """NODE-051: records intake stored unsigned (record_suite "batch") get their v1.0
        signature now, once: it is stored and every re-send carries it (NODE-002)."""
        unsigned = [i for i in items if not i.signatures]
        if not unsigned:
            return items
        if self.signer is None:
            raise st.SyncStateError(
                f"outbox record {unsigned[0].source_seq} has no signature and this sync has no signing key "
                'to push it as an envelope; push it batch-signed (record_suite "batch")'
            )
        stored = self.store.add_signatures({i.source_seq: signatures(i.payload, self.signer) for i in unsigned})
        return [OutboxItem(i.source_seq, i.payload, stored[i.source_seq]) if not i.signatures else i for i in items]

    def _await(self, a: st.AwaitAcks) -> list[st.Action]:
        last = self.store.last_seq()
        if last > self.machine.last_seq:  # new data arrived while streaming: extend the session
            more = self._feed(st.NewData(last))
            if more and not isinstance(more[0], st.AwaitAcks):
                return more
        try:
            got = self._events.get(timeout=max(0.0, a.deadline - self.clock()))
        except queue.Empty:
            return self._feed(st.Tick())
        if isinstance(got, st.Failed):
            return self._feed(got)
        # NODE-003: acks and committed_seq durable first, then the machine advances.
        self.store.record_acks([_ack_row(x) for x in got.acks], got.committed_seq, self.wall())
        self.alarms.clear("sync_store_write")
        return self._feed(st.Acked(got.batch_id, got.committed_seq))

    def heartbeat(self, applied_list_seq: int = 0) -> exchange_pb2.HeartbeatResponse | None:
        """Report the backlog (records not yet acknowledged) and the list replica's applied
        list_seq (DIST-043); returns None when unreachable."""
        last = self.store.last_seq()
        req = exchange_pb2.HeartbeatRequest(
            backlog=max(0, last - self.store.first_unacked() + 1),
            last_source_seq=last,
            applied_list_seq=applied_list_seq,
            node_time_unix_ms=int(self.wall() * 1000),  # DIST-023: a witness for the gateway's expiry clock
        )
        try:
            resp = self._stub().Heartbeat(req, timeout=self.settings.rpc_timeout)
        except grpc.RpcError as exc:
            self._note_failure(exc)
            failed = self._heartbeat_failure = self._call_failed(exc, "Heartbeat")
            self.store.set_state(
                gateway_reachable=False,
                last_error=failed.error,
                last_error_reason=failed.reason,
                last_error_at=self.wall(),
            )
            return None
        self.contact()
        self._heartbeat_answered = True
        now = self.wall()
        skew = resp.server_time_unix_ms / 1000 - now if resp.server_time_unix_ms else 0.0
        if resp.server_time_unix_ms:
            self.skew = skew
            self._clock_alarm(skew)
        self.store.set_state(
            gateway_reachable=True, last_heartbeat_at=now, committed_seq=resp.committed_seq, clock_skew_s=round(skew, 3)
        )
        return resp

    def _call_failed(self, exc: grpc.RpcError, what: str) -> st.Failed:
        """A failed call; SEC-080: when the node's clock is outside its certificate's validity, the
        clock is named as the cause (a TLS failure would hide it) and raised as an alarm."""
        clock = self.settings.clock_problem(self.wall())
        if clock:
            log.error("%s", clock)
            self.alarms.raise_("clock_skew", CRITICAL, clock)
            return st.Failed(f"{what}: {clock}", fatal=False)
        return _failed(exc, what)

    def _clock_alarm(self, skew: float) -> str:
        """SEC-080/081: log, raise or clear the clock alarm for a measured skew; its message."""
        severity, message = clock_verdict(skew, self.clock_warn_skew_s, self.max_clock_skew_s)
        if severity:
            (log.error if severity == CRITICAL else log.warning)("%s", message)
            self.alarms.raise_("clock_skew", severity, message)
        else:
            self.alarms.clear("clock_skew")
        return message
