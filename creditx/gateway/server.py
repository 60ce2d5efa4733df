"""Wires the gateway together and runs it: the one place that builds store, pool, servicers,
gRPC server (mutual TLS only, health, reflection, bounded messages, keepalive), metrics HTTP
endpoint and scheduler, and writes ``DIR/run.json`` atomically once bound (port 0 allowed).

``Gateway.stop()`` is the graceful shutdown: health NOT_SERVING, new calls UNAVAILABLE,
in-flight batches finish and commit within the grace period, then the pool and store close.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from concurrent import futures
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server

from creditx.gateway.access import METHOD_ROLES, member_admission
from creditx.gateway.audit.checkpoints import Checkpointer, origin_for
from creditx.gateway.audit.service import AuditServicer
from creditx.gateway.config import RUN_NAME, GatewayConfig, advertised, load_config, write_json_atomic
from creditx.gateway.console.metrics import register_console_metrics
from creditx.gateway.console.reach import ListReach
from creditx.gateway.console.wiring import Console
from creditx.gateway.events import GatewayEvents
from creditx.gateway.exchange.batches import BatchIngest, RejectLimits
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.exchange.pool import CheckPool
from creditx.gateway.exchange.presence import Presence
from creditx.gateway.exchange.service import ExchangeServicer
from creditx.gateway.fairshare import FairShare
from creditx.gateway.lists.service import ListLimits
from creditx.gateway.lists.wiring import SERVICE as DISTRIBUTION
from creditx.gateway.lists.wiring import Lists
from creditx.gateway.members import REGISTRY_FILE, RegistrySource, version_recorder
from creditx.gateway.metrics import make_registry
from creditx.gateway.operator.service import OperatorServicer
from creditx.gateway.revocation import CrlRefresher
from creditx.gateway.sanctions.wiring import SERVICE as SANCTIONS
from creditx.gateway.sanctions.wiring import Sanctions
from creditx.gateway.schedule import make_scheduler
from creditx.gateway.stats import StatsHook
from creditx.gateway.store import engine
from creditx.gateway.store.engine import is_url, open_store
from creditx.gateway.store.lease import WriterLease
from creditx.gateway.write_alarm import WriteAlarm, WriteAlarmCollector
from creditx.ops.grpc_metrics import MetricsInterceptor
from creditx.ops.grpc_ops import PlainHealth, enable_reflection
from creditx.ops.logs import fields
from creditx.pki.files import RunLock, read_key
from creditx.pki.tls import FileTrustSource, IdentityInterceptor, server_credentials
from creditx.standard.registry import Registry
from creditx.standard.timestamps import rfc3339
from creditx.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    lists_pb2,
    operator_pb2,
    operator_pb2_grpc,
    sanctions_pb2,
)

log = logging.getLogger("creditx.gateway")
SERVICES = (
    "creditx.v1.Exchange",
    "creditx.v1.Operator",
    "creditx.v1.Audit",
    "creditx.v1.Distribution",
    "creditx.v1.Sanctions",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_subject_key(path: Path) -> bytes:
    """The HMAC key for natural-person subject ids in natural keys; created once, 0600."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


class Gateway:
    def __init__(
        self,
        directory: Path,
        cfg: GatewayConfig | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        audit: bool = True,
        workers: int | None = None,
    ) -> None:
        self.dir = Path(directory)
        self.cfg = cfg or load_config(self.dir)
        os.chmod(self.dir, 0o700)  # SEC-090: a directory made before this rule held the database 0755
        self._run_lock = RunLock(self.dir, "gateway")  # SEC-091: a second gateway here refuses to start
        try:
            self._build(clock, audit, workers)
        except BaseException:
            self._run_lock.release()
            raise

    def _build(self, clock: Callable[[], datetime], audit: bool, workers: int | None) -> None:
        self.clock = clock
        c, d = self.cfg, self.dir
        self.store = open_store(
            c.database_spec(d), now=rfc3339(clock()), cache_mib=c.store_cache_mib
        )  # SQLite file or PostgreSQL URL
        self.store.stats_hook = StatsHook()
        self.pool = CheckPool(c.verify_workers if workers is None else workers)
        self.trust = FileTrustSource(c.path(d, "ca_cert"), c.path(d, "crl"))
        self.keys = KeyRegistry(self.trust)
        self.crl = CrlRefresher.for_gateway(self.trust, c.path(d, "crl"), c.crl_url, c.path(d, "tls_cert"))
        self.presence = Presence(c.stale_after_s)
        self._registry_recorder = version_recorder(self.store, clock)
        self.members = RegistrySource(
            self.dir / REGISTRY_FILE,
            c.path(d, "signing_cert"),
            clock,  # SEC-036/038
            on_accept=self._record_registry,
        )
        self.checkpointer = Checkpointer(
            c.database_spec(d),
            origin_for(c.name),
            lambda: read_key(c.path(d, "signing_key")),
            clock,
            grace_s=c.checkpoint_grace_s,
        )
        # DIST-001/030: the list log (written by the ingest's batch transaction), Distribution on the same port
        self.lists = Lists(
            self.dir,
            c,
            self.keys,
            clock,
            audit=audit,
            registry=self.members,  # DIST-079: who may have a person's origin
            limits=ListLimits(
                max_batch_changes=c.list_max_batch_changes,
                max_batch_bytes=c.list_max_batch_bytes,
                max_chunk_bytes=c.list_max_chunk_bytes,
                max_chunk_entries=c.list_max_chunk_entries,
            ),
        )
        ingest = BatchIngest(
            self.store,
            self.pool,
            clock,
            load_subject_key(c.path(d, "subject_key")),
            audit=audit,
            on_list_published=self._published,
            registry=self.members,
            rejects=RejectLimits(
                c.rejected_payload_prefix_bytes, c.reject_budget_bytes, float(c.reject_budget_window_s)
            ),
        )
        self.exchange = ExchangeServicer(
            ingest,
            self.keys,
            self.presence,
            c,
            clock,
            checkpointer=self.checkpointer,
            signing_cert_der=_der(c.path(d, "signing_cert")),
            member_registry=lambda: self.members() and self.members.envelope or b"",
        )
        self.exchange.on_applied = self.lists.applied  # DIST-043 via Heartbeat
        self.exchange.on_node_time = self.lists.witnesses.heard  # DIST-023 via Heartbeat
        self.write_alarm = self.exchange.write_alarm = WriteAlarm(clock)  # SYNC-052
        self.operator = OperatorServicer(
            self.store,
            self.presence,
            self.keys,
            c.name,
            clock,
            list_lags=self.lists.lags,
            audit_status=lambda: {**self.checkpointer.status(), "refusal": self.ingest_refusal()},
        )
        self.sanctions = Sanctions(self.dir, c, self.keys, clock, audit=audit)  # HALL-002/041
        self.health = health.HealthServicer()
        ms = 1000
        self.registry = make_registry(self.store, self.presence, self.clock)
        self.registry.register(WriteAlarmCollector(self.write_alarm))
        self.fair_share = FairShare(c.per_node_streams, c.per_node_unary_calls)  # SYNC-042
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=c.handler_threads, thread_name_prefix="grpc"),
            # outermost first: every call is counted, each caller kept to its share (SYNC-042),
            # then the one identity gate (SEC-034)
            interceptors=[
                MetricsInterceptor(self.registry),
                self.fair_share,
                IdentityInterceptor(self.trust, METHOD_ROLES, clock=clock, admit=member_admission(self.members)),
            ],
            maximum_concurrent_rpcs=c.max_concurrent_streams,
            options=[
                ("grpc.max_receive_message_length", c.max_message_bytes),
                ("grpc.max_send_message_length", c.max_message_bytes),
                ("grpc.keepalive_time_ms", c.keepalive_time_s * ms),
                ("grpc.keepalive_timeout_ms", c.keepalive_timeout_s * ms),
                ("grpc.http2.ping_timeout_ms", c.keepalive_timeout_s * ms),  # else gRPC waits 60 s for an ack
                ("grpc.http2.min_ping_interval_without_data_ms", c.min_ping_interval_s * ms),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        exchange_pb2_grpc.add_ExchangeServicer_to_server(self.exchange, self.server)
        operator_pb2_grpc.add_OperatorServicer_to_server(self.operator, self.server)
        audit_pb2_grpc.add_AuditServicer_to_server(AuditServicer(self.checkpointer), self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.lists.register(self.server)
        self.sanctions.register(self.server)
        names = (
            DISTRIBUTION,
            exchange_pb2.DESCRIPTOR.services_by_name["Exchange"].full_name,
            operator_pb2.DESCRIPTOR.services_by_name["Operator"].full_name,
            audit_pb2.DESCRIPTOR.services_by_name["Audit"].full_name,
            SANCTIONS,
        )
        enable_reflection(
            self.server,
            names,
            (
                exchange_pb2.DESCRIPTOR,
                operator_pb2.DESCRIPTOR,
                audit_pb2.DESCRIPTOR,
                lists_pb2.DESCRIPTOR,
                sanctions_pb2.DESCRIPTOR,
            ),
        )
        self.plain_health = PlainHealth(c.health_listen, self.health) if c.health_listen else None
        creds = server_credentials(c.path(d, "tls_cert"), c.path(d, "tls_key"), c.path(d, "ca_cert"))
        self.port = self.server.add_secure_port(c.listen, creds)
        if self.port == 0:
            raise OSError(f"cannot listen on {c.listen}")
        self.host = c.listen.rsplit(":", 1)[0]
        # Several gateways on one PostgreSQL database: the lease holder writes, the others stand by
        # (serve reads, refuse Push naming the writer) and take over when it dies.
        spec = c.database_spec(d)
        # SYNC-018: the address a standby names; only gateways sharing a PostgreSQL database have one
        published = advertised(c, self.host, self.port) if is_url(spec) else self.address
        self.lease = WriterLease(spec, published, on_acquired=self._took_over)
        self.exchange.lease = self.lease
        self.events = GatewayEvents(self.registry, clock)
        self.exchange.events = self.events
        self.lists.servicer.on_delivered = self.events.delivered
        self.scheduler = make_scheduler(
            c, self.keys, self.presence, clock, self._checkpoint_tick, refresh_crl=self.crl.refresh
        )
        self.lists.schedule(self.scheduler)  # DIST-021 expiry job
        self.reach = ListReach(c.database_spec(d), self.registry)  # list changes reaching every city
        self.lists.servicer.on_reported = self.reach.reported
        self.console = Console(self) if c.console_listen else None  # the operator's web page
        if self.console is not None:
            self.console.schedule(self.scheduler)
        self.scheduler.add_job(self.health_tick, "interval", seconds=2, id="health", max_instances=1, coalesce=True)
        self._http: WSGIServer | None = None

    def statistics(self) -> dict:
        """The maintained statistics (creditx.gateway.stats), on a read-only connection of its own."""
        from creditx.gateway.console.stats_cli import read_statistics

        return read_statistics(self.dir)

    def _published(self, head: int) -> None:
        """After a batch's COMMIT: wake the list subscribers, then log the publication."""
        self.lists.hub.publish(head)
        self.events.published(head)

    def _checkpoint_tick(self) -> None:
        self.checkpointer.tick()
        self.events.checkpoint(self.checkpointer.status())

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _record_registry(self, reg: Registry, raw: bytes) -> None:
        """SEC-038: the writer records each registry version it puts in force; a standby (which
        decides nothing) leaves that to the writer, and records its own on taking over."""
        lease = getattr(self, "lease", None)
        if lease is None or lease.is_writer:
            self._registry_recorder(reg, raw)

    def _took_over(self) -> None:
        """Writer from now on: record the member registry in force, and seal the audit log at once,
        so fail-closed (AUD-040) judges this gateway by its own signing, not by how long it stood by."""
        reg = self.members()
        if reg is not None and self.members.envelope:
            self._registry_recorder(reg, self.members.envelope)
        self.checkpointer.tick()

    def start(self) -> dict:
        engine.fence_with(self.lease if self.lease.url else None)
        self.lease.start()
        if self.lease.is_writer:
            self._took_over()
        self.crl.refresh()  # SEC-043: the newest CRL before the first call
        if self.members() is None:  # SEC-038: the registry in force, logged before the first batch
            log.warning(
                "no usable member registry (%s): every record will be refused SEC_AUTHORITY_NOT_GRANTED; "
                "create one with `creditx gateway members seed --dir DIR`",
                self.members.last_error or "missing",
            )
        self.pool.warm()
        self.server.start()
        registry = self.registry
        self.lists.register_metrics(registry)
        register_console_metrics(registry, self)
        self.sanctions.register_metrics(registry)
        run = {"address": self.address, "pid": os.getpid(), "writer": self.lease.is_writer}
        if self.cfg.metrics_listen:
            host, port = self.cfg.metrics_listen.rsplit(":", 1)
            self._http, _ = start_http_server(int(port), addr=host, registry=registry)
            run["metrics"] = f"http://{host}:{self._http.server_port}/metrics"
        if self.plain_health is not None:
            self.plain_health.start()
            run["health"] = self.plain_health.address
        if self.console is not None:
            self.console.start()
            run["console"] = self.console.url
        for name in ("",) + SERVICES:
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.scheduler.start()
        log.info(
            "gateway started",
            extra=fields(
                event="start",
                address=self.address,
                **{k: v for k, v in run.items() if k in ("metrics", "health", "console")},
            ),
        )
        write_json_atomic(self.dir / RUN_NAME, run)
        return run

    def ingest_refusal(self) -> str:
        """Why ingest cannot proceed now ("" when it can): no working verification pool, or the
        audit log unsealed past its grace (AUD-040)."""
        if not self.pool.healthy:
            return "no working verification worker pool"
        failing = self.write_alarm.message()  # SYNC-052: e.g. the disk is full
        if failing:
            return failing
        return self.checkpointer.refusal() if self.checkpointer else ""

    def health_tick(self) -> None:
        """Health follows ingest: NOT_SERVING for Exchange and the server while it cannot proceed."""
        if self.exchange.stopping.is_set():
            return
        status = (
            health_pb2.HealthCheckResponse.NOT_SERVING
            if self.ingest_refusal()
            else health_pb2.HealthCheckResponse.SERVING
        )
        for name in ("", "creditx.v1.Exchange"):
            self.health.set(name, status)

    def stop(self, grace: float | None = None) -> None:
        self.health.enter_graceful_shutdown()
        self.exchange.stopping.set()
        self.lists.stopping()
        self.server.stop(self.cfg.shutdown_grace_s if grace is None else grace).wait()
        if self.scheduler.running:  # a job still running (a checkpoint, expiry) ends before its stores close
            self.scheduler.shutdown(wait=True)
        if self._http is not None:
            self._http.shutdown()
        if self.plain_health is not None:
            self.plain_health.stop()
        if self.console is not None:
            self.console.stop()
        log.info("gateway stopped", extra=fields(event="stop", address=self.address))
        self.pool.close()
        self.checkpointer.close()
        self.lists.close()
        self.reach.close()
        self.sanctions.close()
        self.store.close()
        self.lease.close()
        engine.fence_with(None)
        try:
            (self.dir / RUN_NAME).unlink()
        except FileNotFoundError:
            pass
        self._run_lock.release()

    def wait(self) -> None:
        self.server.wait_for_termination()


def _der(pem_path: Path) -> bytes:
    """The DER form of a PEM certificate file (sent to nodes in the handshake)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem_path.read_bytes()).public_bytes(Encoding.DER)
