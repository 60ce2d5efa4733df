"""The operator's view of every node, as plain values (shared by the Operator servicer, the
metrics endpoint and ``creditx gateway status``). Pure apart from the injected store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from creditx.gateway.exchange.presence import Presence
from creditx.gateway.store.base import GatewayStore


@dataclass(frozen=True)
class NodeView:
    region: str
    name: str
    connected: bool
    last_seen: str
    committed_seq: int
    backlog: int
    last_source_seq: int
    accepted: int
    duplicate: int
    superseded: int
    rejected: int
    recent_rejections: list[tuple[str, int]]
    auth_cert_not_after: str
    signing_cert_not_after: str

    def as_dict(self) -> dict:
        return asdict(self)


def node_views(store: GatewayStore, presence: Presence, now: datetime) -> list[NodeView]:
    out = []
    for n in store.nodes():
        valid = [c.not_after for c in store.signing_certs(n.region) if c.not_after >= now.isoformat()]
        out.append(
            NodeView(
                n.region,
                n.name,
                presence.connected(n.region, now),
                n.last_seen,
                n.committed_seq,
                n.backlog,
                n.last_source_seq,
                n.counts.get("ACCEPTED", 0),
                n.counts.get("DUPLICATE", 0),
                n.counts.get("SUPERSEDED", 0),
                n.counts.get("REJECTED", 0),
                n.recent_reasons,
                n.auth_not_after,
                max(valid, default=""),
            )
        )
    return out
