"""The store contract over the SQLite store, on a real file (WAL) and in memory."""

from __future__ import annotations

import sqlite3

import pytest

from creditx.gateway.store.sqlite import SqliteStore
from tests.gateway.store_contract import AT, BulkLookupContract, StoreContract, commit, item


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    s = SqliteStore(tmp_path / "g.db" if request.param == "file" else None, now=AT)
    yield s
    s.close()


class TestSqliteStore(StoreContract, BulkLookupContract):
    integrity_error = sqlite3.IntegrityError


def test_commit_survives_reopen(tmp_path):
    s = SqliteStore(tmp_path / "g.db", now=AT)
    commit(s, "370100", [item(1)], 1)
    s.close()
    s = SqliteStore(tmp_path / "g.db", now=AT)
    assert s.committed_seq("370100") == 1 and s.audit_size() == 1
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
