"""DIST-070…074 snapshots (chunks reproduce the state at at_list_seq, resume from a chunk),
DIST-051/052 list checkpoints with consistency proofs, DIST-001 list_seq gap-free across a
gateway restart, DIST-021 the expiry job with an injected clock."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from creditx.gateway.lists.expiry import ExpiryJob
from creditx.gateway.server import Gateway
from creditx.gateway.store.engine import open_conn, transaction
from creditx.pki.files import read_key
from creditx.standard.canonical import canonicalize
from creditx.standard.checkpoint import verifier_for, verify_checkpoint
from creditx.standard.lists.log import list_log_origin
from creditx.standard.merkle import CompactRange, leaf_hash, verify_consistency
from creditx.standard.timestamps import rfc3339
from creditx.v1 import lists_pb2 as lpb
from tests.gateway.push_client import PushClient, trailers
from tests.gateway_lists.client import INDEX_KEY, Subscriber, list_payload, list_rows
from tests.pg import ENGINES

pytestmark = pytest.mark.parametrize("store_url", ENGINES, indirect=True)

NAMES = {lpb.CHANGE_KIND_ADD: "ADD", lpb.CHANGE_KIND_CORRECT: "CORRECT", lpb.CHANGE_KIND_REMOVE: "REMOVE"}


def _push(address, pki, region, payloads, start=1):
    c = PushClient(address, pki.nodes[region])
    c.handshake()
    c.push([c.batch(payloads, start_seq=start)])
    c.close()


def leaf_of(c: lpb.ListChange) -> bytes:
    """DIST-050 leaf hash recomputed from what the wire carries."""
    reason = lpb.RemovalReason.Name(c.reason).removeprefix("REMOVAL_REASON_")
    at = dt.datetime.fromtimestamp(c.at_unix_ms / 1000, dt.UTC)
    return leaf_hash(
        canonicalize(
            {
                "kind": "list",
                "list_seq": c.list_seq,
                "fp": c.entry.origin_fingerprint.hex(),
                "node": c.entry.origin_region,
                "list_type": c.list_type,
                "change": NAMES[c.kind],
                "reason": "" if reason == "UNSPECIFIED" else reason,
                "at": rfc3339(at),
            }
        )
    )


def _snapshot(sub: Subscriber, **req) -> list[lpb.SnapshotChunk]:
    return list(sub.stub.Snapshot(lpb.SnapshotRequest(**{"subject_index_key": INDEX_KEY, **req}), timeout=20))


def test_snapshot_chunks_resume_and_state_at_older_list_seq(gateway, pki):
    rows = list_rows("370100", 7, seed=5)
    _push(gateway.address, pki, "370100", [list_payload("370100", r, i + 1) for i, r in enumerate(rows)])
    _push(gateway.address, pki, "370100", [list_payload("370100", rows[2], 8, op="D", version=2)], start=8)
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    try:
        sub.until(lambda s: s.through == 8)
        final = {}
        for c in sub.changes:
            final[c.entry.entry_id] = c.entry
        chunks = _snapshot(sub, max_chunk_entries=3)
        assert [(c.at_list_seq, c.index, c.total) for c in chunks] == [(8, 0, 3), (8, 1, 3), (8, 2, 3)]
        got = [e for c in chunks for e in c.entries]
        assert [e.entry_id for e in got] == sorted(final)  # DIST-071 ascending entry_id
        assert {e.entry_id: e for e in got} == final and chunks[0].entries_total == 7
        removed = [e for e in got if e.state == lpb.LIST_ENTRY_STATE_REMOVED]
        assert len(removed) == 1 and removed[0].removal_reason == lpb.REMOVAL_REASON_REVOKED
        # DIST-074: chunk 0's frontier is the log's compact range at at_list_seq
        fr = CompactRange.from_bytes(chunks[0].frontier)
        assert fr.size == 8
        cr = CompactRange()
        cr.extend([leaf_of(c) for c in sub.changes])
        assert fr == cr
        # DIST-072: resume the same snapshot from chunk 1 after new changes were published
        _push(
            gateway.address,
            pki,
            "370100",
            [list_payload("370100", r, 9 + i) for i, r in enumerate(list_rows("370100", 2, seed=9))],
            start=9,
        )
        resumed = _snapshot(sub, at_list_seq=8, from_chunk=1, max_chunk_entries=3)
        assert [list(c.entries) for c in resumed] == [list(c.entries) for c in chunks[1:]]
        assert not resumed[0].frontier
        # the state after change 3 (entries 1..3, none removed yet)
        old = _snapshot(sub, at_list_seq=3)
        assert [e.entry_id for c in old for e in c.entries] == sorted(c.entry.entry_id for c in sub.changes[:3])
        assert all(e.state == lpb.LIST_ENTRY_STATE_LISTED for c in old for e in c.entries)
        with pytest.raises(grpc.RpcError) as exc:
            _snapshot(sub, at_list_seq=99)
        assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "DIST_SNAPSHOT_GONE" in (
            exc.value.details() or ""
        )
    finally:
        sub.close()


def test_empty_snapshot_is_one_empty_chunk(gateway, pki):
    sub = Subscriber(gateway.address, pki.nodes["370200"])
    try:
        (chunk,) = _snapshot(sub)
        assert (chunk.at_list_seq, chunk.index, chunk.total, len(chunk.entries)) == (0, 0, 1, 0)
    finally:
        sub.close()


def test_checkpoint_consistency_and_gap_free_across_restart(gw_dir, pki):
    gw = Gateway(gw_dir)
    gw.start()
    rows = list_rows("370100", 6, seed=11)
    try:
        _push(gw.address, pki, "370100", [list_payload("370100", r, i + 1) for i, r in enumerate(rows[:3])])
        sub = Subscriber(gw.address, pki.nodes["370200"])
        first = sub.stub.GetListCheckpoint(lpb.ListCheckpointRequest(), timeout=10)
        sub.close()
    finally:
        gw.stop(grace=1)
    gw = Gateway(gw_dir)  # restart: the log continues at 4
    gw.start()
    try:
        _push(gw.address, pki, "370100", [list_payload("370100", r, i + 4) for i, r in enumerate(rows[3:])], start=4)
        sub = Subscriber(gw.address, pki.nodes["370200"], from_list_seq=1)
        sub.until(lambda s: s.live and s.through == 6)
        assert [c.list_seq for c in sub.changes] == [1, 2, 3, 4, 5, 6]
        second = sub.stub.GetListCheckpoint(lpb.ListCheckpointRequest(from_size=3), timeout=10)
        origin = list_log_origin(gw.cfg.name)
        v = verifier_for(origin, read_key(gw_dir / "tls" / "signing.key").public_key())
        old = verify_checkpoint(first.checkpoint, [v], origin=origin)
        new = verify_checkpoint(second.checkpoint, [v], origin=origin)
        assert (old.size, new.size) == (3, 6)
        cr = CompactRange()
        cr.extend([leaf_of(c) for c in sub.changes])
        assert cr.root() == new.root_hash  # DIST-052: the replica is exactly the log
        verify_consistency(3, 6, old.root_hash, new.root_hash, list(second.consistency_proof))
        sub.close()
    finally:
        gw.stop(grace=1)


def test_expiry_job_removes_due_entries_with_reason_expired(gateway, gw_dir, pki):
    rows = list_rows("370100", 4, seed=21)
    _push(gateway.address, pki, "370100", [list_payload("370100", r, i + 1) for i, r in enumerate(rows)])
    sub = Subscriber(gateway.address, pki.nodes["370200"], from_list_seq=1)
    try:
        sub.until(lambda s: s.live and s.through == 4)
        db = gateway.cfg.database_spec(gw_dir)
        assert ExpiryJob(db, None, lambda: dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).run() == 0  # not due
        far = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
        job = ExpiryJob(db, gateway.lists.hub, lambda: far)
        n = job.run()
        sub.until(lambda s: s.through == 4 + n)
        expired = sub.changes[4:]
        assert n >= 1 and all(
            c.kind == lpb.CHANGE_KIND_REMOVE and c.reason == lpb.REMOVAL_REASON_EXPIRED for c in expired
        )
        by_id = {c.entry.entry_id: c for c in sub.changes[:4]}
        for c in expired:  # DIST-032: the origin is the version that was listed
            assert c.origin.payload == by_id[c.entry.entry_id].origin.payload
            assert c.entry.removed_on and c.entry.state == lpb.LIST_ENTRY_STATE_REMOVED
        assert n == 4 and job.run() == 0  # every period (MD_GLQX_Z) ended before 2200; nothing due twice
    finally:
        sub.close()


def test_list_checkpoint_refuses_a_log_that_shrank_below_its_checkpoint(gw_dir, pki):
    """AUD-027/DIST-051: the list log's checkpointer is the audit log's; a tree smaller than the
    latest signed checkpoint is refused (UNAVAILABLE, ROLLBACK) — never answered with the larger
    stored checkpoint, never signed at the smaller size."""
    gw = Gateway(gw_dir)
    gw.start()
    try:
        _push(
            gw.address,
            pki,
            "370100",
            [list_payload("370100", r, i + 1) for i, r in enumerate(list_rows("370100", 3, seed=31))],
        )
        sub = Subscriber(gw.address, pki.nodes["370200"])
        signed = sub.stub.GetListCheckpoint(lpb.ListCheckpointRequest(), timeout=10)
        sub.close()
        origin, db = list_log_origin(gw.cfg.name), gw.cfg.database_spec(gw_dir)
    finally:
        gw.stop(grace=1)
    v = verifier_for(origin, read_key(gw_dir / "tls" / "signing.key").public_key())
    assert verify_checkpoint(signed.checkpoint, [v], origin=origin).size == 3
    conn = open_conn(db)  # someone rewinds the list log to 2 changes
    with transaction(conn):
        hashes = [r[0] for r in conn.execute("SELECT leaf_hash FROM list_log ORDER BY list_seq LIMIT 2")]
        cr = CompactRange()
        cr.extend(hashes)
        conn.execute("UPDATE list_tree SET frontier = ? WHERE id = 1", (cr.to_bytes(),))
        conn.execute("DELETE FROM list_log WHERE list_seq = 3")
    conn.close()
    gw = Gateway(gw_dir)
    gw.start()
    try:
        sub = Subscriber(gw.address, pki.nodes["370200"])
        with pytest.raises(grpc.RpcError) as exc:
            sub.stub.GetListCheckpoint(lpb.ListCheckpointRequest(), timeout=10)
        sub.close()
        assert exc.value.code() is grpc.StatusCode.UNAVAILABLE
        details = exc.value.details() or ""
        assert "ROLLBACK" in details and "below its signed checkpoint 3" in details
    finally:
        gw.stop(grace=1)
    conn = open_conn(db)
    assert [r[0] for r in conn.execute("SELECT size FROM list_checkpoints")] == [3]
    conn.close()


def test_list_checkpoint_without_a_readable_signing_key_is_unavailable_with_its_reason(gateway, gw_dir, pki):
    from creditx.standard.call_status import reason_from, rule_from

    (gw_dir / "tls" / "signing.key").write_text("not a key")
    sub = Subscriber(gateway.address, pki.nodes["370200"])
    try:
        with pytest.raises(grpc.RpcError) as exc:
            sub.stub.GetListCheckpoint(lpb.ListCheckpointRequest(), timeout=10)
    finally:
        sub.close()
    assert exc.value.code() is grpc.StatusCode.UNAVAILABLE
    assert reason_from(trailers(exc.value), "") == "CHECKPOINT_UNAVAILABLE"  # SYNC-016
    assert rule_from(trailers(exc.value)) == "DIST-051"
