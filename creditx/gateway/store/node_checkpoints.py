"""The nodes' outbox-log checkpoints (batch-signed suite, SYNC-062/064): one row per batch
that arrived batch-signed, written in that batch's transaction, so that every stored
batch-signed record can be verified on its own later (record + its path in ``signatures`` +
the checkpoint here) and a node's next checkpoint is checked against the newest one.

Plain SQL with ``?`` marks: the SQLite connection and the PostgreSQL store's qmark adapter
both run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DDL = (
    "CREATE TABLE node_checkpoints (node TEXT NOT NULL, size BIGINT NOT NULL, first_seq BIGINT NOT NULL, "
    "note TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (node, size))",
)


@dataclass(frozen=True)
class NodeCheckpoint:
    """A verified checkpoint of a node's outbox log and the first source_seq of its batch."""

    size: int
    first_seq: int
    note: str


def create_tables(conn: Any) -> None:
    for stmt in DDL:
        conn.execute(stmt)


def latest(conn: Any, node: str) -> NodeCheckpoint | None:
    row = conn.execute(
        "SELECT size, first_seq, note FROM node_checkpoints WHERE node = ? ORDER BY size DESC LIMIT 1", (node,)
    ).fetchone()
    return NodeCheckpoint(int(row[0]), int(row[1]), str(row[2])) if row else None


def write(conn: Any, node: str, cp: NodeCheckpoint, at: str) -> None:
    """Same size again (a batch resent after a lost ack) keeps the first: check_extends has
    already proved the two equal."""
    conn.execute(
        "INSERT INTO node_checkpoints (node, size, first_seq, note, received_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (node, size) DO NOTHING",
        (node, cp.size, cp.first_seq, cp.note, at),
    )
