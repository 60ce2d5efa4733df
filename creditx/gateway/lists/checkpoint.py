"""Signed checkpoints of the list log (DIST-051, DIST-052) and consistency proofs.

The list log is its own RFC 9162 tree (leaf i = change list_seq i + 1, DIST-050), origin
``<gateway name>/lists/v1`` (``creditx.standard.lists.log.list_log_origin``), signed with the
gateway's signing key as a C2SP signed note (``creditx.standard.checkpoint.sign_checkpoint``, key
name = origin, AUD-027). Checkpoints are stored in ``list_checkpoints``.

Invariants: the size signed is the committed list head, read in one transaction with the
persisted frontier, so there is one root per size and sizes only grow; a stored checkpoint is
reused, never re-signed. Proofs read leaf hashes from ``list_log`` (O(size) per proof:
``creditx.standard.merkle.leaf_reader_subtree``; store subtree hashes as the audit log does if the
list log grows large).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime

from creditx.gateway.lists import store
from creditx.standard.checkpoint import Checkpoint, NotePrivateKey, sign_checkpoint
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.log import list_log_origin, rfc3339_ms
from creditx.standard.merkle import consistency_proof_from, leaf_reader_subtree


class ListCheckpointer:
    def __init__(
        self, gateway_name: str, load_key: Callable[[], NotePrivateKey], clock: Callable[[], datetime]
    ) -> None:
        self.origin = list_log_origin(gateway_name)
        self.load_key = load_key
        self.clock = clock
        self._lock = threading.Lock()

    def latest(self, conn: sqlite3.Connection) -> tuple[int, str]:
        """(size, note) of a checkpoint of the current head, signing one if the log has grown."""
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cr = store.frontier(conn)
                row = conn.execute("SELECT size, note FROM list_checkpoints ORDER BY size DESC LIMIT 1").fetchone()
                if row is not None and row[0] >= cr.size:
                    conn.execute("COMMIT")
                    return row[0], row[1]
                note = sign_checkpoint(Checkpoint(self.origin, cr.size, cr.root()), self.origin, self.load_key())
                conn.execute(
                    "INSERT INTO list_checkpoints (size, root, note, signed_at) VALUES (?,?,?,?)",
                    (cr.size, cr.root(), note, rfc3339_ms(self.clock())),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return cr.size, note


def consistency(conn: sqlite3.Connection, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 §2.1.4 proof that the list log of ``old_size`` is a prefix of ``new_size``."""
    if old_size > new_size:
        raise ListError(
            "DIST_SIZE_AHEAD",
            "DIST-052",
            f"from_size {old_size} is beyond the log's {new_size}",
            field="from_size",
            hint="the replica claims more than the log holds: re-bootstrap from a snapshot",
        )
    if old_size == 0 or old_size == new_size:
        return []
    return consistency_proof_from(old_size, new_size, leaf_reader_subtree(lambda s, e: store.leaf_hashes(conn, s, e)))
