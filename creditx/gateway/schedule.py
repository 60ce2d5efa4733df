"""Periodic jobs of the gateway (APScheduler 3.x BackgroundScheduler, ADR 0015).

Job bodies are one call each into tested code with the injected clock: fetch the CA's CRL
and re-read the CA / CRL (so revocations take effect without restart, SEC-041/043) and mark silent nodes disconnected.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from creditx.gateway.config import GatewayConfig
from creditx.gateway.exchange.keys import KeyRegistry
from creditx.gateway.exchange.presence import Presence


def make_scheduler(
    cfg: GatewayConfig,
    keys: KeyRegistry,
    presence: Presence,
    clock: Callable[[], datetime],
    checkpoint: Callable[[], None] | None = None,
    refresh_crl: Callable[[], object] | None = None,
) -> BackgroundScheduler:
    sched = BackgroundScheduler(daemon=True)
    # SEC-043: fetch the CA's newest CRL, then re-read the trust files
    sched.add_job(
        lambda: (refresh_crl and refresh_crl(), keys.trust),
        "interval",
        seconds=cfg.crl_reload_s,
        id="crl-reload",
        max_instances=1,
        coalesce=True,
    )
    sched.add_job(
        lambda: presence.mark_stale(clock(), cfg.stale_after_s),
        "interval",
        seconds=max(1, cfg.stale_after_s // 5),
        id="stale-connections",
        max_instances=1,
        coalesce=True,
    )
    if checkpoint is not None:  # AUD-027: sign a checkpoint whenever the tree has grown
        sched.add_job(
            checkpoint,
            "interval",
            seconds=cfg.checkpoint_interval_s,
            id="audit-checkpoint",
            max_instances=1,
            coalesce=True,
        )
    return sched
