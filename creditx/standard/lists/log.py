"""The list log as a Merkle tree, its checkpoints, and a node's check of its replica (DIST-050…).

The gateway's list log is an RFC 9162 tree of its own (separate from the audit log of chapter
06) whose leaf ``i`` (from 0) is the list change with ``list_seq = i + 1``. The leaf content is
exactly the AUD-005 list-change leaf, so the same bytes appear in both logs:

    {"at":"…","change":"REMOVE","fp":"<hex>","kind":"list","list_seq":7,"list_type":"SXBZXR",
     "node":"370100","reason":"EXPIRED"}

Invariants kept here:

* DIST-050 leaf content is RFC 8785 JSON (:func:`creditx.standard.canonical.canonicalize`); ``at`` is
  RFC 3339 UTC with milliseconds; ``fp`` is the fingerprint of the record version the entry
  rests on after the change (for EXPIRED: the version that was listed).
* DIST-051 the log's checkpoint origin is ``<gateway host>/lists/v1`` (the audit log's is
  ``<gateway host>/audit/v1``, AUD-020); the checkpoint size is the highest published list_seq.
* DIST-052 a node that holds changes 1…n (or a snapshot's frontier at n and every change since)
  folds their leaf hashes into a :class:`creditx.standard.merkle.CompactRange`; its root must equal a
  signed checkpoint of size n, or be proven a prefix of a larger one by a consistency proof
  (:func:`check_replica`). Anything else means the replica is not the log: ``DIST_REPLICA_DIVERGED``.
"""

from __future__ import annotations

import re

from creditx.standard.canonical import canonicalize
from creditx.standard.checkpoint import Checkpoint
from creditx.standard.lists.lifecycle import ListChange, ListError
from creditx.standard.merkle import CompactRange, ProofError, leaf_hash, verify_consistency
from creditx.standard.timestamps import rfc3339

LIST_LOG_SUFFIX = "/lists/v1"
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")


def leaf_data(change: ListChange) -> bytes:
    """DIST-050 / AUD-005: the canonical leaf content of a sequenced change."""
    if change.list_seq < 1:
        raise ValueError("DIST-001: a change gets a leaf only once the log assigned its list_seq")
    return canonicalize(
        {
            "kind": "list",
            "list_seq": change.list_seq,
            "fp": change.entry.origin_fp.hex(),
            "node": change.entry.origin_region,
            "list_type": change.entry.list_type,
            "change": change.kind.value,
            "reason": change.reason,
            "at": rfc3339(change.at),
        }
    )


def change_leaf_hash(change: ListChange) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of :func:`leaf_data`."""
    return leaf_hash(leaf_data(change))


def list_log_origin(gateway_host: str) -> str:
    """DIST-051: the checkpoint origin (and note key name, AUD-027) of a gateway's list log."""
    if not isinstance(gateway_host, str) or not _HOST.fullmatch(gateway_host):
        raise ValueError(f"DIST-051: {gateway_host!r} is not a host name (letters, digits, '.', '-', optional :port)")
    return gateway_host.lower() + LIST_LOG_SUFFIX


def gateway_host_of(origin: str) -> str:
    """DIST-051: the gateway host a list-log origin names; ValueError for any other origin."""
    host = origin[: -len(LIST_LOG_SUFFIX)] if origin.endswith(LIST_LOG_SUFFIX) else ""
    if not host or list_log_origin(host) != origin:
        raise ValueError(f"DIST-051: {origin!r} is not a list-log origin '<host>{LIST_LOG_SUFFIX}'")
    return host


def fold(frontier: CompactRange, changes: list[ListChange]) -> CompactRange:
    """DIST-052: ``frontier`` extended by ``changes``, which must continue it without a gap."""
    out = frontier.copy()
    for c in changes:
        if c.list_seq != out.size + 1:
            raise ListError(
                "DIST_GAP",
                "DIST-040",
                f"change {c.list_seq} does not follow list_seq {out.size}",
                hint="ask for the changes from the replica's applied list_seq + 1",
            )
        out.append(change_leaf_hash(c))
    return out


def check_replica(frontier: CompactRange, checkpoint: Checkpoint, proof: list[bytes] | None = None) -> str:
    """DIST-052: compare the replica's frontier with a verified list-log checkpoint.

    Returns ``"EXACT"`` (same size, same root) or ``"PREFIX"`` (the replica is a proven prefix
    of a larger checkpoint; ``proof`` is the consistency proof from ``frontier.size``), or
    ``"AHEAD"`` when the checkpoint is older than the replica (wait for a newer one).
    Raises :class:`ListError` ``DIST_REPLICA_DIVERGED`` when the replica is not the log."""
    if checkpoint.size < frontier.size:
        return "AHEAD"
    if checkpoint.size == frontier.size:
        if frontier.root() == checkpoint.root_hash:
            return "EXACT"
        raise _diverged(f"root at list_seq {frontier.size} differs from the checkpoint's")
    try:
        verify_consistency(frontier.size, checkpoint.size, frontier.root(), checkpoint.root_hash, proof or [])
    except ProofError as exc:
        raise _diverged(
            f"list_seq {frontier.size} is not a prefix of checkpoint {checkpoint.size}: {exc.message}"
        ) from None
    return "PREFIX"


def _diverged(message: str) -> ListError:
    return ListError(
        "DIST_REPLICA_DIVERGED",
        "DIST-052",
        message,
        hint="stop serving list checks as current; re-bootstrap from a snapshot and alert the operator",
    )
