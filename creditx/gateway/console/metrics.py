"""Prometheus figures the alert rules (docs/prometheus-alerts.yml) are written against, read
at scrape time from what the gateway already holds (no scans):

* ``creditx_gateway_checkpoint_age_seconds`` — since the newest signed checkpoint (AUD-027);
* ``creditx_gateway_checkpoint_size`` — leaves the newest checkpoint covers;
* ``creditx_gateway_ingest_refusing`` — 1 while ingest fails closed (AUD-040);
* ``creditx_gateway_node_last_seen_age_seconds{region}`` — since the node last spoke;
* plus process and gRPC server metrics (:mod:`creditx.ops.grpc_metrics`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric

from creditx.gateway.operator.view import node_views
from creditx.ops.grpc_metrics import add_process_metrics


def age_seconds(stamp: str, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return max(0.0, (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    except ValueError:
        return None


class ConsoleCollector:
    def __init__(self, gateway: Any) -> None:
        self.gw = gateway

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.gw.clock()
        st = self.gw.checkpointer.status()
        age = GaugeMetricFamily(
            "creditx_gateway_checkpoint_age_seconds",
            "Seconds since the newest signed audit checkpoint (+Inf: none yet)",
        )
        a = age_seconds(st["checkpoint_signed_at"], now)
        age.add_metric([], float("inf") if a is None else a)
        size = GaugeMetricFamily("creditx_gateway_checkpoint_size", "Audit leaves the newest checkpoint covers")
        size.add_metric([], st["checkpoint_size"])
        refusing = GaugeMetricFamily(
            "creditx_gateway_ingest_refusing",
            "1 while ingest fails closed: no checkpoint signed within the grace (AUD-040)",
        )
        refusing.add_metric([], 1 if st["refusal"] else 0)
        seen = GaugeMetricFamily(
            "creditx_gateway_node_last_seen_age_seconds", "Seconds since the node last spoke", labels=["region"]
        )
        for v in node_views(self.gw.store, self.gw.presence, now):
            s = age_seconds(v.last_seen, now)
            if s is not None:
                seen.add_metric([v.region], s)
        yield from (age, size, refusing, seen)


def register_console_metrics(registry: CollectorRegistry, gateway: Any) -> None:
    registry.register(ConsoleCollector(gateway))
    registry.register(StatsCollector(gateway.statistics))
    add_process_metrics(registry)


class StatsCollector:
    """The maintained statistics as Prometheus figures (small tables: cheap at scrape time)."""

    def __init__(self, read: Any) -> None:
        self.read = read  # () -> creditx.gateway.stats.statistics(...)

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily

        st = self.read()
        recs = CounterMetricFamily(
            "creditx_gateway_stats_records",
            "Decided records by city, department (数据来源单位), type and outcome",
            labels=["region", "department", "type", "outcome"],
        )
        sums: dict[tuple[str, str, str, str], int] = {}
        for r in st["rows"]:
            k = (r["region"], r["department"], r["type"], r["outcome"])
            sums[k] = sums.get(k, 0) + r["n"]
        for k, n in sums.items():
            recs.add_metric(list(k), n)
        share = GaugeMetricFamily(
            "creditx_gateway_stats_timely_share",
            "Share of accepted records received within 7 working days of the decision",
            labels=["department"],
        )
        for t in st["timeliness"]:
            if t["share_within_7"] is not None:
                share.add_metric([t["department"]], t["share_within_7"])
        reasons = CounterMetricFamily(
            "creditx_gateway_stats_rejections",
            "Rejections by department and reason (top reasons)",
            labels=["department", "reason"],
        )
        for dept, rs in st["top_rejection_reasons"].items():
            for r in rs:
                reasons.add_metric([dept, r["reason"]], r["n"])
        yield from (recs, share, reasons)
