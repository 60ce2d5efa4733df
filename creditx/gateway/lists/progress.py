"""How far each node has applied the list log (DIST-043): the one holder of that state.

The Distribution servicer records what nodes report (ReportApplied, and Exchange.Heartbeat's
``applied_list_seq`` through :class:`creditx.gateway.lists.wiring.Lists`); the Operator Status
call and the Prometheus collector read the same figures from here, so the servicer only
translates. One SQLite connection of its own (WAL: it never holds the ingest writer), shared by
handler threads under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from creditx.gateway.lists import store
from creditx.standard.timestamps import rfc3339


class ListProgress:
    def __init__(self, db_path: Path | str, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._conn = store.open_conn(db_path)
        self._lock = threading.Lock()  # one connection, many handler threads

    def report(self, node: str, applied: int, verified: bool = False) -> None:
        """DIST-043: ``node`` has applied the log through ``applied`` (a late, smaller report is ignored)."""
        with self._lock:
            store.report_applied(self._conn, node, applied, verified, rfc3339(self.clock()))

    def head(self) -> int:
        """The newest list_seq of the log."""
        with self._lock:
            return store.head(self._conn)

    def lags(self, now: datetime) -> tuple[int, dict[str, store.Lag]]:
        """(list head, per-node lag) for the operator status and metrics."""
        with self._lock:
            return store.head(self._conn), store.lags(self._conn, now)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
