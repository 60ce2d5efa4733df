"""The one place that wires a node together: config → store → signer → sync client →
scheduler → local API (ADR 0002).

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
from typing import TYPE_CHECKING

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from creditx.node.config import NodeConfig, check_certificate_member, load_config, subject_key
from creditx.node.intake import IntakeReport, RowLike, ingest
from creditx.node.local_api import NodeApiServicer, serve_local_api
from creditx.node.replica.store import ReplicaStore
from creditx.node.reports import node_status
from creditx.node.store import NodeStore
from creditx.node.sync.client import ChannelSettings, SyncRunner
from creditx.node.sync.outbox_log import OutboxLog
from creditx.node.sync.state import State, SyncMachine, SyncPolicy
from creditx.node.sync.targets import Targets
from creditx.standard.envelope import Signer

if TYPE_CHECKING:  # imported where used: only `creditx node run` follows the list log
    from creditx.node.replica.follower import Follower

log = logging.getLogger(__name__)
DB_FILE = "node.db"
RUN_FILE = "run.json"  # where a running node's monitoring ports are, for tools and tests


def write_run_info(directory: Path, ops) -> None:
    import json
    import os

    info = {"pid": os.getpid(), "metrics": ops.metrics_url, "health": ops.plain.address if ops.plain else ""}
    tmp = directory / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
    os.replace(tmp, directory / RUN_FILE)


class NodeApp:
    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self.config: NodeConfig = load_config(self.dir)
        check_certificate_member(self.dir, self.config.member, flag="node.json member")  # SEC-096
        self.store = NodeStore(self.dir / DB_FILE)
        key = serialization.load_pem_private_key((self.dir / "signing.key").read_bytes(), None)
        self.signer = Signer(key)
        self._signing_key = key  # also signs the outbox log's checkpoints (batch suite, SIG-042)
        cert = x509.load_pem_x509_certificate((self.dir / "signing.crt").read_bytes())
        with self.store.transaction():  # key rotation: remember every cert that signed outbox records
            self.store.remember_signing_cert(
                self.signer.keyid, cert.public_bytes(serialization.Encoding.DER), time.time()
            )
        self.subject_key = subject_key(self.dir)  # NODE-041
        self.replica = ReplicaStore(self.store, self.subject_key)
        self.applied = threading.Condition()  # notified after each applied batch (Feed streams wait on it)
        self._report_wanted = threading.Event()  # set after applying; report_applied_job clears it
        self._runner: SyncRunner | None = None
        self._follower: Follower | None = None
        self._lists_channel: grpc.Channel | None = None
        self._lists_target = ""
        # SYNC-018: sync follows the writer; list following may use any gateway, standbys included
        self.sync_targets = Targets(self.config.gateway_addresses, what="sync")
        self.lists_targets = Targets(self.config.gateway_addresses, what="list replica")
        self._scheduler = None
        self._sync_lock = threading.Lock()
        self._wanted = threading.Event()  # a nudge arrived; survives a nudge during a running sync
        self._readers: dict = {}  # docking source name → SourceReader (its engine's pool)
        self.halls = None  # the hall API while run() serves it (creditx/node/halls)
        from creditx.node.alarms import Alarms

        self.alarms = Alarms(self.store)  # SYNC-051: seen in status, health and metrics

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        if self._runner:
            self._runner.close()
        if self._lists_channel is not None:
            self._lists_channel.close()
        self.store.close()

    # --- intake --------------------------------------------------------------------------------

    def ingest(
        self, rows: Iterable[RowLike], *, source: str, keep_results: bool = False, advance=lambda n: None
    ) -> IntakeReport:
        from creditx.node.members import own_entry
        from creditx.node.quarantine import record_templates

        known, member = own_entry(self.dir, self.config.member, dt.datetime.now(dt.UTC))
        report = ingest(
            self.store,
            self.signer,
            rows,
            region=self.config.region,
            source=source,
            today=dt.date.today(),
            clock=time.time,
            batch_size=self.config.limits.import_batch_rows,
            keep_results=keep_results,
            advance=advance,
            member=member,
            registry_known=known,
            record_suite=self.config.record_suite,  # NODE-051: "batch" stores records unsigned
        )
        record_templates(self.store, report.import_id, rows)  # the quarantine export writes this template back
        return report

    def status(self) -> dict:
        from creditx.node.docking.poll import docking_stats

        s = dict(node_status(self.store), docking=docking_stats(self.store))
        if self._scheduler is not None:  # the running node: its alarms as they are now (SYNC-051)
            s["alarms"] = self.alarms.active()
        return s

    # --- database docking (creditx/node/docking) -------------------------------------------------

    def docking_job(self, name: str) -> None:
        """Poll one front-end database until drained; new records nudge a sync. A database that
        cannot be reached is recorded on the source (node status) and tried again next interval."""
        from creditx.node.docking.poll import poll, set_poll_state
        from creditx.node.docking.reader import SourceReader
        from creditx.node.members import own_entry

        src = next(s for s in self.config.docking if s.name == name)
        try:
            reader = self._readers.get(name)
            if reader is None:
                reader = self._readers[name] = SourceReader(src)
            known, member = own_entry(self.dir, self.config.member, dt.datetime.now(dt.UTC))  # NODE-022
            result = poll(
                self.store,
                self.signer,
                src,
                reader,
                region=self.config.region,
                today=dt.date.today(),
                member=member,
                registry_known=known,
                record_suite=self.config.record_suite,  # NODE-051
            )
        except Exception as exc:  # noqa: BLE001 - any driver error: keep the node running, say why
            log.warning("docking %s: poll failed: %s", name, exc)
            set_poll_state(self.store, name, error=f"{type(exc).__name__}: {exc}"[:500], now=time.time())
            return
        if result.seen:
            log.info(
                "docking %s: %d rows read, %d accepted, %d quarantined, %d pending",
                name,
                result.seen,
                result.accepted,
                result.quarantined,
                result.pending,
            )
        if result.accepted:
            self.nudge()

    # --- sync ----------------------------------------------------------------------------------

    def channel_settings(self) -> ChannelSettings:
        from creditx.pki.tls import channel_credentials

        lim = self.config.limits
        creds = channel_credentials(self.dir / "ca.crt", self.dir / "auth.crt", self.dir / "auth.key")
        return ChannelSettings(
            self.config.gateway,
            creds,
            self.config.gateway_server_name,
            lim.rpc_timeout_s,
            lim.keepalive_time_ms,
            lim.keepalive_timeout_ms,
            lim.max_message_bytes + 64 * 1024,
            cert_validity=_validity(self.dir / "auth.crt"),
            connect_timeout_ms=lim.connect_timeout_ms,
        )

    def runner(self) -> SyncRunner:
        if self._runner is None:
            lim = self.config.limits
            settings = self.channel_settings()
            policy = SyncPolicy(
                lim.backoff_base_s,
                lim.backoff_cap_s,
                lim.ack_timeout_s,
                lim.max_batch_records,
                lim.max_message_bytes,
                lim.max_in_flight_batches,
            )
            self._runner = SyncRunner(
                self.store,
                settings,
                SyncMachine(policy=policy, rng=random.SystemRandom()),
                node_name=self.config.name,
                signing_certs=lambda: self.store.signing_certs_in_use(self.signer.keyid),
                on_gateway_cert=self._gateway_cert,
                on_registry=self._member_registry,
                on_origin_certs=self._origin_certs,
                signer=self.signer,  # NODE-051: signs a record intake left unsigned if pushed as an envelope
                outbox_log=OutboxLog(self.store, self.config.member, self._signing_key, self.signer.keyid)
                if self.config.record_suite == "batch"
                else None,
                alarms=self.alarms,
                clock_warn_skew_s=lim.clock_warn_skew_s,
                max_clock_skew_s=lim.max_clock_skew_s,
                targets=self.sync_targets,
            )
        return self._runner

    def _member_registry(self, raw: bytes) -> None:
        """Keep the member registry from the handshake if it verifies and is not a rollback (SEC-039)."""
        from creditx.node.members import accept_registry
        from creditx.standard.registry import RegistryError

        try:
            if accept_registry(self.dir, raw, dt.datetime.now(dt.UTC)):
                log.info("stored a new member registry from the handshake")
        except RegistryError as exc:
            log.warning("refused the member registry from the handshake (the held one stays): %s", exc)

    def _origin_certs(self, ders: list[bytes]) -> None:
        """Keep the origin signing certificates from the handshake that verify (DIST-080)."""
        from creditx.node.replica.trust import accept_origin_certs

        kept, refused = accept_origin_certs(self.dir, ders, dt.datetime.now(dt.UTC))
        if refused:
            log.warning("refused %d origin signing certificate(s) from the handshake: %s", len(refused), refused[0])

    def _gateway_cert(self, der: bytes) -> None:
        """Keep the gateway's checkpoint-signing certificate from the handshake (verified first)."""
        from creditx.node.replica.trust import accept_gateway_cert
        from creditx.pki.identity import IdentityError

        try:
            if accept_gateway_cert(self.dir, der, dt.datetime.now(dt.UTC)):
                log.info("stored the gateway's signing certificate from the handshake")
        except IdentityError as exc:
            log.warning("refused the gateway's signing certificate: %s", exc)

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
        runner = self.runner()
        if runner.heartbeat(applied_list_seq=self.replica.applied()) is not None:
            self._resync_after_contact(runner)
            if self._follower is not None:  # NODE-015: and the list follower's backoff too
                self._follower.contact()

    def _resync_after_contact(self, runner: SyncRunner) -> None:
        """NODE-015: a backing-off sync retries soon after the gateway answers again."""
        retry = runner.retry_at_wall()
        if retry is not None and self._scheduler is not None:
            soon = min(retry, time.time() + self.config.limits.backoff_base_s)
            self._scheduler.modify_job("sync", next_run_time=dt.datetime.fromtimestamp(soon).astimezone())

    # --- list replica (DIST-030…074) ------------------------------------------------------------

    def lists_channel(self) -> grpc.Channel:
        target = self.lists_targets.current()
        if self._lists_channel is not None and self._lists_target != target:
            self._lists_channel.close()  # SYNC-018: the last call failed; another gateway now
            self._lists_channel = None
        if self._lists_channel is None:  # its own channel: the Subscribe stream lives long
            self._lists_channel = self.channel_settings().open(target)
            self._lists_target = target
        return self._lists_channel

    def follower(self):
        from creditx.node.replica.follower import Follower, FollowPolicy
        from creditx.node.replica.trust import origin_key_resolver

        if self._follower is None:
            lim = self.config.limits
            policy = FollowPolicy(
                lim.backoff_base_s,
                lim.backoff_cap_s,
                lim.rpc_timeout_s,
                max_batch_changes=lim.list_batch_changes,
                snapshot_threshold=lim.snapshot_threshold,
                max_chunk_entries=lim.snapshot_chunk_entries,
                max_chunk_bytes=lim.snapshot_chunk_bytes,
            )
            self._follower = Follower(
                self.replica,
                self.lists_channel,
                policy,
                resolve_key=origin_key_resolver(self.dir),
                on_applied=self.after_applied,
                on_contact=self._list_contact,
                alarms=self.alarms,
                on_error=self.lists_targets.failed_call,
            )
        return self._follower

    def _list_contact(self) -> None:
        """NODE-015: a list batch received is contact with the gateway: upward sync's backoff resets."""
        if self._runner is not None:
            self._runner.contact()
            self._resync_after_contact(self._runner)

    def after_applied(self, applied_list_seq: int) -> None:
        """After each committed batch: wake Feed streams, then append to the file sinks (NODE-045)."""
        from creditx.node.replica.sinks import drain

        with self.applied:
            self.applied.notify_all()
        self._report_wanted.set()
        if self._runner is not None:  # NODE-015: the list stream is contact with the gateway too
            self._runner.contact()
        for dept in self.config.departments:
            if dept.jsonl:
                drain(self.replica, dept, self.dir)

    def _checker(self):
        from creditx.node.replica.checkpoints import CheckpointChecker
        from creditx.node.replica.trust import gateway_signing_keys

        return CheckpointChecker(
            self.replica,
            self.lists_channel,
            lambda: gateway_signing_keys(self.dir),
            rpc_timeout=self.config.limits.rpc_timeout_s,
            origin=lambda: str(self.store.get_state().get("lists_origin") or ""),
        )

    def checkpoint_job(self) -> None:
        checker = self._checker()
        try:
            result = checker.check_once()
        except Exception as exc:  # unreachable gateway, no key: recorded, retried next interval
            self.replica.set_meta(checkpoint_error=str(exc))
            result = ""
        if result == "EXACT":
            # NODE-044: the replica was just proven equal to the signed head of the list log, so it
            # is fresh now, however long ago the last change arrived (a quiet log is not stale).
            self.replica.set_meta(last_update_ms=int(time.time() * 1000))
        self._report(checker, result in ("EXACT", "PREFIX"))

    def report_applied_job(self) -> None:
        """DIST-043 promptly: once a second, if batches were applied since the last report, tell
        the gateway, so the operator's lag figures are a second old, not a heartbeat interval old.
        Bursts coalesce into one report and the last position is never left unreported."""
        if not self._report_wanted.is_set():
            return
        self._report_wanted.clear()
        verified = self.replica.state().checkpoint.get("result") in ("EXACT", "PREFIX")
        self._report(self._checker(), verified)

    @staticmethod
    def _report(checker, verified: bool) -> None:
        try:
            checker.report(verified)
        except Exception as exc:
            log.info("ReportApplied failed: %s", exc)

    def departments_servicer(self):
        from creditx.node.replica.departments import DepartmentsServicer

        return DepartmentsServicer(
            self.replica,
            {d.name: d for d in self.config.departments},
            self.subject_key,
            max_age=dt.timedelta(seconds=self.config.limits.list_stale_after_s),
            applied=self.applied,
            max_changes=self.config.limits.list_batch_changes,
        )

    def hall_wiring(self):
        """The hall API (creditx/node/halls) if node.json has a ``halls`` section, else None."""
        from creditx.node.halls.wiring import HallWiring, hall_settings

        settings = hall_settings(self.dir)
        return HallWiring(self, settings) if settings else None

    def nudge(self) -> bool:
        if self._scheduler is None:
            return False
        self._wanted.set()
        self._scheduler.modify_job("sync", next_run_time=dt.datetime.now().astimezone())
        return True

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT), then shut down gracefully."""
        from creditx.pki.files import RunLock

        lock = RunLock(self.dir, "node")  # SEC-091: a second `node run` here refuses, the live node.sock stays
        try:
            self._run(stop)
        finally:
            lock.release()

    def _run(self, stop: threading.Event) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        lim = self.config.limits
        self.alarms.save()  # SYNC-051: a previous run's saved alarms are not this run's
        sched = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        sched.add_job(
            self.sync_job,
            "interval",
            seconds=lim.sync_interval_s,
            id="sync",
            next_run_time=dt.datetime.now().astimezone(),
        )
        sched.add_job(self.heartbeat_job, "interval", seconds=lim.heartbeat_interval_s, id="heartbeat")
        sched.add_job(self.checkpoint_job, "interval", seconds=lim.checkpoint_interval_s, id="list-checkpoint")
        sched.add_job(self.report_applied_job, "interval", seconds=1.0, id="report-applied")
        for src in self.config.docking:
            sched.add_job(
                self.docking_job,
                "interval",
                seconds=src.interval_s,
                id=f"docking:{src.name}",
                args=[src.name],
                next_run_time=dt.datetime.now().astimezone(),
            )
        self._scheduler = sched
        servicer = NodeApiServicer(
            submit=lambda rows: self.ingest(rows, source="local-api", keep_results=True),
            status=self.status,
            nudge=self.nudge,
            sync_state=lambda: self._runner.machine.state.value if self._runner else "idle",
            max_records=lim.max_submit_records,
        )
        from creditx.node.ops import NodeOps
        from creditx.ops.grpc_metrics import MetricsInterceptor
        from creditx.v1 import lists_pb2_grpc

        ops = NodeOps(self)  # metrics and the plain health port; Check/Feed/Submit latency histograms
        departments = self.departments_servicer()
        server = serve_local_api(
            servicer,
            self.dir,
            lambda srv: lists_pb2_grpc.add_DepartmentsServicer_to_server(departments, srv),
            interceptors=[MetricsInterceptor(ops.registry)],
        )
        halls = self.halls = self.hall_wiring()
        if halls is not None:
            halls.start()
            halls.schedule(sched)
            sched.add_job(halls.measures_job, id="hall-measures-now")  # once at start
        follower = self.follower()
        self.after_applied(self.replica.applied())  # sinks catch up with what was applied before a restart
        follow_thread = threading.Thread(target=follower.run, name="list-follower", daemon=True)
        follow_thread.start()
        sched.start()
        write_run_info(self.dir, ops)
        log.info(
            "node %s (%s) running; gateway %s",
            self.config.name,
            self.config.member,
            ", ".join(self.config.gateway_addresses),
            extra={
                "creditx_fields": {
                    "event": "start",
                    "metrics": ops.metrics_url,
                    "health": ops.plain.address if ops.plain else "",
                }
            },
        )
        try:
            stop.wait()
        finally:
            ops.stop()
            (self.dir / RUN_FILE).unlink(missing_ok=True)
            follower.stop()
            follow_thread.join(lim.shutdown_grace_s)
            server.stop(lim.shutdown_grace_s).wait()
            if halls is not None:
                halls.stop(lim.shutdown_grace_s)
            sched.shutdown(wait=True)
            self._scheduler = None
            (self.dir / "node.sock").unlink(missing_ok=True)
            self.close()


def _validity(cert_path: Path) -> tuple[float, float] | None:
    """The node certificate's validity as epoch seconds (SEC-080: the clock check names the clock)."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return None
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
