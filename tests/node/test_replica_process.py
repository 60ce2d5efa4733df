"""`creditx node run` killed with SIGKILL in the middle of a snapshot resumes it from the next
chunk and ends with exactly the log's state (DIST-072/073)."""

from __future__ import annotations

import signal
import threading

import pytest

from creditx.node.replica.store import ReplicaStore
from creditx.node.store import NodeStore
from creditx.pki.testing import make_pki
from creditx.v1 import exchange_pb2_grpc
from tests.node.fake_distribution import FakeDistribution, ListLog, serve_distribution
from tests.node.fake_gateway import FakeGateway
from tests.node.test_cli_app import creditx
from tests.node.test_node_process import _start
from tests.node.test_replica_follow import wait_for

pytestmark = pytest.mark.slow

FREE_PORTS = ("--metrics-listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0")


def _progress(d):
    store = NodeStore(d / "node.db")
    try:
        st = ReplicaStore(store, b"x" * 32).state()
        return st.snapshot, st.applied
    finally:
        store.close()


def test_sigkill_mid_snapshot_resumes_from_next_chunk(tmp_path):
    pki = make_pki(tmp_path)
    log = ListLog()
    for i in range(9):
        log.add(i)
    fake = FakeDistribution(log)
    fake.snapshot_required_below = 10
    fake.chunk_gate = threading.Event()  # chunk 0 flows, later chunks wait: the kill lands mid-snapshot
    server, target = serve_distribution(
        fake, pki, extra=lambda s: exchange_pb2_grpc.add_ExchangeServicer_to_server(FakeGateway(), s)
    )
    d = tmp_path / "node"
    assert (
        creditx(
            "init",
            "--dir",
            d,
            "--region",
            "370100",
            "--gateway",
            target,
            "--certs",
            pki.nodes["370100"].dir,
            *FREE_PORTS,
            "--gateway-server-name",
            "localhost",
        )
        == 0
    )
    proc = _start(d)
    try:
        assert wait_for(lambda: (p := _progress(d)[0]) is not None and p.next_chunk == 1, timeout=30)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    fake.chunk_gate.set()
    proc = _start(d)
    try:
        assert wait_for(lambda: _progress(d)[1] == 9, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read().decode()
    server.stop(None)
    resumed = [(r.at_list_seq, r.from_chunk) for r in fake.snapshots]
    assert resumed[0] == (0, 0) and (9, 1) in resumed
    store = NodeStore(d / "node.db")
    ids = [r[0] for r in store.conn.execute("SELECT entry_id FROM replica_entries ORDER BY entry_id")]
    assert ids == sorted(c.entry.entry_id for c in log.changes)  # no gap, no duplicate
    assert ReplicaStore(store, b"x" * 32).state().frontier == log.frontier(9)
