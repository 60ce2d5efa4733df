"""Version chains in one look-up by natural key (creditx.gateway.store.chains): the rows a batch
writes, the answers ``known_content`` gives on both engines as a chain grows, and the upgrade of
a store written before (its chains carried over from the records, the fingerprint index gone)."""

from __future__ import annotations

import sqlite3

import pytest

from creditx.gateway.ingest.dedup import decide
from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.store import chains, migrations, pg_migrations
from creditx.gateway.store.sqlite import SqliteStore
from tests.gateway.store_contract import AT, commit, item
from tests.pg import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        from creditx.gateway.store.postgres import PostgresStore

        with fresh_database() as url:
            pg = PostgresStore(url, now=AT)
            yield pg
            pg.close()
        return
    s = SqliteStore(tmp_path / "g.db", now=AT)
    yield s
    s.close()


def test_a_new_key_writes_one_current_row_and_nothing_older():
    (d, _) = item(1, fp=b"A")
    rows = chains.chain_rows([(d, 7)])
    assert rows.currents == [("K", 1, 7, b"A", 0)] and not rows.older and not rows.retire and not rows.flag


def test_a_batch_that_supersedes_within_itself_keeps_the_earlier_content_as_older():
    a, _ = item(1, fp=b"A", version=1)
    b, _ = item(2, Outcome.SUPERSEDED, fp=b"B", version=2)
    rows = chains.chain_rows([(a, 1), (b, 2)])
    assert rows.currents == [("K", 2, 2, b"B", 1)] and rows.older == [("K", b"A")] and not rows.retire


def test_superseding_a_stored_key_retires_its_current_and_older_content_flags_the_key():
    newer, _ = item(3, Outcome.SUPERSEDED, fp=b"C", version=3)
    older, _ = item(4, Outcome.SUPERSEDED, fp=b"D", nk="K2", version=1, current=False)
    rejected, _ = item(5, Outcome.REJECTED, fp=b"E", nk="K3", current=False)
    rows = chains.chain_rows([(newer, 3), (older, 4), (rejected, 5)])
    assert rows.retire == ["K"] and rows.currents == [("K", 3, 3, b"C", 1)]
    assert rows.older == [("K2", b"D")] and rows.flag == ["K2"]


def test_known_content_follows_a_chain_as_it_grows(store):
    assert store.known_content([("K", b"A")]) == (set(), {})
    commit(store, "370100", [item(1, fp=b"A", version=2)], 1)
    assert store.known_content([("K", b"A"), ("K", b"B")]) == ({b"A"}, {"K": 2})
    commit(store, "370100", [item(2, Outcome.SUPERSEDED, fp=b"B", version=1, current=False)], 2)  # older
    commit(store, "370100", [item(3, Outcome.SUPERSEDED, fp=b"C", version=3)], 3)  # supersedes A
    commit(store, "370100", [item(4, Outcome.DUPLICATE, fp=b"C", current=False)], 4)  # not content
    commit(store, "370100", [item(5, Outcome.REJECTED, fp=b"R", version=3, current=False)], 5)
    pairs = [("K", fp) for fp in (b"A", b"B", b"C", b"R", b"Z")] + [("K9", b"A")]
    assert store.known_content(pairs) == ({b"A", b"B", b"C"}, {"K": 3})
    assert store.stored_fingerprints([b"A", b"B", b"C", b"R", b"Z"]) == {b"A", b"B", b"C"}


def test_the_pure_rules_decide_the_same_from_known_content(store):
    commit(
        store,
        "370100",
        [item(1, fp=b"A", version=2), item(2, Outcome.SUPERSEDED, fp=b"B", nk="K", version=1, current=False)],
        2,
    )
    checked = [
        item(s, fp=fp, version=v)[0].checked for s, fp, v in ((3, b"B", 5), (4, b"N", 2), (5, b"M", 1), (6, b"P", 3))
    ]
    fps, versions = store.known_content([(c.natural_key, c.fingerprint) for c in checked])
    got = [(d.outcome, d.reason) for d in decide(checked, fps.__contains__, versions.get)]
    assert got == [
        (Outcome.DUPLICATE, ""),  # SYNC-020: an older version's content is stored content too
        (Outcome.REJECTED, "SYNC_VERSION_CONFLICT"),  # SYNC-023
        (Outcome.SUPERSEDED, "OLDER_THAN_STORED"),  # SYNC-022
        (Outcome.SUPERSEDED, ""),  # SYNC-021: becomes current
    ]


# (id, source_seq, outcome, fp, natural_key, version, current) as a store before the chain step wrote them
_OLD_ROWS = [
    (1, 1, 1, b"A", "K", 1, 1),
    (2, 2, 3, b"B", "K", 2, 1),  # supersedes A
    (3, 3, 3, b"C", "K", 0, 0),  # older than stored
    (4, 4, 2, b"B", "K", 2, 0),  # duplicate
    (5, 5, 4, b"R", "K", 2, 0),  # rejected
    (6, 6, 1, b"D", "K2", 1, 1),
]
_OLD_CURRENT = [("K", 2, 2), ("K2", 1, 6)]


def _write_old(conn, mark: str) -> None:
    for rid, seq, outcome, fp, nk, version, current in _OLD_ROWS:
        conn.execute(
            f"INSERT INTO records (id, node, source_seq, outcome, fp, natural_key, version, current)"
            f" VALUES ({', '.join([mark] * 8)})",
            (rid, "370100", seq, outcome, fp, nk, version, current),
        )
    for row in _OLD_CURRENT:
        conn.execute(
            f"INSERT INTO current_versions (natural_key, version, record_id) VALUES ({mark}, {mark}, {mark})", row
        )


def test_a_sqlite_store_written_before_upgrades_with_its_chains(tmp_path):
    from creditx import sqlite

    path = tmp_path / "old.db"
    conn = sqlite.connect(path)
    sqlite.migrate(conn, migrations.MIGRATIONS[:-1], now=AT)
    with conn:
        _write_old(conn, "?")
    conn.close()
    s = SqliteStore(path, now=AT)
    assert s.known_content([("K", fp) for fp in (b"A", b"B", b"C", b"R")] + [("K2", b"D")]) == (
        {b"A", b"B", b"C", b"D"},
        {"K": 2, "K2": 1},
    )
    assert not s.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'idx_records_fp'").fetchone()
    s.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS)


def test_a_postgresql_store_written_before_upgrades_with_its_chains():
    import psycopg

    from creditx.gateway.store.postgres import PostgresStore

    with fresh_database(migrated=False) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            pg_migrations.migrate(conn, pg_migrations.MIGRATIONS[:-1], now=AT)
            with conn.transaction():
                _write_old(conn, "%s")
        s = PostgresStore(url, now=AT)
        assert s.known_content([("K", fp) for fp in (b"A", b"B", b"C", b"R")] + [("K2", b"D")]) == (
            {b"A", b"B", b"C", b"D"},
            {"K": 2, "K2": 1},
        )
        indexes = {r[0] for r in s.conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'records'")}
        assert "idx_records_fp" not in indexes and "idx_records_natural_key_hash" in indexes
        assert [r["source_seq"] for r in s.find_records(natural_key="K")] == [1, 2, 3, 4, 5]
        s.close()
