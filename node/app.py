"""The one place that wires a node together: config → store → signer → sync client →
scheduler → local API (STYLE.md, "one place that wires things together").

:class:`NodeApp` is used by every ``creditx node`` command: ``import`` and ``status`` only need
the store and signer (they work while ``run`` is or is not running: SQLite WAL), ``run`` starts
the APScheduler jobs (sync every ``sync_interval_s`` and on new data, heartbeats) and the local
API, and stops them gracefully. Job bodies are a few lines calling tested library code.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from node.config import NodeConfig, load_config
from node.intake import IntakeReport, RowLike, ingest
from node.local_api import NodeApiServicer, serve_local_api
from node.reports import node_status
from node.store import NodeStore
from node.sync.client import ChannelSettings, SyncRunner
from node.sync.state import State, SyncMachine, SyncPolicy
from standards.envelope import Signer

log = logging.getLogger(__name__)
DB_FILE = "node.db"


class NodeApp:
    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.config: NodeConfig = load_config(self.dir)
        self.store = NodeStore(self.dir / DB_FILE)
        key = serialization.load_pem_private_key((self.dir / "signing.key").read_bytes(), None)
        self.signer = Signer(key)
        cert = x509.load_pem_x509_certificate((self.dir / "signing.crt").read_bytes())
        with self.store.transaction():  # key rotation: remember every cert that signed outbox records
            self.store.remember_signing_cert(self.signer.keyid, cert.public_bytes(serialization.Encoding.DER),
                                             time.time())
        self._runner: SyncRunner | None = None
        self._scheduler = None
        self._sync_lock = threading.Lock()
        self._wanted = threading.Event()  # a nudge arrived; survives a nudge during a running sync

    def close(self) -> None:
        if self._runner:
            self._runner.close()
        self.store.close()

    # --- intake --------------------------------------------------------------------------------

    def ingest(self, rows: Iterable[RowLike], *, source: str, keep_results: bool = False,
               advance=lambda n: None) -> IntakeReport:
        return ingest(self.store, self.signer, rows, region=self.config.region, source=source,
                      today=dt.date.today(), clock=time.time, batch_size=self.config.limits.import_batch_rows,
                      keep_results=keep_results, advance=advance)

    def status(self) -> dict:
        return node_status(self.store)

    # --- sync ----------------------------------------------------------------------------------

    def runner(self) -> SyncRunner:
        if self._runner is None:
            from certs.tls import channel_credentials

            lim = self.config.limits
            creds = channel_credentials(self.dir / "ca.crt", self.dir / "auth.crt", self.dir / "auth.key")
            settings = ChannelSettings(self.config.gateway, creds, self.config.gateway_server_name,
                                       lim.rpc_timeout_s, lim.keepalive_time_ms, lim.keepalive_timeout_ms,
                                       lim.max_message_bytes + 64 * 1024)
            policy = SyncPolicy(lim.backoff_base_s, lim.backoff_cap_s, lim.ack_timeout_s, lim.max_batch_records,
                                lim.max_message_bytes, lim.max_in_flight_batches)
            self._runner = SyncRunner(self.store, settings, SyncMachine(policy=policy, rng=random.SystemRandom()),
                                      node_name=self.config.name,
                                      signing_certs=lambda: self.store.signing_certs_in_use(self.signer.keyid))
        return self._runner

    def sync_job(self) -> None:
        with self._sync_lock:
            runner = self.runner()
            while True:
                self._wanted.clear()
                state = runner.sync_once()
                # A nudge while this job ran was skipped by the scheduler (max_instances=1):
                # run again now instead of waiting for the next interval.
                if not self._wanted.is_set() or state is not State.IDLE:
                    break
            retry = runner.retry_at_wall()
        if retry is not None and self._scheduler is not None:
            self._scheduler.modify_job("sync", next_run_time=dt.datetime.fromtimestamp(retry).astimezone())

    def heartbeat_job(self) -> None:
        self.runner().heartbeat()

    def nudge(self) -> bool:
        if self._scheduler is None:
            return False
        self._wanted.set()
        self._scheduler.modify_job("sync", next_run_time=dt.datetime.now().astimezone())
        return True

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT), then shut down gracefully."""
        from apscheduler.schedulers.background import BackgroundScheduler

        lim = self.config.limits
        sched = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        sched.add_job(self.sync_job, "interval", seconds=lim.sync_interval_s, id="sync",
                      next_run_time=dt.datetime.now().astimezone())
        sched.add_job(self.heartbeat_job, "interval", seconds=lim.heartbeat_interval_s, id="heartbeat")
        self._scheduler = sched
        servicer = NodeApiServicer(
            submit=lambda rows: self.ingest(rows, source="local-api", keep_results=True),
            status=self.status, nudge=self.nudge,
            sync_state=lambda: self._runner.machine.state.value if self._runner else "idle",
            max_records=lim.max_submit_records)
        server = serve_local_api(servicer, self.dir)
        sched.start()
        log.info("node %s (%s) running; gateway %s", self.config.name, self.config.region, self.config.gateway)
        try:
            stop.wait()
        finally:
            server.stop(lim.shutdown_grace_s).wait()
            sched.shutdown(wait=True)
            self._scheduler = None
            (self.dir / "node.sock").unlink(missing_ok=True)
            self.close()
