"""gRPC server metrics (the names grpc-ecosystem/go-grpc-prometheus made conventional) and the
process collectors, on a role's own Prometheus registry.

* ``grpc_server_started_total`` / ``grpc_server_handled_total{grpc_code}`` per method;
* ``grpc_server_handling_seconds`` — a latency histogram per method (a unary call such as
  Exchange.Check: the call; a stream: its whole life);
* ``grpc_server_msg_received_total`` / ``grpc_server_msg_sent_total`` for streams;
* ``process_*`` (CPU, memory, open files) and ``python_gc_*``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, gc_collector, platform_collector, process_collector

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


def add_process_metrics(registry: CollectorRegistry) -> None:
    process_collector.ProcessCollector(registry=registry)
    platform_collector.PlatformCollector(registry=registry)
    gc_collector.GCCollector(registry=registry)


def _split(method: str) -> tuple[str, str]:
    _, service, name = method.split("/", 2) if method.count("/") >= 2 else ("", "", method)
    return service, name


class MetricsInterceptor(grpc.ServerInterceptor):
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["grpc_type", "grpc_service", "grpc_method"]
        self.started = Counter("grpc_server_started", "RPCs started on the server", labels, registry=registry)
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by status code",
            labels + ["grpc_code"],
            registry=registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its end",
            labels,
            buckets=BUCKETS,
            registry=registry,
        )
        self.received = Counter("grpc_server_msg_received", "Stream messages received", labels, registry=registry)
        self.sent = Counter("grpc_server_msg_sent", "Stream messages sent", labels, registry=registry)

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        service, method = _split(details.method)
        kind = (
            "bidi_stream"
            if handler.request_streaming and handler.response_streaming
            else "client_stream"
            if handler.request_streaming
            else "server_stream"
            if handler.response_streaming
            else "unary"
        )
        labels = (kind, service, method)
        m = self

        def finish(t0: float, context: Any) -> None:
            code = context.code() if hasattr(context, "code") else None
            m.handled.labels(*labels, (code or grpc.StatusCode.OK).name).inc()
            m.latency.labels(*labels).observe(time.perf_counter() - t0)

        def counted_in(it: Iterator[Any]) -> Iterator[Any]:
            for req in it:
                m.received.labels(*labels).inc()
                yield req

        def wrap(behaviour: Callable[..., Any], streaming_out: bool, streaming_in: bool) -> Callable[..., Any]:
            if streaming_out:

                def stream(request: Any, context: Any) -> Iterator[Any]:
                    m.started.labels(*labels).inc()
                    t0 = time.perf_counter()
                    try:
                        for resp in behaviour(counted_in(request) if streaming_in else request, context):
                            m.sent.labels(*labels).inc()
                            yield resp
                    finally:
                        finish(t0, context)

                return stream

            def unary(request: Any, context: Any) -> Any:
                m.started.labels(*labels).inc()
                t0 = time.perf_counter()
                try:
                    return behaviour(counted_in(request) if streaming_in else request, context)
                finally:
                    finish(t0, context)

            return unary

        for attr, factory in (
            ("unary_unary", grpc.unary_unary_rpc_method_handler),
            ("unary_stream", grpc.unary_stream_rpc_method_handler),
            ("stream_unary", grpc.stream_unary_rpc_method_handler),
            ("stream_stream", grpc.stream_stream_rpc_method_handler),
        ):
            behaviour = getattr(handler, attr)
            if behaviour is not None:
                return factory(
                    wrap(behaviour, handler.response_streaming, handler.request_streaming),
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )
        return handler
