"""Builds the sanctions side of a running gateway (measures list, action reports, report
metrics), so ``gateway/server.py`` needs a few lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from creditx.gateway.config import GatewayConfig
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.lists.store import open_conn
from creditx.gateway.sanctions.report import SanctionsCollector
from creditx.gateway.sanctions.service import SanctionsServicer, province_measures
from creditx.pki.files import read_key
from creditx.v1 import sanctions_pb2, sanctions_pb2_grpc

SERVICE = sanctions_pb2.DESCRIPTOR.services_by_name["Sanctions"].full_name


class Sanctions:
    def __init__(
        self,
        directory: Path,
        cfg: GatewayConfig,
        keys: KeyRegistry,
        clock: Callable[[], datetime],
        *,
        audit: bool = True,
    ) -> None:
        self.db = cfg.database_spec(directory)  # a SQLite file or a PostgreSQL URL
        self.servicer = SanctionsServicer(
            self.db,
            keys,
            province_measures(directory),
            read_key(cfg.path(directory, "signing_key")),
            clock,
            audit=audit,
        )

    def register(self, server) -> None:
        sanctions_pb2_grpc.add_SanctionsServicer_to_server(self.servicer, server)

    def register_metrics(self, registry) -> None:
        registry.register(SanctionsCollector(lambda: open_conn(self.db)))

    def close(self) -> None:
        self.servicer.close()
