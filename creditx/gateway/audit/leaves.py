"""Audit-log leaves of ingest decisions (RFC 9162 §2.1.1), one per stored decision (SYNC-031).

``leaf_data`` = RFC 8785 canonical JSON of
``{"kind":"record","fp":hex,"node":region,"seq":n,"decision":…,"reason":…,"at":RFC3339}`` and
``leaf_hash`` = SHA-256(0x00 || leaf_data). Pure: the time comes in as an argument.

The commit path builds one leaf per stored record, so :func:`leaf_data` fills a fixed template
when every string is made of characters RFC 8785 §3.2.2.2 writes verbatim (region codes,
reason codes, hex, RFC 3339 times) and the sequence number is an integer JSON numbers hold
exactly (RFC 8785 §3.2.2.3, below 2^53); anything else goes through the canonicaliser. The
template's keys are in RFC 8785 §3.2.3 order; a test holds both paths to the same bytes.
"""

from __future__ import annotations

import re
from datetime import datetime

from creditx.gateway.ingest.reasons import Outcome
from creditx.gateway.ingest.values import Decision
from creditx.standard.canonical import canonicalize
from creditx.standard.merkle import leaf_hash
from creditx.standard.receipts import record_leaf_data
from creditx.standard.timestamps import rfc3339

_VERBATIM = re.compile(r"[0-9A-Za-z_.:+\-]*")  # no character JCS would escape
_TEMPLATE = b'{"at":"%s","decision":"%s","fp":"%s","kind":"record","node":"%s","reason":"%s","seq":%d}'
_OUTCOME_NAME = {o: o.name.encode() for o in Outcome}
_EXACT_INT = 1 << 53


def leaf_data(decision: Decision, node: str, at: str) -> bytes:
    seq, reason = decision.source_seq, decision.reason
    if (
        type(seq) is int
        and 0 <= seq < _EXACT_INT
        and decision.outcome in _OUTCOME_NAME
        and _VERBATIM.fullmatch(reason)
        and _VERBATIM.fullmatch(node)
        and _VERBATIM.fullmatch(at)
    ):
        return _TEMPLATE % (
            at.encode(),
            _OUTCOME_NAME[decision.outcome],
            decision.fingerprint.hex().encode(),
            node.encode(),
            reason.encode(),
            seq,
        )
    return record_leaf_data(decision.fingerprint, node, decision.source_seq, decision.outcome.name, decision.reason, at)


def leaves_for(decisions: list[Decision], node: str, at: datetime) -> list[tuple[bytes, bytes]]:
    """(leaf_data, leaf_hash) for every decision that is stored, in order."""
    stamp = rfc3339(at)
    out = []
    for d in decisions:
        if d.stored:
            data = leaf_data(d, node, stamp)
            out.append((data, leaf_hash(data)))
    return out


def registry_leaf(version: int, sha256_hex: str, issued_at: str, expires_at: str, at: str) -> tuple[bytes, bytes]:
    """AUD-007: the ``(leaf_data, leaf_hash)`` of a member-registry version put in force: RFC 8785
    JSON of ``{"kind":"registry","version":n,"sha256":hex of the signed file,"issued_at",
    "expires_at","at"}``, so "who was allowed to do what, when" is provable from the log."""
    data = canonicalize(
        {
            "kind": "registry",
            "version": version,
            "sha256": sha256_hex,
            "issued_at": issued_at,
            "expires_at": expires_at,
            "at": at,
        }
    )
    return data, leaf_hash(data)
