"""Live fan-out of the list log to subscribers (DIST-030): who must wake up after a commit.

The hub holds no changes, only the newest committed ``list_seq``. :meth:`Hub.publish` is called
after the ingest (or expiry, or import) transaction has COMMITTED; every subscriber waits on its
own :class:`threading.Event` and, once woken, sends *everything* from its cursor to the head in
one batch (ADR 0014: one message per batch, not per change — the per-message cost caps
fan-out; changes committed while a write is in flight coalesce into the next), assembled from
changes read and encoded once for every subscriber (:mod:`creditx.gateway.lists.fanout`). So:

* a subscriber's queue is bounded by construction — it is one number, the head;
* a slow subscriber never blocks ingest: :meth:`publish` only sets events;
* a change is never announced before it is readable (publish follows commit), and a missed
  wake-up costs at most ``poll_s`` — subscribers also re-read the head on a timeout, which is
  how changes committed by another process (``creditx gateway import-lists``) are picked up.
"""

from __future__ import annotations

import threading


class Subscription:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.event = threading.Event()

    def wait(self, timeout: float) -> bool:
        """Block until a publish or close after the last wait, or ``timeout``; clears the event."""
        woke = self.event.wait(timeout)
        self.event.clear()
        return woke

    def close(self) -> None:
        self.hub._drop(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Hub:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self.head = 0
        self.closed = threading.Event()

    def subscribe(self) -> Subscription:
        s = Subscription(self)
        with self._lock:
            self._subs.add(s)
        return s

    def _drop(self, s: Subscription) -> None:
        with self._lock:
            self._subs.discard(s)

    def publish(self, head: int) -> None:
        """After COMMIT: the log now reaches ``head``; wake every subscriber."""
        with self._lock:
            self.head = max(self.head, head)
            subs = list(self._subs)
        for s in subs:
            s.event.set()

    def close(self) -> None:
        """Shutdown: wake everyone so streams end (the client resubscribes: UNAVAILABLE)."""
        self.closed.set()
        with self._lock:
            subs = list(self._subs)
        for s in subs:
            s.event.set()

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)
