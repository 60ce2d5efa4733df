"""Signed checkpoints of the gateway's two logs: sign, store, serve, and fail closed when sealing fails.

One class, :class:`Checkpointer`, for both the audit log (chapter 06) and the list log
(DIST-051/052). What differs between them is a :class:`SignedLog`: the table the checkpoints
are stored in and how the committed tree's frontier and proofs are read. :data:`AUDIT_LOG` is
defined here, the list log's in :mod:`creditx.gateway.lists.checkpoint`.

The gateway signs a C2SP checkpoint (AUD-020/021) of the tree as committed — origin
``<gateway name>/audit/v1`` or ``<gateway name>/lists/v1``, size, root — with its signing key
(ECDSA P-256 from the provincial CA, AUD-024), key name = origin (AUD-027). Every checkpoint is
stored (size → root, note). Signing happens on a schedule (:meth:`Checkpointer.tick`, the
scheduler's job body), on demand, and for push receipts (:meth:`Checkpointer.covering`).

Invariants:

* AUD-027: the size signed is the committed tree size, read in one write transaction with its
  frontier, so sizes only grow and there is one root per size; a stored checkpoint of that
  size is reused, never re-signed; a tree smaller than the latest stored checkpoint is refused
  (``ROLLBACK``, :class:`creditx.standard.errors.UnavailableError`) rather than signed or
  answered with the larger stored one.
* Fail closed (X-Road's rule): when no checkpoint could be signed for longer than
  ``grace_s``, :meth:`Checkpointer.refusal` gives the reason and the Exchange servicer answers
  pushes with UNAVAILABLE until a signature succeeds again (AUD-040).

It opens its own SQLite connection to the gateway database (WAL: readers do not block the
ingest writer); time comes from the injected clock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from creditx.gateway.audit import log as audit_log
from creditx.gateway.store.engine import open_conn, transaction
from creditx.standard.checkpoint import Checkpoint, NotePrivateKey, NoteVerifier, sign_checkpoint, verifier_for
from creditx.standard.errors import InputError, UnavailableError
from creditx.standard.merkle import CompactRange
from creditx.standard.timestamps import rfc3339


def origin_for(gateway_name: str) -> str:
    """AUD-020: the gateway's log origin."""
    return f"{gateway_name}/audit/v1"


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: str


@dataclass(frozen=True)
class SignedLog:
    """What the Checkpointer needs to know of one log: where its checkpoints are stored
    (a table ``size, root, note, signed_at``) and how its committed frontier is read."""

    table: str
    frontier: Callable[[sqlite3.Connection], CompactRange]
    consistency: Callable[[sqlite3.Connection, int, int], list[bytes]]  # (conn, old, new) -> RFC 9162 proof
    rule: str  # the requirement a refused (shrunk) tree breaks, for the message


AUDIT_LOG = SignedLog("checkpoints", audit_log.frontier, audit_log.consistency, "AUD-027")


def open_db(path: Path | str) -> Any:
    """The gateway database (a SQLite path or a PostgreSQL URL): ``creditx.gateway.store.engine``."""
    return open_conn(path)


def latest(conn: sqlite3.Connection, table: str = AUDIT_LOG.table) -> StoredCheckpoint | None:
    row = conn.execute(f"SELECT size, root, note, signed_at FROM {table} ORDER BY size DESC LIMIT 1").fetchone()
    return StoredCheckpoint(*row) if row else None


def all_checkpoints(conn: sqlite3.Connection) -> list[StoredCheckpoint]:
    return [
        StoredCheckpoint(*r) for r in conn.execute("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size")
    ]


def check_origin(held: StoredCheckpoint | None, origin: str) -> None:
    """AUD-020: a log keeps its origin for life — nodes pin it (DIST-051). A gateway whose ``name``
    gives another origin than the stored checkpoints' (a renamed gateway, or a second gateway on
    the same database with a name of its own) is refused: InputError naming the name to use."""
    if held is None:
        return
    stored = held.note.split("\n", 1)[0]
    if stored != origin:
        suffix = origin.split("/", 1)[1] if "/" in origin else ""
        name = stored[: -len(suffix) - 1] if suffix and stored.endswith("/" + suffix) else stored
        raise InputError(
            f"the database's log was signed with origin {stored!r}; this gateway's name gives {origin!r}, "
            "which every node that pinned the origin would refuse",
            hint=f'set "name": "{name}" in gateway.json (every gateway on one database has the same name)',
        )


class Checkpointer:
    def __init__(
        self,
        db_path: Path | str,
        origin: str,
        load_key: Callable[[], NotePrivateKey],
        clock: Callable[[], datetime],
        *,
        grace_s: float = 300.0,
        log: SignedLog = AUDIT_LOG,
    ) -> None:
        self.conn = open_db(db_path)
        self.origin = origin
        self.log = log
        check_origin(latest(self.conn, log.table), origin)
        self.load_key = load_key
        self.clock = clock
        self.grace = timedelta(seconds=grace_s)
        self.lock = threading.RLock()  # one connection, shared by handler threads
        self.last_ok: datetime = clock()  # the grace period runs from start
        self.last_error = ""

    # --- signing ----------------------------------------------------------------------------

    def sign_now(self) -> StoredCheckpoint:
        """Sign and store a checkpoint of the committed tree (or return the stored one of that
        size); refuses a tree smaller than the latest stored checkpoint (AUD-027 ROLLBACK)."""
        with self.lock:
            now = self.clock()
            try:
                key = self.load_key()
                with transaction(self.conn):  # frontier and insert in one write transaction
                    stored = self._sign_in_transaction(key, now)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self._ok(now)
            return stored

    def _sign_in_transaction(self, key: NotePrivateKey, now: datetime) -> StoredCheckpoint:
        cr = self.log.frontier(self.conn)
        prev = latest(self.conn, self.log.table)
        if prev is not None and prev.size > cr.size:
            raise UnavailableError(
                f"{self.log.rule} ROLLBACK: tree size {cr.size} of {self.origin} is below "
                f"its signed checkpoint {prev.size}",
                hint="the log's tables were altered: run `creditx gateway audit verify`",
            )
        if prev is not None and prev.size == cr.size:
            return prev
        cp = Checkpoint(self.origin, cr.size, cr.root())
        stored = StoredCheckpoint(cp.size, cp.root_hash, sign_checkpoint(cp, self.origin, key), rfc3339(now))
        self.conn.execute(
            f"INSERT INTO {self.log.table} (size, root, note, signed_at) VALUES (?,?,?,?)",
            (stored.size, stored.root, stored.note, stored.signed_at),
        )
        return stored

    def _ok(self, now: datetime) -> None:
        self.last_ok, self.last_error = now, ""

    def tick(self) -> None:
        """Scheduler job body: sign when the tree grew; a failure is recorded, never raised."""
        try:
            self.sign_now()
        except Exception:
            pass

    def covering(self, size: int) -> str:
        """A signed checkpoint note covering the first ``size`` leaves, for a push receipt;
        "" when none can be signed now (the failure is recorded for fail-closed)."""
        with self.lock:
            cp = latest(self.conn, self.log.table)
        if cp is not None and cp.size >= size:
            return cp.note
        try:
            return self.sign_now().note
        except Exception:
            return ""

    # --- fail closed (AUD-040) ------------------------------------------------------------------

    def refusal(self, now: datetime | None = None) -> str:
        """Why ingest must stop now, or "" while checkpoints are being sealed within the grace."""
        now = now or self.clock()
        if now - self.last_ok <= self.grace:
            return ""
        return (
            f"AUD-040 AUDIT_UNSEALED: no checkpoint signed since {self.last_ok.isoformat()} "
            f"(grace {int(self.grace.total_seconds())} s): {self.last_error or 'signing not attempted'}; "
            "fix the gateway signing key, records are accepted again once a checkpoint is signed"
        )

    def status(self) -> dict:
        with self.lock:
            cp = latest(self.conn, self.log.table)
            size = self.log.frontier(self.conn).size
        return {
            "origin": self.origin,
            "tree_size": size,
            "checkpoint_size": cp.size if cp else 0,
            "checkpoint_signed_at": cp.signed_at if cp else "",
            "last_ok": self.last_ok.isoformat(),
            "last_error": self.last_error,
            "refusal": self.refusal(),
        }

    def verifier(self) -> NoteVerifier:
        return verifier_for(self.origin, self.load_key().public_key())

    # --- reads for the servicers (AUD-010, AUD-012, AUD-040, DIST-052) ------------------------

    def current(self, *, fresh: bool = False) -> StoredCheckpoint:
        """The latest stored checkpoint; signed now when ``fresh`` or when none is stored yet."""
        if not fresh:
            with self.lock:
                stored = latest(self.conn, self.log.table)
            if stored is not None:
                return stored
        return self.sign_now()

    def inclusion(self, index: int | None = None, size: int = 0, *, fingerprint: bytes | None = None) -> dict:
        """Audit log: proof of leaf ``index`` — or of the first leaf of the record with
        ``fingerprint`` (KeyError if none) — at ``size`` (0: the latest checkpoint's)."""
        with self.lock:
            if fingerprint is not None:
                index = leaf_index_of(self.conn, fingerprint)
            return inclusion_for(self.conn, index or 0, size)

    def consistency(self, old_size: int, new_size: int = 0) -> dict:
        """Proof that the tree of ``old_size`` is a prefix of ``new_size`` (0: the latest
        checkpoint's size), with the signed note of ``new_size`` when one is stored."""
        with self.lock:
            if not new_size:
                cp = latest(self.conn, self.log.table)
                new_size = cp.size if cp else self.log.frontier(self.conn).size
            row = self.conn.execute(f"SELECT note FROM {self.log.table} WHERE size = ?", (new_size,)).fetchone()
            return {
                "old_size": old_size,
                "new_size": new_size,
                "hashes": self.log.consistency(self.conn, old_size, new_size),
                "checkpoint": row[0] if row else "",
            }

    def close(self) -> None:
        with self.lock:
            self.conn.close()


# --- audit-log inclusion proofs for the servicer and the CLI (AUD-010) ----------------------------------


def note_at(conn: sqlite3.Connection, size: int) -> str:
    row = conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
    return row[0] if row else ""


def _default_size(conn: sqlite3.Connection, size: int) -> int:
    if size:
        return size
    cp = latest(conn)
    return cp.size if cp else audit_log.tree_size(conn)


def leaf_index_of(conn: sqlite3.Connection, fingerprint: bytes) -> int:
    """The first audit leaf of a record with this content fingerprint (KeyError if none)."""
    row = conn.execute(
        "SELECT MIN(log_index) FROM records WHERE fp = ? AND log_index IS NOT NULL", (fingerprint,)
    ).fetchone()
    if row is None or row[0] is None:
        raise KeyError(fingerprint.hex())
    return row[0]


def inclusion_for(conn: sqlite3.Connection, index: int, size: int = 0) -> dict:
    """Proof of leaf ``index`` at ``size`` (0: the latest checkpoint's size), with the leaf
    content and the signed note of that size when one is stored."""
    size = _default_size(conn, size)
    hashes = audit_log.inclusion(conn, index, size)
    row = conn.execute("SELECT leaf_data FROM audit_leaves WHERE idx = ?", (index,)).fetchone()
    return {
        "index": index,
        "tree_size": size,
        "hashes": hashes,
        "leaf_data": row[0] if row else b"",
        "checkpoint": note_at(conn, size),
    }
