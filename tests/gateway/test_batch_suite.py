"""The batch-signed suite end to end (SIG-040…045, SYNC-060…064): a real node set to
``record_suite: batch`` pushes to a real gateway over mutual TLS; the gateway verifies one
checkpoint per batch and one path per record, stores the checkpoints, refuses a node that
rewrites its own history, and every stored record verifies on its own."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from creditx.node.app import NodeApp
from creditx.node.config import init_node_dir
from creditx.standard.batch import BATCH_SUITE, verify_batched_record
from creditx.standard.envelope import SignatureError
from creditx.standard.synth import generate_rows
from creditx.standard.synth.writers import write_rows
from creditx.standard.tabular import read_table

pytestmark = pytest.mark.slow
REGION = "370100"


def _node(tmp_path, gateway, pki):
    nd = tmp_path / "node"
    init_node_dir(nd, region=REGION, gateway=gateway.address, certs=pki.nodes[REGION].dir, server_name="localhost")
    cfg = json.loads((nd / "node.json").read_text())
    cfg["record_suite"] = "batch"
    (nd / "node.json").write_text(json.dumps(cfg))
    return nd


def _ingest(app, tmp_path, n, seed):
    src = tmp_path / f"cf-{seed}.csv"
    with open(src, "wb") as out:
        rows = generate_rows(REGION, "XZCF", n, seed=seed, invalid_share=0.0, today=dt.date.today())
        write_rows(out, rows, record_type="XZCF")
    app.ingest(read_table(src), source=str(src))


def test_batch_signed_pushes_are_stored_with_their_checkpoints_and_verify_alone(gateway, pki, tmp_path):
    nd = _node(tmp_path, gateway, pki)
    app = NodeApp(nd)
    _ingest(app, tmp_path, 30, 5)
    app.runner().sync_once()
    _ingest(app, tmp_path, 12, 6)  # a second session: consistency from the stored checkpoint
    app.runner().sync_once()
    pub = app.signer.public_key
    app.close()

    db = sqlite3.connect(gateway.dir / "gateway.db")
    cps = db.execute("SELECT size, first_seq, note FROM node_checkpoints WHERE node = ? ORDER BY size", (REGION,))
    checkpoints = cps.fetchall()
    assert [c[:2] for c in checkpoints] == [(31, 1), (43, 31)]  # size = last source_seq + 1
    rows = db.execute("SELECT source_seq, payload, signatures, outcome FROM records ORDER BY source_seq").fetchall()
    assert len(rows) == 42 and {r[3] for r in rows} == {1}  # every record ACCEPTED
    for seq, payload, sigs, _ in rows:
        ((keyid, suite, sig_hex),) = json.loads(sigs)
        assert suite == BATCH_SUITE
        note = next(n for size, first, n in checkpoints if first <= seq < size)
        cp = verify_batched_record(REGION, seq, bytes(payload), bytes.fromhex(sig_hex), note, [pub])  # SIG-045
        assert cp.size > seq
    seq, payload, sigs, _ = rows[3]
    path = bytes.fromhex(json.loads(sigs)[0][2])
    with pytest.raises(SignatureError) as e:  # another record's bytes do not fit this path
        verify_batched_record(REGION, seq, bytes(rows[4][1]), path, checkpoints[0][2], [pub])
    assert e.value.reason == "SIG_BATCH_PROOF"


def test_a_node_that_rewrites_its_history_is_refused(gateway, pki, tmp_path):
    nd = _node(tmp_path, gateway, pki)
    app = NodeApp(nd)
    _ingest(app, tmp_path, 10, 7)
    app.runner().sync_once()
    # rewrite what the gateway already holds: record 2's bytes, and the log built from them
    with app.store.transaction():
        p = json.loads(app.store.conn.execute("SELECT payload FROM outbox WHERE source_seq = 2").fetchone()[0])
        p["fields"]["CF_WSH"] = "rewritten"
        new = json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        app.store.conn.execute("UPDATE outbox SET payload = ? WHERE source_seq = 2", (new,))
        app.store.conn.execute("DELETE FROM outbox_tree")
        app.store.conn.execute("DELETE FROM outbox_log")
    _ingest(app, tmp_path, 5, 8)
    app.runner().sync_once()
    state = app.store.get_state()
    app.close()
    assert state["last_error_reason"] == "SYNC_CHECKPOINT_FORK"
    db = sqlite3.connect(gateway.dir / "gateway.db")
    assert db.execute("SELECT committed_seq FROM nodes WHERE region = ?", (REGION,)).fetchone()[0] == 10
    assert db.execute("SELECT COUNT(*) FROM node_checkpoints").fetchone()[0] == 1


def test_a_record_with_a_wrong_path_is_rejected_alone(gateway, pki):
    """A batch-signed push made by hand: one record's path is another's; only it is rejected."""
    from creditx.pki.files import read_key
    from creditx.standard.batch import encode_path, genesis_leaf, outbox_origin
    from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
    from creditx.standard.merkle import inclusion_proof, leaf_hash, root
    from creditx.standard.suites import key_id
    from creditx.v1 import envelope_pb2
    from creditx.v1 import exchange_pb2 as pb
    from tests.gateway.push_client import PushClient, payloads

    key = read_key(pki.nodes[REGION].signing_key)
    kid = key_id(key.public_key())
    bodies = payloads(REGION, 6, seed=9)
    leaves = [leaf_hash(genesis_leaf(REGION))] + [leaf_hash(b) for b in bodies]
    note = sign_checkpoint(Checkpoint(outbox_origin(REGION), len(leaves), root(leaves)), outbox_origin(REGION), key)
    paths = [encode_path(inclusion_proof(i + 1, leaves)) for i in range(len(bodies))]
    paths[2] = paths[3]
    recs = [
        pb.SignedRecord(
            source_seq=i + 1,
            envelope=envelope_pb2.Envelope(
                payload_type="application/vnd.creditx.record+json;v=1",
                payload=b,
                signatures=[envelope_pb2.Signature(keyid=kid, suite=BATCH_SUITE, sig=paths[i])],
            ),
        )
        for i, b in enumerate(bodies)
    ]
    c = PushClient(gateway.address, pki.nodes[REGION])
    c.handshake()
    (resp,) = list(c.stub.Push(iter([pb.PushRequest(batch_id=1, records=recs, checkpoint=note)]), timeout=60))
    c.close()
    reasons = [a.reason_code for a in resp.acks]
    assert reasons == ["", "", "SIG_BATCH_PROOF", "", "", ""] and resp.committed_seq == 6
    assert resp.acks[2].requirement == "SIG-044"
