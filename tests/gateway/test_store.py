"""The store contract, unchanged, over every store: SQLite on a real file (WAL) and in memory,
and PostgreSQL in a database of the test's own."""

from __future__ import annotations

import sqlite3

import pytest

from creditx.gateway.store.sqlite import SqliteStore
from tests.gateway.store_contract import AT, BulkLookupContract, ListContract, StoreContract
from tests.pg import fresh_database


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        import psycopg

        from creditx.gateway.store.postgres import PostgresStore

        request.instance.integrity_error = psycopg.IntegrityError
        with fresh_database() as url:
            pg = PostgresStore(url, now=AT)
            yield pg
            pg.close()
        return
    request.instance.integrity_error = sqlite3.IntegrityError
    s = SqliteStore(tmp_path / "g.db" if request.param == "sqlite-file" else None, now=AT)
    yield s
    s.close()


class TestStore(StoreContract, BulkLookupContract, ListContract):
    pass
