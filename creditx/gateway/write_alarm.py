"""SYNC-052: the gateway's alarm for failed database writes ("database or disk is full").

A thread whose write fails records it here and carries on (the batch is refused UNAVAILABLE
with ``STORE_WRITE_FAILED``, so the node resends after a backoff); the next write that commits
clears it. While it is raised, health answers NOT_SERVING and the metric
``creditx_gateway_store_write_failing`` is 1. Nothing is refused because of the alarm itself, so
the first write after the disk has room again gets through and clears it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime

WRITE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
try:  # PostgreSQL's disk-full and I/O errors (psycopg is installed with the gateway's PostgreSQL store)
    import psycopg

    WRITE_ERRORS += (psycopg.OperationalError,)
except ImportError:  # pragma: no cover - psycopg is a dependency
    pass


class WriteAlarm:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._failing: dict[str, tuple[str, datetime]] = {}  # what → (error, since)

    def failed(self, what: str, exc: BaseException) -> None:
        with self._lock:
            since = self._failing.get(what, ("", self.clock()))[1]
            self._failing[what] = (f"{type(exc).__name__}: {exc}", since)

    def ok(self, what: str) -> None:
        if what in self._failing:
            with self._lock:
                self._failing.pop(what, None)

    def message(self) -> str:
        """ "" when every write goes through, else what fails and since when."""
        with self._lock:
            return "; ".join(
                f"{what} cannot write the database since {since.isoformat(timespec='seconds')}: {err}"
                for what, (err, since) in sorted(self._failing.items())
            )


class WriteAlarmCollector:
    """``creditx_gateway_store_write_failing{what}``: 1 per thread whose writes fail (SYNC-052)."""

    def __init__(self, alarm: WriteAlarm) -> None:
        self.alarm = alarm

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        g = GaugeMetricFamily(
            "creditx_gateway_store_write_failing",
            "1 while this part of the gateway cannot write its database",
            labels=["what"],
        )
        with self.alarm._lock:
            failing = sorted(self.alarm._failing)
        for what in failing:
            g.add_metric([what], 1)
        yield g
