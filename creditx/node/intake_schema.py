"""Node migration 4, intake: the quarantine's record identity and the import templates
(creditx/node/quarantine.py), and the database-docking cursors and counters (creditx/node/docking/)."""

from __future__ import annotations

import sqlite_utils


def migration_4(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE quarantine ADD COLUMN row_key TEXT")
    db.execute("ALTER TABLE quarantine ADD COLUMN meta TEXT")
    db.execute("ALTER TABLE quarantine ADD COLUMN sheet TEXT")
    db.execute("CREATE INDEX quarantine_row_key ON quarantine(row_key)")
    db.execute("CREATE INDEX quarantine_source_id ON quarantine(source_id)")
    db.execute(
        "CREATE TABLE import_templates (import_id INTEGER NOT NULL, sheet TEXT NOT NULL, record_type TEXT, "
        "format TEXT, encoding TEXT, columns TEXT, PRIMARY KEY (import_id, sheet))"
    )
    # one row per docking source: the resume point (tracking value, primary key), as JSON
    db.execute(
        "CREATE TABLE docking_cursors (source TEXT PRIMARY KEY, tracking TEXT NOT NULL, pk TEXT NOT NULL, "
        "updated_at REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE docking_stats (source TEXT PRIMARY KEY, seen INTEGER NOT NULL DEFAULT 0, "
        "accepted INTEGER NOT NULL DEFAULT 0, quarantined INTEGER NOT NULL DEFAULT 0, "
        "skipped INTEGER NOT NULL DEFAULT 0, last_poll_at REAL, pending_rows INTEGER, lag_s REAL, "
        "last_error TEXT, last_error_at REAL)"
    )
