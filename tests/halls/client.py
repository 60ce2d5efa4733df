"""A hall system's side, for tests and the benchmark: it holds only its own credentials (a
department certificate, or a token) and the CA certificate — never a file of the node."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from creditx.pki.tls import channel_credentials
from creditx.standard.actions import ACTION_PAYLOAD_TYPE, action_payload
from creditx.standard.envelope import Envelope, Signer, sign_envelope
from creditx.v1 import envelope_pb2
from creditx.v1 import lists_pb2 as pb


def grpc_channel(target: str, ca: Path, cert: Path | None = None, key: Path | None = None) -> grpc.Channel:
    if cert is None:
        creds = grpc.ssl_channel_credentials(root_certificates=Path(ca).read_bytes())
    else:
        assert key is not None, "a client certificate needs its key"
        creds = channel_credentials(ca, cert, key)
    return grpc.secure_channel(target, creds)


def https(base: str, ca: Path, cert: Path | None = None, key: Path | None = None) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    host, port = base.removeprefix("https://").rsplit(":", 1)
    return http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)


def post(conn: http.client.HTTPSConnection, path: str, body: object, token: str = "") -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request("POST", path, json.dumps(body, ensure_ascii=False).encode(), headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")


@dataclass(frozen=True)
class SignedReport:
    envelope: Envelope
    cert_der: bytes
    cert_pem: str

    def pb(self) -> pb.ActionReport:
        e = self.envelope
        return pb.ActionReport(
            report=envelope_pb2.Envelope(
                payload_type=e.payload_type,
                payload=e.payload,
                signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in e.signatures],
            ),
            certificate=self.cert_der,
        )

    def json(self) -> dict:
        return {"report": self.envelope.to_json_obj(), "certificate": self.cert_pem}


def signed_report(
    cert: Path,
    key: Path,
    *,
    report_id: str,
    check_id: str,
    measure_id: str,
    action: str = "applied",
    reason: str = "",
    matter: str = "ZFCG-GYS-001",
    department: str = "CZ",
) -> SignedReport:
    signer = Signer(serialization.load_pem_private_key(Path(key).read_bytes(), None))
    payload = action_payload(
        report_id=report_id,
        check_id=check_id,
        department=department,
        matter=matter,
        measure_id=measure_id,
        action=action,
        reason=reason,
        at=datetime.now(UTC),
    )
    pem = Path(cert).read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    return SignedReport(sign_envelope(ACTION_PAYLOAD_TYPE, payload, signer), der, pem.decode())
