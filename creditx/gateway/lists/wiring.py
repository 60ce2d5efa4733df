"""Builds the list side of a running gateway: hub, Distribution servicer,
the nodes' applied progress, checkpointer and the expiry job — so ``gateway/server.py`` needs only a few lines.

Order of shutdown (:meth:`Lists.stopping` before the gRPC server stops, :meth:`Lists.close`
after): the hub wakes every subscriber so open Subscribe streams end with UNAVAILABLE instead
of holding the grace period, then the writer connection closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import grpc

from creditx.gateway.config import GatewayConfig
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.lists.checkpoint import list_checkpointer
from creditx.gateway.lists.clock_guard import ClockGuard, ClockWitnesses
from creditx.gateway.lists.expiry import ExpiryJob
from creditx.gateway.lists.hub import Hub
from creditx.gateway.lists.metrics import ListCollector
from creditx.gateway.lists.progress import ListProgress
from creditx.gateway.lists.service import DistributionServicer, ListLimits, subscribe_response
from creditx.pki.files import read_key
from creditx.standard.registry import Registry
from creditx.v1 import lists_pb2

SERVICE = lists_pb2.DESCRIPTOR.services_by_name["Distribution"].full_name


class Lists:
    def __init__(
        self,
        directory: Path,
        cfg: GatewayConfig,
        keys: KeyRegistry,
        clock: Callable[[], datetime],
        *,
        audit: bool = True,
        limits: ListLimits = ListLimits(),
        registry: Callable[[], Registry | None] = lambda: None,
    ) -> None:
        db = cfg.database_spec(directory)
        self.hub = Hub()
        self.checkpointer = list_checkpointer(db, cfg.name, lambda: read_key(cfg.path(directory, "signing_key")), clock)
        self.progress = ListProgress(db, clock)  # DIST-043: Distribution writes it, Operator and metrics read it
        self.servicer = DistributionServicer(
            db, self.hub, keys, self.checkpointer, self.progress, clock, limits=limits, registry=registry
        )
        # DIST-023: expiry only on a clock its nodes and its signed checkpoints vouch for
        self.witnesses = ClockWitnesses(cfg.list_expiry_witness_age_s)
        guard = ClockGuard(db, self.witnesses, cfg.list_expiry_clock_tolerance_s)
        self.expiry = ExpiryJob(db, self.hub, clock, audit=audit, clock_guard=guard)
        self.clock = clock
        # DIST-021: the rule is by day; hourly runs (the default) catch a missed midnight
        self.expiry_interval_s = cfg.list_expiry_interval_s

    def register(self, server) -> None:
        # As the generated add_DistributionServicer_to_server, but Subscribe's responses go through
        # subscribe_response: a batch shared by every subscriber is encoded once, not per stream.
        s, lpb = self.servicer, lists_pb2
        handlers: dict[str, grpc.RpcMethodHandler] = {
            "Subscribe": grpc.unary_stream_rpc_method_handler(
                s.Subscribe,
                request_deserializer=lpb.SubscribeRequest.FromString,
                response_serializer=subscribe_response,
            ),
            "Snapshot": grpc.unary_stream_rpc_method_handler(
                s.Snapshot,
                request_deserializer=lpb.SnapshotRequest.FromString,
                response_serializer=lpb.SnapshotChunk.SerializeToString,
            ),
            "GetListCheckpoint": grpc.unary_unary_rpc_method_handler(
                s.GetListCheckpoint,
                request_deserializer=lpb.ListCheckpointRequest.FromString,
                response_serializer=lpb.ListCheckpointResponse.SerializeToString,
            ),
            "ReportApplied": grpc.unary_unary_rpc_method_handler(
                s.ReportApplied,
                request_deserializer=lpb.ReportAppliedRequest.FromString,
                response_serializer=lpb.ReportAppliedResponse.SerializeToString,
            ),
            "Evidence": grpc.unary_unary_rpc_method_handler(
                s.Evidence,
                request_deserializer=lpb.EvidenceRequest.FromString,
                response_serializer=lpb.EvidenceResponse.SerializeToString,
            ),
        }
        # every method of the service, and no other: a method added to lists.proto must be here
        declared = {m.name for m in lpb.DESCRIPTOR.services_by_name["Distribution"].methods}
        if set(handlers) != declared:
            raise RuntimeError(f"Distribution handlers {sorted(handlers)} differ from lists.proto's {sorted(declared)}")
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    def schedule(self, scheduler) -> None:
        scheduler.add_job(
            self.expiry.tick,
            "interval",
            seconds=self.expiry_interval_s,
            id="list-expiry",
            max_instances=1,
            coalesce=True,
        )

    def applied(self, node: str, applied_list_seq: int) -> None:
        """Exchange.Heartbeat.applied_list_seq (DIST-043); 0 means the node did not say."""
        if applied_list_seq:
            self.progress.report(node, applied_list_seq)

    def lags(self, now: datetime):
        """DIST-043 for Operator Status: :meth:`ListProgress.lags`."""
        return self.progress.lags(now)

    def register_metrics(self, registry) -> None:
        registry.register(ListCollector(self.progress, self.hub, self.clock, self.expiry))

    def stopping(self) -> None:
        self.hub.close()

    def close(self) -> None:
        self.servicer.close()
        self.progress.close()
