"""Which nodes are connected now, in memory (not durable: a restart starts with nobody).

A node counts as connected while it has an open Push stream or has called within
``stale_after`` seconds; :meth:`Presence.mark_stale` (a scheduler job) drops the others.
Time comes in as an argument.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class Presence:
    def __init__(self) -> None:
        self._streams: dict[str, int] = {}
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def seen(self, region: str, at: datetime) -> None:
        with self._lock:
            self._seen[region] = at

    def open(self, region: str, at: datetime) -> None:
        with self._lock:
            self._streams[region] = self._streams.get(region, 0) + 1
            self._seen[region] = at

    def close(self, region: str, at: datetime) -> None:
        with self._lock:
            self._streams[region] = max(0, self._streams.get(region, 0) - 1)
            self._seen[region] = at

    def connected(self, region: str) -> bool:
        with self._lock:
            return self._streams.get(region, 0) > 0 or region in self._seen

    def mark_stale(self, now: datetime, stale_after: float) -> list[str]:
        """Forget nodes without a stream and silent for ``stale_after`` seconds; return them."""
        limit = now - timedelta(seconds=stale_after)
        with self._lock:
            gone = [r for r, t in self._seen.items() if t < limit and not self._streams.get(r)]
            for r in gone:
                del self._seen[r]
        return gone
