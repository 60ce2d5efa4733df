"""Ask the gateway for the origin envelope of a list change (DIST-078/079) and check it.

The one way a node sees a natural person's origin record (DIST-076): on an operator's explicit
request, for one change, from the gateway, which answers only the node that sent the record or
one granted its deciding body. The envelope is checked like a relayed origin (DIST-032: LIST
record of the entry's region and fingerprint, signature when the signer is known) and handed
to the caller; nothing of it is stored in the node's database or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from creditx.node.call_status import call_reason
from creditx.node.replica.origin import check_origin
from creditx.node.replica.store import ReplicaStore
from creditx.node.replica.wire import EPOCH, envelope_from_pb
from creditx.standard.envelope import Envelope
from creditx.standard.errors import InputError
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListError
from creditx.v1 import lists_pb2 as pb
from creditx.v1 import lists_pb2_grpc as pb_grpc


def fetch_evidence(
    channel: grpc.Channel,
    replica: ReplicaStore,
    list_seq: int,
    resolve_key: Callable[[str], Any | None],
    *,
    timeout: float = 30.0,
) -> tuple[Envelope, bool]:
    """(the origin envelope, whether its signature was verified) of change ``list_seq``, which
    the replica must hold; InputError with the gateway's reason and the fix otherwise."""
    entry = replica.entry_at(list_seq)
    if entry is None:
        raise InputError(
            f"list_seq {list_seq} is not a change this replica applied [DIST-078]",
            hint="give a list_seq from `creditx node check SUBJECT --history --json`",
        )
    try:
        resp = pb_grpc.DistributionStub(channel).Evidence(pb.EvidenceRequest(list_seq=list_seq), timeout=timeout)
    except grpc.RpcError as exc:
        raise InputError(
            f"the gateway refused evidence for list_seq {list_seq}: {call_reason(exc) or exc.code().name} "
            f"[DIST-079] {exc.details() if hasattr(exc, 'details') else ''}",
            hint="a natural person's origin is served only to the node that sent the record or one "
            "granted its deciding body; ask through that member",
        ) from None
    env = envelope_from_pb(resp.origin)
    try:
        check = check_origin(ListChange(list_seq, ChangeKind.ADD, "", entry, EPOCH, env), resolve_key)
    except ListError as exc:
        raise InputError(f"{exc.reason} [{exc.rule}]: {exc.detail}", hint=exc.hint) from None
    return env, check.signature_verified
