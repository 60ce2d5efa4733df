"""The audit log's tree state in SQLite: the persisted compact range and stored subtree hashes.

What it keeps (AUD-003, AUD-006, AUD-010/012):

* ``audit_tree`` holds one row: the compact range (``CompactRange.to_bytes``, the frontier of
  RFC 9162 §2.1.1 MTH) of the leaves in ``audit_leaves``. :func:`append_leaves` advances it and
  is called by the store *inside* the batch transaction that inserts the leaves, so the tree
  state and the leaves commit together or not at all.
* ``audit_nodes`` holds the hash of every complete perfect subtree of ``2^NODE_LEVEL`` or more
  leaves (``level >= NODE_LEVEL``); smaller subtrees are recomputed from at most
  ``2^NODE_LEVEL`` leaf hashes. So a proof costs O(log n) look-ups while the hot path writes
  only about ``n / 2^(NODE_LEVEL-1)`` extra rows (throughput: the audit path must stay cheap).

Invariant checked on every append: the frontier's size equals the first new leaf's index, so a
hole or a reorder in the leaf numbering fails the transaction instead of corrupting the tree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from creditx.standard.merkle import (
    CompactRange,
    ProofError,
    SubtreeLookup,
    consistency_proof_from,
    inclusion_proof_from,
    root_from,
)
from creditx.standard.merkle import root as mth

NODE_LEVEL = 4


def create_tables(conn: sqlite3.Connection) -> None:
    """Schema of migration 2, and the frontier of any leaves already stored."""
    conn.execute("CREATE TABLE audit_tree (id INTEGER PRIMARY KEY CHECK (id = 1), frontier BLOB NOT NULL)")
    conn.execute(
        "CREATE TABLE audit_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
        " PRIMARY KEY (level, idx)) WITHOUT ROWID"
    )
    conn.execute(
        "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL,"
        " signed_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO audit_tree (id, frontier) VALUES (1, ?)", (CompactRange().to_bytes(),))
    hashes = [r[0] for r in conn.execute("SELECT leaf_hash FROM audit_leaves ORDER BY idx")]
    if hashes:
        append_leaves(conn, 0, hashes)


def frontier(conn: sqlite3.Connection) -> CompactRange:
    row = conn.execute("SELECT frontier FROM audit_tree WHERE id = 1").fetchone()
    return CompactRange() if row is None else CompactRange.from_bytes(row[0])


def append_leaves(conn: sqlite3.Connection, first_index: int, leaf_hashes: Sequence[bytes]) -> CompactRange:
    """AUD-006: extend the tree by ``leaf_hashes`` (leaves ``first_index``, …) in the caller's
    open transaction; returns the new frontier. Raises ``ProofError(LEAF_ORDER)`` on a hole."""
    cr = frontier(conn)
    if cr.size != first_index:
        raise ProofError(
            "LEAF_ORDER",
            f"new leaves start at {first_index}, the tree has {cr.size}",
            rule="AUD-006",
            hint="the audit tables disagree: run `creditx gateway audit verify`",
        )
    nodes: list[tuple[int, int, bytes]] = []

    def keep(level: int, index: int, h: bytes) -> None:
        if level >= NODE_LEVEL:
            nodes.append((level, index, h))

    for h in leaf_hashes:
        cr.append(h, keep)
    if nodes:
        conn.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?,?,?)", nodes)
    conn.execute("UPDATE audit_tree SET frontier = ? WHERE id = 1", (cr.to_bytes(),))
    return cr


def subtree_lookup(conn: sqlite3.Connection) -> SubtreeLookup:
    """``subtree(level, index)`` from ``audit_nodes`` (large) or the leaf hashes (small)."""

    def subtree(level: int, index: int) -> bytes:
        if level >= NODE_LEVEL:
            row = conn.execute("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?", (level, index)).fetchone()
            if row is None:
                raise ProofError("NODE_MISSING", f"subtree ({level}, {index}) is not stored", rule="AUD-010")
            return row[0]
        start = index << level
        hashes = [
            r[0]
            for r in conn.execute(
                "SELECT leaf_hash FROM audit_leaves WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, start + (1 << level)),
            )
        ]
        if len(hashes) != 1 << level:
            raise ProofError("LEAVES_MISSING", f"{len(hashes)} of {1 << level} leaves at {start}", rule="AUD-010")
        return mth(hashes)

    return subtree


def tree_size(conn: sqlite3.Connection) -> int:
    return frontier(conn).size


def root_at(conn: sqlite3.Connection, size: int) -> bytes:
    return root_from(size, subtree_lookup(conn))


def inclusion(conn: sqlite3.Connection, index: int, size: int) -> list[bytes]:
    """AUD-010: the audit path of leaf ``index`` in the tree of ``size`` (≤ current size)."""
    _check_size(conn, size)
    return inclusion_proof_from(index, size, subtree_lookup(conn))


def consistency(conn: sqlite3.Connection, old_size: int, new_size: int) -> list[bytes]:
    """AUD-012: proof that the tree of ``old_size`` is a prefix of the tree of ``new_size``."""
    _check_size(conn, new_size)
    return consistency_proof_from(old_size, new_size, subtree_lookup(conn))


def _check_size(conn: sqlite3.Connection, size: int) -> None:
    current = tree_size(conn)
    if size > current:
        raise ProofError(
            "SIZE_RANGE",
            f"tree size {size} is beyond the log's current size {current}",
            rule="AUD-010",
            hint="ask for a size no larger than the latest checkpoint's",
        )
