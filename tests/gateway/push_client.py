"""A minimal node for gateway tests (the gateway must not import node/): build signed records
from synthetic rows, handshake, push batches over mutual TLS, read acks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

import grpc

from creditx.pki.files import read_cert, read_key
from creditx.pki.tls import channel_credentials
from creditx.standard.envelope import Signer, sign_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE, Record, encode_record
from creditx.standard.synth import generate_rows
from creditx.v1 import envelope_pb2, exchange_pb2_grpc
from creditx.v1 import exchange_pb2 as pb

TODAY = dt.date.today()


def trailers(err: grpc.RpcError) -> tuple[tuple[str, str | bytes], ...]:
    """The trailing metadata of a failed call as the (key, value) pairs it is at runtime."""
    # grpc-stubs types the entries as _Metadatum (.key/.value); at runtime they are (key, value) tuples
    return cast("tuple[tuple[str, str | bytes], ...]", err.trailing_metadata())


def payloads(
    region: str, count: int, *, start_seq: int = 1, record_type: str = "XZCF", seed: int = 1, invalid_share: float = 0.0
) -> list[bytes]:
    rows = generate_rows(region, record_type, count, seed=seed, invalid_share=invalid_share, today=TODAY)
    return [
        encode_record(Record(record_type, r.op, region, r.source_id, r.version, start_seq + i, r.fields))
        for i, r in enumerate(rows)
    ]


def signed(seq: int, payload: bytes, key, payload_type: str = RECORD_PAYLOAD_TYPE) -> pb.SignedRecord:
    env = sign_envelope(payload_type, payload, Signer(key))
    return pb.SignedRecord(
        source_seq=seq,
        envelope=envelope_pb2.Envelope(
            payload_type=env.payload_type,
            payload=env.payload,
            signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
        ),
    )


def reseq(payload: bytes, seq: int) -> bytes:
    """The same record under another source_seq (what a node does when it resends content)."""
    import json

    obj = json.loads(payload)
    obj["source_seq"] = seq
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class PushClient:
    def __init__(self, address: str, creds_dir_or_node, *, cert: Path | None = None, key: Path | None = None) -> None:
        n = creds_dir_or_node
        self.creds = n
        cert = cert or n.auth_cert
        key = key or n.auth_key
        self.channel = grpc.secure_channel(
            address, channel_credentials(n.ca, cert, key), options=[("grpc.ssl_target_name_override", "localhost")]
        )
        grpc.channel_ready_future(self.channel).result(timeout=10)
        self.stub = exchange_pb2_grpc.ExchangeStub(self.channel)
        self.signing_key = read_key(n.signing_key)

    def handshake(self, certs: list[bytes] | None = None) -> pb.HandshakeResponse:
        from cryptography.hazmat.primitives.serialization import Encoding

        if certs is None:
            certs = [read_cert(self.creds.signing_cert).public_bytes(Encoding.DER)]
        return self.stub.Handshake(
            pb.HandshakeRequest(
                node_name="test-node", protocol_version=1, software="tests/push_client", signing_certificates=certs
            ),
            timeout=10,
        )

    def push(self, batches: list[list[pb.SignedRecord]], backlog: int = 0) -> list[pb.PushResponse]:
        reqs = (pb.PushRequest(batch_id=i + 1, records=b, backlog=backlog) for i, b in enumerate(batches))
        return list(self.stub.Push(reqs, timeout=60))

    def batch(self, payloads_: list[bytes], start_seq: int = 1, key=None) -> list[pb.SignedRecord]:
        return [signed(start_seq + i, p, key or self.signing_key) for i, p in enumerate(payloads_)]

    def close(self) -> None:
        self.channel.close()


_BODY_FIELDS = {"XZCF": ("CF_CFJG", "CF_SJLY"), "XZXK": ("XK_XKJG", "XK_LYDW"), "LIST": ("MD_RDJG", "MD_SJLY")}


def department_payloads(
    member: str, count: int, *, start_seq: int = 1, record_type: str = "XZCF", seed: int = 1
) -> list[bytes]:
    """Province-level records decided by the department whose member id (its USCC, SEC-092) is
    ``member``: the generator's 370000 records with the deciding body and data source set to it."""
    from dataclasses import replace

    from creditx.standard.record import decode_record
    from creditx.standard.synth.members import OWN_NODE_DEPARTMENTS, department_uscc

    name = next(n for n in OWN_NODE_DEPARTMENTS if department_uscc(n) == member)
    body, source = _BODY_FIELDS[record_type]
    out = []
    for p in payloads("370000", count, start_seq=start_seq, record_type=record_type, seed=seed):
        rec = decode_record(p)
        fields = {**rec.fields, body: name, body + "DM": member, source: name, source + "DM": member}
        out.append(encode_record(replace(rec, fields=fields)))
    return out
