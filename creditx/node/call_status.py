"""How the node reads why the gateway ended a call (SYNC-016): the one reader.

The reason code comes as data, from the trailing metadata key ``creditx-reason``
(:mod:`creditx.standard.call_status`); from a v1.0 gateway, which sends none, the leading code of
the status details is taken instead. Used by the upward sync (:mod:`creditx.node.sync.client`)
and the list follower (:mod:`creditx.node.replica.follower`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import grpc

from creditx.standard.call_status import reason_from


def call_reason(exc: grpc.RpcError) -> str:
    """The gateway's reason code for a failed call, "" when it gave none (e.g. a transport failure)."""
    metadata = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    details = exc.details() if hasattr(exc, "details") else ""
    # grpc-stubs types the entries as _Metadatum (.key/.value); at runtime they are (key, value) tuples
    return reason_from(cast("Iterable[tuple[str, str | bytes]] | None", metadata), details)
