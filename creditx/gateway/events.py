"""What the gateway tells its log and its latency histograms about what happens to it:
nodes connecting, batches decided (rejections summarised by reason), pushes refused,
checkpoints signed or failing, list changes published and delivered.

One :class:`GatewayEvents` per gateway (built in ``server.py``); servicers call it through
optional hooks so they stay testable without it. Log lines are structured
(:mod:`creditx.ops.logs`): ``event`` names the kind, the other fields are the figures.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PCounter

from creditx.ops.bulk_histogram import BulkHistogram
from creditx.ops.grpc_metrics import BUCKETS
from creditx.ops.logs import fields

log = logging.getLogger("creditx.gateway.events")


class GatewayEvents:
    def __init__(self, registry: CollectorRegistry, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.push_batch = Histogram(
            "creditx_gateway_push_batch_seconds",
            "Push: from a batch's arrival to its acknowledgement (verified, committed)",
            ["region"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.delivery = BulkHistogram(
            "creditx_gateway_list_delivery_seconds",
            "Subscribe: age of a list change (since its decision) when sent to a node",
            BUCKETS,
            registry,
        )
        self.refused = PCounter(
            "creditx_gateway_push_refused",
            "Push streams ended by the gateway, by reason",
            ["region", "reason"],
            registry=registry,
        )
        self._lock = threading.Lock()
        self._checkpoint: tuple[int, str] = (-1, "")

    # --- Exchange --------------------------------------------------------------------------------

    def connected(self, region: str, name: str, serial: str) -> None:
        log.info("node connected", extra=fields(event="connect", region=region, node=name, serial=serial))

    def batch(self, region: str, batch_id: int, decisions: Sequence[Any], committed: int, seconds: float) -> None:
        self.push_batch.labels(region).observe(seconds)
        outcomes = Counter(d.outcome.name for d in decisions)
        reasons = Counter(d.reason for d in decisions if d.outcome.name == "REJECTED")
        level = logging.WARNING if reasons and len(reasons) == len(decisions) else logging.INFO
        log.log(
            level,
            "batch decided",
            extra=fields(
                event="batch",
                region=region,
                batch_id=batch_id,
                records=len(decisions),
                committed_seq=committed,
                seconds=round(seconds, 4),
                **{k.lower(): v for k, v in sorted(outcomes.items())},
                **({"rejections": dict(reasons.most_common(5))} if reasons else {}),
            ),
        )

    def push_refused(self, region: str, reason: str, message: str) -> None:
        self.refused.labels(region, reason).inc()
        log.warning("push refused", extra=fields(event="refused", region=region, reason=reason, detail=message))

    # --- audit and lists -------------------------------------------------------------------------

    def checkpoint(self, status: dict) -> None:
        """After each checkpoint job run: log a newly signed size, or a new failure, once."""
        size, error = status.get("checkpoint_size", 0), status.get("last_error", "")
        with self._lock:
            before, self._checkpoint = self._checkpoint, (size, error)
        if error and error != before[1]:
            log.error(
                "checkpoint signing failing",
                extra=fields(event="checkpoint_error", error=error, refusal=status.get("refusal", "")),
            )
        elif size != before[0] and before[0] != -1 or size and before[0] == -1:
            log.info(
                "checkpoint signed",
                extra=fields(event="checkpoint", size=size, signed_at=status.get("checkpoint_signed_at", "")),
            )

    def published(self, head: int) -> None:
        log.info("list changes published", extra=fields(event="list_publish", list_head=head))

    def delivered(self, changes_at_unix_ms: Iterable[int]) -> None:
        """Per batch sent: its changes' ages (mostly one decision time per batch, counted once)."""
        now_ms = self.clock().timestamp() * 1000
        ages: Counter[float] = Counter()
        for at, n in Counter(changes_at_unix_ms).items():
            if at:
                ages[max(0.0, (now_ms - at) / 1000)] += n
        self.delivery.observe_counted(ages)
