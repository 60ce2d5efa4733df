"""Exchange standard 1.1 at the gateway, over real mutual TLS: receipts checkable from the ack and
the checkpoint alone (AUD-035: decided_at, logged, a checkpoint in every response), a rejected
record that decoded keeps its fingerprint (AUD-004), an envelope without signatures
(SIG-007), warnings in the ack (REC-041), the log origins and origin signing certificates in the
handshake (AUD-020, DIST-051, DIST-080)."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.serialization import Encoding

from creditx.pki.files import read_cert
from creditx.pki.tls import channel_credentials
from creditx.standard.checkpoint import parse_checkpoint
from creditx.standard.receipts import AckFacts, verify_receipt
from creditx.v1 import audit_pb2, audit_pb2_grpc
from creditx.v1 import exchange_pb2 as pb
from tests.gateway.push_client import PushClient, payloads

REGION = "370100"


def _facts(a: pb.RecordAck) -> AckFacts:
    return AckFacts(
        a.source_seq, pb.Outcome.Name(a.outcome), a.reason_code, a.fingerprint, a.log_index, a.decided_at, a.logged
    )


def _audit(gateway, node):
    import grpc

    ch = grpc.secure_channel(
        gateway.address,
        channel_credentials(node.ca, node.auth_cert, node.auth_key),
        options=[("grpc.ssl_target_name_override", "localhost")],
    )
    return ch, audit_pb2_grpc.AuditStub(ch)


def test_receipts_verify_from_ack_and_checkpoint_alone(gateway, pki):
    node = pki.nodes[REGION]
    c = PushClient(gateway.address, node)
    c.handshake()
    good = payloads(REGION, 3)
    other_region = payloads("370200", 1, start_seq=2)[0]  # decodes, then SEC_REGION_MISMATCH
    batch = [*c.batch(good[:1]), *c.batch([other_region], 2), *c.batch(good[2:3], 3), *c.batch(good[1:2], 9)]
    (resp,) = c.push([batch])
    acc, rej, acc3, gap = resp.acks
    assert (rej.outcome, rej.reason_code) == (pb.REJECTED, "SEC_REGION_MISMATCH")
    assert len(rej.fingerprint) == 32, "AUD-004: a rejected record that decoded carries its fingerprint"
    assert gap.reason_code == "SYNC_SEQ_GAP" and not gap.logged and gap.decided_at == ""
    assert all(a.logged and a.decided_at.endswith("Z") for a in (acc, rej, acc3))
    cp = parse_checkpoint(resp.checkpoint)[0]
    ch, audit = _audit(gateway, node)
    try:
        for a in (acc, rej, acc3):
            p = audit.GetInclusionProof(
                audit_pb2.InclusionProofRequest(index=a.log_index, tree_size=cp.size), timeout=10
            )
            leaf = verify_receipt(_facts(a), REGION, cp, list(p.hashes))  # raises if any ack field differs
            assert leaf == p.leaf_data
            assert json.loads(leaf)["fp"] == a.fingerprint.hex()
    finally:
        ch.close()
    # AUD-035: a response whose batch added no leaf still carries a checkpoint
    (only_gap,) = c.push([c.batch(good[1:2], 20)])
    assert only_gap.acks[0].reason_code == "SYNC_SEQ_GAP" and only_gap.checkpoint
    assert parse_checkpoint(only_gap.checkpoint)[0].size >= cp.size
    c.close()


def test_envelope_without_signatures_is_sig_no_signature(gateway, pki):
    c = PushClient(gateway.address, pki.nodes[REGION])
    c.handshake()
    rec = c.batch(payloads(REGION, 1))[0]
    del rec.envelope.signatures[:]
    (resp,) = c.push([[rec]])
    assert (resp.acks[0].reason_code, resp.acks[0].requirement) == ("SIG_NO_SIGNATURE", "SIG-007")
    c.close()


def test_catalogue_warning_reaches_the_sender(gateway, pki):
    c = PushClient(gateway.address, pki.nodes[REGION])
    c.handshake()
    obj = json.loads(payloads(REGION, 1)[0])
    obj["fields"]["CF_NR_FK"] = "2000000"  # 2 000 000 万元: looks like yuan (REC-041), accepted
    payload = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    (resp,) = c.push([c.batch([payload])])
    (ack,) = resp.acks
    assert ack.outcome == pb.ACCEPTED
    assert [(w.reason_code, w.requirement, w.field) for w in ack.warnings] == [
        ("AMOUNT_LIKELY_YUAN", "REC-041", "CF_NR_FK")
    ]
    c.close()


def test_handshake_names_log_origins_and_origin_signing_certificates(gateway, pki):
    node = pki.nodes[REGION]
    c = PushClient(gateway.address, node)
    hs = c.handshake()
    assert hs.audit_origin == f"{hs.gateway_id}/audit/v1" and hs.lists_origin == f"{hs.gateway_id}/lists/v1"
    own = read_cert(node.signing_cert).public_bytes(Encoding.DER)
    assert own in hs.origin_signing_certificates
    assert hs.gateway_signing_certificate in hs.origin_signing_certificates
    # the audit checkpoints are signed under that origin (AUD-020/027)
    ch, audit = _audit(gateway, node)
    try:
        note = audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=10).note
    finally:
        ch.close()
    assert parse_checkpoint(note)[0].origin == hs.audit_origin
    c.close()
