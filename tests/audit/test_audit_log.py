"""creditx.gateway.audit.log on a real SQLite file: the persisted tree matches RFC 9162 (AUD-003/010/012)."""

from __future__ import annotations

import sqlite3

import pytest

from creditx.gateway.audit import log as audit_log
from creditx.standard.merkle import ProofError, leaf_hash, verify_consistency, verify_inclusion
from tests.audit import rfc9162


def _db(tmp_path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("CREATE TABLE audit_leaves (idx INTEGER PRIMARY KEY, leaf_data BLOB, leaf_hash BLOB)")
    audit_log.create_tables(conn)
    return conn


def _append(conn, datas: list[bytes], base: int) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO audit_leaves VALUES (?,?,?)", [(base + i, d, leaf_hash(d)) for i, d in enumerate(datas)]
    )
    audit_log.append_leaves(conn, base, [leaf_hash(d) for d in datas])
    conn.execute("COMMIT")


def test_proofs_match_an_independent_rfc9162_implementation(tmp_path):
    conn = _db(tmp_path)
    data = [f"leaf {i}".encode() for i in range(70)]
    pos = 0
    for chunk in (1, 2, 13, 20, 34):  # uneven batches cross the NODE_LEVEL boundary
        _append(conn, data[pos : pos + chunk], pos)
        pos += chunk
    assert audit_log.tree_size(conn) == 70
    assert conn.execute("SELECT COUNT(*) FROM audit_nodes").fetchone()[0] == 70 // 16 + 70 // 32 + 70 // 64
    for size in (1, 5, 16, 17, 33, 64, 70):
        root = audit_log.root_at(conn, size)
        assert root == rfc9162.mth(data[:size])
        for m in range(size):
            p = audit_log.inclusion(conn, m, size)
            assert p == rfc9162.path(m, data[:size])
            verify_inclusion(m, size, leaf_hash(data[m]), p, root)
        for old in range(0, size + 1, 3):
            p = audit_log.consistency(conn, old, size)
            assert p == rfc9162.proof(old, data[:size])
            verify_consistency(old, size, audit_log.root_at(conn, old), root, p)
    assert audit_log.frontier(conn).root() == rfc9162.mth(data)


def test_append_refuses_a_hole_and_sizes_beyond_the_log(tmp_path):
    conn = _db(tmp_path)
    _append(conn, [b"a", b"b"], 0)
    with pytest.raises(ProofError) as e:
        audit_log.append_leaves(conn, 3, [leaf_hash(b"d")])
    assert e.value.reason == "LEAF_ORDER" and e.value.rule == "AUD-006"
    with pytest.raises(ProofError) as e:
        audit_log.inclusion(conn, 0, 3)
    assert e.value.reason == "SIZE_RANGE"


def test_migration_builds_the_frontier_of_leaves_stored_before_it(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.execute("CREATE TABLE audit_leaves (idx INTEGER PRIMARY KEY, leaf_data BLOB, leaf_hash BLOB)")
    data = [bytes([i]) for i in range(40)]
    conn.executemany("INSERT INTO audit_leaves VALUES (?,?,?)", [(i, d, leaf_hash(d)) for i, d in enumerate(data)])
    audit_log.create_tables(conn)
    assert audit_log.tree_size(conn) == 40 and audit_log.root_at(conn, 40) == rfc9162.mth(data)
