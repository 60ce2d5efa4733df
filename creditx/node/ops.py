"""The node's monitoring surface: Prometheus figures on ``ops.metrics_listen`` and the standard
health service (plus reflection) on ``ops.health_listen``, a plaintext port that needs no
certificate. Started and stopped by :meth:`creditx.node.app.NodeApp.run`.

Figures (read at scrape time from the node's own SQLite file):

* ``creditx_node_outbox{state}`` — records pending, sent and by gateway outcome; quarantined;
* ``creditx_node_last_source_seq`` / ``creditx_node_committed_seq`` — assigned vs. committed;
* ``creditx_node_gateway_reachable`` — 1/0 after the last sync attempt;
* ``creditx_node_last_ack_age_seconds`` — since the gateway last acknowledged a batch;
* ``creditx_node_list_applied_seq`` — the list replica's position (DIST-043);
* ``creditx_node_list_checkpoint_ok`` — 0 after a failed list checkpoint check;
* ``creditx_node_clock_skew_seconds`` — gateway time − node time at the last heartbeat (SEC-080);
* ``creditx_node_alarm{name,severity}`` — 1 per active alarm (SYNC-051: a failed write, the clock);
* process figures (CPU, memory, open files).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from grpc_health.v1 import health, health_pb2
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily

from creditx.ops.grpc_metrics import add_process_metrics
from creditx.ops.grpc_ops import PlainHealth


class NodeCollector:
    def __init__(self, app: Any, clock: Callable[[], float] = time.time) -> None:
        self.app, self.clock = app, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        alarms = GaugeMetricFamily("creditx_node_alarm", "1 per active alarm (SYNC-051)", labels=["name", "severity"])
        for a in self.app.alarms.active():  # from memory first: they matter most when the disk is full
            alarms.add_metric([a["name"], a["severity"]], 1)
        yield alarms
        skew = GaugeMetricFamily(
            "creditx_node_clock_skew_seconds", "Gateway time minus this node's time at the last heartbeat (SEC-080)"
        )
        runner = getattr(self.app, "_runner", None)
        if runner is not None and runner.skew is not None:
            skew.add_metric([], runner.skew)
        yield skew
        st = self.app.status()
        outbox = GaugeMetricFamily(
            "creditx_node_outbox", "Outbox records by state or gateway outcome", labels=["state"]
        )
        for k, v in st["outbox"].items():
            outbox.add_metric([k], v)
        yield outbox
        for name, help_, value in (
            ("creditx_node_last_source_seq", "Newest source_seq assigned", st["last_source_seq"]),
            ("creditx_node_committed_seq", "Gateway's committed high-water mark", st["last_committed_seq"]),
            (
                "creditx_node_gateway_reachable",
                "1 if the last sync reached the gateway",
                None if st["gateway_reachable"] is None else int(bool(st["gateway_reachable"])),
            ),
        ):
            g = GaugeMetricFamily(name, help_)
            if value is not None:
                g.add_metric([], value)
            yield g
        ack = GaugeMetricFamily("creditx_node_last_ack_age_seconds", "Seconds since the gateway last acknowledged")
        raw = self.app.store.get_state().get("last_ack_at")
        if isinstance(raw, (int, float)):
            ack.add_metric([], max(0.0, self.clock() - raw))
        yield ack
        applied = GaugeMetricFamily("creditx_node_list_applied_seq", "List replica position (list_seq applied)")
        applied.add_metric([], self.app.replica.applied())
        yield applied
        ok = GaugeMetricFamily("creditx_node_list_checkpoint_ok", "0 while the last list checkpoint check failed")
        ok.add_metric([], 0 if self.app.replica.meta().get("checkpoint_error") else 1)
        yield ok


class NodeOps:
    def __init__(self, app: Any) -> None:
        ops = app.config.ops
        self.health = health.HealthServicer()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(NodeCollector(app))
        add_process_metrics(self.registry)
        self._http: Any = None
        self.metrics_url = ""
        if ops.metrics_listen:
            host, port = ops.metrics_listen.rsplit(":", 1)
            self._http, _ = start_http_server(int(port), addr=host, registry=self.registry)
            self.metrics_url = f"http://{host}:{self._http.server_port}/metrics"
        self.plain = PlainHealth(ops.health_listen, self.health) if ops.health_listen else None
        if self.plain is not None:
            self.plain.start()
        self.app = app
        self._serving()
        app.alarms.on_change(self._serving)  # SYNC-051: a critical alarm answers NOT_SERVING

    def _serving(self) -> None:
        ok = self.app.alarms.serving()
        self.health.set(
            "", health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        )

    def stop(self) -> None:
        self.health.enter_graceful_shutdown()
        if self.plain is not None:
            self.plain.stop()
        if self._http is not None:
            self._http.shutdown()
