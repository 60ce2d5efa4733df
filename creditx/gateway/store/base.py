"""The gateway store interface (a Protocol) every implementation must satisfy.

The contract suite ``tests/gateway/store_contract.py`` runs against each implementation.
Invariants an implementation keeps:

* :meth:`commit_batch` is atomic: the decided rows, one audit leaf per stored decision, the
  per-node counters and the node's new high-water mark are committed together or not at all
  (SYNC-031, ADR 0007), and so are the list changes of the batch (DIST-001); the
  returned decisions carry their audit leaf index. The store only writes what it is given.
* Rejected records are kept with their reason; gaps and replays leave no row and no leaf.
* ``(node, source_seq)`` is unique; audit leaf indices are 0, 1, 2, … without holes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from creditx.gateway.ingest.values import Decision, IncomingRecord
from creditx.gateway.lists.changes import ListBatch
from creditx.gateway.store.node_checkpoints import NodeCheckpoint
from creditx.standard.lists.lifecycle import ListEntry

if TYPE_CHECKING:
    from creditx.gateway.stats import StatsHook


@dataclass(frozen=True)
class SigningCert:
    keyid: str
    region: str
    serial: str
    not_after: str  # RFC 3339
    cert_der: bytes


@dataclass(frozen=True)
class NodeRow:
    region: str
    name: str
    committed_seq: int
    last_seen: str
    backlog: int
    last_source_seq: int
    auth_serial: str
    auth_not_after: str
    counts: dict[str, int]
    recent_reasons: list[tuple[str, int]]


class GatewayStore(Protocol):
    stats_hook: StatsHook | None  # statistics counters kept in the batch's transaction

    def committed_seq(self, node: str) -> int: ...

    def decision_for(self, node: str, seq: int) -> Decision | None: ...

    def fingerprint_stored(self, fp: bytes) -> bool: ...

    def current_version(self, natural_key: str) -> int | None: ...

    def stored_fingerprints(self, fps: Sequence[bytes]) -> set[bytes]:
        """The subset of ``fps`` stored as content (accepted or superseded), one query: a scan of
        the chain tables (no index by fingerprint alone; tools and tests, not the ingest path)."""
        ...

    def current_versions(self, keys: Sequence[str]) -> dict[str, int]:
        """Current version of each of ``keys`` that has one, one query."""
        ...

    def known_content(self, pairs: Sequence[tuple[str, bytes]]) -> tuple[set[bytes], dict[str, int]]:
        """For (natural key, fingerprint) pairs: the fingerprints stored as content and each key's
        current version, in one look-up by natural key (the ingest path; ``chains``)."""
        ...

    def commit_batch(
        self,
        node: str,
        items: Sequence[tuple[Decision, IncomingRecord | None]],
        leaves: Sequence[tuple[bytes, bytes]] | None,
        committed_seq: int,
        at: str,
        *,
        lists: ListBatch | None = None,
        checkpoint: NodeCheckpoint | None = None,
    ) -> list[Decision]:
        """One transaction: rows, leaves, counters, high-water mark, and the list changes the
        pipeline decided (``lists``; :class:`ListStateMoved` when an entry they read moved), and
        the batch's outbox-log checkpoint (``checkpoint``, batch-signed suite, SYNC-064)."""
        ...

    def latest_checkpoint(self, node: str) -> NodeCheckpoint | None:
        """The newest stored outbox-log checkpoint of ``node`` (SYNC-062), None if none."""
        ...

    def list_entries(self, entry_ids: Sequence[str]) -> dict[str, tuple[ListEntry, int]]:
        """Current state of those of ``entry_ids`` that exist: (entry, list_seq it rests on)."""
        ...

    def list_head(self) -> int: ...

    def record_registry(
        self, version: int, sha256_hex: str, envelope: bytes, issued_at: str, expires_at: str, at: str
    ) -> None: ...

    def upsert_node(self, region: str, name: str, auth_serial: str, auth_not_after: str, at: str) -> None: ...

    def add_signing_cert(self, cert: SigningCert, at: str) -> None: ...

    def signing_certs(self, region: str | None = None) -> list[SigningCert]: ...

    def heartbeat(self, region: str, backlog: int, last_source_seq: int, at: str) -> None: ...

    def report_backlog(self, region: str, backlog: int, at: str) -> None: ...

    def nodes(self, recent: int = 500) -> list[NodeRow]: ...

    def find_records(
        self,
        *,
        region: str = "",
        record_type: str = "",
        natural_key: str = "",
        fingerprint: bytes = b"",
        after_id: int = 0,
        limit: int = 100,
    ) -> list[dict]: ...

    def audit_size(self) -> int: ...

    def close(self) -> None: ...
