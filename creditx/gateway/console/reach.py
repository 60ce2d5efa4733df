"""How fast list changes reach every city: when the lowest list position over all nodes (a
node that never reported counts as 0) moves from A to B, every change A < list_seq <= B has
just reached the last city; its delay since the gateway's decision goes into the maintained
``stats_list_reach`` counters (creditx.gateway.stats) and a Prometheus histogram.

Called from the Distribution servicer after each ReportApplied / heartbeat position
(``on_reported``); a failure here is logged and never reaches the node's call."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from pathlib import Path

from prometheus_client import CollectorRegistry, Histogram

from creditx.gateway.stats import REACH_BUCKETS_S, _upsert
from creditx.gateway.store.engine import open_conn, transaction

log = logging.getLogger("creditx.gateway.console")
_LOWEST = "SELECT MIN(COALESCE(a.applied_list_seq, 0)) FROM nodes n LEFT JOIN list_applied a ON a.node = n.region"


class ListReach:
    def __init__(self, db: str | Path, registry: CollectorRegistry | None = None) -> None:
        self.conn = open_conn(db)  # a connection of its own, SQLite file or PostgreSQL URL
        self.lock = threading.Lock()
        self.everywhere = self._lowest()
        self.histogram = Histogram(
            "creditx_gateway_list_reach_all_seconds",
            "Time from a list change's decision until every city had applied it",
            buckets=[b for b in REACH_BUCKETS_S[:-1]],
            registry=registry,
        )

    def _lowest(self) -> int:
        row = self.conn.execute(_LOWEST).fetchone()
        return int(row[0] or 0) if row else 0

    def reported(self) -> None:
        try:
            self._reported(time.time())
        except Exception as exc:  # busy database, closing gateway (either engine): counted on the next report
            log.warning("list reach not counted: %s", exc)

    def _reported(self, now: float) -> None:
        with self.lock:
            lowest = self._lowest()
            if lowest <= self.everywhere:
                return
            counts: Counter = Counter()
            for lt, kind, at_ms in self.conn.execute(
                "SELECT list_type, kind, at_ms FROM list_log WHERE list_seq > ? AND list_seq <= ?",
                (self.everywhere, lowest),
            ):
                delay = max(0.0, now - at_ms / 1000)
                self.histogram.observe(delay)
                counts[(lt, kind, next(b for b in REACH_BUCKETS_S if delay <= b))] += 1
            with transaction(self.conn):
                _upsert(self.conn, "stats_list_reach", ("list_type", "kind", "le_s"), counts)
            self.everywhere = lowest

    def close(self) -> None:
        with self.lock:
            self.conn.close()
