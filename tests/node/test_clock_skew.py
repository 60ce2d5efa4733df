"""SEC-020/SEC-080: minutes of clock skew are tolerated (certificates are valid from an hour
before issuance; a heartbeat measures and reports the skew); a clock outside the node's own
certificate's validity is named as the cause instead of a TLS failure."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from creditx.node.alarms import Alarms
from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings, SyncRunner, clock_verdict
from creditx.node.sync.state import State, SyncMachine, SyncPolicy
from creditx.pki.testing import make_pki
from creditx.v1 import exchange_pb2
from tests.node.fake_gateway import FakeGateway, serve


def test_a_new_certificate_is_valid_for_a_node_ten_minutes_slow(tmp_path):
    pki = make_pki(tmp_path / "pki", regions=("370100",))
    cert = x509.load_pem_x509_certificate(pki.nodes["370100"].auth_cert.read_bytes())
    slow_node_now = datetime.now(UTC) - timedelta(minutes=10)
    assert cert.not_valid_before_utc <= slow_node_now <= cert.not_valid_after_utc


def test_clock_problem_names_the_clock_and_the_bound():
    s = ChannelSettings("x:1", grpc.ssl_channel_credentials(), cert_validity=(1_000_000.0, 2_000_000.0))
    assert s.clock_problem(1_500_000.0) == ""
    slow = s.clock_problem(1_000_000.0 - 86_400)
    assert "clock" in slow and "before its own certificate's notBefore" in slow and "86400 s slow" in slow
    fast = s.clock_problem(2_000_000.0 + 400 * 86_400)
    assert "notAfter" in fast and "clock" in fast


class SkewedGateway(FakeGateway):
    def __init__(self, ahead_s: float) -> None:
        super().__init__(max_batch_records=10)
        self.ahead_s = ahead_s

    def Heartbeat(self, request, context):
        return exchange_pb2.HeartbeatResponse(
            committed_seq=0, server_time_unix_ms=int((time.time() + self.ahead_s) * 1000)
        )


def _runner(tmp_path, ahead_s: float, **kw):
    pki = make_pki(tmp_path / "pki")
    fake = SkewedGateway(ahead_s)
    server, target = serve(fake, pki)
    creds = grpc.ssl_channel_credentials(
        (pki.nodes["370100"].dir / "ca.crt").read_bytes(),
        (pki.nodes["370100"].dir / "auth.key").read_bytes(),
        (pki.nodes["370100"].dir / "auth.crt").read_bytes(),
    )
    store = NodeStore(tmp_path / "node.db")
    cert_der = x509.load_pem_x509_certificate((pki.nodes["370100"].dir / "signing.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    r = SyncRunner(
        store,
        ChannelSettings(target, creds, rpc_timeout=5),
        SyncMachine(policy=SyncPolicy(backoff_base=1, backoff_cap=30, ack_timeout=20), rng=random.Random(1)),
        node_name="jinan",
        signing_certs=lambda: [cert_der],
        alarms=Alarms(store),
        **kw,
    )
    return r, fake, server, store


def test_clock_verdict_tolerates_minutes_and_refuses_beyond_the_setting():
    assert clock_verdict(10.0) == ("", "")
    severity, msg = clock_verdict(600.0)
    assert severity == "warning" and "600 s behind" in msg and "max_clock_skew_s = 1800" in msg
    severity, msg = clock_verdict(-7200.0, max_s=3600)
    assert severity == "critical" and "7200 s ahead of" in msg and "does not sync" in msg and "SEC-081" in msg


def test_a_node_ten_minutes_slow_syncs_with_a_warning_alarm(tmp_path):
    r, fake, server, store = _runner(tmp_path, 600)
    try:
        assert r.sync_once() is State.IDLE and fake.handshakes  # no records, but connected
        (alarm,) = r.alarms.active()
        assert alarm["name"] == "clock_skew" and alarm["severity"] == "warning" and r.alarms.serving()
        assert store.get_state()["alarms"][0]["name"] == "clock_skew"  # node status, from another process
    finally:
        r.close()
        server.stop(None)
        store.close()


def test_a_node_beyond_the_tolerance_refuses_to_sync_and_names_its_clock(tmp_path):
    r, fake, server, store = _runner(tmp_path, -2 * 3600, max_clock_skew_s=3600)
    try:
        assert r.sync_once() is State.BACKOFF and not fake.handshakes  # refused before the handshake
        error = store.get_state()["last_error"]
        assert isinstance(error, str) and "this node's clock is 7200 s ahead of the gateway's" in error
        assert "max_clock_skew_s = 3600" in error
        assert not r.alarms.serving() and r.alarms.active()[0]["severity"] == "critical"
        fake.ahead_s = 0  # the clock is corrected (NTP): the node resumes by itself
        assert r.heartbeat() is not None  # the heartbeat job measures it again
        r.machine.retry_at = 0.0
        assert r.sync_once() is State.IDLE and fake.handshakes and r.alarms.active() == []
    finally:
        r.close()
        server.stop(None)
        store.close()


def test_heartbeat_reports_a_ten_minute_skew_as_a_warning_and_keeps_going(tmp_path, caplog):
    pki = make_pki(tmp_path / "pki")
    server, target = serve(SkewedGateway(600), pki)
    creds = grpc.ssl_channel_credentials(
        (pki.nodes["370100"].dir / "ca.crt").read_bytes(),
        (pki.nodes["370100"].dir / "auth.key").read_bytes(),
        (pki.nodes["370100"].dir / "auth.crt").read_bytes(),
    )
    store = NodeStore(tmp_path / "node.db")
    cert_der = x509.load_pem_x509_certificate((pki.nodes["370100"].dir / "signing.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    r = SyncRunner(
        store,
        ChannelSettings(target, creds, rpc_timeout=5),
        SyncMachine(policy=SyncPolicy(backoff_base=1, backoff_cap=30, ack_timeout=20), rng=random.Random(1)),
        node_name="jinan",
        signing_certs=lambda: [cert_der],
    )
    try:
        with caplog.at_level(logging.WARNING):
            assert r.heartbeat() is not None
        state = store.get_state()
        skew = state["clock_skew_s"]
        assert isinstance(skew, (int, float)) and 590 < skew < 610 and state["gateway_reachable"] is True
        assert any("clock" in m and "behind" in m for m in caplog.messages)
    finally:
        r.close()
        server.stop(None)
        store.close()


def test_any_successful_contact_resets_the_backoff():
    """NODE-015: after outages grew the backoff to minutes, an answered heartbeat (or list batch)
    brings the next sync attempt within the base delay."""
    from creditx.node.sync.state import Failed, State, Wake

    m = SyncMachine(policy=SyncPolicy(backoff_base=1, backoff_cap=300, ack_timeout=20), rng=random.Random(3))
    now = 0.0
    for _ in range(9):
        m.handle(Wake(1, 5), max(now, m.retry_at))
        now = max(now, m.retry_at)
        m.handle(Failed("down"), now)
    assert m.state is State.BACKOFF and m.retry_at - now > 100
    m.contact(now)
    assert m.attempt == 0 and m.retry_at - now <= 1.0
