"""The one SQLite opener, transaction helper and migration runner (creditx.sqlite), on real files."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from creditx.pki import issuance_db
from creditx.sqlite import connect, migrate, transaction


def _t(name: str):
    def step(db: Database) -> None:
        db.table(name).create({"id": int}, pk="id")

    return step


def test_steps_apply_once_in_order_and_reopen_applies_only_new_ones(tmp_path):
    conn = connect(tmp_path / "a.db")
    assert migrate(conn, [_t("a"), _t("b")], now="t0") == 2
    assert migrate(conn, [_t("a"), _t("b")], now="t1") == 2  # a second run applies nothing
    assert migrate(conn, [_t("a"), _t("b"), _t("c")], now="t2") == 3
    rows = conn.execute("SELECT version, applied_at FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(1, "t0"), (2, "t0"), (3, "t2")]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_step_leaves_the_schema_at_the_step_before(tmp_path):
    conn = connect(tmp_path / "a.db")

    def broken(db: Database) -> None:
        db.table("half").create({"id": int}, pk="id")
        raise RuntimeError("step 2 fails")

    with pytest.raises(RuntimeError, match="step 2 fails"):
        migrate(conn, [_t("a"), broken])
    assert {r[0] for r in conn.execute("SELECT version FROM schema_migrations")} == {1}
    assert "half" not in Database(conn).table_names()


def test_a_node_file_from_before_the_runner_counts_its_user_version(tmp_path):
    conn = connect(tmp_path / "node.db")
    _t("a")(Database(conn))
    conn.execute("PRAGMA user_version=1")
    migrate(conn, [_t("a"), _t("b")])  # step 1 would fail (table exists) if it ran again
    assert {r[0] for r in conn.execute("SELECT version FROM schema_migrations")} == {1, 2}


def test_an_issuance_db_from_before_the_runner_keeps_its_steps(tmp_path):
    path = tmp_path / "issuance.db"
    db = Database(path)
    issuance_db.MIGRATIONS[0](db)
    db.table("_migrations").insert({"id": 1, "applied_at": "then"}, pk="id")
    db.close()
    again = issuance_db.open_db(path)  # would fail on "table certificates already exists"
    assert {r[0] for r in again.conn.execute("SELECT version FROM schema_migrations")} == {1}


def test_transaction_rolls_back_on_error(tmp_path):
    conn = connect(tmp_path / "a.db")
    conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(ValueError):
        with transaction(conn):
            conn.execute("INSERT INTO t VALUES (1)")
            raise ValueError("no")
    with transaction(conn, write=False):
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    assert not conn.in_transaction


def test_readers_are_read_only_see_each_commit_and_are_pooled(tmp_path):
    from creditx.sqlite import Readers

    path = tmp_path / "r.db"
    writer = connect(path)
    writer.execute("CREATE TABLE t(x INTEGER)")
    readers = Readers(path, keep=1)
    with readers.borrow() as a:
        assert a.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            a.execute("INSERT INTO t VALUES (1)")
        with readers.borrow() as b:  # a second thread's borrow gets its own connection
            assert b is not a
        writer.execute("INSERT INTO t VALUES (1)")
        assert a.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 1  # the writer's commit is seen
        a.execute("BEGIN")  # left open by its borrower: rolled back on return
    with pytest.raises(sqlite3.ProgrammingError):  # the pool already kept one (b): a was closed
        a.execute("SELECT 1")
    with readers.borrow() as c:
        assert c is b and not c.in_transaction  # kept (keep=1), reused
    readers.close()
    writer.close()
