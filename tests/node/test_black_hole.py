"""SYNC-043: a gateway that accepts and never answers, or stops answering mid-stream, is found
within 10 s with the node's default settings (deadlines, connect timeout, keepalive), on real
TCP sockets, and reported in the node's status; the gateway's keepalive policy permits the
node's pings (a frozen proxy in front of it is what is detected, not a GOAWAY)."""

from __future__ import annotations

import random
import time

import pytest

from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings, SyncRunner
from creditx.node.sync.state import State, SyncMachine, SyncPolicy
from creditx.pki.testing import make_pki
from creditx.pki.tls import channel_credentials
from tests.blackhole import BlackHole, FreezableProxy
from tests.node.fake_distribution import FakeDistribution, ListLog, serve_distribution
from tests.node.test_cli_app import _wait_for as wait_for
from tests.node.test_replica_follow import Node

pytestmark = pytest.mark.slow
BOUND_S = 10.0


def _creds(pki):
    d = pki.nodes["370100"].dir
    return channel_credentials(d / "ca.crt", d / "auth.crt", d / "auth.key")


def _down(node: Node) -> bool:
    return any(a["name"] == "list_stream" for a in node.follower.alarms.active())


def test_a_gateway_that_accepts_and_never_answers_is_reported_within_ten_seconds(tmp_path):
    pki = make_pki(tmp_path)
    hole = BlackHole()
    store = NodeStore(tmp_path / "node.db")
    r = SyncRunner(
        store,
        ChannelSettings(hole.address, _creds(pki), "localhost"),  # the product's default timeouts
        SyncMachine(policy=SyncPolicy(backoff_base=1, backoff_cap=30), rng=random.Random(1)),
        node_name="jinan",
        signing_certs=lambda: [],
    )
    try:
        t0 = time.monotonic()
        assert r.sync_once() is State.BACKOFF
        took = time.monotonic() - t0
        assert hole.accepted.is_set() and took < BOUND_S, took
        st = store.get_state()
        error = str(st["last_error"])  # the TLS handshake timed out (connect_timeout_ms), or the call's deadline
        assert st["gateway_reachable"] is False and ("UNAVAILABLE" in error or "DEADLINE_EXCEEDED" in error), error
    finally:
        r.close()
        store.close()
        hole.close()


def test_the_list_stream_to_a_black_hole_is_reported_within_ten_seconds(tmp_path):
    pki = make_pki(tmp_path)
    hole = BlackHole()
    t0 = time.monotonic()
    with Node(tmp_path / "node.db", pki, hole.address) as n:
        assert wait_for(lambda: _down(n), timeout=3 * BOUND_S)
        took = time.monotonic() - t0
        assert hole.accepted.is_set() and took < BOUND_S, took
    hole.close()


def test_a_gateway_frozen_mid_stream_is_found_by_keepalive_within_ten_seconds(tmp_path):
    pki = make_pki(tmp_path)
    log = ListLog()
    for i in range(5):
        log.add(i)
    server, target = serve_distribution(FakeDistribution(log), pki)
    proxy = FreezableProxy(target)
    try:
        with Node(tmp_path / "node.db", pki, proxy.address) as n:
            assert wait_for(lambda: n.replica.applied() == 5 and n.replica.meta().get("live"))
            assert not _down(n)
            proxy.freeze()  # the Subscribe stream stays open; nothing answers any more
            t0 = time.monotonic()
            assert wait_for(lambda: _down(n), timeout=3 * BOUND_S)
            took = time.monotonic() - t0
            assert took < BOUND_S, took
            (alarm,) = [a for a in n.follower.alarms.active() if a["name"] == "list_stream"]
            assert "UNAVAILABLE" in alarm["message"] or "DEADLINE" in alarm["message"], alarm
    finally:
        proxy.close()
        server.stop(None)


def test_the_gateways_keepalive_policy_permits_the_nodes_pings():
    """SYNC-043: a gateway refusing pings would answer GOAWAY too_many_pings and break every
    long stream; its minimum interval is below the node's ping interval, and the server sets it."""
    import inspect

    from creditx.gateway import server
    from creditx.gateway.config import GatewayConfig
    from creditx.node.config import Limits

    node, gw = Limits(), GatewayConfig()
    assert gw.min_ping_interval_s * 1000 < node.keepalive_time_ms
    assert node.keepalive_time_ms + node.keepalive_timeout_ms < BOUND_S * 1000
    assert node.connect_timeout_ms < BOUND_S * 1000 and node.rpc_timeout_s < BOUND_S
    src = inspect.getsource(server)
    assert '"grpc.http2.min_ping_interval_without_data_ms", c.min_ping_interval_s * ms' in src
