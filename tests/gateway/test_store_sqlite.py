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
