"""The list log as a signed log (DIST-050…052): what :class:`creditx.gateway.audit.checkpoints.Checkpointer`
needs to sign and serve its checkpoints, and its consistency proofs.

The list log is its own RFC 9162 tree (leaf i = change list_seq i + 1, DIST-050), origin
``<gateway name>/lists/v1`` (``creditx.standard.lists.log.list_log_origin``), signed with the
gateway's signing key as a C2SP signed note (key name = origin, AUD-027) by the same
Checkpointer as the audit log — so it shares its invariants: one root per size, a stored
checkpoint is reused, a tree smaller than the latest checkpoint is refused. Checkpoints are
stored in ``list_checkpoints``. Proofs read leaf hashes from ``list_log`` (O(size) per proof:
``creditx.standard.merkle.leaf_reader_subtree``; store subtree hashes as the audit log does if the
list log grows large).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from creditx.gateway.audit.checkpoints import Checkpointer, SignedLog
from creditx.gateway.lists import store
from creditx.standard.checkpoint import NotePrivateKey
from creditx.standard.lists.lifecycle import ListError
from creditx.standard.lists.log import list_log_origin
from creditx.standard.merkle import consistency_proof_from, leaf_reader_subtree


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


LIST_LOG = SignedLog("list_checkpoints", store.frontier, consistency, "DIST-051")


def list_checkpointer(
    db_path: Path | str, gateway_name: str, load_key: Callable[[], NotePrivateKey], clock: Callable[[], datetime]
) -> Checkpointer:
    """The Checkpointer of the list log of gateway ``gateway_name``."""
    return Checkpointer(db_path, list_log_origin(gateway_name), load_key, clock, log=LIST_LOG)
