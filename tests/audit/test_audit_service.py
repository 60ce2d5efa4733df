"""A real gateway on port 0: push receipts carry a signed checkpoint (AUD-031), the Audit
service serves proofs that verify (AUD-010/012/026), and ingest fails closed (AUD-040)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from creditx.gateway.server import Gateway
from creditx.pki.files import read_cert
from creditx.standard.checkpoint import verifier_for, verify_checkpoint
from creditx.standard.merkle import leaf_hash, verify_consistency, verify_inclusion
from creditx.v1 import audit_pb2, audit_pb2_grpc
from tests.gateway.push_client import PushClient, payloads, trailers
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)


def _audit_stub(c: PushClient):
    return audit_pb2_grpc.AuditStub(c.channel)


def test_receipt_checkpoint_and_proofs_verify(gateway, pki):
    verifier = verifier_for("gateway/audit/v1", read_cert(pki.gateway.dir / "signing.crt").public_key())
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    r1, r2 = c.push(
        [
            c.batch(payloads("370100", 10, invalid_share=0.3)),
            c.batch(payloads("370100", 25, start_seq=11, seed=2), start_seq=11),
        ]
    )
    stub = _audit_stub(c)
    for resp in (r1, r2):
        cp = verify_checkpoint(resp.checkpoint, [verifier], origin="gateway/audit/v1")
        assert cp.size >= max(a.log_index for a in resp.acks) + 1
        for a in resp.acks:
            p = stub.GetInclusionProof(
                audit_pb2.InclusionProofRequest(index=a.log_index, tree_size=cp.size), timeout=10
            )
            leaf = json.loads(p.leaf_data)
            assert (leaf["seq"], leaf["fp"], leaf["node"]) == (a.source_seq, a.fingerprint.hex(), "370100")
            verify_inclusion(a.log_index, cp.size, leaf_hash(p.leaf_data), list(p.hashes), cp.root_hash)
    assert any(
        json.loads(stub.GetInclusionProof(audit_pb2.InclusionProofRequest(index=a.log_index), timeout=10).leaf_data)[
            "decision"
        ]
        == "REJECTED"
        for a in r1.acks
    )  # AUD-004: rejections too
    old = verify_checkpoint(r1.checkpoint, [verifier])
    latest = stub.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=10)
    new = verify_checkpoint(latest.note, [verifier])
    assert new.size == 36 and latest.verifier_key == verifier.to_string() and latest.refusal == ""
    cons = stub.GetConsistencyProof(audit_pb2.ConsistencyProofRequest(old_size=old.size), timeout=10)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, list(cons.hashes))
    by_index = stub.GetInclusionProof(audit_pb2.InclusionProofRequest(index=r2.acks[0].log_index), timeout=10)
    assert by_index.index == r2.acks[0].log_index and by_index.checkpoint == latest.note
    with pytest.raises(grpc.RpcError) as e:  # AUD-052: no scan of every record on a caller's behalf
        stub.GetInclusionProof(audit_pb2.InclusionProofRequest(fingerprint=r2.acks[0].fingerprint), timeout=10)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert dict(trailers(e.value)).get("creditx-reason") == "AUDIT_LOOKUP_BY_INDEX"
    with pytest.raises(grpc.RpcError) as e:
        stub.GetConsistencyProof(audit_pb2.ConsistencyProofRequest(old_size=1, new_size=99), timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "SIZE_RANGE" in (e.value.details() or "")
    c.close()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now


def _operator_status(g, pki):
    from creditx.pki.tls import channel_credentials
    from creditx.v1 import operator_pb2, operator_pb2_grpc

    op = pki.operator
    with grpc.secure_channel(
        g.address, channel_credentials(op.ca, op.cert, op.key), options=[("grpc.ssl_target_name_override", "localhost")]
    ) as ch:
        return operator_pb2_grpc.OperatorStub(ch).Status(operator_pb2.StatusRequest(), timeout=10)


def test_unsignable_checkpoints_past_grace_stop_ingest_until_signing_works(gw_dir, pki):
    clock = Clock()
    clock.now = datetime.now(UTC)  # certificates are valid around the real now
    g = Gateway(gw_dir, clock=clock)
    g.start()
    key_path = gw_dir / "tls" / "signing.key"
    good_key = key_path.read_bytes()
    try:
        c = PushClient(g.address, pki.nodes["370100"])
        c.handshake()
        (ok,) = c.push([c.batch(payloads("370100", 3))])
        assert ok.checkpoint
        key_path.write_bytes(b"not a key")  # signing now fails
        g.checkpointer.tick()
        assert "ValueError" in g.checkpointer.last_error and g.checkpointer.refusal() == ""
        clock.now += timedelta(seconds=g.cfg.checkpoint_grace_s - 1)  # within grace: still accepting
        (within,) = c.push([c.batch(payloads("370100", 2, start_seq=4, seed=3), start_seq=4)])
        assert within.checkpoint == "" and len(within.acks) == 2
        clock.now += timedelta(seconds=2)  # past grace: fail closed
        with pytest.raises(grpc.RpcError) as e:
            c.push([c.batch(payloads("370100", 1, start_seq=6, seed=4), start_seq=6)])
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "AUDIT_UNSEALED" in (e.value.details() or "") and "signing key" in (e.value.details() or "")
        status = _audit_stub(c)
        with pytest.raises(grpc.RpcError) as e:
            status.GetCheckpoint(audit_pb2.GetCheckpointRequest(fresh=True), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        op = _operator_status(g, pki)  # AUD-040: the operator sees why ingest stopped
        assert op.ingest_refusal.startswith("AUD-040 AUDIT_UNSEALED") and "ValueError" in op.checkpoint_error
        key_path.write_bytes(good_key)
        g.checkpointer.tick()  # the scheduled job seals again
        assert g.checkpointer.refusal() == ""
        (again,) = c.push([c.batch(payloads("370100", 1, start_seq=6, seed=4), start_seq=6)])
        assert again.acks[0].source_seq == 6 and again.checkpoint
        op = _operator_status(g, pki)
        assert op.ingest_refusal == "" and op.checkpoint_size >= 6 and op.checkpoint_signed_at
        c.close()
    finally:
        g.stop(grace=1)
