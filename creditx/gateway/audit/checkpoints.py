"""Signed checkpoints of the audit log: sign, store, serve, and fail closed when sealing fails.

The gateway signs a C2SP checkpoint (AUD-020/021) of the tree as committed — origin
``<gateway name>/audit/v1``, size, root — with its signing key (ECDSA P-256 from the
provincial CA, AUD-024), key name = origin (AUD-027). Every checkpoint is stored in table
``checkpoints`` (size → root, note). Signing happens on a schedule (:meth:`Checkpointer.tick`,
the scheduler's job body), on demand, and for push receipts (:meth:`Checkpointer.covering`).

Invariants:

* AUD-027: the size signed is the committed tree size, read in one transaction with its
  frontier, so sizes only grow and there is one root per size; a smaller size than the latest
  stored one is refused (``ROLLBACK``) rather than signed.
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

from creditx.gateway.audit import log as audit_log
from creditx.pki.files import private_database
from creditx.standard.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint, verifier_for
from creditx.standard.errors import UnavailableError


def origin_for(gateway_name: str) -> str:
    """AUD-020: the gateway's log origin."""
    return f"{gateway_name}/audit/v1"


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: str


def open_db(path: Path | str) -> sqlite3.Connection:
    private_database(Path(path))  # SEC-090
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def latest(conn: sqlite3.Connection) -> StoredCheckpoint | None:
    row = conn.execute("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    return StoredCheckpoint(*row) if row else None


def all_checkpoints(conn: sqlite3.Connection) -> list[StoredCheckpoint]:
    return [
        StoredCheckpoint(*r) for r in conn.execute("SELECT size, root, note, signed_at FROM checkpoints ORDER BY size")
    ]


class Checkpointer:
    def __init__(
        self,
        db_path: Path | str,
        origin: str,
        load_key: Callable[[], object],
        clock: Callable[[], datetime],
        *,
        grace_s: float = 300.0,
    ) -> None:
        self.conn = open_db(db_path)
        self.origin = origin
        self.load_key = load_key
        self.clock = clock
        self.grace = timedelta(seconds=grace_s)
        self.lock = threading.RLock()  # one connection, shared by handler threads
        self.last_ok: datetime = clock()  # the grace period runs from start
        self.last_error = ""

    # --- signing ----------------------------------------------------------------------------

    def sign_now(self) -> StoredCheckpoint:
        """Sign and store a checkpoint of the committed tree (or return the stored one of that size)."""
        from creditx.gateway.audit.leaves import rfc3339

        with self.lock:
            now = self.clock()
            try:
                key = self.load_key()
                self.conn.execute("BEGIN")
                try:
                    cr = audit_log.frontier(self.conn)
                    prev = latest(self.conn)
                    if prev is not None and prev.size > cr.size:
                        raise UnavailableError(
                            f"AUD-027 ROLLBACK: tree size {cr.size} is below checkpoint {prev.size}",
                            hint="the audit tables were altered: run `creditx gateway audit verify`",
                        )
                    if prev is not None and prev.size == cr.size:
                        self.conn.execute("COMMIT")
                        self._ok(now)
                        return prev
                    cp = Checkpoint(self.origin, cr.size, cr.root())
                    note = sign_checkpoint(cp, self.origin, key)
                    stored = StoredCheckpoint(cp.size, cp.root_hash, note, rfc3339(now))
                    self.conn.execute(
                        "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?,?,?,?)",
                        (stored.size, stored.root, stored.note, stored.signed_at),
                    )
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self._ok(now)
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
            cp = latest(self.conn)
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
        cp = latest(self.conn)
        return {
            "origin": self.origin,
            "tree_size": audit_log.tree_size(self.conn),
            "checkpoint_size": cp.size if cp else 0,
            "checkpoint_signed_at": cp.signed_at if cp else "",
            "last_ok": self.last_ok.isoformat(),
            "last_error": self.last_error,
            "refusal": self.refusal(),
        }

    def verifier(self) -> NoteVerifier:
        return verifier_for(self.origin, self.load_key().public_key())

    def close(self) -> None:
        self.conn.close()


# --- proofs for the servicer and the CLI (AUD-010, AUD-012) ----------------------------------


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


def consistency_for(conn: sqlite3.Connection, old_size: int, new_size: int = 0) -> dict:
    new_size = _default_size(conn, new_size)
    return {
        "old_size": old_size,
        "new_size": new_size,
        "hashes": audit_log.consistency(conn, old_size, new_size),
        "checkpoint": note_at(conn, new_size),
    }
