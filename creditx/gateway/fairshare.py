"""A fair share of the gateway's handler threads per caller (SYNC-042).

gRPC's own bounds are global (``maximum_concurrent_rpcs``, the thread pool): 100 Subscribe
streams from one node used to leave every other node's Handshake RESOURCE_EXHAUSTED, since a
stream holds a thread for its whole life. :class:`FairShare` is a server interceptor that
counts each caller's open calls — streams and unary calls separately — and refuses the call
beyond that caller's share at once (RESOURCE_EXHAUSTED naming the setting), so one caller's
calls can never take another caller's threads. The caller is the peer certificate's common
name (one per node or operator, the same across certificate renewals).

Invariant: ``per_caller_streams + per_caller_unary`` times the expected callers fits in the
thread pool (``GatewayConfig.handler_threads``); :func:`thread_budget` states it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import grpc

from creditx.gateway.call_errors import BatchError, abort

STREAM, UNARY = "streams", "unary"


def caller_of(context: grpc.ServicerContext) -> str:
    auth = context.auth_context()
    # grpc-stubs says Mapping[str, bytes]; at runtime each value is a list of bytes
    cn = cast("list[bytes]", auth.get("x509_common_name") or [])
    return cn[0].decode("utf-8", "replace") if cn else f"peer:{context.peer()}"


def thread_budget(callers: int, per_caller_streams: int, per_caller_unary: int) -> int:
    """Handler threads needed so that ``callers`` callers each get their full share."""
    return callers * (per_caller_streams + per_caller_unary)


class FairShare(grpc.ServerInterceptor):
    def __init__(
        self, per_caller_streams: int, per_caller_unary: int, caller: Callable[[grpc.ServicerContext], str] = caller_of
    ) -> None:
        self.limits = {STREAM: per_caller_streams, UNARY: per_caller_unary}
        self.caller = caller
        self._open: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def open_calls(self, caller: str, kind: str) -> int:
        with self._lock:
            return self._open.get((caller, kind), 0)

    def _acquire(self, context: grpc.ServicerContext, kind: str) -> Callable[[], None]:
        key = (self.caller(context), kind)
        with self._lock:
            n = self._open.get(key, 0)
            if n >= self.limits[kind]:
                self.refused += 1
                refuse = True
            else:
                self._open[key] = n + 1
                refuse = False
        if refuse:
            setting = "per_node_streams" if kind == STREAM else "per_node_unary_calls"
            abort(  # SYNC-016: the reason travels as data, not only as the details' prefix
                context,
                BatchError(
                    "RESOURCE_EXHAUSTED",
                    "CALLER_SHARE",
                    f"{key[0]} already has {self.limits[kind]} open {kind} calls, its share ({setting})",
                    rule="SYNC-042",
                    hint="close one, or wait for one to end",
                ),
            )
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                with self._lock:
                    left = self._open.get(key, 1) - 1
                    if left:
                        self._open[key] = left
                    else:
                        self._open.pop(key, None)

        context.add_callback(release)  # also when the client cancels a stream
        return release

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith("/grpc.health."):
            return handler  # health answers everyone, and holds no thread for long
        streaming = handler.request_streaming or handler.response_streaming
        kind = STREAM if streaming else UNARY
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, kind), handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, kind), handler.request_deserializer, handler.response_serializer
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                self._unary(handler.stream_unary, kind), handler.request_deserializer, handler.response_serializer
            )
        return grpc.stream_stream_rpc_method_handler(
            self._stream(handler.stream_stream, kind), handler.request_deserializer, handler.response_serializer
        )

    def _unary(self, behaviour: Callable[[Any, grpc.ServicerContext], Any], kind: str):
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            release = self._acquire(context, kind)
            try:
                return behaviour(request, context)
            finally:
                release()

        return call

    def _stream(self, behaviour: Callable[[Any, grpc.ServicerContext], Any], kind: str):
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            release = self._acquire(context, kind)
            try:
                yield from behaviour(request, context)
            finally:
                release()

        return call
