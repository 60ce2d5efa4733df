"""DIST-030 fan-out at provincial size: the newest changes of the list log, each read from the
database, decoded and encoded ONCE for every subscriber.

150 followers at 1,000 changes/s are 150,000 change deliveries a second; read and encoded per
subscriber, a change costs tens of µs each time, which no two cores have. Here a subscriber's
batch is assembled from changes already encoded (:class:`creditx.gateway.lists.wire.EncodedChange`),
so what a delivery costs per change is a slice and a join — and for a natural person's change
one HMAC with the node's own subject index key (DIST-077: those keys are made per subscriber,
never shared). Any cursor and head are served from the same changes, so subscribers that drift
apart (one was still writing when a commit came) still share them.

The window holds consecutive list_seqs ``[lo, hi]`` and only moves forward: changes past ``hi``
are read once (under the lock, so the other subscribers wait for them instead of reading them
too) and the oldest dropped past ``max_bytes``. A subscriber behind the window (a backlog after a
reconnect) reads its changes itself, as before, without evicting the live ones. A change never
changes once committed, so what is kept stays true.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from creditx.gateway.lists.wire import EncodedChange
from creditx.standard.lists.lifecycle import ListChange

Read = Callable[[int, int], list[ListChange]]  # (first, last) -> the log's changes in order


class EncodedChanges:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._window: list[EncodedChange] = []  # consecutive list_seqs, oldest first
        self._bytes = 0
        self.encoded = 0  # changes read and encoded into the window (the rest of each delivery is shared)

    def between(self, first: int, last: int, read: Read) -> list[EncodedChange]:
        """The changes ``first <= list_seq <= last`` (all committed) in order."""
        if first > last:
            return []
        with self._lock:
            w = self._window
            if not w or first > w[-1].list_seq + 1:  # nothing kept near: the window starts here
                w.clear()
                self._bytes = 0
            if not w or first >= w[0].list_seq:
                if not w or last > w[-1].list_seq:
                    self._append(read(w[-1].list_seq + 1 if w else first, last))
                if w and first >= w[0].list_seq:
                    lo = w[0].list_seq
                    return w[first - lo : last - lo + 1]
        return [EncodedChange(c) for c in read(first, last)]  # behind the window: this subscriber's own read

    def _append(self, changes: list[ListChange]) -> None:
        w = self._window
        for c in changes:
            if w and c.list_seq != w[-1].list_seq + 1:
                break  # the log is gap-free; kept anyway only while consecutive
            e = EncodedChange(c)
            w.append(e)
            self._bytes += len(e.part)
            self.encoded += 1
        drop = 0
        while drop < len(w) - 1 and self._bytes > self.max_bytes:
            self._bytes -= len(w[drop].part)
            drop += 1
        del w[:drop]
