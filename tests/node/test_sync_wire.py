"""The sync shell against the fake gateway over real mutual TLS on port 0 (NODE-003, NODE-010…014)."""

from __future__ import annotations

import json
import random
import threading

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from creditx.node.intake import ingest
from creditx.node.store import UNSIGNED, NodeStore
from creditx.node.sync.client import ChannelSettings, SyncRunner
from creditx.node.sync.state import State, SyncMachine, SyncPolicy
from creditx.pki.testing import make_pki
from creditx.standard.envelope import Signer
from tests.node.fake_gateway import FakeGateway, serve
from tests.node.helpers import TODAY, cf_row, needs_name


class Clock:
    """Monotonic clock the test moves forward past backoffs (no sleeping)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def env(tmp_path):
    pki = make_pki(tmp_path)
    fake = FakeGateway(max_batch_records=100, max_in_flight=2)
    server, target = serve(fake, pki)
    store = NodeStore(tmp_path / "node.db")
    signer = Signer(serialization.load_pem_private_key((pki.nodes["370100"].dir / "signing.key").read_bytes(), None))
    cert_der = x509.load_pem_x509_certificate((pki.nodes["370100"].dir / "signing.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    creds = grpc.ssl_channel_credentials(
        (pki.nodes["370100"].dir / "ca.crt").read_bytes(),
        (pki.nodes["370100"].dir / "auth.key").read_bytes(),
        (pki.nodes["370100"].dir / "auth.crt").read_bytes(),
    )
    settings = ChannelSettings(target, creds, rpc_timeout=5)
    clock = Clock()
    runners = []

    def runner(policy=SyncPolicy(backoff_base=1, backoff_cap=30, ack_timeout=20), *, sign=False) -> SyncRunner:
        r = SyncRunner(
            store,
            settings,
            SyncMachine(policy=policy, rng=random.Random(7)),
            node_name="jinan",
            signing_certs=lambda: [cert_der],
            clock=clock,
            signer=signer if sign else None,  # NODE-051: signs what intake left unsigned
        )
        runners.append(r)
        return r

    def add(n: int, **kw) -> None:
        start = store.last_seq() + 1
        ingest(
            store,
            signer,
            [cf_row(i) for i in range(start, start + n)],
            region="370100",
            source="t",
            today=TODAY,
            clock=lambda: 0.0,
            validate=needs_name,
            **kw,
        )

    yield fake, store, runner, add, clock
    for r in runners:
        r.close()
    server.stop(None)
    store.close()


def outcomes(store):
    return dict(store.conn.execute("SELECT outcome, COUNT(*) FROM outbox_acks GROUP BY outcome"))


def test_a_batch_suite_record_is_signed_once_when_it_is_first_pushed_as_an_envelope(env):
    """NODE-051: with record_suite "batch" intake signs nothing; pushed as a v1.0 envelope after
    all (SYNC-060: the suites may alternate) a record is signed then, once, and re-sent as stored."""
    fake, store, runner, add, clock = env
    add(30, record_suite="batch")
    assert {s for (s,) in store.conn.execute("SELECT signatures FROM outbox")} == {UNSIGNED}
    fake.lose_next_ack = True  # the first push is committed, its acks lost: the records go again
    r = runner(sign=True)
    assert r.sync_once() is State.BACKOFF and fake.committed() == 30
    first = dict(store.conn.execute("SELECT source_seq, signatures FROM outbox"))
    assert UNSIGNED not in first.values()
    clock.t = r.machine.retry_at
    assert r.sync_once() is State.IDLE
    assert outcomes(store) == {"ACCEPTED": 30}  # the fake gateway verified every envelope
    assert dict(store.conn.execute("SELECT source_seq, signatures FROM outbox")) == first
    assert store.add_signatures({1: "[]"})[1] == json.loads(first[1], object_hook=_sig_bytes)


def _sig_bytes(d):
    return dict(d, sig=bytes.fromhex(d["sig"])) if "sig" in d else d


def test_syncs_everything_in_bounded_batches_and_presents_signing_cert(env):
    fake, store, runner, add, _ = env
    add(250)
    assert runner().sync_once() is State.IDLE
    assert outcomes(store) == {"ACCEPTED": 250}
    assert [len(s) for _, s, _ in fake.batches] == [100, 100, 50]
    assert [b for _, _, b in fake.batches] == [150, 50, 0]
    assert len(fake.handshakes[0].signing_certificates) == 1
    st = store.get_state()
    assert st["committed_seq"] == 250 and st["gateway_reachable"] is True and st["last_error"] == ""


def test_resume_after_gateway_drops_stream_mid_batch(env):
    fake, store, runner, add, clock = env
    add(250)
    fake.drop_after_records = 150
    r = runner()
    assert r.sync_once() is State.BACKOFF
    assert "UNAVAILABLE" in store.get_state()["last_error"]
    assert store.counts()["accepted"] == 100 and store.first_unacked() == 101
    assert r.sync_once() is State.BACKOFF  # still inside the backoff window: no connect
    clock.t = r.machine.retry_at
    assert r.sync_once() is State.IDLE
    assert outcomes(store) == {"ACCEPTED": 250}
    assert set(fake.decide_count.values()) == {1} and len(fake.decide_count) == 250


def test_lost_acks_are_resent_and_answered_from_the_gateway_without_double_counting(env):
    fake, store, runner, add, clock = env
    add(120)
    fake.lose_next_ack = True
    r = runner()
    assert r.sync_once() is State.BACKOFF
    assert store.first_unacked() == 1 and fake.committed() == 100
    clock.t = r.machine.retry_at
    assert r.sync_once() is State.IDLE
    first_resent = [s for _, s, _ in fake.batches][1][0]
    assert first_resent == 1  # re-sent from the first unacked, not committed+1
    assert outcomes(store) == {"ACCEPTED": 120} and max(fake.decide_count.values()) == 1
    assert store.get_state()["committed_seq"] == 120


def test_restarted_node_resumes_from_its_store(env):
    fake, store, runner, add, clock = env
    add(150)
    fake.drop_after_records = 120
    assert runner().sync_once() is State.BACKOFF
    assert runner().sync_once() is State.IDLE  # a fresh machine (process restart) has no backoff
    assert outcomes(store) == {"ACCEPTED": 150} and max(fake.decide_count.values()) == 1


def test_rejects_are_recorded_with_reason(env):
    fake, store, runner, add, _ = env
    add(10)
    fake.reject = {3, 7}
    runner().sync_once()
    rejects = store.rejects()
    assert [r["source_seq"] for r in rejects] == [3, 7]
    assert rejects[0]["reason"] == "USCC_CHECKSUM" and rejects[0]["requirement"] == "REC-ID-001"
    assert rejects[0]["field"] == "CF_XDR_SHXYM" and "fix" in rejects[0]["message"]
    assert store.counts()["accepted"] == 8


def test_heartbeat_reports_backlog(env):
    fake, store, runner, add, _ = env
    add(30)
    r = runner()
    assert r.heartbeat().committed_seq == 0
    assert (fake.heartbeats[-1].backlog, fake.heartbeats[-1].last_source_seq) == (30, 30)
    r.sync_once()
    r.heartbeat()
    assert fake.heartbeats[-1].backlog == 0 and store.get_state()["gateway_reachable"] is True


def test_stalled_acks_time_out_and_back_off(env):
    fake, store, runner, add, _ = env
    add(5)
    fake.hold_acks = threading.Event()
    r = runner(SyncPolicy(backoff_base=1, backoff_cap=30, ack_timeout=0.0))
    try:
        assert r.sync_once() is State.BACKOFF
        assert "NODE-014" in store.get_state()["last_error"]
    finally:
        fake.hold_acks.set()


def test_refused_handshake_backs_off_for_the_cap(env):
    fake, store, runner, add, clock = env
    add(1)
    fake.handshake_error = grpc.StatusCode.PERMISSION_DENIED
    r = runner()
    assert r.sync_once() is State.BACKOFF
    assert r.machine.retry_at == clock.t + 30
    assert "PERMISSION_DENIED" in store.get_state()["last_error"]
    assert store.get_state()["last_error_reason"] == ""  # a refusal without a reason code (v1.0, no leading code)


def test_the_gateways_reason_code_is_read_from_trailing_metadata(env):
    fake, store, runner, add, _ = env
    add(1)
    fake.handshake_error, fake.handshake_reason = grpc.StatusCode.UNAUTHENTICATED, "CERT_REVOKED"
    assert runner().sync_once() is State.BACKOFF
    st = store.get_state()
    assert st["last_error_reason"] == "CERT_REVOKED" and "CERT_REVOKED" not in st["last_error"]


def test_unreachable_gateway_is_reported(env, tmp_path):
    fake, store, runner, add, _ = env
    add(1)
    r = runner()
    r.settings = ChannelSettings("127.0.0.1:1", r.settings.credentials, rpc_timeout=2)
    assert r.sync_once() is State.BACKOFF
    assert r.heartbeat() is None and store.get_state()["gateway_reachable"] is False
