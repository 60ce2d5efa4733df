"""A scriptable fake gateway for node tests: exchange.proto over real mutual TLS on port 0
(ADR 0016). It verifies each envelope against the signing certificates presented in the
handshake, decides each source_seq exactly once (re-sends get the stored ack), and can be told
to drop the stream mid-batch, lose acks after committing, hold acks, reject given records, or
refuse the handshake."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures

import grpc
from cryptography import x509

from creditx.gateway.config import GatewayConfig
from creditx.pki.testing import Pki
from creditx.standard.call_status import trailing
from creditx.standard.envelope import Envelope, Signature, verify_envelope
from creditx.standard.record import decode_record
from creditx.standard.suites import key_id
from creditx.v1 import exchange_pb2, exchange_pb2_grpc

# The gateway's keepalive enforcement (SYNC-043): the nodes' pings every 5 s are permitted, as
# creditx.gateway.server allows them; grpc's default policy would answer GOAWAY too_many_pings.
PERMIT_NODE_PINGS = [
    ("grpc.http2.min_ping_interval_without_data_ms", GatewayConfig().min_ping_interval_s * 1000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class FakeGateway(exchange_pb2_grpc.ExchangeServicer):
    def __init__(self, *, max_batch_records=100, max_message_bytes=1 << 20, max_in_flight=2) -> None:
        self.limits = (max_batch_records, max_message_bytes, max_in_flight)
        self.lock = threading.Lock()
        self.decided: dict[int, exchange_pb2.RecordAck] = {}
        self.decide_count: Counter = Counter()
        self.batches: list[tuple[int, list[int], int]] = []
        self.heartbeats: list[exchange_pb2.HeartbeatRequest] = []
        self.handshakes: list[exchange_pb2.HandshakeRequest] = []
        self.keys: dict[str, object] = {}
        self.reject: set[int] = set()
        self.handshake_reason = ""  # creditx-reason of the refusal ("" sends none: v1.0)
        self.drop_after_records: int | None = None  # abort once this many records arrived (one-shot)
        self.lose_next_ack = False  # commit a batch, then abort instead of acking
        self.hold_acks: threading.Event | None = None
        self.handshake_error: grpc.StatusCode | None = None
        self._received = 0

    def committed(self) -> int:
        n = 0
        while n + 1 in self.decided:
            n += 1
        return n

    def Handshake(
        self, request: exchange_pb2.HandshakeRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.HandshakeResponse:
        if self.handshake_error:
            if self.handshake_reason:  # SYNC-016: the reason as data, not in the details
                context.set_trailing_metadata(trailing(self.handshake_reason))
            context.abort(self.handshake_error, "scripted refusal")
        self.handshakes.append(request)
        for der in request.signing_certificates:
            pub = x509.load_der_x509_certificate(der).public_key()
            self.keys[key_id(pub)] = pub
        b, m, w = self.limits
        return exchange_pb2.HandshakeResponse(
            committed_seq=self.committed(),
            max_batch_records=b,
            max_message_bytes=m,
            max_in_flight_batches=w,
            gateway_id="fake-gw",
            region="370100",
        )

    def _decide(self, rec: exchange_pb2.SignedRecord) -> exchange_pb2.RecordAck:
        if rec.source_seq in self.decided:
            return self.decided[rec.source_seq]
        env = Envelope(
            rec.envelope.payload_type,
            rec.envelope.payload,
            tuple(Signature(s.keyid, s.suite, s.sig) for s in rec.envelope.signatures),
        )
        verify_envelope(env, self.keys.get)
        assert decode_record(env.payload).source_seq == rec.source_seq
        if rec.source_seq in self.reject:
            ack = exchange_pb2.RecordAck(
                source_seq=rec.source_seq,
                outcome=exchange_pb2.REJECTED,
                reason_code="USCC_CHECKSUM",
                requirement="REC-ID-001",
                field="CF_XDR_SHXYM",
                message="check character is wrong; fix the USCC",
            )
        else:
            ack = exchange_pb2.RecordAck(source_seq=rec.source_seq, outcome=exchange_pb2.ACCEPTED)
        self.decided[rec.source_seq] = ack
        self.decide_count[rec.source_seq] += 1
        return ack

    def Push(
        self, request_iterator: Iterator[exchange_pb2.PushRequest], context: grpc.ServicerContext
    ) -> Iterator[exchange_pb2.PushResponse]:
        for req in request_iterator:
            seqs = [r.source_seq for r in req.records]
            with self.lock:
                self.batches.append((req.batch_id, seqs, req.backlog))
                self._received += len(seqs)
                if self.drop_after_records is not None and self._received >= self.drop_after_records:
                    self.drop_after_records = None
                    context.abort(grpc.StatusCode.UNAVAILABLE, "scripted drop mid-batch")
                acks = [self._decide(r) for r in req.records]
                committed = self.committed()
                if self.lose_next_ack:
                    self.lose_next_ack = False
                    context.abort(grpc.StatusCode.UNAVAILABLE, "scripted loss of the ack after commit")
            if self.hold_acks is not None:
                self.hold_acks.wait(30)
            yield exchange_pb2.PushResponse(batch_id=req.batch_id, acks=acks, committed_seq=committed)

    def Heartbeat(
        self, request: exchange_pb2.HeartbeatRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.HeartbeatResponse:
        self.heartbeats.append(request)
        return exchange_pb2.HeartbeatResponse(committed_seq=self.committed(), server_time_unix_ms=0)


def serve(fake: FakeGateway, pki: Pki) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=PERMIT_NODE_PINGS)
    exchange_pb2_grpc.add_ExchangeServicer_to_server(fake, server)
    creds = grpc.ssl_server_credentials(
        [(pki.gateway.tls_key.read_bytes(), pki.gateway.tls_cert.read_bytes())],
        root_certificates=pki.ca_cert.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    return server, f"127.0.0.1:{port}"
