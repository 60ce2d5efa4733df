"""Which nodes are connected now, in memory (not durable: a restart starts with nobody).

SYNC-050 (1.1): a node is *connected* while it has an open Push stream, or when its latest call
was a Handshake or Heartbeat less than ``stale_after`` seconds ago and no Push stream of it has
ended since. The end of a stream (the node closed it, the connection broke, the gateway refused
it) is a disconnect at once — the answer does not wait for a scheduler tick.
:meth:`Presence.mark_stale` (a scheduler job) only forgets silent nodes. Time comes in as an argument.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class Presence:
    def __init__(self, stale_after: float = 120.0) -> None:
        self.stale_after = timedelta(seconds=stale_after)
        self._streams: dict[str, int] = {}
        self._seen: dict[str, datetime] = {}
        self._ended: dict[str, datetime] = {}  # when its last Push stream ended
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
            self._ended[region] = at

    def connected(self, region: str, now: datetime | None = None) -> bool:
        """SYNC-050: an open stream, or a recent unary call with no stream ended since."""
        with self._lock:
            if self._streams.get(region, 0) > 0:
                return True
            seen = self._seen.get(region)
            if seen is None:
                return False
            ended = self._ended.get(region)
            if ended is not None and ended >= seen:
                return False
            return now is None or now - seen < self.stale_after

    def mark_stale(self, now: datetime, stale_after: float) -> list[str]:
        """Forget nodes without a stream and silent for ``stale_after`` seconds; return them."""
        limit = now - timedelta(seconds=stale_after)
        with self._lock:
            gone = [r for r, t in self._seen.items() if t < limit and not self._streams.get(r)]
            for r in gone:
                del self._seen[r]
        return gone
