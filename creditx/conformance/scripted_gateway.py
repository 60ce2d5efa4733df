"""The gateway the suite plays to test a node: ``creditx.v1.Exchange`` over mutual TLS on port 0.

It decides each ``source_seq`` once (re-sends get the stored ack, SYNC-013), keeps every byte the
node sent (for the re-signing check), and follows a *script*: per connection attempt it can
refuse the handshake (``UNAVAILABLE`` / ``AUDIT_UNSEALED``), decide chosen records otherwise than
ACCEPTED (``outcomes``),, refuse the stream (``ABORTED`` /
``STREAM_BUSY``), drop the stream when a batch arrives (undecided), or decide a batch and drop
the stream instead of acking (the ack is lost after the commit). A step waits for its Push (a
sync with nothing to send leaves it to the next), and a drop for a stream that carries records. ``forget_after(k)`` makes it
a gateway restored from an older backup: its high-water mark falls back to ``k``.

Everything it sees is appended to ``events`` with a monotonic time stamp; the node checks read
those events, never the node's own state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509

from creditx.pki.tls import server_credentials
from creditx.standard.call_status import details, trailing
from creditx.v1 import exchange_pb2, exchange_pb2_grpc, lists_pb2_grpc


@dataclass
class Event:
    kind: str  # handshake, handshake_refused, push_open, push_refused, batch, drop, ack, heartbeat
    at: float
    data: dict = field(default_factory=dict)


@dataclass
class Step:
    """What the gateway does on one connection attempt (one Handshake and the Push that follows)."""

    refuse_handshake: str = ""  # reason code: answer UNAVAILABLE with it
    refuse_push: str = ""  # reason code: answer ABORTED with it (STREAM_BUSY)
    drop_on_batch: int = 0  # abort UNAVAILABLE when this batch (1-based) of the stream arrives, undecided
    lose_ack_of_batch: int = 0  # decide this batch, then abort instead of acking


class ScriptedGateway(exchange_pb2_grpc.ExchangeServicer):
    def __init__(self, *, region: str, gateway_id: str = "conformance-gw", max_batch_records: int = 5) -> None:
        self.region, self.gateway_id, self.max_batch_records = region, gateway_id, max_batch_records
        self.lock = threading.Condition()
        self.events: list[Event] = []
        self.decided: dict[int, exchange_pb2.RecordAck] = {}
        self.acked: dict[int, exchange_pb2.RecordAck] = {}  # per source_seq the last ack the node was sent
        self.script: list[Step] = []
        # source_seq -> (outcome, reason_code): decided so instead of ACCEPTED (SYNC-031 outcomes)
        self.outcomes: dict[int, tuple[Any, str]] = {}  # (exchange_pb2.Outcome, reason)
        self._step = Step()
        self._step_had_records = False
        self.signing_certs: list[bytes] = []

    # -- script and observation --------------------------------------------------------------
    def committed(self) -> int:
        n = 0
        while n + 1 in self.decided:
            n += 1
        return n

    def script_done(self) -> bool:
        """Every scripted step handed out and carried out (none waits for its Push)."""
        return not self.script and self._step == Step()

    def forget_after(self, k: int) -> None:
        """Act as a gateway restored from a backup taken when its mark was ``k``."""
        with self.lock:
            for seq in [s for s in self.decided if s > k]:
                del self.decided[seq]
            self._log("restore", committed=k)

    def wait_for(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not cond():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {what} within {timeout:.0f} s (gateway mark {self.committed()})")
                self.lock.wait(min(left, 0.5))

    def _log(self, kind: str, **data) -> None:
        self.events.append(Event(kind, time.monotonic(), data))
        self.lock.notify_all()

    # -- Exchange ----------------------------------------------------------------------------
    def Handshake(self, request, context):
        with self.lock:
            if self._step == Step() or self._step_had_records:  # else it waits for a Push with records
                self._step = self.script.pop(0) if self.script else Step()
                self._step_had_records = False
            if self._step.refuse_handshake:
                self._step, refused = Step(), self._step
                self._log("handshake_refused", reason=refused.refuse_handshake)
                context.set_trailing_metadata(trailing(refused.refuse_handshake))
                context.abort(grpc.StatusCode.UNAVAILABLE, details(refused.refuse_handshake, "scripted refusal"))
            self.signing_certs = list(request.signing_certificates)
            committed = self.committed()
            self._log(
                "handshake",
                committed=committed,
                node_name=request.node_name,
                protocol_version=request.protocol_version,
                certs=len(request.signing_certificates),
            )
        return exchange_pb2.HandshakeResponse(
            committed_seq=committed,
            max_batch_records=self.max_batch_records,
            max_message_bytes=1 << 20,
            max_in_flight_batches=1,
            gateway_id=self.gateway_id,
            region=self.region,
        )

    def Push(self, request_iterator, context):
        with self.lock:
            step = self._step
            if step.refuse_push:
                self._step = Step()
                self._log("push_refused", reason=step.refuse_push)
                context.set_trailing_metadata(trailing(step.refuse_push, "SYNC-015"))
                context.abort(grpc.StatusCode.ABORTED, details(step.refuse_push, "scripted refusal", rule="SYNC-015"))
            self._log("push_open")
        n = 0
        for req in request_iterator:
            n += 1
            with self.lock:
                self._step_had_records = True  # a drop whose batch did not come is used up all the same
                self._log(
                    "batch",
                    batch_id=req.batch_id,
                    seqs=[r.source_seq for r in req.records],
                    records=[(r.source_seq, r.envelope.SerializeToString(deterministic=True)) for r in req.records],
                )
                if n in (step.drop_on_batch, step.lose_ack_of_batch):
                    self._step = Step()  # carried out (a stream that ends sooner keeps it for the next)
                if step.drop_on_batch == n:
                    self._log("drop", decided=False)
                    context.abort(grpc.StatusCode.UNAVAILABLE, details("SHUTTING_DOWN", "scripted drop mid-batch"))
                acks = [self._decide(r) for r in req.records]
                committed = self.committed()
                if step.lose_ack_of_batch == n:
                    self._log("drop", decided=True)
                    context.abort(grpc.StatusCode.UNAVAILABLE, details("SHUTTING_DOWN", "scripted loss of the ack"))
                self._log("ack", batch_id=req.batch_id, committed=committed)
                self.acked.update((a.source_seq, a) for a in acks)
            yield exchange_pb2.PushResponse(batch_id=req.batch_id, acks=acks, committed_seq=committed)

    def _decide(self, rec: exchange_pb2.SignedRecord) -> exchange_pb2.RecordAck:
        expected = self.committed() + 1
        if rec.source_seq in self.decided:
            return self.decided[rec.source_seq]
        if rec.source_seq != expected:  # SYNC-011: not decided, not stored
            return exchange_pb2.RecordAck(
                source_seq=rec.source_seq,
                outcome=exchange_pb2.REJECTED,
                reason_code="SYNC_SEQ_GAP",
                requirement="SYNC-011",
                message=f"expected source_seq {expected}; resend in order from committed_seq + 1",
            )
        outcome, reason = self.outcomes.get(rec.source_seq, (exchange_pb2.ACCEPTED, ""))
        ack = exchange_pb2.RecordAck(
            source_seq=rec.source_seq,
            outcome=outcome,
            reason_code=reason,
            requirement="REC-020" if outcome == exchange_pb2.REJECTED else "",
            message="scripted rejection" if outcome == exchange_pb2.REJECTED else "",
        )
        self.decided[rec.source_seq] = ack
        return ack

    def Heartbeat(self, request, context):
        with self.lock:
            self._log("heartbeat", backlog=request.backlog, last=request.last_source_seq)
            committed = self.committed()
        return exchange_pb2.HeartbeatResponse(committed_seq=committed, server_time_unix_ms=int(time.time() * 1000))


# a gateway lets nodes ping every few seconds (they find a black-holed connection so); without
# this gRPC's default answers a node's keepalive with GOAWAY "too many pings"
KEEPALIVE_OPTIONS = (
    ("grpc.http2.min_ping_interval_without_data_ms", 4000),
    ("grpc.keepalive_permit_without_calls", 1),
)


def serve(
    gw: ScriptedGateway, *, cert: Path, key: Path, ca: Path, lists: lists_pb2_grpc.DistributionServicer | None = None
) -> tuple[grpc.Server, str]:
    """Exchange (and ``lists``' Distribution, on the same port as a gateway serves both) over mTLS."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=12), options=KEEPALIVE_OPTIONS)
    exchange_pb2_grpc.add_ExchangeServicer_to_server(gw, server)
    if lists is not None:
        lists_pb2_grpc.add_DistributionServicer_to_server(lists, server)
    port = server.add_secure_port("127.0.0.1:0", server_credentials(cert, key, ca, reload=False))
    server.start()
    return server, f"127.0.0.1:{port}"


def signing_cert_keys(ders: list[bytes]) -> dict[str, object]:
    from creditx.standard.suites import key_id

    out: dict[str, object] = {}
    for der in ders:
        pub = x509.load_der_x509_certificate(der).public_key()
        out[key_id(pub)] = pub
    return out
