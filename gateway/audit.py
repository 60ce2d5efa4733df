"""Audit-log leaves of ingest decisions (RFC 9162 §2.1.1), one per stored decision (SYNC-031).

``leaf_data`` = RFC 8785 canonical JSON of
``{"kind":"record","fp":hex,"node":region,"seq":n,"decision":…,"reason":…,"at":RFC3339}`` and
``leaf_hash`` = SHA-256(0x00 || leaf_data). Pure: the time comes in as an argument.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from gateway.ingest.values import Decision


def rfc3339(at: datetime) -> str:
    """UTC, second precision with milliseconds, ``Z`` suffix (RFC 3339 §5.6)."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _canonicalize(obj) -> bytes:
    try:
        from standards.canonical import canonicalize
    except ImportError:  # until standards.canonical lands: same bytes for this ASCII/str/int shape
        import json

        return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return canonicalize(obj)


def leaf_data(decision: Decision, node: str, at: str) -> bytes:
    return _canonicalize({"kind": "record", "fp": decision.fingerprint.hex(), "node": node,
                          "seq": decision.source_seq, "decision": decision.outcome.name,
                          "reason": decision.reason, "at": at})


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH of one entry = SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + data).digest()


def leaves_for(decisions: list[Decision], node: str, at: datetime) -> list[tuple[bytes, bytes]]:
    """(leaf_data, leaf_hash) for every decision that is stored, in order."""
    stamp = rfc3339(at)
    out = []
    for d in decisions:
        if d.stored:
            data = leaf_data(d, node, stamp)
            out.append((data, leaf_hash(data)))
    return out
