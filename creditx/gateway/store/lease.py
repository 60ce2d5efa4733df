"""Which of several gateways on one PostgreSQL database is the writer: a lease with fencing.

The lease is a session-level advisory lock held by a connection of its own. Exactly one gateway
holds it; its connection's ``application_name`` carries the writer's gRPC address, so a standby
can name it (Push to a standby is refused with UNAVAILABLE and that address). When the writer
dies — SIGKILL, a lost host — its connection closes, PostgreSQL releases the lock, and the
standby, which tries every ``poll_s``, takes it over within about a second.

Fencing: every write transaction of this process (``creditx.gateway.store.engine.transaction``)
checks, after taking the writers' lock, that this process's lease connection still holds the
lease. A former writer whose lease connection was lost (a network partition, an administrator's
``pg_terminate_backend``) therefore fails its next write with :class:`Fenced`, even before its
own watcher notices — and a standby that took over meanwhile is the only writer.

SQLite has one writer by construction (one file, one process): there the lease always holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from creditx.gateway.store.engine import is_url
from creditx.standard.errors import UnavailableError

LEASE_KEY = (0x63726478, 1)  # pg_try_advisory_lock(int, int): the writer lease
_log = logging.getLogger(__name__)


class Fenced(UnavailableError):
    """This process no longer holds the writer lease: it must not write."""


class WriterLease:
    def __init__(
        self, spec: object, address: str, *, poll_s: float = 0.5, on_acquired: Callable[[], None] = lambda: None
    ) -> None:
        self.url = str(spec) if is_url(spec) else ""  # type: ignore[arg-type]
        self.address = address
        self.poll_s = poll_s
        self.on_acquired = on_acquired
        self._conn: Any = None  # the psycopg.Connection holding the lock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.backend_pid = 0
        self._addr_cache: tuple[float, str] = (-1e9, "")
        self._addr_lock = threading.Lock()

    # --- state -------------------------------------------------------------------------------

    @property
    def is_writer(self) -> bool:
        return not self.url or self._conn is not None

    def writer_address(self) -> str:
        """The writer's address as it published it ("" when none holds the lease now); looked up
        at most once per ``poll_s``, however many refused calls ask (a peer cannot make the
        standby open database connections at will)."""
        if not self.url:
            return self.address
        now = time.monotonic()
        with self._addr_lock:
            at, addr = self._addr_cache
            if now - at < self.poll_s:
                return addr
        addr = self._lookup_writer()
        with self._addr_lock:
            self._addr_cache = (time.monotonic(), addr)
        return addr

    def _lookup_writer(self) -> str:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as c:
                row = c.execute(_HOLDER_SQL, LEASE_KEY).fetchone()
        except psycopg.Error:
            return ""
        return row[0].removeprefix("creditx writer ") if row and row[0].startswith("creditx writer ") else ""

    # --- acquiring and watching ----------------------------------------------------------------

    def try_acquire(self) -> bool:
        if not self.url:
            return True
        import psycopg

        with self._lock:
            if self._conn is not None:
                return True
            try:
                conn = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=5, application_name=f"creditx writer {self.address}"[:63]
                )
                row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", LEASE_KEY).fetchone()
                got = bool(row and row[0])
            except psycopg.Error as exc:
                _log.warning("writer lease: cannot reach the database: %s", exc)
                return False
            if not got:
                conn.close()
                return False
            self._conn = conn
            self.backend_pid = conn.info.backend_pid
        _log.warning("writer lease acquired: this gateway (%s) is the writer", self.address)
        return True

    def _alive(self) -> bool:
        import psycopg

        conn = self._conn
        if conn is None:
            return False
        try:
            conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self._conn is not None and not self._alive():
                _log.warning("writer lease lost: this gateway (%s) is fenced and becomes a standby", self.address)
                with self._lock:
                    self._drop()
            if self._conn is None and self.try_acquire():
                try:
                    self.on_acquired()
                except Exception:  # noqa: BLE001 — the hook is best effort; writing is guarded by the fence
                    _log.exception("writer lease: take-over hook failed")
            self._stop.wait(self.poll_s)

    def start(self) -> None:
        """Try once now; keep watching (take over, or notice a lost lease) on a thread."""
        if not self.url:
            return
        self.try_acquire()
        self._thread = threading.Thread(target=self._watch, name="writer-lease", daemon=True)
        self._thread.start()

    def _drop(self) -> None:
        conn, self._conn, self.backend_pid = self._conn, None, 0
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 — already gone
                pass

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._drop()

    # --- the fence -----------------------------------------------------------------------------

    def check(self, conn: object) -> None:
        """Inside a write transaction on ``conn`` (a psycopg connection): raise :class:`Fenced`
        unless this process's lease connection holds the lease right now."""
        pid = self.backend_pid
        held = pid and conn.execute(_HELD_BY_SQL, (*LEASE_KEY, pid)).fetchone()  # type: ignore[attr-defined]
        if not held:
            raise Fenced(
                "this gateway is not the writer (its writer lease is gone)",
                hint=f"the writer is at {self.writer_address() or 'an address not known yet'}; retry there",
            )


_HOLDER_SQL = (
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 AND l.granted"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_HELD_BY_SQL = (
    "SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s"
    " AND l.objsubid = 2 AND l.granted AND l.pid = %s"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
