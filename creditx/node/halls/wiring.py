"""Builds the hall side of a running node from the ``halls`` section of ``node.json``, so
``creditx/node/app.py`` needs a few lines: the hall gRPC and HTTP servers, and the jobs that
index own records, flush check counters, forward action reports and take up the measures list.

``node.json``::

    "halls": {"grpc_listen": "0.0.0.0:7451", "http_listen": "0.0.0.0:7452",
              "tls_cert": "hall-tls.crt", "tls_key": "hall-tls.key",
              "rate_per_s": 500, "burst": 1000, "max_batch": 100, "workers": 16}

Without the section no hall port is opened (NODE-030: the node has no TCP port by default).
The hall servers write ``DIR/halls.json`` ({"grpc": port, "http": port}) once bound.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from creditx.node.halls.forward import forward_once
from creditx.node.halls.grpc_api import HallServicer, serve_halls_grpc
from creditx.node.halls.http_api import HallHttpServer, serve_halls_http
from creditx.node.halls.identity_cache import IdentityCache
from creditx.node.halls.limits import RateLimiter
from creditx.node.halls.measures import MeasuresCache
from creditx.node.halls.service import Halls
from creditx.node.halls.store import HallStore
from creditx.pki.tls import FileTrustSource
from creditx.standard.errors import InputError

log = logging.getLogger(__name__)
RUN_FILE = "halls.json"


@dataclass(frozen=True)
class HallSettings:
    grpc_listen: str = "127.0.0.1:0"
    http_listen: str = "127.0.0.1:0"
    tls_cert: str = "hall-tls.crt"
    tls_key: str = "hall-tls.key"
    rate_per_s: float = 500.0
    burst: float = 1000.0
    max_batch: int = 100
    workers: int = 16
    forward_interval_s: float = 2.0


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
    if s.rate_per_s <= 0 or s.burst < 1 or s.max_batch < 1 or s.workers < 1:
        raise InputError("node.json: halls: rate_per_s, burst, max_batch and workers must be positive")
    return s


class HallWiring:
    def __init__(self, app, settings: HallSettings | None = None) -> None:
        self.app, self.dir = app, app.dir
        self.settings = settings or hall_settings(app.dir) or HallSettings()
        self.store = HallStore(app.store, app.subject_key)
        self.measures = MeasuresCache(app.dir)
        self.trust = FileTrustSource(app.dir / "ca.crt", app.dir / "crl.pem")
        self.halls = Halls(
            app.replica,
            self.store,
            app.subject_key,
            measures=self.measures.current,
            region=app.config.region,
            trust=self.trust,
            max_age=timedelta(seconds=app.config.limits.list_stale_after_s),
        )
        self._grpc: grpc.Server | None = None
        self._http: HallHttpServer | None = None
        self.ports: dict[str, int] = {}

    def start(self) -> dict[str, int]:
        s = self.settings
        limiter = RateLimiter(s.rate_per_s, s.burst)
        cache = IdentityCache()  # HALL-005: one verification per certificate and CRL, not per call
        cert, key, ca = self.dir / s.tls_cert, self.dir / s.tls_key, self.dir / "ca.crt"
        self._grpc, gport = serve_halls_grpc(
            HallServicer(self.halls, limiter, max_batch=s.max_batch),
            s.grpc_listen,
            cert=cert,
            key=key,
            ca=ca,
            trust=self.trust,
            workers=s.workers,
            verifier=cache.verify,
        )
        self._http, hport = serve_halls_http(
            self.halls,
            self.store,
            s.http_listen,
            cert=cert,
            key=key,
            ca=ca,
            trust=self.trust,
            limiter=limiter,
            max_batch=s.max_batch,
            verifier=cache.verify,
        )
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
        if self._http is not None:
            self._http.stop(grace)
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
        self.store.add_counts(self.halls.counters.take())
        (self.dir / RUN_FILE).unlink(missing_ok=True)
