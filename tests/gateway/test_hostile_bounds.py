"""Bounds on what one node may cost the gateway (SYNC-041) and recovery of the worker pool:
rejected payloads are stored as hash + prefix, a node's rejected bytes have a budget, a killed
verification worker is replaced and the batch in flight retried, a list position beyond the
head is refused."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from dataclasses import replace

import grpc
import pytest

from creditx.gateway.config import load_config
from creditx.gateway.server import Gateway
from creditx.v1 import exchange_pb2 as pb
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient, payloads, reseq
from tests.gateway_lists.client import Subscriber

REJ, ACC = pb.REJECTED, pb.ACCEPTED


def _stored_payload_lengths(gw_dir, node: str) -> dict[int, int]:
    with sqlite3.connect(gw_dir / "gateway.db") as db:
        return dict(db.execute("SELECT source_seq, length(payload) FROM records WHERE node = ?", (node,)))


def test_a_rejected_payload_is_stored_as_its_hash_and_first_bytes(gateway, gw_dir, pki):
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 2)
    huge = good[0][:-2] + b',"BZ":"' + b"x" * (7 << 20) + b'"}}'  # 7 MB: above SIG-020's 64 KiB
    (resp,) = c.push([[c.batch([good[0]])[0], c.batch([huge], 2)[0], c.batch([reseq(good[1], 3)], 3)[0]]])
    assert [(a.outcome, a.reason_code) for a in resp.acks] == [(ACC, ""), (REJ, "SIG_LIMIT"), (ACC, "")]
    lengths = _stored_payload_lengths(gw_dir, "370100")
    assert lengths[2] == 1024 and lengths[1] == len(good[0])
    with sqlite3.connect(gw_dir / "gateway.db") as db:
        (sha,) = db.execute("SELECT payload_sha FROM records WHERE source_seq = 2").fetchone()
    import hashlib

    assert sha == hashlib.sha256(huge).digest()  # the whole payload's identity is kept
    (again,) = c.push([[c.batch([huge], 2)[0]]])  # and a resend is still recognised as a replay
    assert again.acks[0].reason_code == "SIG_LIMIT"
    c.close()


def test_one_nodes_rejected_bytes_have_a_budget_and_others_keep_service(gw_dir, pki):
    cfg = replace(load_config(gw_dir), reject_budget_bytes=40_000)
    g = Gateway(gw_dir, cfg)
    g.start()
    try:
        hostile = PushClient(g.address, pki.nodes["370100"])
        hostile.handshake()
        junk = [b"\x80" * 2000] * 10
        seq, refused = 1, None
        for _ in range(20):
            try:
                hostile.push([hostile.batch(junk, seq)])
                seq += len(junk)
            except grpc.RpcError as exc:
                refused = exc
                break
        assert refused is not None and refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        details = refused.details() or ""
        assert "REJECT_BUDGET" in details and "reject_budget_bytes" in details
        other = PushClient(g.address, pki.nodes["370200"])
        other.handshake()
        (resp,) = other.push([other.batch(payloads("370200", 5))])
        assert [a.outcome for a in resp.acks] == [ACC] * 5
        hostile.close()
        other.close()
    finally:
        g.stop(grace=1)


@pytest.mark.slow
def test_a_killed_verification_worker_is_replaced_and_the_batch_retried(gw_dir, pki):
    g = Gateway(gw_dir, workers=2)
    g.start()
    try:
        c = PushClient(g.address, pki.nodes["370100"])
        c.handshake()
        p = payloads("370100", 200)
        (first,) = c.push([c.batch(p[:100])])
        assert first.committed_seq == 100
        for pid in g.pool.pids():
            os.kill(pid, signal.SIGKILL)
        (second,) = c.push([c.batch(p[100:], 101)])
        assert second.committed_seq == 200 and [a.outcome for a in second.acks] == [ACC] * 100
        assert g.pool.restarts >= 1 and g.pool.healthy
        c.close()
    finally:
        g.stop(grace=5)


def test_report_applied_beyond_the_head_is_refused(gateway, pki):
    s = Subscriber(gateway.address, pki.nodes["370100"])
    with pytest.raises(grpc.RpcError) as err:
        s.stub.ReportApplied(lpb.ReportAppliedRequest(applied_list_seq=2**64 - 1), timeout=10)
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE and "APPLIED_BEYOND_HEAD" in (err.value.details() or "")
    s.close()


@pytest.mark.slow
def test_one_node_with_100_streams_cannot_refuse_another_nodes_handshake(gw_dir, pki):
    """The issue's reproduction: 100 Subscribe + 80 Push streams from one node left every other
    node's Handshake RESOURCE_EXHAUSTED. Now the hostile node's calls beyond its share are
    refused at once, naming the share, and the other node is served."""
    import queue as _queue

    from creditx.v1 import exchange_pb2_grpc

    cfg = replace(load_config(gw_dir), handler_threads=24, max_concurrent_streams=400)
    g = Gateway(gw_dir, cfg)
    g.start()
    hostile = Subscriber(g.address, pki.nodes["370100"])
    calls, pushers = [], []
    try:
        for _ in range(100):
            calls.append(hostile.stub.Subscribe(lpb.SubscribeRequest(from_list_seq=1, subject_index_key=bytes(32))))
        ex = exchange_pb2_grpc.ExchangeStub(hostile.channel)
        for _ in range(80):
            q: _queue.Queue = _queue.Queue()
            pushers.append(q)
            calls.append(ex.Push(iter(q.get, None)))
        share = cfg.per_node_streams

        def refused() -> list[str]:
            return [c.details() for c in calls if c.done() and c.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]

        deadline = time.monotonic() + 60
        while len(refused()) < len(calls) - share and time.monotonic() < deadline:
            threading.Event().wait(0.05)
        got = refused()
        assert len(got) == len(calls) - share and all("CALLER_SHARE" in d and "per_node_streams" in d for d in got)
        other = PushClient(g.address, pki.nodes["370200"])
        assert other.handshake().region == "370200"
        (resp,) = other.push([other.batch(payloads("370200", 3))])
        assert [a.outcome for a in resp.acks] == [ACC] * 3
        other.close()
    finally:
        for call in calls:
            call.cancel()
        for q in pushers:
            q.put(None)
        hostile.close()
        g.stop(grace=1)


def test_health_is_not_serving_while_ingest_cannot_proceed(gateway):
    from grpc_health.v1 import health_pb2

    def status() -> int:
        return gateway.health.Check(health_pb2.HealthCheckRequest(service="creditx.v1.Exchange"), None).status

    gateway.health_tick()
    assert status() == health_pb2.HealthCheckResponse.SERVING
    gateway.pool.healthy = False  # what gather() records when no replacement pool gets a batch through
    gateway.health_tick()
    assert status() == health_pb2.HealthCheckResponse.NOT_SERVING and gateway.ingest_refusal()
    gateway.pool.healthy = True
    gateway.health_tick()
    assert status() == health_pb2.HealthCheckResponse.SERVING


def test_64_bit_values_never_end_a_call_unknown(gateway, pki):
    """Values of 2^63 and above: a record's source_seq is a gap of that record alone; list
    positions are refused by name. None ends with UNKNOWN (the issue saw a batch commit and its
    ack never arrive)."""
    c = PushClient(gateway.address, pki.nodes["370100"])
    c.handshake()
    good = payloads("370100", 1)
    (resp,) = c.push([[c.batch([good[0]])[0], c.batch([good[0]], 2**64 - 1)[0]]])
    assert [(a.outcome, a.reason_code) for a in resp.acks] == [(ACC, ""), (REJ, "SYNC_SEQ_GAP")]
    assert resp.committed_seq == 1
    with pytest.raises(grpc.RpcError) as err:
        c.push([[c.batch([reseq(good[0], 2)], 2)[0]]], backlog=2**63)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "VALUE_OUT_OF_RANGE" in (err.value.details() or "")
    s = Subscriber(gateway.address, pki.nodes["370100"])
    for call in (
        lambda: list(
            s.stub.Subscribe(lpb.SubscribeRequest(from_list_seq=2**64 - 1, subject_index_key=bytes(32)), timeout=10)
        ),
        lambda: list(
            s.stub.Snapshot(lpb.SnapshotRequest(at_list_seq=2**64 - 1, subject_index_key=bytes(32)), timeout=10)
        ),
        lambda: s.stub.GetListCheckpoint(lpb.ListCheckpointRequest(from_size=2**64 - 1), timeout=10),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() != grpc.StatusCode.UNKNOWN, err.value.details()
    s.close()
    c.close()


def test_recent_rejections_read_a_partial_index_not_every_record(tmp_path):
    """The scrape/Status query of a node's recent rejections is an index search (migration 6),
    so its cost does not grow with the node's accepted records (bench/scrape_cost.py)."""
    from creditx.gateway.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "g.db")
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT reason FROM records WHERE node=? AND outcome=4 ORDER BY source_seq DESC LIMIT 500",
        ("370100",),
    ).fetchall()
    assert any("idx_records_rejected" in row[-1] for row in plan), plan
    store.close()
