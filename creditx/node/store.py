"""The node's durable state in one SQLite file (ADR 0007, ADR 0010).

Tables: ``outbox`` (every accepted intake record, signed once), ``outbox_acks`` (the gateway's
decision of each acknowledged one) and ``outbox_marks`` (sent and acknowledged up to), ``quarantine`` (invalid intake rows with the rule they broke), ``imports`` (one row
per intake batch), ``signing_certs`` (certificates whose keys signed outbox records) and
``sync_state`` (key/value: the gateway's committed_seq, last sync, last error …).

Invariants kept here:

* NODE-001 ``source_seq`` is contiguous from 1 per node: it is assigned as ``max + 1`` inside a
  ``BEGIN IMMEDIATE`` transaction, so concurrent importers (other processes) serialise on the
  write lock and can never skip or reuse a number.
* NODE-002 a record's payload and signatures are written once and never rewritten; re-sends
  send the stored bytes.
* NODE-003 recording acks and advancing the cursor is one transaction: the cursor is the
  lowest record without an ack (``first_unacked``: ``outbox_marks.acked_through`` + 1), moved
  with the acks and the gateway's committed_seq together, so a crash leaves either both or neither.
* NODE-050 an outbox row is written once: the gateway's decision is a narrow ``outbox_acks``
  row per record, "sent up to" and "acknowledged up to" are two numbers (``outbox_marks``), so
  sending and acking never rewrite a record's wide row.
* Recording the same ack twice (re-sent records, lost acks) replaces the same ack row: nothing
  is counted twice.

The file is opened in WAL mode with ``synchronous=NORMAL`` and a busy timeout, so ``creditx node
import``/``status`` work while ``creditx node run`` holds the same file (multi-process safe).
Schema changes are numbered migrations (:func:`creditx.sqlite.migrate`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from creditx.node.halls.store import migration_5
from creditx.node.intake_schema import migration_4
from creditx.node.replica.store import migration_2, migration_6_privacy, migration_replica_rowid
from creditx.node.sync.outbox_log import migration_outbox_log
from creditx.sqlite import Readers, connect, migrate
from creditx.sqlite import transaction as sqlite_transaction

OUTCOMES = ("ACCEPTED", "DUPLICATE", "SUPERSEDED", "REJECTED")
UNSIGNED = "[]"  # an outbox record's signatures when intake did not sign it (NODE-051, record_signing.py)
# an outbox row ``o`` without an ack: after acked_through, and no outbox_acks row (NODE-050)
UNACKED = (
    "o.source_seq > (SELECT acked_through FROM outbox_marks WHERE id = 1) "
    "AND NOT EXISTS (SELECT 1 FROM outbox_acks a WHERE a.source_seq = o.source_seq)"
)


def _m1(db: sqlite_utils.Database) -> None:
    db.table("outbox").create(
        {
            "source_seq": int,
            "source_id": str,
            "type": str,
            "op": str,
            "version": int,
            "key_id": str,
            "payload": bytes,
            "signatures": str,
            "import_id": int,
            "created_at": float,
            "sent_at": float,
            "outcome": str,
            "reason_code": str,
            "requirement": str,
            "field": str,
            "message": str,
            "fingerprint": bytes,
            "log_index": int,
            "acked_at": float,
        },
        pk="source_seq",
        not_null={"source_id", "type", "op", "version", "payload", "signatures"},
    )
    db.execute("CREATE INDEX outbox_unacked ON outbox(source_seq) WHERE outcome IS NULL")
    db.execute("CREATE INDEX outbox_source_id ON outbox(source_id, version)")
    db.execute("CREATE INDEX outbox_outcome ON outbox(outcome)")
    db.table("quarantine").create(
        {
            "id": int,
            "import_id": int,
            "file": str,
            "row": int,
            "record_type": str,
            "source_id": str,
            "field": str,
            "field_name": str,
            "rule": str,
            "reason": str,
            "message": str,
            "fix": str,
            "fields": str,
            "created_at": float,
        },
        pk="id",
    )
    db.table("imports").create(
        {
            "id": int,
            "file": str,
            "started_at": float,
            "finished_at": float,
            "rows": int,
            "accepted": int,
            "quarantined": int,
        },
        pk="id",
    )
    db.table("signing_certs").create({"key_id": str, "cert_der": bytes, "added_at": float}, pk="key_id")
    db.table("sync_state").create({"key": str, "value": str}, pk="key")


def _m3_reserved(db: sqlite_utils.Database) -> None:
    """Number 3 is reserved for the hostile-input work (bounded rejects); replaced when merged."""


def migration_ack_receipts(db: sqlite_utils.Database) -> None:
    """Exchange 1.1 (SYNC-035, AUD-035): what an ack adds — the leaf's time, whether there is a
    leaf, and the warnings (JSON list) — so a receipt is checked from the stored ack alone."""
    db.execute("ALTER TABLE outbox ADD COLUMN decided_at TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN logged INTEGER")  # NULL: a 1.0 gateway's ack
    db.execute("ALTER TABLE outbox ADD COLUMN warnings TEXT")


ACK_COLUMNS = (
    "outcome",
    "reason_code",
    "requirement",
    "field",
    "message",
    "fingerprint",
    "log_index",
    "acked_at",
    "decided_at",
    "logged",
    "warnings",
)


def migration_outbox_acks(db: sqlite_utils.Database) -> None:
    """NODE-050: an outbox row is written once. The gateway's decision moves to a narrow
    ``outbox_acks`` row per record (no payload), "sent" and "acknowledged up to" to two marks
    in ``outbox_marks``; the wide row's sent and ack columns are carried over and dropped (an
    existing node's acks, sent state and cursor are kept)."""
    db.execute(
        "CREATE TABLE outbox_acks (source_seq INTEGER PRIMARY KEY, outcome TEXT NOT NULL, reason_code TEXT, "
        "requirement TEXT, field TEXT, message TEXT, fingerprint BLOB, log_index INTEGER, acked_at REAL, "
        "decided_at TEXT, logged INTEGER, warnings TEXT)"
    )
    cols = ", ".join(ACK_COLUMNS)
    db.execute(
        f"INSERT INTO outbox_acks (source_seq, {cols}) SELECT source_seq, {cols} FROM outbox WHERE outcome IS NOT NULL"
    )
    db.execute(
        "CREATE TABLE outbox_marks (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "sent_through INTEGER NOT NULL, acked_through INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT INTO outbox_marks VALUES (1, "
        "(SELECT COALESCE(MAX(source_seq), 0) FROM outbox WHERE sent_at IS NOT NULL OR outcome IS NOT NULL), "
        "COALESCE((SELECT MIN(source_seq) - 1 FROM outbox WHERE outcome IS NULL), "
        "(SELECT COALESCE(MAX(source_seq), 0) FROM outbox)))"
    )
    db.execute("DROP INDEX outbox_unacked")
    db.execute("DROP INDEX outbox_outcome")
    for col in ("sent_at", *ACK_COLUMNS):
        db.execute(f"ALTER TABLE outbox DROP COLUMN {col}")


# Append, never edit: migration n brings user_version from n-1 to n. 2: list replica
# (node/replica/store.py); 4: intake (node/intake_schema.py); 5: halls (node/halls/store.py);
# 6: privacy (node/replica/store.py); then the 1.1 ack receipts; then the outbox log of the
# batch-signed suite (node/sync/outbox_log.py); then the replica's rowid layout and feed gaps
# (node/replica/store.py); then the narrow acks (NODE-050, above).
MIGRATIONS = [
    _m1,
    migration_2,
    _m3_reserved,
    migration_4,
    migration_5,
    migration_6_privacy,
    migration_ack_receipts,
    migration_outbox_log,
    migration_replica_rowid,
    migration_outbox_acks,
]


@dataclass(frozen=True)
class OutboxItem:
    source_seq: int
    payload: bytes
    signatures: list[dict]  # [{"keyid", "suite", "sig" (bytes)}]


@dataclass(frozen=True)
class AckRow:
    source_seq: int
    outcome: str
    reason_code: str = ""
    requirement: str = ""
    field: str = ""
    message: str = ""
    fingerprint: bytes = b""
    log_index: int = 0
    decided_at: str = ""  # since 1.1: the leaf's "at" (AUD-035)
    logged: bool | None = None  # since 1.1: has an audit leaf; None from a 1.0 gateway
    warnings: str = ""  # since 1.1: JSON list of {reason_code, requirement, field, message}


def encode_signatures(sigs: Iterable[tuple[str, str, bytes]]) -> str:
    return json.dumps([{"keyid": k, "suite": s, "sig": sig.hex()} for k, s, sig in sigs])


def _decode_signatures(text: str) -> list[dict]:
    return [dict(d, sig=bytes.fromhex(d["sig"])) for d in json.loads(text)]


class NodeStore:
    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        conn = connect(self.path, timeout_s=busy_timeout_ms / 1000)
        conn.execute("PRAGMA secure_delete=ON")  # NODE-047: deleted or replaced rows leave no bytes behind
        self.conn = conn
        self._lock = threading.RLock()  # one connection, shared by the scheduler's threads
        self.db = sqlite_utils.Database(conn)
        with self._lock:
            migrate(conn, MIGRATIONS)
        self.readers = Readers(self.path)  # read-only connections for the hall check's threads

    def close(self) -> None:
        self.readers.close()
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front (NODE-001)."""
        with sqlite_transaction(self.conn, lock=self._lock):
            yield

    def _one(self, sql: str, params: Sequence[object] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    # --- intake (call inside transaction()) ------------------------------------------------

    def last_seq(self) -> int:
        return int(self._one("SELECT COALESCE(MAX(source_seq), 0) FROM outbox"))

    def latest_versions(self, source_ids: Iterable[str]) -> dict[str, int]:
        ids = sorted(set(source_ids))
        out: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for sid, v in self.conn.execute(
                f"SELECT source_id, MAX(version) FROM outbox WHERE source_id IN ({marks}) GROUP BY source_id", chunk
            ):
                out[sid] = v
        return out

    def begin_import(self, file: str, now: float) -> int:
        cur = self.conn.execute(
            "INSERT INTO imports(file, started_at, rows, accepted, quarantined) VALUES (?, ?, 0, 0, 0)", (file, now)
        )
        assert cur.lastrowid is not None  # an INSERT into a rowid table always sets it
        return cur.lastrowid

    def finish_import(self, import_id: int, rows: int, accepted: int, quarantined: int, now: float) -> None:
        self.conn.execute(
            "UPDATE imports SET rows = rows + ?, accepted = accepted + ?, quarantined = quarantined + ?, "
            "finished_at = ? WHERE id = ?",
            (rows, accepted, quarantined, now, import_id),
        )

    def insert_outbox(self, rows: Sequence[tuple]) -> None:
        """rows: (source_seq, source_id, type, op, version, key_id, payload, signatures_json,
        import_id, created_at) — hot path, prepared executemany."""
        self.conn.executemany(
            "INSERT INTO outbox(source_seq, source_id, type, op, version, key_id, payload, signatures, "
            "import_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

    def insert_quarantine(self, rows: Sequence[dict]) -> None:
        if rows:
            self.db.table("quarantine").insert_all(rows, batch_size=500)

    def remember_signing_cert(self, key_id: str, cert_der: bytes, now: float) -> None:
        self.conn.execute("INSERT OR IGNORE INTO signing_certs VALUES (?, ?, ?)", (key_id, cert_der, now))

    # --- sync -------------------------------------------------------------------------------

    def first_unacked(self) -> int:
        """The lowest source_seq without an ack (last_seq + 1 when every record has one)."""
        return int(self._one("SELECT acked_through FROM outbox_marks WHERE id = 1")) + 1

    def load_batch(self, from_seq: int, max_records: int, max_bytes: int) -> list[OutboxItem]:
        """Records from ``from_seq`` on, contiguous, at most ``max_records`` and (approximately,
        counting payload + signatures) ``max_bytes``; always at least one if any exists."""
        items: list[OutboxItem] = []
        size = 0
        for seq, payload, sigs in self.conn.execute(
            "SELECT source_seq, payload, signatures FROM outbox WHERE source_seq >= ? ORDER BY source_seq LIMIT ?",
            (from_seq, max_records),
        ):
            if seq != from_seq + len(items):
                raise RuntimeError(f"outbox gap at source_seq {from_seq + len(items)} (NODE-001)")
            cost = len(payload) + len(sigs) + 64
            if items and size + cost > max_bytes:
                break
            size += cost
            items.append(OutboxItem(seq, bytes(payload), _decode_signatures(sigs)))
        return items

    def add_signatures(self, made: dict[int, str]) -> dict[int, list[dict]]:
        """NODE-051: store the v1.0 signatures of records intake left unsigned — only where none
        is stored yet, so a record is signed once — and return what is stored for each."""
        with self.transaction():
            self.conn.executemany(
                "UPDATE outbox SET signatures = ? WHERE source_seq = ? AND signatures = ?",
                [(sigs, seq, UNSIGNED) for seq, sigs in made.items()],
            )
            return {
                seq: _decode_signatures(self._one("SELECT signatures FROM outbox WHERE source_seq = ?", (seq,)))
                for seq in made
            }

    def mark_sent(self, from_seq: int, count: int, now: float) -> None:
        """NODE-050: records up to ``from_seq + count - 1`` have been sent (one narrow row)."""
        with self.transaction():
            self.conn.execute(
                "UPDATE outbox_marks SET sent_through = MAX(sent_through, ?) WHERE id = 1", (from_seq + count - 1,)
            )

    def record_acks(self, acks: Sequence[AckRow], committed_seq: int, now: float) -> int:
        """NODE-003: acks and the committed mark in one transaction. Returns how many acks
        matched an outbox row (others are the gateway's error and are ignored). NODE-050: each
        ack is a narrow row of its own (a repeated ack replaces it), the outbox row is untouched."""
        with self.transaction():
            cur = self.conn.executemany(
                f"INSERT OR REPLACE INTO outbox_acks (source_seq, {', '.join(ACK_COLUMNS)}) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM outbox WHERE source_seq = ?)",
                [
                    (
                        a.source_seq,
                        a.outcome,
                        a.reason_code,
                        a.requirement,
                        a.field,
                        a.message,
                        a.fingerprint,
                        a.log_index,
                        now,
                        a.decided_at or None,
                        None if a.logged is None else int(a.logged),
                        a.warnings or None,
                        a.source_seq,
                    )
                    for a in acks
                ],
            )
            self._advance_acked()
            self._set({"committed_seq": committed_seq, "last_ack_at": now})
            return cur.rowcount

    def _advance_acked(self) -> None:
        """Move ``acked_through`` over the acks that now follow it without a gap (inside the
        acks' transaction): below it every record has an ack, the record after it has none."""
        mark = start = int(self._one("SELECT acked_through FROM outbox_marks WHERE id = 1"))
        for (seq,) in self.conn.execute(
            "SELECT source_seq FROM outbox_acks WHERE source_seq > ? ORDER BY source_seq", (mark,)
        ):
            if seq != mark + 1:
                break
            mark = seq
        if mark != start:
            self.conn.execute("UPDATE outbox_marks SET acked_through = ? WHERE id = 1", (mark,))

    def signing_certs_in_use(self, current_key_id: str) -> list[bytes]:
        """DER of the current signing certificate and of earlier ones that still sign unacked
        outbox records (key rotation: the handshake presents them all)."""
        rows = self.conn.execute(
            "SELECT cert_der FROM signing_certs WHERE key_id = ? OR key_id IN "
            f"(SELECT DISTINCT key_id FROM outbox o WHERE {UNACKED}) ORDER BY key_id = ? DESC, added_at",
            (current_key_id, current_key_id),
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    # --- key/value sync state ------------------------------------------------------------------

    def _set(self, values: dict[str, object]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO sync_state(key, value) VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in values.items()],
        )

    def set_state(self, **values: object) -> None:
        with self.transaction():
            self._set(values)

    def get_state(self) -> dict[str, object]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM sync_state")}

    # --- reports ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        c = {o.lower(): 0 for o in OUTCOMES}
        for outcome, n in self.conn.execute("SELECT outcome, COUNT(*) FROM outbox_acks GROUP BY outcome"):
            c[outcome.lower()] = n
        # NODE-050: without an ack = sent (up to sent_through) or pending (after it)
        unacked = self.last_seq() - int(self._one("SELECT COUNT(*) FROM outbox_acks"))
        c["pending"] = int(
            self._one(
                "SELECT (SELECT COALESCE(MAX(source_seq), 0) FROM outbox) - m.sent_through - "
                "(SELECT COUNT(*) FROM outbox_acks WHERE source_seq > m.sent_through) FROM outbox_marks m"
            )
        )
        c["sent"] = unacked - c["pending"]
        c["quarantined"] = int(self._one("SELECT COUNT(DISTINCT COALESCE(row_key, id)) FROM quarantine"))
        return c

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[dict]:
        """A read as dicts, under the connection's lock: the connection is shared by the
        scheduler's threads, and a read interleaved with another thread's transaction on it
        fails ("no such savepoint")."""
        with self._lock:
            cur = self.conn.execute(sql, params)
            cols = [c[0] for c in cur.description or ()]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def rejects(self) -> list[dict]:
        return self.rows(
            "SELECT o.source_seq, source_id, type, op, version, reason_code AS reason, requirement, field, "
            "message, acked_at FROM outbox_acks a JOIN outbox o ON o.source_seq = a.source_seq "
            "WHERE outcome = 'REJECTED' ORDER BY o.source_seq"
        )

    def quarantine(self) -> list[dict]:
        return [
            dict(r, fields=json.loads(r["fields"] or "{}")) for r in self.rows("SELECT * FROM quarantine ORDER BY id")
        ]

    def outcome_of(self, source_seq: int) -> str | None:
        row = self.conn.execute("SELECT outcome FROM outbox_acks WHERE source_seq = ?", (source_seq,)).fetchone()
        return row[0] if row else None
