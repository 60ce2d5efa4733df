"""The expiry job's clock witnesses (DIST-023): the nodes' clocks from their heartbeats, in
memory, and the newest signed checkpoint times from the database. The rule itself is pure:
:func:`creditx.standard.lists.clock.expiry_clock_refusal`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from creditx.gateway.audit.checkpoints import AUDIT_LOG, latest
from creditx.gateway.lists import store
from creditx.gateway.lists.checkpoint import LIST_LOG
from creditx.standard.lists.clock import ClockRefusal, expiry_clock_refusal


class ClockWitnesses:
    """Node clock offsets (node − gateway, s) heard within ``max_age_s`` (monotonic time)."""

    def __init__(self, max_age_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s, self.monotonic = max_age_s, monotonic
        self._heard: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def heard(self, node: str, node_time_unix_ms: int, gateway_now: datetime) -> None:
        if node_time_unix_ms <= 0:  # a node that does not say its time (1.0) is no witness
            return
        with self._lock:
            self._heard[node] = (node_time_unix_ms / 1000 - gateway_now.timestamp(), self.monotonic())

    def offsets(self) -> dict[str, float]:
        limit = self.monotonic() - self.max_age_s
        with self._lock:
            return {n: off for n, (off, at) in self._heard.items() if at >= limit}


def latest_checkpoint_time(db: Path | str) -> datetime | None:
    """The newest signed_at of the audit log's and the list log's checkpoints."""
    conn = store.open_conn(db)
    try:
        times = [cp.signed_at for cp in (latest(conn, AUDIT_LOG.table), latest(conn, LIST_LOG.table)) if cp]
    finally:
        conn.close()
    return max((datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times), default=None)


class ClockGuard:
    def __init__(self, db: Path | str, witnesses: ClockWitnesses, tolerance_s: float) -> None:
        self.db, self.witnesses, self.tolerance_s = db, witnesses, tolerance_s

    def __call__(self, now: datetime) -> ClockRefusal | None:
        return expiry_clock_refusal(
            now,
            latest_checkpoint=latest_checkpoint_time(self.db),
            node_offsets_s=self.witnesses.offsets(),
            tolerance_s=self.tolerance_s,
        )
