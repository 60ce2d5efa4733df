"""Integration: a real gateway on port 0 with mutual TLS, a minimal push client, real PKI."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import grpc
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from creditx.gateway.server import Gateway
from creditx.pki.crl import revoke
from creditx.pki.files import read_cert, read_key
from creditx.pki.issue import issue_node
from creditx.standard.call_status import REASON_KEY, RULE_KEY, reason_from, rule_from
from creditx.v1 import exchange_pb2 as pb
from tests.gateway.push_client import PushClient, payloads, reseq, signed, trailers
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)

ACC, DUP, SUP, REJ = pb.ACCEPTED, pb.DUPLICATE, pb.SUPERSEDED, pb.REJECTED


def client(gateway, node, **kw) -> PushClient:
    return PushClient(gateway.address, node, **kw)


def test_run_json_handshake_and_clean_batch(gateway, gw_dir, pki):
    run = json.loads((gw_dir / "run.json").read_text())
    assert run["address"] == gateway.address and run["metrics"].startswith("http://127.0.0.1:")
    c = client(gateway, pki.nodes["370100"])
    hs = c.handshake()
    assert hs.region == "370100" and hs.committed_seq == 0 and hs.max_batch_records == 500
    (resp,) = c.push([c.batch(payloads("370100", 20))])
    assert [a.outcome for a in resp.acks] == [ACC] * 20 and resp.committed_seq == 20
    assert [a.log_index for a in resp.acks] == list(range(1, 21))  # leaf 0: the registry (AUD-007)
    assert all(len(a.fingerprint) == 32 for a in resp.acks)
    c.close()


def test_bad_records_do_not_fail_the_batch(gateway, pki):
    c = client(gateway, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 6)
    other_region = payloads("370200", 1, start_seq=2)[0]
    tampered = c.batch([good[2]], start_seq=3)[0]
    tampered.envelope.payload = good[2].replace(b'"version":1', b'"version":2')
    tls_key = read_key(pki.nodes["370100"].auth_key)
    batch = [
        *c.batch(good[:1]),
        c.batch([other_region], 2)[0],
        tampered,
        signed(4, good[3], tls_key),
        *c.batch(good[4:], 5),
    ]
    (resp,) = c.push([batch])
    got = [(a.outcome, a.reason_code) for a in resp.acks]
    assert got[0] == (ACC, "") and got[4:] == [(ACC, "")] * 2
    assert got[1] == (REJ, "SEC_REGION_MISMATCH") and resp.acks[1].requirement == "SEC-032"
    assert got[2] == (REJ, "SIG_INVALID")
    assert got[3][0] == REJ and got[3][1] == "SIG_UNKNOWN_KEY"
    assert resp.committed_seq == 6
    c.close()


def test_tls_certificate_presented_as_signing_certificate_is_wrong_role(gateway, pki):
    n = pki.nodes["370100"]
    c = client(gateway, n)
    c.handshake(
        [read_cert(n.auth_cert).public_bytes(Encoding.DER), read_cert(n.signing_cert).public_bytes(Encoding.DER)]
    )
    (resp,) = c.push([[signed(1, payloads("370100", 1)[0], read_key(n.auth_key))]])
    assert resp.acks[0].outcome == REJ and resp.acks[0].reason_code == "CERT_WRONG_ROLE"
    assert resp.acks[0].requirement == "SEC-010"
    c.close()


def test_dedup_replay_conflict_and_gap(gateway, pki):
    c = client(gateway, pki.nodes["370100"])
    c.handshake()
    p = payloads("370100", 3)
    first = c.batch(p)
    (r1,) = c.push([first])
    # replay of 1..3 (same bytes) + the same content as seq 1 under a new seq + a gap
    again = c.batch([reseq(p[0], 4)], 4)
    (r2,) = c.push([first + again + c.batch([reseq(p[1], 9)], 9)])
    assert [(a.outcome, a.log_index) for a in r2.acks[:3]] == [(a.outcome, a.log_index) for a in r1.acks]
    assert r2.acks[3].outcome == DUP and r2.acks[3].log_index == 4  # leaf 0: the registry
    assert r2.acks[4].outcome == REJ and r2.acks[4].reason_code == "SYNC_SEQ_GAP"
    assert r2.committed_seq == 4
    # same seq, different bytes
    (r3,) = c.push([c.batch([reseq(p[2], 1)], 1)])
    assert r3.acks[0].reason_code == "SYNC_SEQ_CONFLICT" and r3.committed_seq == 4
    c.close()


def test_revoked_peer_is_unauthenticated_and_revoked_signing_key_rejects_records(gateway, gw_dir, pki, tmp_path):
    at = datetime.now(UTC)
    extra = issue_node(pki.ca, region="370200", name="revoked-node", at=at, out=tmp_path / "rn")
    c = client(gateway, extra)
    c.handshake()
    (ok,) = c.push([c.batch(payloads("370200", 1))])
    assert ok.acks[0].outcome == ACC
    serial = format(read_cert(extra.signing_cert).serial_number, "X")
    revoke(pki.ca, serial, at=at)
    shutil.copyfile(pki.ca.path("crl.pem"), gw_dir / "tls" / "crl.pem")
    (r,) = c.push([c.batch(payloads("370200", 2)[1:], 2)])
    assert r.acks[0].outcome == REJ and r.acks[0].reason_code == "CERT_REVOKED"
    serial = format(read_cert(extra.auth_cert).serial_number, "X")
    revoke(pki.ca, serial, at=at)
    shutil.copyfile(pki.ca.path("crl.pem"), gw_dir / "tls" / "crl.pem")
    with pytest.raises(grpc.RpcError) as err:
        c.handshake()
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and "CERT_REVOKED" in (err.value.details() or "")
    assert reason_from(trailers(err.value), "") == "CERT_REVOKED"  # SYNC-016, as data
    assert rule_from(trailers(err.value)) == "SEC-040"
    c.close()


def test_batch_too_large_is_resource_exhausted(gateway, pki):
    c = client(gateway, pki.nodes["370100"])
    c.handshake()
    recs = [signed(i + 1, b"{}", c.signing_key) for i in range(501)]
    with pytest.raises(grpc.RpcError) as err:
        c.push([recs])
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # SYNC-016: the reason code and rule in trailing metadata; the details keep the v1.0 text form
    assert dict(trailers(err.value))[REASON_KEY] == "BATCH_TOO_LARGE"
    assert dict(trailers(err.value))[RULE_KEY] == "SYNC-040"
    assert (err.value.details() or "").startswith("BATCH_TOO_LARGE [SYNC-040]: batch ")
    c.close()


def test_acks_only_after_commit_survive_restart(gw_dir, pki):
    g = Gateway(gw_dir)
    g.start()
    c = client(g, pki.nodes["370000"])
    c.handshake()
    (r,) = c.push([c.batch(payloads("370000", 5))])
    assert r.committed_seq == 5
    c.close()
    g.stop(grace=1)
    g = Gateway(gw_dir)
    g.start()
    c = client(g, pki.nodes["370000"])
    assert c.handshake().committed_seq == 5
    (r,) = c.push([c.batch(payloads("370000", 5))])  # full replay after restart: same acks
    assert [a.log_index for a in r.acks] == [1, 2, 3, 4, 5]  # leaf 0: the registry (AUD-007)
    assert g.store.audit_size() == 6  # and the registry's leaf
    c.close()
    g.stop(grace=1)


@pytest.mark.slow
def test_worker_pool_and_pipelined_batches_keep_order(gw_dir, pki):
    g = Gateway(gw_dir, workers=2)
    g.start()
    c = client(g, pki.nodes["370100"])
    c.handshake()
    p = payloads("370100", 300, invalid_share=0.1)
    batches = [c.batch(p[i : i + 50], i + 1) for i in range(0, 300, 50)]
    # batch 3 repeats batch 2 (replays of records still in flight or just committed)
    resp = c.push(batches[:3] + [batches[2]] + batches[3:])
    assert [r.batch_id for r in resp] == list(range(1, 8))
    assert [a.source_seq for r in resp for a in r.acks][:150] == list(range(1, 151))
    assert [(a.outcome, a.log_index) for a in resp[3].acks] == [(a.outcome, a.log_index) for a in resp[2].acks]
    assert resp[-1].committed_seq == 300 and g.store.audit_size() == 301  # + the registry's leaf
    rejected = [a for r in resp for a in r.acks if a.outcome == REJ]
    assert rejected and all(a.reason_code and a.requirement for a in rejected)
    c.close()
    g.stop(grace=5)
