"""The node's outbox as an append-only RFC 9162 Merkle log (batch-signed suite, SIG-041/042).

Leaf 0 is the origin line, leaf ``i`` the exact payload bytes of outbox record ``source_seq = i``
(:mod:`creditx.standard.batch`). The tree's complete perfect-subtree hashes are kept in
``outbox_tree(level, idx, hash)`` and its right edge in ``outbox_log`` (a
:class:`~creditx.standard.merkle.CompactRange`), the audit log's storage scheme; the maths is
:mod:`creditx.standard.merkle`'s. Leaves are appended lazily, when a batch that needs them is
pushed, so intake and the outbox rows are untouched: an outbox row is still written once.

Invariant: the log only grows, in ``source_seq`` order, from rows that are never rewritten
(NODE-001); ``for_batch`` signs one checkpoint per pushed batch, at size = last seq + 1.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from creditx.standard.batch import BATCH_SUITE, encode_path, genesis_leaf, outbox_origin
from creditx.standard.checkpoint import Checkpoint, sign_checkpoint
from creditx.standard.merkle import (
    CompactRange,
    consistency_proof_from,
    inclusion_proof_from,
    leaf_hash,
    root_from,
)

if TYPE_CHECKING:
    from creditx.node.store import NodeStore


def migration_outbox_log(db: Any) -> None:
    """Node migration: the outbox log's node hashes and right edge (SIG-041)."""
    db.execute(
        "CREATE TABLE outbox_tree (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
        "PRIMARY KEY (level, idx)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE outbox_log (id INTEGER PRIMARY KEY CHECK (id = 1), frontier BLOB NOT NULL)")


@dataclass(frozen=True)
class SignedBatch:
    """What a batch-signed push carries besides the payloads (SIG-042/043, SYNC-063)."""

    checkpoint: str  # the C2SP signed note
    size: int
    paths: list[bytes]  # per record, in order: the signature bytes (audit path)
    consistency: list[bytes]  # from the previous checkpoint's size to ``size``
    keyid: str
    suite: str = BATCH_SUITE


class OutboxLog:
    def __init__(self, store: NodeStore, region: str, private_key: Any, keyid: str) -> None:
        self.store, self.region, self.key, self.keyid = store, region, private_key, keyid
        self.origin = outbox_origin(region)

    def _frontier(self) -> CompactRange:
        row = self.store.conn.execute("SELECT frontier FROM outbox_log WHERE id = 1").fetchone()
        return CompactRange.from_bytes(bytes(row[0])) if row else CompactRange()

    def extend_to(self, last_seq: int) -> int:
        """Append the leaves of outbox records up to ``last_seq``; return the tree size."""
        with self.store.transaction():
            cr = self._frontier()
            if cr.size > last_seq:
                return cr.size
            nodes: list[tuple[int, int, bytes]] = []

            def keep(level: int, idx: int, h: bytes) -> None:
                nodes.append((level, idx, h))

            if cr.size == 0:
                cr.append(leaf_hash(genesis_leaf(self.region)), keep)
            for seq, payload in self.store.conn.execute(
                "SELECT source_seq, payload FROM outbox WHERE source_seq >= ? AND source_seq <= ? ORDER BY source_seq",
                (cr.size, last_seq),
            ):
                if seq != cr.size:
                    raise RuntimeError(f"outbox gap at source_seq {cr.size} (NODE-001)")
                cr.append(leaf_hash(bytes(payload)), keep)
            self.store.conn.executemany("INSERT OR REPLACE INTO outbox_tree VALUES (?, ?, ?)", nodes)
            self.store.conn.execute("INSERT OR REPLACE INTO outbox_log VALUES (1, ?)", (cr.to_bytes(),))
            return cr.size

    def for_batch(self, first_seq: int, last_seq: int, previous_size: int) -> SignedBatch:
        """SIG-042/043: one signed checkpoint at size ``last_seq + 1``, each record's path in it,
        and the consistency proof from ``previous_size`` (0: none)."""
        self.extend_to(last_seq)
        size = last_seq + 1
        cache: dict[tuple[int, int], bytes] = {}
        conn = self.store.conn

        def subtree(level: int, idx: int) -> bytes:
            h = cache.get((level, idx))
            if h is None:
                row = conn.execute("SELECT hash FROM outbox_tree WHERE level = ? AND idx = ?", (level, idx)).fetchone()
                if row is None:
                    raise sqlite3.DatabaseError(f"outbox log node ({level}, {idx}) missing")
                h = cache[(level, idx)] = bytes(row[0])
            return h

        with self.store.transaction():  # a read under the store's lock, like every other reader
            root = root_from(size, subtree)
            paths = [encode_path(inclusion_proof_from(s, size, subtree)) for s in range(first_seq, last_seq + 1)]
            proof = consistency_proof_from(previous_size, size, subtree) if 0 < previous_size <= size else []
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.origin, self.key)
        return SignedBatch(note, size, paths, proof, self.keyid)
