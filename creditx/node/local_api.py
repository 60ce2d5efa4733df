"""The node's local gRPC API (node_api.proto) for the city's own systems, on a Unix socket.

Servicers translate, they don't think (ADR 0003): Submit turns wire records into
:class:`~creditx.node.intake.IntakeRow` s and calls :func:`creditx.node.intake.ingest`, the same path as a file
import; Status reads :func:`creditx.node.reports.node_status`; Nudge calls the app's ``nudge``.

Invariants: the socket lives in the node directory (0700) and is created 0600 (umask around the
bind) — local systems of the same user only, no TCP port (NODE-030); ``DIR/node.sock`` exists
only while a server listens on it (bound under a private name, renamed once started).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path

import grpc

from creditx.node.intake import VIOLATION_KEYS, IntakeReport, IntakeRow
from creditx.standard.record import RECORD_TYPES
from creditx.v1 import node_api_pb2 as pb
from creditx.v1 import node_api_pb2_grpc as pb_grpc

SOCKET_FILE = "node.sock"


class NodeApiServicer(pb_grpc.NodeApiServicer):
    def __init__(
        self,
        *,
        submit: Callable[[list[IntakeRow]], IntakeReport],
        status: Callable[[], dict],
        nudge: Callable[[], bool],
        sync_state: Callable[[], str],
        max_records: int,
    ) -> None:
        self._submit, self._status, self._nudge = submit, status, nudge
        self._sync_state, self._max = sync_state, max_records

    def Submit(self, request: pb.NodeSubmitRequest, context: grpc.ServicerContext) -> pb.NodeSubmitResponse:
        if len(request.records) > self._max:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{len(request.records)} records in one Submit; the limit is {self._max} "
                "(limits.max_submit_records): split the call",
            )
        rows = [
            IntakeRow(
                i, r.type, dict(r.fields), {"op": r.op or "I", "version": str(r.version or 1), "source_id": r.source_id}
            )
            for i, r in enumerate(request.records)
        ]
        bad = [i for i, r in enumerate(rows) if r.record_type not in RECORD_TYPES]
        if bad:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"records[{bad[0]}].type {rows[bad[0]].record_type!r} is not one of {', '.join(RECORD_TYPES)}",
            )
        report = self._submit(rows)
        if report.accepted:
            self._nudge()
        return pb.NodeSubmitResponse(
            results=[
                pb.NodeSubmitResult(
                    index=r.row,
                    accepted=r.source_seq is not None,
                    source_seq=r.source_seq or 0,
                    source_id=r.source_id,
                    violations=[pb.NodeViolation(**{k: getattr(p, k) for k in VIOLATION_KEYS}) for p in r.problems],
                )
                for r in report.results
            ]
        )

    def Status(self, request: pb.NodeStatusRequest, context: grpc.ServicerContext) -> pb.NodeStatusResponse:
        s = self._status()
        return pb.NodeStatusResponse(
            counts=s["outbox"],
            last_source_seq=s["last_source_seq"],
            committed_seq=s["last_committed_seq"] or 0,
            gateway_reachable=bool(s["gateway_reachable"]),
            last_error=s["last_error"] or "",
            sync_state=self._sync_state(),
        )

    def Nudge(self, request: pb.NodeNudgeRequest, context: grpc.ServicerContext) -> pb.NodeNudgeResponse:
        return pb.NodeNudgeResponse(scheduled=self._nudge())


def serve_local_api(
    servicer: NodeApiServicer,
    directory: Path,
    extra: Callable[[grpc.Server], None] = lambda server: None,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
) -> grpc.Server:
    """Serve NodeApi (and whatever ``extra`` adds: the Departments service) on DIR/node.sock."""
    sock = Path(directory) / SOCKET_FILE
    if sock.exists():
        sock.unlink()  # left over from a node that was killed; the pid lock is node.db's WAL owner
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),  # Feed streams hold a worker each
        interceptors=list(interceptors),
    )
    pb_grpc.add_NodeApiServicer_to_server(servicer, server)
    extra(server)
    # gRPC binds the socket inside add_insecure_port: the umask makes it 0600 from its first
    # moment (a chmod afterwards left a window in which it was 0755). The umask is process-wide,
    # so a file another thread creates in these microseconds comes out more private, never less.
    # It is bound under a private name and renamed once the server listens, so whoever sees
    # node.sock can connect to it (a client racing the start got "connection refused").
    pending = sock.with_name(f".{SOCKET_FILE}.{os.getpid()}")
    pending.unlink(missing_ok=True)
    old = os.umask(0o177)
    try:
        server.add_insecure_port(f"unix:{pending}")
    finally:
        os.umask(old)
    server.start()
    os.replace(pending, sock)
    return server


def nudge_running_node(directory: Path, timeout: float = 5.0) -> bool:
    """Best effort: ask a running ``creditx node run`` to sync now. False if none answers."""
    sock = Path(directory) / SOCKET_FILE
    if not sock.exists():
        return False
    try:
        with grpc.insecure_channel(f"unix:{sock}") as ch:
            return pb_grpc.NodeApiStub(ch).Nudge(pb.NodeNudgeRequest(), timeout=timeout).scheduled
    except grpc.RpcError:
        return False
