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

A subscriber that asked for compressed batches (DIST-086) gets a block shared by every
subscriber at the same position: :class:`SharedBlocks` compresses the changes of one
``(first, last, filter)`` once, whoever asks first, and the others at that position take the same
bytes; only the persons' index keys are made per subscriber, beside the block (DIST-088).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from creditx.gateway.lists.wire import EncodedChange
from creditx.standard.lists.lifecycle import ListChange

Read = Callable[[int, int], list[ListChange]]  # (first, last) -> the log's changes in order


class EncodedChanges:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._window: list[EncodedChange] = []  # consecutive list_seqs, oldest first; replaced, never changed
        self._bytes = 0
        self.encoded = 0  # changes read and encoded into the window (the rest of each delivery is shared)

    def between(self, first: int, last: int, read: Read) -> list[EncodedChange]:
        """The changes ``first <= list_seq <= last`` (all committed) in order."""
        if first > last:
            return []
        w = self._window  # never changed once set (replaced whole): read without the lock
        if w and w[0].list_seq <= first and last <= w[-1].list_seq:
            lo = w[0].list_seq
            return w[first - lo : last - lo + 1]
        with self._lock:
            w = self._window
            if not w or first > w[-1].list_seq + 1:  # nothing kept near: the window starts here
                w, self._bytes = [], 0
            if not w or first >= w[0].list_seq:
                if not w or last > w[-1].list_seq:
                    w = self._append(w, read(w[-1].list_seq + 1 if w else first, last))
                self._window = w
                if w and first >= w[0].list_seq:
                    lo = w[0].list_seq
                    return w[first - lo : last - lo + 1]
        return [EncodedChange(c) for c in read(first, last)]  # behind the window: this subscriber's own read

    def _append(self, window: list[EncodedChange], changes: list[ListChange]) -> list[EncodedChange]:
        """A new window: ``window`` and ``changes`` after it, the oldest dropped past max_bytes."""
        w = list(window)
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
        return w[drop:]


@dataclass(frozen=True)
class SharedBlock:
    """A compressed batch's shared part (DIST-087): the block and its size before compression,
    the batch's through_list_seq, its changes' at_unix_ms and the persons' changes among them,
    whose index keys each subscriber gets made with its own key."""

    block: bytes
    size: int
    through: int
    at_ms: list[int]
    persons: list[EncodedChange]


class _Slot:
    __slots__ = ("lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: SharedBlock | None = None


class SharedBlocks:
    """The newest compressed blocks by position: the first subscriber to ask compresses, the
    others at the same position wait for it and take its bytes (so 150 subscribers at one
    cursor cost one compression). Bounded twice, by count (``keep``) and by the blocks' bytes
    (``max_bytes``): which positions and filters there are is the subscribers' choice, so what
    they can make the gateway hold is capped in bytes, the newest block always kept."""

    def __init__(self, keep: int = 64, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.keep, self.max_bytes = keep, max_bytes
        self._lock = threading.Lock()
        self._slots: OrderedDict[Hashable, _Slot] = OrderedDict()
        self._bytes = 0  # of the blocks made and still held
        self.compressed = 0  # blocks made (the rest of the compressed deliveries were shared)

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable, make: Callable[[], SharedBlock]) -> SharedBlock:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
                self._evict()
        with slot.lock:
            if slot.value is None:
                value = make()
                with self._lock:
                    slot.value = value
                    self.compressed += 1
                    if self._slots.get(key) is slot:  # still held: count its bytes, then bound them
                        self._bytes += len(value.block)
                        self._evict()
            return slot.value

    def _evict(self) -> None:
        """Under ``_lock``: drop the oldest slots past ``keep`` or ``max_bytes`` (never the newest)."""
        while len(self._slots) > 1 and (len(self._slots) > self.keep or self._bytes > self.max_bytes):
            _, old = self._slots.popitem(last=False)
            if old.value is not None:
                self._bytes -= len(old.value.block)
