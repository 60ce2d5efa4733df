"""Which of the node's gateway addresses to call: several gateways on one PostgreSQL database.

A node may list several gateway addresses (``gateway`` and ``gateways`` in node.json): the
province's writer and its standbys. Push and Handshake must reach the writer; a standby refuses
them with UNAVAILABLE, reason ``GATEWAY_STANDBY`` and the writer's address in the trailing
metadata key ``creditx-writer`` (SYNC-018). :meth:`Targets.failed` reads a failed call:

* refused by a standby that names a writer the node lists → that address next;
* refused by a standby naming an address the node does not list, or naming none yet, any other
  UNAVAILABLE (a transport failure, a gateway shutting down) or DEADLINE_EXCEEDED → the next
  address in the list, round robin (the node never dials an address it was not configured with);
* anything else (a rejected certificate, a malformed batch) → stay: another gateway of the same
  province would answer the same.

List following (Subscribe, Snapshot, checkpoints) may use any gateway, standbys included, since a
standby serves the committed list log: it keeps its own :class:`Targets` and moves only when the
one it uses fails.

Pure apart from a lock (the sync and heartbeat threads share one instance); no gRPC objects are
kept here: :class:`creditx.node.sync.client.SyncRunner` and the node app reopen their channel when
:meth:`Targets.current` changes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import cast

import grpc

from creditx.standard.call_status import STANDBY_REASON, writer_from

log = logging.getLogger(__name__)

_MOVE_CODES = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED"})


class Targets:
    def __init__(self, addresses: Sequence[str], *, what: str = "gateway") -> None:
        if not addresses:
            raise ValueError("at least one gateway address")
        self.addresses = tuple(dict.fromkeys(addresses))
        self.what = what
        self._i = 0
        self._lock = threading.Lock()

    def current(self) -> str:
        with self._lock:
            return self.addresses[self._i]

    def failed(self, code: str, reason: str = "", writer: str = "") -> bool:
        """Record a failed call to :meth:`current` (gRPC status code name, reason code, named
        writer); True when the next call goes to another address."""
        with self._lock:
            if len(self.addresses) == 1 or (code not in _MOVE_CODES):
                return False
            was = self.addresses[self._i]
            if reason == STANDBY_REASON and writer in self.addresses:
                self._i = self.addresses.index(writer)
            else:
                self._i = (self._i + 1) % len(self.addresses)
            now = self.addresses[self._i]
        if now != was:
            log.info(
                "%s: %s %s%s; moving to %s",
                self.what,
                was,
                "is a standby" if reason == STANDBY_REASON else f"failed ({code})",
                f" naming the writer {writer}" if writer else "",
                now,
            )
        return now != was

    def failed_call(self, exc: grpc.RpcError) -> bool:
        """:meth:`failed` for a failed gRPC call: its status code, reason code (SYNC-016) and the
        writer a standby named (SYNC-018)."""
        from creditx.node.call_status import call_reason

        code = exc.code() if hasattr(exc, "code") else None
        metadata = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
        # grpc-stubs types the entries as _Metadatum; at runtime they are (key, value) tuples
        writer = writer_from(cast("Iterable[tuple[str, str | bytes]] | None", metadata))
        return self.failed(code.name if code is not None else "UNKNOWN", call_reason(exc), writer)
