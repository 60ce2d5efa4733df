"""Which database a gateway runs on, and the few things that differ between the two engines.

A gateway's ``database`` setting is a file path (SQLite, the embedded default) or a
``postgresql://`` URL. Everything outside the stores talks to the database through the three
functions here — :func:`open_conn`, :func:`transaction`, :func:`stream` — and portable SQL with
``?`` placeholders, so the audit log, the list log, checkpoints, snapshots and the expiry job
are written once for both engines.

Write transactions serialise on both engines: SQLite's ``BEGIN IMMEDIATE`` takes the file's write
lock; on PostgreSQL every write transaction first takes one transaction-scoped advisory lock
(:data:`WRITE_LOCK`), so "next list_seq / next leaf index = MAX + 1" stays gap-free and
race-free with more than one writer connection (ingest, expiry, import, checkpoints).
Read transactions on PostgreSQL are REPEATABLE READ, READ ONLY: one snapshot, as SQLite's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from creditx import sqlite

if TYPE_CHECKING:
    from creditx.gateway.store.base import GatewayStore
    from creditx.gateway.store.lease import WriterLease
    from creditx.gateway.store.postgres import QmarkConnection

WRITE_LOCK = 0x63726477  # pg_advisory_xact_lock key every write transaction takes ("crdw")

Conn = Any  # sqlite3.Connection | QmarkConnection: the portable slice (execute, executemany)


def is_url(spec: str | Path) -> bool:
    return isinstance(spec, str) and spec.startswith(("postgresql://", "postgres://"))


def is_postgres(conn: Conn) -> bool:
    return not isinstance(conn, sqlite3.Connection)


def open_conn(spec: str | Path) -> Conn:
    """A connection of its own to the gateway database."""
    if is_url(spec):
        import psycopg

        from creditx.gateway.store.postgres import QmarkConnection

        return QmarkConnection(psycopg.connect(str(spec), autocommit=True))
    return sqlite.connect(spec)


@contextmanager
def transaction(
    conn: Conn, *, write: bool = True, lock: threading.Lock | threading.RLock | None = None
) -> Iterator[Conn]:
    """One explicit transaction (see the module docstring for what each engine does)."""
    if not is_postgres(conn):
        with sqlite.transaction(conn, write=write, lock=lock):
            yield conn
        return
    pg: QmarkConnection = conn
    with lock if lock is not None else nullcontext(), pg.conn.transaction():
        if write:
            pg.conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            if _fence:  # a gateway with a writer lease writes only while it holds it
                _fence[0].check(pg.conn)
        else:
            pg.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


_fence: list[WriterLease] = []  # this process's writer lease, when a gateway runs on PostgreSQL


def fence_with(lease: WriterLease | None) -> None:
    """From now on every PostgreSQL write transaction of this process first checks ``lease``
    (``creditx.gateway.store.lease``); ``None`` lifts the check (the gateway stopped)."""
    _fence[:] = [lease] if lease is not None else []


def stream(conn: Conn, sql: str, params: Sequence[Any] = ()) -> Any:
    """A cursor that fetches as it is read (PostgreSQL: a server-side cursor, inside the caller's
    transaction) rather than holding the whole result in memory."""
    if not is_postgres(conn):
        return conn.execute(sql, params)
    return conn.stream(sql, params)


def open_store(spec: str | Path | None, *, now: str = "", cache_mib: int = 0) -> GatewayStore:
    """The store at ``spec``: a PostgreSQL URL or a SQLite file; ``cache_mib`` sizes SQLite's page
    cache (0: the store's default; ``store_cache_mib`` in gateway.json)."""
    if spec is not None and is_url(spec):
        from creditx.gateway.store.postgres import PostgresStore

        return PostgresStore(str(spec), now=now)
    from creditx.gateway.store.sqlite import DEFAULT_CACHE_MIB, SqliteStore

    return SqliteStore(spec, now=now, cache_mib=cache_mib or DEFAULT_CACHE_MIB)
