"""Prometheus figures of the list log (DIST-043), on the gateway's registry: the log head,
each node's applied list_seq and its lag in changes and seconds, open subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from creditx.gateway.lists.hub import Hub
from creditx.gateway.lists.progress import ListProgress


class ListCollector:
    def __init__(self, progress: ListProgress, hub: Hub, clock: Callable[[], datetime], expiry: Any = None) -> None:
        self.progress, self.hub, self.clock, self.expiry = progress, hub, clock, expiry

    def collect(self):
        head, lags = self.progress.lags(self.clock())
        g_head = GaugeMetricFamily("creditx_gateway_list_head", "Newest list_seq of the list log")
        g_head.add_metric([], head)
        applied = GaugeMetricFamily(
            "creditx_gateway_list_applied_seq", "List_seq the node reports applied", labels=["region"]
        )
        lag_n = GaugeMetricFamily(
            "creditx_gateway_list_lag_entries", "List changes the node has not applied", labels=["region"]
        )
        lag_s = GaugeMetricFamily(
            "creditx_gateway_list_lag_seconds", "Age of the oldest change the node has not applied", labels=["region"]
        )
        for region, lag in sorted(lags.items()):
            applied.add_metric([region], lag.applied_list_seq)
            lag_n.add_metric([region], lag.lag_entries)
            lag_s.add_metric([region], lag.lag_seconds)
        subs = GaugeMetricFamily("creditx_gateway_list_subscribers", "Open Subscribe streams")
        subs.add_metric([], self.hub.subscribers)
        yield from (g_head, applied, lag_n, lag_s, subs)
        refused = GaugeMetricFamily(
            "creditx_gateway_list_expiry_refused",
            "1 while the expiry job refuses to run on a clock its witnesses do not vouch for (DIST-023)",
            labels=["reason"],
        )
        if self.expiry is not None and self.expiry.refused is not None:
            refused.add_metric([self.expiry.refused.reason], 1)
        yield refused
