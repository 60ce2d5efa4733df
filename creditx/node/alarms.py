"""The running node's alarms (SYNC-051): conditions an operator must see in ``node status``, on
the health port and in the metrics, raised and cleared by the threads that notice them.

An alarm is ``critical`` (the node cannot do its work: a failed write, a clock beyond the
tolerance; health answers NOT_SERVING) or a ``warning`` (it works, but something is off: a clock
minutes wrong). Alarms live in memory, so the metrics and the health port see them even when the
disk is full, and are copied to the store's ``sync_state`` (best effort) so that ``creditx node
status``, which reads the file from another process, sees them too.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

CRITICAL, WARNING = "critical", "warning"


class Alarms:
    def __init__(self, store: Any = None, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self._lock = threading.Lock()
        self._active: dict[str, dict] = {}
        self._listeners: list[Callable[[], None]] = []
        self._unsaved = False  # the last copy to the store failed (full disk): try again on the next raise

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def raise_(self, name: str, severity: str, message: str) -> None:
        with self._lock:
            old = self._active.get(name)
            since = old["since"] if old and old["severity"] == severity else self.clock()
            new = {"name": name, "severity": severity, "message": message, "since": since}
            if old == new and not self._unsaved:
                return
            self._active[name] = new
        self._changed()

    def clear(self, name: str) -> None:
        with self._lock:
            if self._active.pop(name, None) is None:
                return
        self._changed()

    def active(self) -> list[dict]:
        with self._lock:
            return [dict(a) for a in sorted(self._active.values(), key=lambda a: a["name"])]

    def serving(self) -> bool:
        return not any(a["severity"] == CRITICAL for a in self.active())

    def save(self) -> None:
        """Copy the alarms as they are now to the store (best effort)."""
        if self.store is None:
            return
        try:
            self.store.set_state(alarms=self.active())
            self._unsaved = False
        except sqlite3.Error:  # the disk is full: memory (metrics, health) still has them
            self._unsaved = True  # retried on the next raise

    def _changed(self) -> None:
        self.save()
        for listener in self._listeners:
            listener()
