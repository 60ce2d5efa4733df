"""Builds the hall side of a running node from the ``halls`` section of ``node.json``, so
``creditx/node/app.py`` needs a few lines: the hall gRPC and HTTP servers, and the jobs that
index own records, flush check counters, forward action reports and take up the measures list.

``node.json``::

    "halls": {"grpc_listen": "0.0.0.0:7451", "http_listen": "0.0.0.0:7452",
              "tls_cert": "hall-tls.crt", "tls_key": "hall-tls.key",
              "rate_per_s": 500, "burst": 1000, "max_batch": 100, "workers": 16,
              "processes": 2}

Without the section no hall port is opened (NODE-030: the node has no TCP port by default).
The hall servers write ``DIR/halls.json`` ({"grpc": port, "http": port}) once bound. With
``processes`` above 1 both hall ports are served by that many processes (HALL-053,
creditx/node/halls/processes.py); each builds its hall side with :func:`build_halls`, the one
place that wires it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypedDict

import grpc

from creditx.node.halls.forward import forward_once
from creditx.node.halls.grpc_api import HallServicer, serve_halls_grpc
from creditx.node.halls.http_api import HallHttpServer, serve_halls_http
from creditx.node.halls.identity_cache import IdentityCache
from creditx.node.halls.limits import RateLimiter
from creditx.node.halls.measures import MeasuresCache
from creditx.node.halls.processes import HallProcesses
from creditx.node.halls.service import Halls
from creditx.node.halls.store import HallStore
from creditx.node.replica.store import ReplicaStore
from creditx.pki.tls import FileTrustSource
from creditx.standard.errors import InputError
from creditx.standard.measures import MeasuresCatalogue

log = logging.getLogger(__name__)
RUN_FILE = "halls.json"


@dataclass(frozen=True)
class HallSettings:
    grpc_listen: str = "127.0.0.1:0"  # the hall gRPC API (Departments), mutual TLS (HALL-006)
    http_listen: str = "127.0.0.1:0"  # the hall HTTPS/JSON API (HALL-006)
    tls_cert: str = "hall-tls.crt"  # the node-tls certificate both hall ports present
    tls_key: str = "hall-tls.key"  # its private key
    rate_per_s: float = 500.0  # checks a second per caller, in each serving process (HALL-004, HALL-053)
    burst: float = 1000.0  # the caller's token bucket size (HALL-004)
    max_batch: int = 100  # checks per CheckMany call at most (HALL-020)
    workers: int = 16  # gRPC handler threads
    forward_interval_s: float = 2.0  # how often check counters are flushed and action reports forwarded
    # processes serving the hall ports (gRPC and HTTPS, each on one socket address with
    # SO_REUSEPORT): the node's own and processes - 1 more, each with its own read-only SQLite
    # connections (HALL-053)
    processes: int = 1


def hall_settings(directory: Path) -> HallSettings | None:
    raw = json.loads((Path(directory) / "node.json").read_text(encoding="utf-8")).get("halls")
    if raw is None:
        return None
    try:
        s = HallSettings(**raw)
    except TypeError as exc:
        raise InputError(
            f"node.json: halls: {exc}", hint=f"known settings: {list(HallSettings.__annotations__)}"
        ) from None
    for name in ("tls_cert", "tls_key"):
        p = Path(getattr(s, name))
        if p.is_absolute() or ".." in p.parts or not (Path(directory) / p).is_file():
            raise InputError(
                f"node.json: halls.{name} {str(p)!r} is not a file inside the node directory",
                hint="issue it with creditx.pki.issue.issue_node_tls and copy it into the node directory",
            )
    if s.rate_per_s <= 0 or s.burst < 1 or s.max_batch < 1 or s.workers < 1 or s.processes < 1:
        raise InputError("node.json: halls: rate_per_s, burst, max_batch, workers and processes must be positive")
    return s


@dataclass
class HallParts:
    """The hall side of one serving process: its store view, trust, check service, and the
    per-process rate limiter and identity cache."""

    store: HallStore
    trust: FileTrustSource
    halls: Halls
    limiter: RateLimiter
    identities: IdentityCache


def build_halls(
    directory: Path,
    settings: HallSettings,
    *,
    store: HallStore,
    replica: ReplicaStore,
    subject_key: bytes,
    region: str,
    stale_after_s: float,
    measures: Callable[[], MeasuresCatalogue],
) -> HallParts:
    """The one wiring of the hall side, for the node's process and each serving process (HALL-053)."""
    trust = FileTrustSource(directory / "ca.crt", directory / "crl.pem")
    halls = Halls(
        replica,
        store,
        subject_key,
        measures=measures,
        region=region,
        trust=trust,
        max_age=timedelta(seconds=stale_after_s),
    )
    # HALL-005: one verification per certificate and CRL, not per call
    return HallParts(store, trust, halls, RateLimiter(settings.rate_per_s, settings.burst), IdentityCache())


class _TlsFiles(TypedDict):
    cert: Path
    key: Path
    ca: Path


def _tls(directory: Path, settings: HallSettings) -> _TlsFiles:
    """The files both hall ports present and trust: the node-tls pair and the provincial CA."""
    return {"cert": directory / settings.tls_cert, "key": directory / settings.tls_key, "ca": directory / "ca.crt"}


def start_grpc(directory: Path, settings: HallSettings, parts: HallParts, *, listen: str):
    """The gRPC hall API of ``parts`` on ``listen`` (grpcio binds with SO_REUSEPORT, so more
    processes may serve the same address); (server, bound port)."""
    return serve_halls_grpc(
        HallServicer(parts.halls, parts.limiter, max_batch=settings.max_batch),
        listen,
        **_tls(directory, settings),
        trust=parts.trust,
        workers=settings.workers,
        verifier=parts.identities.verify,
    )


def start_http(directory: Path, settings: HallSettings, parts: HallParts, *, listen: str, reuse_port: bool):
    """The HTTPS hall API of ``parts`` on ``listen``; (server, bound port)."""
    return serve_halls_http(
        parts.halls,
        parts.store,
        listen,
        **_tls(directory, settings),
        trust=parts.trust,
        limiter=parts.limiter,
        max_batch=settings.max_batch,
        verifier=parts.identities.verify,
        reuse_port=reuse_port,
    )


class HallWiring:
    def __init__(self, app, settings: HallSettings | None = None) -> None:
        self.app, self.dir = app, app.dir
        self.settings = settings or hall_settings(app.dir) or HallSettings()
        self.measures = MeasuresCache(app.dir)
        self.parts = build_halls(
            app.dir,
            self.settings,
            store=HallStore(app.store, app.subject_key),
            replica=app.replica,
            subject_key=app.subject_key,
            region=app.config.region,
            stale_after_s=app.config.limits.list_stale_after_s,
            measures=self.measures.current,
        )
        self.store, self.trust, self.halls = self.parts.store, self.parts.trust, self.parts.halls
        self._grpc: grpc.Server | None = None
        self._http: HallHttpServer | None = None
        self._pool: HallProcesses | None = None
        self.ports: dict[str, int] = {}

    def start(self) -> dict[str, int]:
        s, p = self.settings, self.parts
        many = s.processes > 1  # HALL-053: both ports served by more processes
        self._grpc, gport = start_grpc(self.dir, s, p, listen=s.grpc_listen)
        self._http, hport = start_http(self.dir, s, p, listen=s.http_listen, reuse_port=many)
        if many:
            self._pool = HallProcesses(
                self.dir,
                s,
                f"{s.grpc_listen.rpartition(':')[0]}:{gport}",
                f"{s.http_listen.rpartition(':')[0]}:{hport}",
                self.app.store.path,
                self.store,
                self.halls.counters,
            )
            self._pool.start(s.processes - 1)
        self.ports = {"grpc": gport, "http": hport}
        tmp = self.dir / (RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(self.ports) + "\n")
        os.replace(tmp, self.dir / RUN_FILE)
        log.info("hall API: gRPC on port %d, HTTPS on port %d", gport, hport)
        return self.ports

    def schedule(self, scheduler) -> None:
        scheduler.add_job(self.index_job, "interval", seconds=1.0, id="hall-index")
        scheduler.add_job(self.forward_job, "interval", seconds=self.settings.forward_interval_s, id="hall-forward")
        scheduler.add_job(
            self.measures_job, "interval", seconds=self.app.config.limits.checkpoint_interval_s, id="hall-measures"
        )

    def index_job(self) -> None:
        while self.store.index_outbox():
            pass

    def forward_job(self) -> None:
        """Flush the check counters, then send unforwarded action reports and the counters upward."""
        self.store.add_counts(self.halls.counters.take())
        try:
            forward_once(self.store, self.app.lists_channel(), timeout=self.app.config.limits.rpc_timeout_s)
        except Exception as exc:  # unreachable gateway: kept, retried next interval
            log.info("forwarding action reports failed: %s", exc)

    def measures_job(self) -> None:
        try:
            self.measures.fetch(self.app.lists_channel(), self.app.config.limits.rpc_timeout_s)
        except Exception as exc:
            log.info("measures list not taken up: %s", exc)

    def stop(self, grace: float) -> None:
        if self._pool is not None:
            self._pool.stop(grace)
        if self._http is not None:
            self._http.stop(grace)
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
        self.store.add_counts(self.halls.counters.take())
        (self.dir / RUN_FILE).unlink(missing_ok=True)
