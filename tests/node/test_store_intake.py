"""Outbox contiguity, intake (good rows beside bad ones, corrections), quarantine, acks (NODE-001…023)."""

from __future__ import annotations

import multiprocessing as mp

from creditx.node.intake import Draft, check_row, ingest
from creditx.node.store import MIGRATIONS, AckRow, NodeStore, migration_outbox_acks
from creditx.standard.envelope import Envelope, Signature, verify_envelope
from creditx.standard.record import RECORD_PAYLOAD_TYPE, decode_record
from tests.node.helpers import TODAY, cf_row, make_signer, needs_name


def _ingest(store, signer, rows, **kw):
    return ingest(
        store,
        signer,
        rows,
        region="370100",
        source="test",
        today=TODAY,
        clock=lambda: 1000.0,
        validate=needs_name,
        **kw,
    )


def test_good_rows_go_through_beside_bad_ones_and_seqs_are_contiguous(tmp_path):
    store, signer = NodeStore(tmp_path / "node.db"), make_signer()
    rows = [cf_row(i, name="" if i % 3 == 0 else "某公司") for i in range(1, 1201)]
    report = _ingest(store, signer, rows, batch_size=500)
    assert report.rows == 1200 and report.quarantined == 400 and report.accepted == 800
    seqs = [r[0] for r in store.conn.execute("SELECT source_seq FROM outbox ORDER BY source_seq")]
    assert seqs == list(range(1, 801))
    q = store.quarantine()
    assert len(q) == 400 and q[0]["row"] == 3 and q[0]["field"] == "CF_XDR_MC" and q[0]["rule"] == "REC-010"
    assert q[0]["fix"] and q[0]["fields"]["CF_WSH"].startswith("济市监罚")
    assert store.counts() == {
        "accepted": 0,
        "duplicate": 0,
        "superseded": 0,
        "rejected": 0,
        "pending": 800,
        "sent": 0,
        "quarantined": 400,
    }


def test_records_are_signed_once_over_their_seq(tmp_path):
    store, signer = NodeStore(tmp_path / "node.db"), make_signer()
    _ingest(store, signer, [cf_row(1), cf_row(2)])
    items = store.load_batch(1, 10, 1 << 20)
    assert [i.source_seq for i in items] == [1, 2]
    for item in items:
        rec = decode_record(item.payload)
        assert rec.source_seq == item.source_seq and rec.region == "370100"
        env = Envelope(RECORD_PAYLOAD_TYPE, item.payload, tuple(Signature(**s) for s in item.signatures))
        verify_envelope(env, lambda k: signer.public_key if k == signer.keyid else None)


def test_byte_bound_limits_a_batch_but_never_below_one(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    _ingest(store, make_signer(), [cf_row(i) for i in range(1, 11)])
    one = len(store.load_batch(1, 1, 1 << 20)[0].payload)
    assert len(store.load_batch(1, 10, 1)) == 1
    assert 1 < len(store.load_batch(1, 10, 3 * (one + 400))) < 10


def test_corrections_and_revocations(tmp_path):
    store, signer = NodeStore(tmp_path / "node.db"), make_signer()
    _ingest(store, signer, [cf_row(1)])
    report = _ingest(
        store,
        signer,
        [
            cf_row(1),  # re-import: already submitted
            cf_row(1, op="U", version="2", CF_NR="更正"),  # correction: accepted
            cf_row(1, op="U", version="2"),  # same version again in the same batch
            cf_row(1, op="D", version="3", name=""),  # revocation needs no full field set
            cf_row(9, op="U", version="2", source_id=""),  # correction without source id
            cf_row(10, op="X"),
        ],
        keep_results=True,
    )
    reasons = [[p.reason for p in r.problems] for r in report.results]
    assert reasons == [["ALREADY_SUBMITTED"], [], ["ALREADY_SUBMITTED"], [], ["SOURCE_ID_MISSING"], ["OP_INVALID"]]
    ops = list(store.conn.execute("SELECT op, version FROM outbox ORDER BY source_seq"))
    assert ops == [("I", 1), ("U", 2), ("D", 3)]


def test_rows_without_source_id_get_a_stable_derived_one():
    r1 = cf_row(1, source_id="")
    d1 = check_row(r1, region="370100", today=TODAY, latest={}, validate=needs_name)
    d2 = check_row(cf_row(1, source_id=""), region="370100", today=TODAY, latest={}, validate=needs_name)
    assert isinstance(d1, Draft) and isinstance(d2, Draft)
    assert d1.source_id == d2.source_id and d1.source_id.startswith("XZCF-")
    again = check_row(r1, region="370100", today=TODAY, latest={d1.source_id: 1}, validate=needs_name)
    assert isinstance(again, list) and [p.reason for p in again] == ["ALREADY_SUBMITTED"]


def test_foreign_region_row_is_quarantined():
    r = cf_row(1)
    r = type(r)(r.row, r.record_type, r.fields, dict(r.meta, region="370200"))
    problems = check_row(r, region="370100", today=TODAY, latest={}, validate=needs_name)
    assert isinstance(problems, list)
    (problem,) = problems
    assert (problem.reason, problem.rule, problem.field) == ("SEC_REGION_MISMATCH", "SEC-032", "region")


def _import_in_process(path, start, n):
    store = NodeStore(path)
    _ingest(store, make_signer(), [cf_row(i) for i in range(start, start + n)], batch_size=25)
    store.close()


def test_concurrent_importers_in_two_processes_keep_seqs_contiguous(tmp_path):
    path = tmp_path / "node.db"
    NodeStore(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_import_in_process, args=(path, s, 300)) for s in (1, 1001)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = NodeStore(path)
    assert [r[0] for r in store.conn.execute("SELECT source_seq FROM outbox ORDER BY 1")] == list(range(1, 601))


def test_acks_recorded_with_committed_seq_and_never_double_counted(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    _ingest(store, make_signer(), [cf_row(i) for i in range(1, 6)])
    store.mark_sent(1, 5, 1001.0)
    assert store.counts()["sent"] == 5
    acks = [
        AckRow(1, "ACCEPTED"),
        AckRow(2, "DUPLICATE"),
        AckRow(3, "REJECTED", "USCC_CHECKSUM", "REC-ID-001", "CF_XDR_SHXYM", "check character is wrong"),
    ]
    assert store.record_acks(acks, 3, 1002.0) == 3
    assert store.record_acks(acks, 3, 1003.0) == 3  # lost ack, re-sent, answered again
    c = store.counts()
    assert (c["accepted"], c["duplicate"], c["rejected"], c["sent"]) == (1, 1, 1, 2)
    assert store.first_unacked() == 4 and store.get_state()["committed_seq"] == 3
    [rej] = store.rejects()
    assert (rej["source_seq"], rej["reason"], rej["requirement"], rej["field"]) == (
        3,
        "USCC_CHECKSUM",
        "REC-ID-001",
        "CF_XDR_SHXYM",
    )


def test_sending_and_acking_never_rewrite_an_outbox_row(tmp_path):
    """NODE-050: the wide row is written once; sent and ack state are narrow rows beside it."""
    store = NodeStore(tmp_path / "node.db")
    _ingest(store, make_signer(), [cf_row(i) for i in range(1, 6)])
    store.conn.execute(
        "CREATE TEMP TRIGGER rewritten AFTER UPDATE ON main.outbox BEGIN SELECT RAISE(ABORT, 'outbox rewritten'); END"
    )
    store.mark_sent(1, 5, 1001.0)
    assert store.record_acks([AckRow(1, "ACCEPTED"), AckRow(2, "ACCEPTED"), AckRow(4, "ACCEPTED")], 4, 1002.0) == 3
    assert store.first_unacked() == 3  # 4 is acked, 3 is not: the cursor waits at 3
    assert store.record_acks([AckRow(3, "REJECTED", "X", "REC-ID-001"), AckRow(99, "ACCEPTED")], 4, 1003.0) == 1
    assert store.first_unacked() == 5 and store.outcome_of(3) == "REJECTED" and store.outcome_of(5) is None
    c = store.counts()
    assert (c["accepted"], c["rejected"], c["sent"], c["pending"]) == (3, 1, 1, 0)


def test_an_existing_node_keeps_its_acks_sent_state_and_cursor_across_the_narrow_ack_migration(tmp_path):
    """NODE-050 upgrade: a node.db of the schema before the narrow acks, with acks, a gap in
    them and sent records, reads the same after the migration."""
    import sqlite3

    from creditx.sqlite import connect, migrate

    path = tmp_path / "node.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS[: MIGRATIONS.index(migration_outbox_acks)])  # the schema an existing node has
    conn.close()
    db = sqlite3.connect(path)  # rows as that schema's node wrote them
    for seq in range(1, 8):
        db.execute(
            "INSERT INTO outbox(source_seq, source_id, type, op, version, key_id, payload, signatures, created_at) "
            "VALUES (?, ?, 'XZCF', 'I', 1, 'k', x'7b7d', '[]', 1.0)",
            (seq, f"s{seq}"),
        )
    db.execute("UPDATE outbox SET sent_at = 2.0 WHERE source_seq <= 6")
    db.execute("UPDATE outbox SET outcome = 'ACCEPTED', acked_at = 3.0, logged = 1 WHERE source_seq IN (1, 2, 4)")
    db.execute(
        "UPDATE outbox SET outcome = 'REJECTED', reason_code = 'USCC_CHECKSUM', requirement = 'REC-ID-001' "
        "WHERE source_seq = 5"
    )
    db.commit()
    db.close()
    store = NodeStore(path)
    assert store.first_unacked() == 3
    c = store.counts()
    assert (c["accepted"], c["rejected"], c["sent"], c["pending"]) == (3, 1, 2, 1)
    assert [r["source_seq"] for r in store.rejects()] == [5] and store.rejects()[0]["reason"] == "USCC_CHECKSUM"
    cols = {r[1] for r in store.conn.execute("PRAGMA table_info(outbox)")}
    assert "outcome" not in cols and "sent_at" not in cols and "payload" in cols
    store.record_acks([AckRow(3, "ACCEPTED")], 5, 4.0)
    assert store.first_unacked() == 6


def test_migrations_are_numbered_and_idempotent(tmp_path):
    NodeStore(tmp_path / "node.db").close()
    store = NodeStore(tmp_path / "node.db")
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 6
    assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1  # NODE-047
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_handshake_presents_current_and_still_used_earlier_signing_certs(tmp_path):
    store = NodeStore(tmp_path / "node.db")
    old, new = make_signer(), make_signer()
    with store.transaction():
        store.remember_signing_cert(old.keyid, b"old-der", 1.0)
        store.remember_signing_cert(new.keyid, b"new-der", 2.0)
    _ingest(store, old, [cf_row(1)])
    _ingest(store, new, [cf_row(2)])
    assert store.signing_certs_in_use(new.keyid) == [b"new-der", b"old-der"]
    store.record_acks([AckRow(1, "ACCEPTED")], 1, 3.0)  # the old key's last record is decided
    assert store.signing_certs_in_use(new.keyid) == [b"new-der"]
