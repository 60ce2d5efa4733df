"""The nodes the suite plays to test a gateway: certificates from the test CA, records from the
synthetic national templates, signed as chapter 03 says, pushed over mutual TLS."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from cryptography.hazmat.primitives.serialization import Encoding

from creditx.pki.ca import CertificateAuthority
from creditx.pki.files import read_cert, read_key
from creditx.pki.issue import NodeCredentials, issue_node
from creditx.pki.tls import channel_credentials
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, encode_record
from creditx.standard.synth import generate_rows
from creditx.v1 import audit_pb2_grpc, envelope_pb2, exchange_pb2, exchange_pb2_grpc, operator_pb2_grpc

RPC_TIMEOUT_S = 30.0


@dataclass
class Call:
    """A failed call as evidence: status code, creditx-reason, details."""

    code: str
    reason: str  # from the creditx-reason trailing metadata only (SYNC-016); "" when absent
    details: str

    @classmethod
    def of(cls, exc: grpc.RpcError) -> Call:
        from creditx.standard.call_status import reason_from

        meta = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
        return cls(exc.code().name, reason_from(meta, None), exc.details() or "")  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.code} creditx-reason={self.reason or '(none)'}: {self.details[:200]}"


class ScriptedNode:
    def __init__(self, address: str, creds: NodeCredentials, region: str, *, server_name: str = "") -> None:
        self.address, self.creds, self.region = address, creds, region
        opts = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        self.channel = grpc.secure_channel(
            address, channel_credentials(creds.ca, creds.auth_cert, creds.auth_key), opts
        )
        self.exchange = exchange_pb2_grpc.ExchangeStub(self.channel)
        self.audit = audit_pb2_grpc.AuditStub(self.channel)
        self.operator = operator_pb2_grpc.OperatorStub(self.channel)
        self.signer = Signer(read_key(creds.signing_key))
        self.seed = secrets.randbelow(1 << 30)  # fresh content per run: a reused gateway has seen old seeds

    @classmethod
    def issue(
        cls, ca: CertificateAuthority, region: str, out: Path, address: str, *, server_name: str = ""
    ) -> ScriptedNode:
        name = f"conformance-{region}-{secrets.token_hex(3)}"
        creds = issue_node(ca, region=region, name=name, at=datetime.now(UTC), days=2, out=out / name)
        return cls(address, creds, region, server_name=server_name)

    def close(self) -> None:
        self.channel.close()

    def signing_der(self) -> bytes:
        return read_cert(self.creds.signing_cert).public_bytes(Encoding.DER)

    def handshake(self) -> exchange_pb2.HandshakeResponse:
        req = exchange_pb2.HandshakeRequest(
            node_name=self.creds.dir.name,
            protocol_version=1,
            software="creditx-conformance",
            signing_certificates=[self.signing_der()],
        )
        return self.exchange.Handshake(req, timeout=RPC_TIMEOUT_S)

    def payloads(self, count: int, start_seq: int, *, record_type: str = "XZCF", region: str = "") -> list[bytes]:
        rows = generate_rows(self.region, record_type, count, seed=self.seed, today=dt.date.today())
        return [
            encode_record(
                Record(record_type, r.op, region or self.region, r.source_id, r.version, start_seq + i, r.fields)
            )
            for i, r in enumerate(rows)
        ]

    def signed(self, seq: int, payload: bytes) -> exchange_pb2.SignedRecord:
        env = sign_envelope(RECORD_PAYLOAD_TYPE, payload, self.signer)
        return exchange_pb2.SignedRecord(
            source_seq=seq,
            envelope=envelope_pb2.Envelope(
                payload_type=env.payload_type,
                payload=env.payload,
                signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
            ),
        )

    def push(self, batches: Sequence[Sequence[exchange_pb2.SignedRecord]]) -> list[exchange_pb2.PushResponse]:
        reqs = [exchange_pb2.PushRequest(batch_id=i + 1, records=list(b)) for i, b in enumerate(batches)]
        return list(self.exchange.Push(iter(reqs), timeout=RPC_TIMEOUT_S))


def with_seq(payload: bytes, seq: int, **changes: object) -> bytes:
    """The record of ``payload`` under another source_seq (and other top-level changes)."""
    obj = json.loads(payload)
    obj["source_seq"] = seq
    obj.update(changes)
    r = Record(obj["type"], obj["op"], obj["region"], obj["source_id"], obj["version"], seq, obj["fields"])
    return encode_record(r)


def ack_text(a: exchange_pb2.RecordAck) -> str:
    outcome = exchange_pb2.Outcome.Name(a.outcome)
    extra = f" {a.reason_code} [{a.requirement}]" if a.reason_code else ""
    return f"seq {a.source_seq}: {outcome}{extra} log_index={a.log_index}"
