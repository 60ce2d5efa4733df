"""Numbered schema migrations of the gateway's SQLite store, all in one place.

``MIGRATIONS[n-1]`` takes the schema from version n-1 to n; :func:`creditx.sqlite.migrate` (the
runner the node and the issuance database use too) applies them and records them in
``schema_migrations``. Never edit a released migration: add the next one. The PostgreSQL store
keeps the same numbering in ``creditx.gateway.store.pg_migrations``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from creditx import sqlite


def _m1_initial(db: Database) -> None:
    db.table("nodes").create(
        {
            "region": str,
            "name": str,
            "committed_seq": int,
            "last_seen": str,
            "backlog": int,
            "last_source_seq": int,
            "auth_serial": str,
            "auth_not_after": str,
        },
        pk="region",
        defaults={"committed_seq": 0, "backlog": 0, "last_source_seq": 0},
    )
    db.table("signing_certs").create(
        {"keyid": str, "region": str, "serial": str, "not_after": str, "cert_der": bytes, "registered_at": str},
        pk="keyid",
    )
    db.table("records").create(
        {
            "id": int,
            "node": str,
            "source_seq": int,
            "payload_sha": bytes,
            "payload_type": str,
            "payload": bytes,
            "signatures": str,
            "outcome": int,
            "reason": str,
            "requirement": str,
            "field": str,
            "message": str,
            "fp": bytes,
            "natural_key": str,
            "version": int,
            "type": str,
            "region": str,
            "op": str,
            "keyid": str,
            "current": int,
            "log_index": int,
            "received_at": str,
        },
        pk="id",
    )
    db.table("records").create_index(["node", "source_seq"], unique=True)
    db.table("records").create_index(["natural_key"])
    db.table("records").create_index(["region", "type"])
    # Dedup lookups only look at stored content (accepted or superseded), SYNC-020.
    db.execute("CREATE INDEX idx_records_fp ON records(fp) WHERE outcome IN (1, 3)")
    db.table("current_versions").create({"natural_key": str, "version": int, "record_id": int}, pk="natural_key")
    db.table("audit_leaves").create({"idx": int, "leaf_data": bytes, "leaf_hash": bytes}, pk="idx")
    db.table("node_counts").create({"node": str, "outcome": int, "n": int}, pk=("node", "outcome"))


def _m2_audit_tree(db: Database) -> None:
    """Audit tree state (frontier, subtree hashes) and signed checkpoints (AUD-003, AUD-020)."""
    from creditx.gateway.audit.log import create_tables

    create_tables(db.conn)


def _m3_lists(db: Database) -> None:
    """The list log, list state and list-log tree (DIST-001, DIST-050): creditx.gateway.lists.store."""
    from creditx.gateway.lists.store import create_tables

    create_tables(db.conn)


def _m4_snapshot_sizes(db: Database) -> None:
    """Each list change's snapshot size, so a snapshot plans its chunks without reading the state
    (DIST-071): creditx.gateway.lists.store."""
    from creditx.gateway.lists.store import create_size_table

    create_size_table(db.conn)


def _m5_console_stats(db: Database) -> None:
    """Maintained statistics counters (creditx.gateway.stats), counted once from the stored
    records."""
    from creditx.gateway.stats import backfill, create_tables

    create_tables(db.conn)
    backfill(db.conn)


def _m6_member_registry(db: Database) -> None:
    """Every member-registry version the gateway put in force, with its signed envelope (SEC-038):
    who was allowed to do what, when."""
    db.execute(
        "CREATE TABLE registry_versions (version INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, "
        "issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, envelope BLOB NOT NULL, "
        "accepted_at TEXT NOT NULL)"
    )


def _m7_rejected_index(db: Database) -> None:
    """The operator view's and metrics' recent rejections of a node read a partial index of
    rejected rows, not every record of the node: a scrape costs the same at 1 M records as at 10."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_records_rejected ON records(node, source_seq) WHERE outcome = 4")


def _m8_sanctions(db: Database) -> None:
    """Action reports and check counters of the 联合奖惩 loop (HALL-041): creditx.gateway.sanctions.store."""
    from creditx.gateway.sanctions.store import create_tables

    create_tables(db.conn)


def _m_entry_id_collation(db: Database) -> None:
    """DIST-071 (1.1): entry_id sorts by code point; SQLite's default BINARY collation (UTF-8 bytes)
    already does. A no-op kept so that both engines have the same numbering."""
    del db


def _m_node_checkpoints(db: Database) -> None:
    """The nodes' outbox-log checkpoints of the batch-signed suite (SYNC-064): node_checkpoints."""
    from creditx.gateway.store.node_checkpoints import create_tables

    create_tables(db.conn)


def _m_registry_leaves(db: Database) -> None:
    """AUD-007: each registry version points at its audit leaf (NULL: accepted before the leaf
    existed; the gateway logs such versions the next time it records one)."""
    db.execute("ALTER TABLE registry_versions ADD COLUMN log_index INTEGER")


def _m_one_chain_index(db: Database) -> None:
    """Ingest cost stays flat as the store grows: deduplication (SYNC-020) and the current version
    are one look-up by natural key (creditx.gateway.store.chains), so the hot path keeps one
    random-key index per record instead of two. current_versions gains the current content's
    fingerprint and ``has_older``; older_versions holds every other stored content of a key; the
    records' fingerprint index goes. Existing chains are carried over from the records."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(current_versions)")}
    if "fp" not in cols:
        db.execute("ALTER TABLE current_versions ADD COLUMN fp BLOB")
    if "has_older" not in cols:
        db.execute("ALTER TABLE current_versions ADD COLUMN has_older INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "CREATE TABLE IF NOT EXISTS older_versions (natural_key TEXT NOT NULL, fp BLOB NOT NULL,"
        " PRIMARY KEY (natural_key, fp)) WITHOUT ROWID"
    )
    db.execute(
        "UPDATE current_versions SET fp = (SELECT r.fp FROM records r WHERE r.id = current_versions.record_id"
        " AND r.outcome IN (1, 3)) WHERE fp IS NULL"
    )
    db.execute(
        "INSERT OR IGNORE INTO older_versions (natural_key, fp) SELECT r.natural_key, r.fp FROM records r"
        " JOIN current_versions c ON c.natural_key = r.natural_key WHERE r.outcome IN (1, 3)"
        " AND r.fp IS NOT NULL AND r.id <> c.record_id AND r.fp IS NOT c.fp"
    )
    db.execute(
        "UPDATE current_versions SET has_older = 1 WHERE natural_key IN (SELECT natural_key FROM older_versions)"
    )
    db.execute("DROP INDEX IF EXISTS idx_records_fp")


MIGRATIONS: list[Callable[[Database], None]] = [
    _m1_initial,
    _m2_audit_tree,
    _m3_lists,
    _m4_snapshot_sizes,
    _m5_console_stats,
    _m6_member_registry,
    _m7_rejected_index,
    _m8_sanctions,
    _m_entry_id_collation,
    _m_node_checkpoints,
    _m_registry_leaves,
    _m_one_chain_index,
]


def migrate(db: Database, now: str) -> int:
    """Apply every pending migration, each in its own transaction; return the schema version."""
    return sqlite.migrate(db.conn, MIGRATIONS, now=now)
