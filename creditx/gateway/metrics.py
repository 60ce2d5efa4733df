"""Prometheus figures of the gateway, read from the store at scrape time (prometheus_client).

The same numbers as the Operator Status call: per-node decisions by outcome, committed seq,
reported backlog, connected, and seconds until the auth / signing certificates expire.
A custom collector on its own registry: no module-level state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from creditx.gateway.exchange.presence import Presence
from creditx.gateway.operator.view import node_views
from creditx.gateway.store.base import GatewayStore


def _seconds_until(stamp: str, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - now).total_seconds()
    except ValueError:
        return None


class GatewayCollector:
    def __init__(self, store: GatewayStore, presence: Presence, clock: Callable[[], datetime]) -> None:
        self.store, self.presence, self.clock = store, presence, clock

    def collect(self):
        now = self.clock()
        records = CounterMetricFamily(
            "creditx_gateway_records", "Decisions per node and outcome", labels=["region", "outcome"]
        )
        committed = GaugeMetricFamily("creditx_gateway_committed_seq", "Committed high-water mark", labels=["region"])
        backlog = GaugeMetricFamily(
            "creditx_gateway_node_backlog", "Records the node reports unsent", labels=["region"]
        )
        connected = GaugeMetricFamily("creditx_gateway_node_connected", "1 if connected", labels=["region"])
        expiry = GaugeMetricFamily(
            "creditx_gateway_cert_expiry_seconds", "Seconds until a node certificate expires", labels=["region", "cert"]
        )
        for v in node_views(self.store, self.presence, now):
            for outcome in ("accepted", "duplicate", "superseded", "rejected"):
                records.add_metric([v.region, outcome.upper()], getattr(v, outcome))
            committed.add_metric([v.region], v.committed_seq)
            backlog.add_metric([v.region], v.backlog)
            connected.add_metric([v.region], 1 if v.connected else 0)
            for cert, stamp in (("auth", v.auth_cert_not_after), ("signing", v.signing_cert_not_after)):
                s = _seconds_until(stamp, now)
                if s is not None:
                    expiry.add_metric([v.region, cert], s)
        audit = GaugeMetricFamily("creditx_gateway_audit_size", "Audit log leaves")
        audit.add_metric([], self.store.audit_size())
        yield from (records, committed, backlog, connected, expiry, audit)


def make_registry(store: GatewayStore, presence: Presence, clock) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(GatewayCollector(store, presence, clock))
    return reg
