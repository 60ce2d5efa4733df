"""The node's durable state in one SQLite file (ADR 0007, ADR 0010).

Tables: ``outbox`` (every accepted intake record, signed once, with the gateway's decision once
acknowledged), ``quarantine`` (invalid intake rows with the rule they broke), ``imports`` (one row
per intake batch), ``signing_certs`` (certificates whose keys signed outbox records) and
``sync_state`` (key/value: the gateway's committed_seq, last sync, last error …).

Invariants kept here:

* NODE-001 ``source_seq`` is contiguous from 1 per node: it is assigned as ``max + 1`` inside a
  ``BEGIN IMMEDIATE`` transaction, so concurrent importers (other processes) serialise on the
  write lock and can never skip or reuse a number.
* NODE-002 a record's payload and signatures are written once and never rewritten; re-sends
  send the stored bytes.
* NODE-003 recording acks and advancing the cursor is one transaction: the cursor *is* the set
  of outbox rows without an outcome (``first_unacked``), updated with the acks and the gateway's
  committed_seq together, so a crash leaves either both or neither.
* Recording the same ack twice (re-sent records, lost acks) overwrites the same row: nothing is
  counted twice.

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


# Append, never edit: migration n brings user_version from n-1 to n. 2: list replica
# (node/replica/store.py); 4: intake (node/intake_schema.py); 5: halls (node/halls/store.py);
# 6: privacy (node/replica/store.py); then the 1.1 ack receipts; then the outbox log of the
# batch-signed suite (node/sync/outbox_log.py); then the replica's rowid layout and feed gaps
# (node/replica/store.py).
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
        seq = self._one("SELECT MIN(source_seq) FROM outbox WHERE outcome IS NULL")
        return int(seq) if seq is not None else self.last_seq() + 1

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

    def mark_sent(self, from_seq: int, count: int, now: float) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE outbox SET sent_at = ? WHERE source_seq BETWEEN ? AND ?", (now, from_seq, from_seq + count - 1)
            )

    def record_acks(self, acks: Sequence[AckRow], committed_seq: int, now: float) -> int:
        """NODE-003: acks and the committed mark in one transaction. Returns how many acks
        matched an outbox row (others are the gateway's error and are ignored)."""
        with self.transaction():
            cur = self.conn.executemany(
                "UPDATE outbox SET outcome=?, reason_code=?, requirement=?, field=?, message=?, "
                "fingerprint=?, log_index=?, acked_at=?, decided_at=?, logged=?, warnings=? WHERE source_seq=?",
                [
                    (
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
            self._set({"committed_seq": committed_seq, "last_ack_at": now})
            return cur.rowcount

    def signing_certs_in_use(self, current_key_id: str) -> list[bytes]:
        """DER of the current signing certificate and of earlier ones that still sign unacked
        outbox records (key rotation: the handshake presents them all)."""
        rows = self.conn.execute(
            "SELECT cert_der FROM signing_certs WHERE key_id = ? OR key_id IN "
            "(SELECT DISTINCT key_id FROM outbox WHERE outcome IS NULL) ORDER BY key_id = ? DESC, added_at",
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
        for outcome, n in self.conn.execute(
            "SELECT outcome, COUNT(*) FROM outbox WHERE outcome IS NOT NULL GROUP BY outcome"
        ):
            c[outcome.lower()] = n
        c["pending"] = int(self._one("SELECT COUNT(*) FROM outbox WHERE outcome IS NULL AND sent_at IS NULL"))
        c["sent"] = int(self._one("SELECT COUNT(*) FROM outbox WHERE outcome IS NULL AND sent_at IS NOT NULL"))
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
            "SELECT source_seq, source_id, type, op, version, reason_code AS reason, requirement, field, "
            "message, acked_at FROM outbox WHERE outcome = 'REJECTED' ORDER BY source_seq"
        )

    def quarantine(self) -> list[dict]:
        return [
            dict(r, fields=json.loads(r["fields"] or "{}")) for r in self.rows("SELECT * FROM quarantine ORDER BY id")
        ]

    def outcome_of(self, source_seq: int) -> str | None:
        row = self.conn.execute("SELECT outcome FROM outbox WHERE source_seq = ?", (source_seq,)).fetchone()
        return row[0] if row else None
