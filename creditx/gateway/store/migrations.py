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
]


def migrate(db: Database, now: str) -> int:
    """Apply every pending migration, each in its own transaction; return the schema version."""
    return sqlite.migrate(db.conn, MIGRATIONS, now=now)
