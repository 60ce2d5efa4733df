"""What only the SQLite store promises (the contract over every store is in test_store.py)."""

from __future__ import annotations

from creditx.gateway.store.sqlite import SqliteStore
from tests.gateway.store_contract import AT, commit, item


def test_commit_survives_reopen(tmp_path):
    s = SqliteStore(tmp_path / "g.db", now=AT)
    commit(s, "370100", [item(1)], 1)
    s.close()
    s = SqliteStore(tmp_path / "g.db", now=AT)
    assert s.committed_seq("370100") == 1 and s.audit_size() == 1
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_the_background_checkpoint_bounds_the_wal(tmp_path, monkeypatch):
    """Past WAL_BOUND_BYTES the background checkpoint truncates the WAL (a PASSIVE one never does:
    under continuous ingest the WAL grew without bound)."""
    from creditx.gateway.store import sqlite as store_sqlite
    from tests.node.test_cli_app import _wait_for as wait_for

    monkeypatch.setattr(store_sqlite, "WAL_BOUND_BYTES", 1)
    s = SqliteStore(tmp_path / "g.db", now=AT, checkpoint_every_s=0.05)
    commit(s, "370100", [item(i, nk=f"K{i}") for i in range(1, 50)], 49)
    wal = tmp_path / "g.db-wal"
    assert wal.stat().st_size > 0
    assert wait_for(lambda: wal.stat().st_size == 0), "the WAL was never truncated"
    assert s.committed_seq("370100") == 49
    s.close()
