"""The CA's issuance database: every certificate issued, and its status (SEC-050).

SQLite through sqlite-utils, schema by numbered migrations (:func:`creditx.sqlite.migrate`; files
from before it recorded them in ``_migrations``, which is carried over). One row per
certificate: serial (upper-case hex, the primary key), role, holder name, region, validity,
key id, fingerprint, status and, once revoked, when and why. Counters (CRL number, bundle
version) live in ``counters`` so they only ever grow (RFC 5280 §5.2.3 CRL numbers are
monotonic; bundle versions protect against rollback, SEC-071).

Statuses: ``valid``; ``superseded`` (a newer certificate of the same role and holder was
issued — still trusted for what it signed while valid, SEC-031, and not on the CRL);
``revoked`` (on the CRL, SEC-040).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import sqlite_utils

from creditx.sqlite import connect, migrate, transaction

VALID, SUPERSEDED, REVOKED = "valid", "superseded", "revoked"


def _m1_certificates(db: sqlite_utils.Database) -> None:
    db.table("certificates").create(
        {
            "serial": str,
            "role": str,
            "holder": str,
            "region": str,
            "not_before": str,
            "not_after": str,
            "issued_at": str,
            "key_id": str,
            "fingerprint": str,
            "status": str,
            "revoked_at": str,
            "revocation_reason": str,
            "superseded_by": str,
            "pem": str,
        },
        pk="serial",
        not_null={"role", "holder", "not_before", "not_after", "status", "pem"},
    )
    db.table("certificates").create_index(["role", "holder", "region"])
    db.table("certificates").create_index(["key_id"])
    db.table("counters").create({"name": str, "value": int}, pk="name")


MIGRATIONS = [_m1_certificates]


def _legacy_migrations(conn: sqlite3.Connection) -> set[int]:
    """Steps an issuance database recorded in its own ``_migrations`` table before the shared runner."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone() is None:
        return set()
    return {r[0] for r in conn.execute("SELECT id FROM _migrations")}


def open_db(path: Path) -> sqlite_utils.Database:
    """Open (creating and migrating) the issuance database at ``path``."""
    conn = connect(Path(path))
    migrate(conn, MIGRATIONS, adopted=_legacy_migrations)
    return sqlite_utils.Database(conn)


def record_issued(db: sqlite_utils.Database, row: dict, *, supersede: bool) -> None:
    """Insert a newly issued certificate; with ``supersede`` mark earlier valid certificates of
    the same role, holder and region as superseded by it (key rotation, SEC-031)."""
    with transaction(db.conn):
        if supersede:
            db.execute(
                "UPDATE certificates SET status = ?, superseded_by = ? WHERE role = ? AND "
                "holder = ? AND coalesce(region, '') = coalesce(?, '') AND status = ?",
                [SUPERSEDED, row["serial"], row["role"], row["holder"], row.get("region"), VALID],
            )
        db.table("certificates").insert({**row, "status": VALID})


def get(db: sqlite_utils.Database, serial: str) -> dict | None:
    rows = list(db["certificates"].rows_where("serial = ?", [serial]))
    return rows[0] if rows else None


def mark_revoked(db: sqlite_utils.Database, serial: str, reason: str, at: datetime) -> dict:
    """Mark a certificate revoked; returns its row. KeyError if unknown, ValueError if already."""
    row = get(db, serial)
    if row is None:
        raise KeyError(serial)
    if row["status"] == REVOKED:
        raise ValueError(f"certificate {serial} was already revoked at {row['revoked_at']}")
    with transaction(db.conn):
        db.table("certificates").update(
            serial, {"status": REVOKED, "revoked_at": at.isoformat(), "revocation_reason": reason}
        )
    revoked = get(db, serial)
    assert revoked is not None  # updated just above, in this transaction's database
    return revoked


def revoked(db: sqlite_utils.Database) -> list[dict]:
    return list(db["certificates"].rows_where("status = ?", [REVOKED], order_by="revoked_at"))


def all_certificates(db: sqlite_utils.Database) -> list[dict]:
    return list(db["certificates"].rows_where(order_by="issued_at, serial"))


def next_counter(db: sqlite_utils.Database, name: str) -> int:
    """Increment and return a named monotonic counter (CRL number, bundle version)."""
    with transaction(db.conn):
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [name],
        )
        return db.execute("SELECT value FROM counters WHERE name = ?", [name]).fetchone()[0]
