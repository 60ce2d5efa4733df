"""Numbered schema migrations of the gateway's PostgreSQL store, numbered as the SQLite ones.

``MIGRATIONS[n-1]`` takes the schema from version n-1 to n, exactly as
:mod:`creditx.gateway.store.migrations` does for SQLite (same tables, same columns, PostgreSQL
types); :func:`migrate` applies each pending step in its own transaction under an advisory lock
(two gateways starting on one database apply each step once) and records it in
``schema_migrations``. Never edit a released step: append one.

Tables that grow without bound are partitioned (docs/adr/0017-postgresql-partitioning.md):
``records`` by region (hash of the sending node's region code — the key of its sequence
uniqueness and of every per-node look-up), ``current_versions`` by hash of the natural key,
``audit_leaves`` and ``list_log`` (with ``list_snap_sizes``) by range of their index, one
partition per :data:`LEAF_RANGE` / :data:`LIST_RANGE` rows, created ahead of the writer by
:func:`ensure_range_partitions`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import psycopg

from creditx.standard.merkle import CompactRange

RECORD_PARTITIONS = 16  # region codes hash into these; a province has ~17 nodes
KEY_PARTITIONS = 16
LEAF_RANGE = 1 << 26  # 67 M audit leaves per partition (~30 partitions at 2 billion records)
LIST_RANGE = 1 << 22  # 4 M list changes per partition
MIGRATION_LOCK = 0x63726478  # pg_advisory_xact_lock key of the migration runner ("crdx")

PgMigration = Callable[[psycopg.Connection], None]


def _hash_partitions(conn: psycopg.Connection, table: str, n: int) -> None:
    for i in range(n):
        conn.execute(f"CREATE TABLE {table}_h{i:02d} PARTITION OF {table} FOR VALUES WITH (MODULUS {n}, REMAINDER {i})")


def ensure_range_partitions(conn: psycopg.Connection, table: str, upto: int) -> None:
    """Partitions of ``table`` (``audit_leaves``, ``list_log``, ``list_snap_sizes``) covering
    every key below ``upto`` (and one more range, so the writer rarely creates one in a batch)."""
    width = LEAF_RANGE if table == "audit_leaves" else LIST_RANGE
    for start in range(0, upto + width, width):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_r{start // width:05d} PARTITION OF {table}"
            f" FOR VALUES FROM ({start}) TO ({start + width})"
        )


def _m1_initial(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE TABLE nodes (region TEXT PRIMARY KEY, name TEXT, committed_seq BIGINT NOT NULL DEFAULT 0,"
        " last_seen TEXT, backlog BIGINT NOT NULL DEFAULT 0, last_source_seq BIGINT NOT NULL DEFAULT 0,"
        " auth_serial TEXT, auth_not_after TEXT)"
    )
    conn.execute(
        "CREATE TABLE signing_certs (keyid TEXT PRIMARY KEY, region TEXT, serial TEXT, not_after TEXT,"
        " cert_der BYTEA, registered_at TEXT)"
    )
    conn.execute("CREATE SEQUENCE records_id_seq AS BIGINT")
    conn.execute(
        "CREATE TABLE records (id BIGINT NOT NULL, node TEXT NOT NULL, source_seq BIGINT NOT NULL,"
        " payload_sha BYTEA, payload_type TEXT, payload BYTEA, signatures TEXT, outcome SMALLINT NOT NULL,"
        " reason TEXT, requirement TEXT, field TEXT, message TEXT, fp BYTEA, natural_key TEXT,"
        " version BIGINT, type TEXT, region TEXT, op TEXT, keyid TEXT, current SMALLINT, log_index BIGINT,"
        " received_at TEXT, PRIMARY KEY (id, node), UNIQUE (node, source_seq)) PARTITION BY HASH (node)"
    )
    _hash_partitions(conn, "records", RECORD_PARTITIONS)
    conn.execute("CREATE INDEX idx_records_natural_key ON records (natural_key)")
    conn.execute("CREATE INDEX idx_records_region_type ON records (region, type)")
    conn.execute("CREATE INDEX idx_records_fp ON records (fp) WHERE outcome IN (1, 3)")  # SYNC-020
    conn.execute(
        "CREATE TABLE current_versions (natural_key TEXT PRIMARY KEY, version BIGINT NOT NULL,"
        " record_id BIGINT NOT NULL) PARTITION BY HASH (natural_key)"
    )
    _hash_partitions(conn, "current_versions", KEY_PARTITIONS)
    conn.execute(
        "CREATE TABLE audit_leaves (idx BIGINT PRIMARY KEY, leaf_data BYTEA NOT NULL,"
        " leaf_hash BYTEA NOT NULL) PARTITION BY RANGE (idx)"
    )
    ensure_range_partitions(conn, "audit_leaves", 0)
    conn.execute(
        "CREATE TABLE node_counts (node TEXT NOT NULL, outcome SMALLINT NOT NULL, n BIGINT NOT NULL,"
        " PRIMARY KEY (node, outcome))"
    )


def _m2_audit_tree(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE audit_tree (id INTEGER PRIMARY KEY CHECK (id = 1), frontier BYTEA NOT NULL)")
    conn.execute(
        "CREATE TABLE audit_nodes (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,"
        " PRIMARY KEY (level, idx))"
    )
    conn.execute(
        "CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL,"
        " signed_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO audit_tree (id, frontier) VALUES (1, %s)", (CompactRange().to_bytes(),))


def _m3_lists(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE TABLE list_log (list_seq BIGINT PRIMARY KEY, entry_id TEXT NOT NULL, list_type TEXT NOT NULL,"
        " kind TEXT NOT NULL, reason TEXT NOT NULL, entry BYTEA NOT NULL, at TEXT NOT NULL,"
        " at_ms BIGINT NOT NULL, node TEXT NOT NULL, origin_type TEXT NOT NULL, origin_payload BYTEA NOT NULL,"
        " origin_sigs TEXT NOT NULL, leaf_hash BYTEA NOT NULL, audit_idx BIGINT) PARTITION BY RANGE (list_seq)"
    )
    ensure_range_partitions(conn, "list_log", 0)
    conn.execute("CREATE INDEX idx_list_log_entry ON list_log (entry_id, list_seq)")
    conn.execute(
        "CREATE TABLE list_entries (entry_id TEXT PRIMARY KEY, list_type TEXT NOT NULL, state TEXT NOT NULL,"
        " period_end TEXT, period_start TEXT NOT NULL, last_seq BIGINT NOT NULL, entry BYTEA NOT NULL)"
    )
    conn.execute("CREATE INDEX idx_list_entries_due ON list_entries (state, list_type, period_end, period_start)")
    conn.execute("CREATE TABLE list_tree (id INTEGER PRIMARY KEY CHECK (id = 1), frontier BYTEA NOT NULL)")
    conn.execute(
        "CREATE TABLE list_refusals (id BIGSERIAL PRIMARY KEY, node TEXT NOT NULL, source_seq BIGINT NOT NULL,"
        " entry_id TEXT NOT NULL, reason TEXT NOT NULL, rule TEXT NOT NULL, field TEXT NOT NULL,"
        " message TEXT NOT NULL, at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE list_applied (node TEXT PRIMARY KEY, applied_list_seq BIGINT NOT NULL,"
        " checkpoint_verified INTEGER NOT NULL DEFAULT 0, reported_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE list_checkpoints (size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL,"
        " signed_at TEXT NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE list_imports (source_seq BIGINT PRIMARY KEY, fp BYTEA NOT NULL UNIQUE,"
        " file TEXT NOT NULL, row BIGINT NOT NULL, at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO list_tree (id, frontier) VALUES (1, %s)", (CompactRange().to_bytes(),))


def _m4_snapshot_sizes(conn: psycopg.Connection) -> None:
    conn.execute(
        "CREATE TABLE list_snap_sizes (list_seq BIGINT PRIMARY KEY, entry_id TEXT NOT NULL,"
        " bytes BIGINT NOT NULL) PARTITION BY RANGE (list_seq)"
    )
    ensure_range_partitions(conn, "list_snap_sizes", 0)
    conn.execute("CREATE INDEX idx_list_snap_sizes_entry ON list_snap_sizes (entry_id, list_seq)")
    conn.execute(
        "INSERT INTO list_snap_sizes (list_seq, entry_id, bytes) SELECT list_seq, entry_id,"
        " length(entry) + length(origin_payload) + length(origin_sigs) FROM list_log"
    )


def _m5_console_stats(conn: psycopg.Connection) -> None:
    """Maintained statistics counters (creditx.gateway.stats), as SQLite's step 5."""
    from creditx.gateway.stats import backfill, create_tables
    from creditx.gateway.store.postgres import QmarkConnection

    q = QmarkConnection(conn)
    create_tables(q)
    backfill(q)


def _m6_member_registry(conn: psycopg.Connection) -> None:
    """Member-registry versions put in force (SEC-038), as SQLite's step 6."""
    conn.execute(
        "CREATE TABLE registry_versions (version BIGINT PRIMARY KEY, sha256 TEXT NOT NULL, "
        "issued_at TEXT NOT NULL, expires_at TEXT NOT NULL, envelope BYTEA NOT NULL, "
        "accepted_at TEXT NOT NULL)"
    )


def _m7_rejected_index(conn: psycopg.Connection) -> None:
    """A node's recent rejections from a partial index (as SQLite's step 7)."""
    conn.execute("CREATE INDEX IF NOT EXISTS idx_records_rejected ON records (node, source_seq) WHERE outcome = 4")


def _m8_sanctions(conn: psycopg.Connection) -> None:
    """Action reports and check counters of the 联合奖惩 loop (HALL-041), as SQLite's step 8."""
    from creditx.gateway.sanctions.store import DDL

    for stmt in DDL:
        conn.execute(stmt.replace(" BLOB", " BYTEA"))


def _m_entry_id_collation(conn: psycopg.Connection) -> None:
    """DIST-071 (1.1): entry_id sorts by code point (= UTF-8 byte order), whatever the database's
    locale: a zh_CN or en_US collation would order snapshot entries differently from the standard."""
    for table in ("list_log", "list_entries", "list_snap_sizes"):
        conn.execute(f'ALTER TABLE {table} ALTER COLUMN entry_id TYPE TEXT COLLATE "C"')


def _m_node_checkpoints(conn: psycopg.Connection) -> None:
    """The nodes' outbox-log checkpoints of the batch-signed suite (SYNC-064), as in SQLite."""
    from creditx.gateway.store.node_checkpoints import DDL

    for stmt in DDL:
        conn.execute(stmt)


def _m_registry_leaves(conn: psycopg.Connection) -> None:
    """AUD-007: each registry version points at its audit leaf (NULL: accepted before the leaf
    existed; the gateway logs such versions the next time it records one)."""
    conn.execute("ALTER TABLE registry_versions ADD COLUMN log_index BIGINT")


def _m_one_chain_index(conn: psycopg.Connection) -> None:
    """As SQLite's step: deduplication and the current version are one look-up by natural key
    (creditx.gateway.store.chains), so the records' fingerprint index goes (its look-up probed
    every region partition), and the records' natural-key index becomes a hash index (operator
    look-ups are equality only; a 4-byte hash code per row instead of the whole key). Existing
    chains are carried over from the records."""
    conn.execute("ALTER TABLE current_versions ADD COLUMN IF NOT EXISTS fp BYTEA")
    conn.execute("ALTER TABLE current_versions ADD COLUMN IF NOT EXISTS has_older SMALLINT NOT NULL DEFAULT 0")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS older_versions (natural_key TEXT NOT NULL, fp BYTEA NOT NULL,"
        " PRIMARY KEY (natural_key, fp)) PARTITION BY HASH (natural_key)"
    )
    for i in range(KEY_PARTITIONS):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS older_versions_h{i:02d} PARTITION OF older_versions"
            f" FOR VALUES WITH (MODULUS {KEY_PARTITIONS}, REMAINDER {i})"
        )
    conn.execute(
        "UPDATE current_versions c SET fp = r.fp FROM records r WHERE r.id = c.record_id AND r.outcome IN (1, 3)"
        " AND c.fp IS NULL"
    )
    conn.execute(
        "INSERT INTO older_versions (natural_key, fp) SELECT r.natural_key, r.fp FROM records r"
        " JOIN current_versions c ON c.natural_key = r.natural_key WHERE r.outcome IN (1, 3)"
        " AND r.fp IS NOT NULL AND r.id <> c.record_id AND r.fp IS DISTINCT FROM c.fp ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "UPDATE current_versions SET has_older = 1 WHERE has_older = 0"
        " AND natural_key IN (SELECT natural_key FROM older_versions)"
    )
    conn.execute("DROP INDEX IF EXISTS idx_records_fp")
    conn.execute("DROP INDEX IF EXISTS idx_records_natural_key")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_records_natural_key_hash ON records USING hash (natural_key)")


MIGRATIONS: list[PgMigration] = [
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


def migrate(conn: psycopg.Connection, steps: Sequence[PgMigration] = MIGRATIONS, *, now: str = "") -> int:
    """Apply every pending step; return the schema version (``conn`` in autocommit mode)."""
    stamp = now or datetime.now(UTC).isoformat()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for n, step in enumerate(steps, start=1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (n,)).fetchone():
                continue
            step(conn)
            conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)", (n, stamp))
    return len(steps)
