"""The one way this project opens, writes and migrates a SQLite file (gateway, node, issuance DB).

* :func:`connect` — autocommit (``isolation_level=None``: every transaction is explicit), usable
  from several threads under the caller's lock, WAL for files (readers never block the writer),
  ``synchronous=NORMAL`` (a commit survives a process crash; a power loss may lose the last
  transactions but never tears one) and a busy timeout instead of "database is locked".
* :func:`transaction` — ``BEGIN IMMEDIATE`` (write: the write lock up front, so two writers
  serialise instead of deadlocking on an upgrade) or ``BEGIN`` (a read snapshot), then COMMIT,
  or ROLLBACK on any exception.
* :func:`migrate` — numbered migrations: step ``n`` of the list takes the schema from ``n-1`` to
  ``n``; each runs in its own write transaction, re-checks what is applied inside it (two
  processes opening one file at once apply each step once) and is recorded in
  ``schema_migrations`` and in ``PRAGMA user_version``. Never edit a released step: append one.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

Migration = Callable[[Database], None]


PRIVATE_FILE_MODE, PRIVATE_DIR_MODE = 0o600, 0o700


def private_database(path: str | Path) -> Path:
    """SEC-090: a database file created 0600 in a 0700 directory before SQLite opens it, so its
    -wal and -shm files (SQLite gives them the database file's mode) are 0600 from the start;
    an existing file and its companions are tightened. The databases hold ID numbers in clear."""
    path = Path(path)
    if not path.parent.exists():  # an existing parent is the role's directory, made 0700 by its init
        for missing in reversed([p for p in (path.parent, *path.parent.parents) if not p.exists()]):
            missing.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    # Never open (and close) an existing database file: closing any descriptor of it drops the
    # POSIX locks SQLite holds through other connections of this process (SQLite's "how to
    # corrupt" §2.2). Only a file that does not exist yet is created here; chmod takes no locks.
    if not path.exists():
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        except FileExistsError:
            pass  # created by another opener in the meantime
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            os.chmod(p, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            pass
    return path


def connect(path: str | Path | None, *, timeout_s: float = 30.0) -> sqlite3.Connection:
    """A connection to the file at ``path`` (``None``: a private in-memory database), created
    private (:func:`private_database`)."""
    if path is not None:
        private_database(path)
    conn = sqlite3.connect(
        ":memory:" if path is None else str(path), isolation_level=None, check_same_thread=False, timeout=timeout_s
    )
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Readers:
    """A pool of read-only connections to the file at ``path``, one borrowed per reading thread
    at a time (WAL: a reader sees the last commit and never blocks the writer nor another
    reader). For hot read paths served by many threads (the hall check): one shared connection
    serialises its callers and interleaves with the writer's transactions. Each connection keeps
    its prepared statements (the sqlite3 statement cache) and its own page cache; at most
    ``keep`` idle connections are kept."""

    def __init__(self, path: str | Path, *, cache_kib: int = 8 * 1024, keep: int = 64) -> None:
        self.uri = f"file:{Path(path).resolve()}?mode=ro"
        self.cache_kib, self.keep = cache_kib, keep
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute(f"PRAGMA cache_size=-{self.cache_kib}")
        return conn

    @contextmanager
    def borrow(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._lock:
                keep = not self._closed and len(self._idle) < self.keep
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for c in idle:
            c.close()


@contextmanager
def transaction(
    conn: sqlite3.Connection, *, write: bool = True, lock: threading.Lock | threading.RLock | None = None
) -> Iterator[sqlite3.Connection]:
    """One explicit transaction on ``conn``; ``lock`` (when the connection is shared by threads)
    is held for its whole length."""
    with lock if lock is not None else nullcontext():
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _applied(conn: sqlite3.Connection) -> set[int]:
    return {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}


def _user_version(conn: sqlite3.Connection) -> set[int]:
    """A file migrated before schema_migrations existed (node store) counts its user_version."""
    return set(range(1, conn.execute("PRAGMA user_version").fetchone()[0] + 1))


def migrate(
    conn: sqlite3.Connection,
    steps: Sequence[Migration],
    *,
    now: str = "",
    adopted: Callable[[sqlite3.Connection], set[int]] = lambda conn: set(),
) -> int:
    """Apply every pending step of ``steps``; return the schema version. ``adopted`` names steps
    an older bookkeeping table of the same file records as applied (read once, then carried
    over into ``schema_migrations``)."""
    stamp = now or datetime.now(UTC).isoformat()
    db = Database(conn)
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        for n in sorted((adopted(conn) | _user_version(conn)) - _applied(conn)):
            conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (n, stamp))
    for n, step in enumerate(steps, start=1):
        with transaction(conn):
            if n in _applied(conn):
                continue
            step(db)
            conn.execute("INSERT OR REPLACE INTO schema_migrations (version, applied_at) VALUES (?, ?)", (n, stamp))
            conn.execute(f"PRAGMA user_version={n}")
    return len(steps)
