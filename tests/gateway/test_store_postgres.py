"""What only the PostgreSQL store promises: its numbered migrations apply once, the unbounded
tables are partitioned, and a commit survives a new connection (real server, own database)."""

from __future__ import annotations

import pytest

from creditx.gateway.store import pg_migrations
from creditx.gateway.store.postgres import PostgresStore
from tests.gateway.store_contract import AT, commit, item
from tests.pg import fresh_database


@pytest.fixture
def url():
    with fresh_database(migrated=False) as u:  # these tests see the migrations run
        yield u


def test_commit_survives_reopen_and_migrations_apply_once(url):
    s = PostgresStore(url, now=AT)
    commit(s, "370100", [item(1), item(2, nk="K2")], 2)
    s.close()
    s = PostgresStore(url, now=AT)
    assert s.committed_seq("370100") == 2 and s.audit_size() == 2
    versions = [r[0] for r in s.conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(pg_migrations.MIGRATIONS) + 1))
    s.close()


def test_unbounded_tables_are_partitioned_and_rows_land_in_partitions(url):
    s = PostgresStore(url, now=AT)
    commit(s, "370100", [item(1)], 1)
    commit(s, "370200", [item(1, nk="K2", fp=b"g1")], 1)
    parted = {
        r[0]
        for r in s.conn.execute("SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid")
    }
    assert {"records", "current_versions", "audit_leaves", "list_log", "list_snap_sizes"} <= parted
    where = {r[0] for r in s.conn.execute("SELECT tableoid::regclass::text FROM records")}
    assert where and all(w.startswith("records_h") for w in where)
    s.close()


def test_range_partitions_are_created_ahead_of_the_writer(url):
    s = PostgresStore(url, now=AT)
    with s.conn.transaction():
        pg_migrations.ensure_range_partitions(s.conn, "audit_leaves", 2 * pg_migrations.LEAF_RANGE + 5)
    with s.conn.transaction():  # idempotent
        pg_migrations.ensure_range_partitions(s.conn, "audit_leaves", 2 * pg_migrations.LEAF_RANGE + 5)
    names = sorted(
        r[0]
        for r in s.conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'audit_leaves'::regclass"
        )
    )
    assert names == [f"audit_leaves_r{i:05d}" for i in range(4)]
    s.close()
