"""Two gateway processes on one PostgreSQL database: the lease holder writes, the other stands by.

Real ``creditx gateway run`` processes on two addresses share one database. The standby
refuses Push with UNAVAILABLE naming the writer's address and serves the list log from what is
committed; the writer is killed with SIGKILL
in the middle of a node's push, the standby takes over, and the node's records end up stored
exactly once, in order, with an audit log that verifies. A former writer whose lease is cut off
cannot write (fencing).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time

import grpc
import pytest

from creditx.cli.main import main
from creditx.demo.procs import read_json_file, start_gateway
from creditx.gateway.store.engine import open_conn, transaction
from creditx.gateway.store.lease import Fenced, WriterLease
from tests.gateway.push_client import PushClient, payloads
from tests.gateway_lists.client import Subscriber, list_payload, list_rows
from tests.pg import fresh_database

pytestmark = pytest.mark.slow


def _any_free_ports(gw_dir) -> None:
    """Two gateways on one machine: metrics and plain health on ports of their own (port 0)."""
    cfg = json.loads((gw_dir / "gateway.json").read_text())
    cfg.update(metrics_listen="127.0.0.1:0", health_listen="127.0.0.1:0", console_listen="127.0.0.1:0")
    (gw_dir / "gateway.json").write_text(json.dumps(cfg))


def _push(address, node, batch_payloads, start_seq):
    c = PushClient(address, node)
    try:
        c.handshake()
        return c.push([c.batch(batch_payloads, start_seq=start_seq)])
    finally:
        c.close()


def _until(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            out = condition()
            if out:
                return out
        except grpc.RpcError as exc:
            last = exc
        time.sleep(0.1)  # polling a condition with a deadline, not waiting out a fixed time
    raise AssertionError(f"{what} not reached within {timeout} s (last error: {last})")


def test_standby_refuses_then_takes_over_after_sigkill_without_loss(pki, tmp_path):
    with fresh_database() as url:
        a, b = tmp_path / "a", tmp_path / "b"
        assert main(["gateway", "init", "--dir", str(a), "--ca-dir", str(pki.gateway.dir), "--store", url]) == 0
        _any_free_ports(a)
        shutil.copytree(a, b, ignore=shutil.ignore_patterns("run.json"))
        writer, run_a = start_gateway(a)
        try:
            shutil.copy(a / "subject.key", b / "subject.key")  # one province, one subject key
            standby, run_b = start_gateway(b)
            try:
                assert run_a["writer"] is True and run_b["writer"] is False
                node = pki.nodes["370100"]
                with pytest.raises(grpc.RpcError) as refused:
                    _push(run_b["address"], node, payloads("370100", 1), 1)
                assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
                details = refused.value.details() or ""
                assert run_a["address"] in details and "standby" in details

                lists = [list_payload("370100", row, i + 1) for i, row in enumerate(list_rows("370100", 3, seed=61))]
                records = lists + payloads("370100", 57, start_seq=4, seed=5)
                (r,) = _push(run_a["address"], node, records[:30], 1)
                assert r.committed_seq == 30
                # the standby serves reads from what is committed: the list log, live
                sub = Subscriber(run_b["address"], pki.nodes["370200"], from_list_seq=1)
                try:
                    sub.until(lambda s: s.through == 3)
                    assert [c.list_seq for c in sub.changes] == [1, 2, 3]
                finally:
                    sub.close()
                writer.kill()  # SIGKILL: its lease connection dies with it
                (r,) = _until(
                    lambda: _push(run_b["address"], node, records[30:], 31),
                    timeout=60,
                    what="the standby accepting pushes",
                )
                # leaves continue after the registry version's leaf (AUD-007; the standby taking over
                # does not log the same version twice), the 30 record leaves and the 3 list changes': no gap
                assert r.committed_seq == 60 and [a_.log_index for a_ in r.acks] == list(range(34, 64))
                conn = open_conn(url)
                try:
                    seqs = [s for (s,) in conn.execute("SELECT source_seq FROM records ORDER BY id")]
                    assert seqs == list(range(1, 61))  # each once, in order
                    leaves = conn.execute("SELECT COUNT(*), MAX(idx) FROM audit_leaves").fetchone()
                    assert tuple(leaves) == (64, 63)  # 60 records, 3 list changes, 1 registry version
                finally:
                    conn.close()
            finally:
                standby.stop()
        finally:
            writer.kill()
        assert read_json_file(b / "run.json") is None  # stopped cleanly
        assert main(["gateway", "audit", "verify", "--dir", str(b)]) == 0


def test_a_fenced_former_writer_cannot_write(tmp_path):
    from creditx.gateway.store import engine
    from creditx.gateway.store.postgres import PostgresStore

    with fresh_database() as url:
        first = WriterLease(url, "127.0.0.1:1")
        second = WriterLease(url, "127.0.0.1:2")
        assert first.try_acquire() and not second.try_acquire()
        assert second.writer_address() == "127.0.0.1:1"
        store = PostgresStore(url)
        engine.fence_with(first)
        try:
            store.heartbeat("370100", 0, 0, "2026-01-01T00:00:00Z")  # the writer writes
            admin = open_conn(url)
            admin.execute("SELECT pg_terminate_backend(?)", (first.backend_pid,))  # cut off, as by a partition
            admin.close()
            _until(second.try_acquire, timeout=30, what="the second gateway taking the lease")
            with pytest.raises(Fenced):
                store.heartbeat("370100", 1, 1, "2026-01-01T00:00:01Z")
            conn = open_conn(url)
            with pytest.raises(Fenced), transaction(conn):
                conn.execute("UPDATE nodes SET backlog = 99")
            assert conn.execute("SELECT backlog FROM nodes").fetchone()[0] == 0
            conn.close()
            engine.fence_with(second)
            store.heartbeat("370100", 2, 2, dt.datetime.now(dt.UTC).isoformat())  # the new writer does
        finally:
            engine.fence_with(None)
            store.close()
            first.close()
            second.close()
