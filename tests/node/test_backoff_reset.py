"""SYNC-044: any answer from the gateway resets the backoff, for a node that only follows lists
too. The list follower's backoff, grown over outages, starts over when a heartbeat answers
(``contact``, what the node's heartbeat job calls) and when a list batch arrives; a batch that
applies nothing (a quiet log's "live" marker) is contact as well, handed on to upward sync."""

from __future__ import annotations

import threading
import time

import grpc

from creditx.node.replica.follower import Follower, FollowPolicy
from creditx.node.replica.store import ReplicaStore
from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings
from creditx.pki.testing import make_pki
from creditx.pki.tls import channel_credentials
from tests.node.fake_distribution import FakeDistribution, ListLog, serve_distribution
from tests.node.test_cli_app import _wait_for as wait_for


def test_a_grown_list_backoff_starts_over_on_contact_and_on_a_quiet_batch(tmp_path):
    pki = make_pki(tmp_path)
    log = ListLog()
    for i in range(3):
        log.add(i)
    server, target = serve_distribution(FakeDistribution(log), pki)
    d = pki.nodes["370100"].dir
    creds = channel_credentials(d / "ca.crt", d / "auth.crt", d / "auth.key")
    refused = grpc.insecure_channel("127.0.0.1:1")  # nothing listens: every session fails at once
    good = ChannelSettings(target, creds, "localhost").open()
    channel = {"now": refused}
    contacts = threading.Event()
    store = NodeStore(tmp_path / "node.db")
    f = Follower(
        ReplicaStore(store, b"n" * 32),
        lambda: channel["now"],
        FollowPolicy(backoff_base_s=0.001, backoff_cap_s=300),
        on_contact=contacts.set,
    )
    t = threading.Thread(target=f.run, daemon=True)
    t.start()
    try:
        assert wait_for(lambda: f.attempt >= 5)  # failures grow the backoff
        f.attempt = 20  # as after many outages: the next failure waits 150–300 s (equal jitter, cap)
        assert wait_for(lambda: f.attempt == 21)  # that failure happened: the follower is in its long wait
        channel["now"] = good  # the gateway is back: a heartbeat answers
        t0 = time.monotonic()
        f.contact()
        assert wait_for(lambda: f.replica.applied() == 3, timeout=10)
        assert time.monotonic() - t0 < 10 and f.attempt == 0 and contacts.is_set()
        contacts.clear()
        f.attempt = 7  # as after outages; the stream is open and the log quiet
        with f._lock:
            f._call.cancel()  # the stream ends (as on a gateway restart); the next one only says "live"
        assert wait_for(contacts.is_set)
        assert f.attempt == 0  # a batch that applied nothing reset it too
    finally:
        f.stop()
        t.join(10)
        good.close()
        refused.close()
        server.stop(None)
        store.close()
