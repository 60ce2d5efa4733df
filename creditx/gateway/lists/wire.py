"""Domain list values ↔ ``creditx.v1`` list messages (ADR 0003: wire types stop here).

Enum values follow lists.proto: ``CHANGE_KIND_<kind>``, ``REMOVAL_REASON_<reason>``,
``LIST_ENTRY_STATE_<state>``; dates ISO 8601, "" when absent (DIST-017).
"""

from __future__ import annotations

import json
import zlib
from typing import cast

from creditx.standard.envelope import Envelope
from creditx.standard.lists.lifecycle import ListChange, ListEntry
from creditx.standard.lists.withheld import (
    INDEX_FIELDS,
    IndexSource,
    index_source,
    masked_person,
    origin_index_keys,
    withholds_origin,
    withholds_origin_bytes,
)
from creditx.standard.record import RecordError, decode_record
from creditx.v1 import envelope_pb2
from creditx.v1 import lists_pb2 as lpb


def _d(value) -> str:
    return value.isoformat() if value is not None else ""


def entry_to_pb(e: ListEntry) -> lpb.ListEntry:
    return lpb.ListEntry(
        entry_id=e.entry_id,
        list_type=e.list_type,
        colour=e.colour,
        subject_name=e.subject_name,
        subject_category=e.subject_category,
        subject_uscc=e.subject_uscc,
        subject_id_masked=e.subject_id_masked,
        listed_on=_d(e.listed_on),
        period_start=_d(e.period_start),
        period_end=_d(e.period_end),
        listing_reason=e.listing_reason,
        basis=e.basis,
        basis_document=e.basis_document,
        basis_number=e.basis_number,
        authority=e.authority,
        authority_uscc=e.authority_uscc,
        measures=e.measures,
        state=cast(lpb.ListEntryState, lpb.ListEntryState.Value(f"LIST_ENTRY_STATE_{e.state.value}")),
        removed_on=_d(e.removed_on),
        removal_reason=_reason(e.removal_reason),
        removal_authority=e.removal_authority,
        version=e.version,
        origin_fingerprint=e.origin_fp,
        origin_region=e.origin_region,
        listing=e.listing,
    )


def _reason(reason: str) -> lpb.RemovalReason:
    # Enum.Value() returns the number; the stubs want the enum type for message fields.
    return cast(lpb.RemovalReason, lpb.RemovalReason.Value(f"REMOVAL_REASON_{reason or 'UNSPECIFIED'}"))


def index_fields(payload: bytes) -> dict[str, str]:
    """The origin fields a withheld person's index keys are made of (INDEX_FIELDS), from its
    origin payload (a payload that does not decode gives none: the gateway accepted only records
    that did)."""
    try:
        fields = decode_record(payload).fields
    except RecordError:
        return {}
    return {k: fields[k] for k in INDEX_FIELDS if k in fields}


def index_keys(payload: bytes, index_key: bytes) -> list[str]:
    """DIST-077: the subject index keys of a withheld person's entry, from its origin payload."""
    return origin_index_keys(index_fields(payload), index_key)


def change_to_pb(c: ListChange, index_key: bytes = b"") -> lpb.ListChange:
    """DIST-032/076: a natural person's change goes without its origin, with the index keys
    made with the asking node's ``index_key`` instead."""
    msg = lpb.ListChange(
        list_seq=c.list_seq,
        kind=cast(lpb.ChangeKind, lpb.ChangeKind.Value(f"CHANGE_KIND_{c.kind.value}")),
        reason=_reason(c.reason),
        list_type=c.entry.list_type,
        entry=entry_to_pb(c.entry),
        at_unix_ms=int(c.at.timestamp() * 1000),
    )
    if c.origin is not None and withholds_origin(c.entry):  # DIST-076: stays at the gateway
        msg.subject_index.extend(index_keys(c.origin.payload, index_key) if index_key else ())
    elif c.origin is not None:  # DIST-032: byte for byte as the origin signed it
        msg.origin.CopyFrom(envelope_to_pb(c.origin))
    return msg


# --- Subscribe's fan-out: a batch assembled from changes encoded once -------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_CHANGES_TAG = b"\x0a"  # ListChangeBatch.changes: field 1, length-delimited


class EncodedChange:
    """One change of the log encoded once for every subscriber (DIST-030 fan-out): ``part`` is
    its ``changes`` field of a ListChangeBatch, ListChange without ``subject_index`` — all of it
    but for a natural person's change, whose index keys are made with each node's own key
    (DIST-077) from ``person`` (INDEX_FIELDS of the origin; None when nothing is added).
    ListChange's field 40 is the highest it has on Subscribe, so its body + the encoded keys are
    the same bytes protobuf would write for the whole."""

    __slots__ = ("at_ms", "header", "list_seq", "list_type", "part", "person")

    def __init__(self, c: ListChange) -> None:
        self.list_seq, self.list_type = c.list_seq, c.entry.list_type
        msg = change_to_pb(c)
        self.at_ms = msg.at_unix_ms
        body = msg.SerializeToString()
        self.part = _CHANGES_TAG + _varint(len(body)) + body
        self.header = len(self.part) - len(body)  # the field's tag and length
        withheld = c.origin is not None and withholds_origin(c.entry)
        self.person: IndexSource | None = (
            index_source(index_fields(c.origin.payload)) if withheld and c.origin else None
        )

    def keys(self, index_key: bytes) -> list[str]:
        """DIST-077: this change's subject index keys for the node of ``index_key`` (none but
        for a natural person's change)."""
        if self.person is None or not index_key:
            return []
        return self.person.keys(index_key)

    def field(self, index_key: bytes) -> bytes:
        """This change as a ``changes`` field of the batch sent to the node of ``index_key``."""
        keys = self.keys(index_key)
        if not keys:
            return self.part
        body = self.part[self.header :] + lpb.ListChange(subject_index=keys).SerializeToString()
        return _CHANGES_TAG + _varint(len(body)) + body


def batch_bytes(fields: list[bytes], through: int, head: int, live: bool) -> bytes:
    """A ListChangeBatch's encoding from its changes' fields (EncodedChange.field), in field order."""
    tail = lpb.ListChangeBatch(through_list_seq=through, head_list_seq=head, live=live).SerializeToString()
    return b"".join(fields) + tail


def compress_changes(changes: list[EncodedChange]) -> tuple[bytes, int]:
    """DIST-087: the shared block of a compressed batch and its size before compression: the
    changes' fields without any subject_index, zlib level 1 (stdlib; a change of ~1.5 KB
    shrinks to ~0.2 KB in a batch of a hundred for a few µs each)."""
    raw = b"".join(c.part for c in changes)
    return zlib.compress(raw, 1), len(raw)


def compressed_batch_bytes(
    block: bytes, size: int, persons: list[EncodedChange], index_key: bytes, through: int, head: int, live: bool
) -> bytes:
    """DIST-086…088: a compressed ListChangeBatch for the node of ``index_key``: the shared
    ``block`` and the side list of its ``persons``' index keys, made with that node's key."""
    side = [lpb.SubjectIndexKeys(list_seq=c.list_seq, subject_index=k) for c in persons if (k := c.keys(index_key))]
    return lpb.ListChangeBatch(
        through_list_seq=through,
        head_list_seq=head,
        live=live,
        changes_zlib=block,
        changes_size=size,
        subject_indexes=side,
    ).SerializeToString()


def envelope_to_pb(env: Envelope) -> envelope_pb2.Envelope:
    return envelope_pb2.Envelope(
        payload_type=env.payload_type,
        payload=env.payload,
        signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
    )


_STATE_PB = {"LISTED": lpb.LIST_ENTRY_STATE_LISTED, "REMOVED": lpb.LIST_ENTRY_STATE_REMOVED}
_DATE_KEYS = ("listed_on", "period_start", "period_end", "removed_on")


def entry_obj_to_pb(obj: dict) -> lpb.ListEntry:
    """A stored entry (``creditx.standard.lists.snapshot.entry_to_obj`` JSON) straight to its message —
    the snapshot's hot path: same fields as :func:`entry_to_pb` without building a ListEntry."""
    o = dict(obj)
    for k in _DATE_KEYS:
        o[k] = o[k] or ""
    o["state"] = _STATE_PB[o["state"]]
    o["removal_reason"] = lpb.RemovalReason.Value(f"REMOVAL_REASON_{o['removal_reason'] or 'UNSPECIFIED'}")
    o["origin_fingerprint"] = bytes.fromhex(o.pop("origin_fp"))
    return lpb.ListEntry(**o)


def origin_row_to_pb(payload_type: str, payload: bytes, sigs: str) -> envelope_pb2.Envelope:
    """DIST-075: a list_log origin (creditx.gateway.lists.store.envelope_to_json columns) as a message;
    an entry without an origin gets an empty Envelope so ``origins`` stays parallel to ``entries``."""
    if not payload_type:
        return envelope_pb2.Envelope()
    return envelope_pb2.Envelope(
        payload_type=payload_type,
        payload=bytes(payload),
        signatures=[
            envelope_pb2.Signature(keyid=k, suite=suite, sig=bytes.fromhex(h)) for k, suite, h in json.loads(sigs)
        ],
    )


def snapshot_chunk(
    rows,
    at: int,
    index: int,
    total: int,
    entries_total: int,
    index_key: bytes = b"",
    *,
    canonical: bool = False,
    origins: bool = True,
) -> lpb.SnapshotChunk:
    """DIST-070/075: one chunk from ``(entry JSON, origin_type, origin_payload, origin_sigs)`` rows;
    a natural person's origin is withheld and its index keys sent instead (DIST-076/077).
    ``canonical`` (DIST-081): the stored canonical bytes as they are, one line each, zlib level 1
    (stdlib; JSON entries shrink about 4× for a few µs each) — nothing decoded or re-encoded.
    ``origins`` False (DIST-082): no ``origins`` at all, only the persons' index keys (the rows
    then need a person's origin payload only, see ``store.Snapshot``)."""
    rows = list(rows)
    chunk = lpb.SnapshotChunk(at_list_seq=at, index=index, total=total, entries_total=entries_total)
    if canonical:
        blobs = [bytes(r[0]) for r in rows]
        chunk.entries_zlib = zlib.compress(b"\n".join(blobs) + b"\n" if blobs else b"", 1)
        persons = [withholds_origin_bytes(b) for b in blobs]
    else:
        objs = [json.loads(r[0]) for r in rows]
        chunk.entries.extend(entry_obj_to_pb(o) for o in objs)
        persons = [masked_person(o.get("subject_id_masked") or "") for o in objs]  # withholds_origin
    if not origins:  # DIST-082: an organisation's index keys come from its entry, a person's are sent
        chunk.subject_indexes.extend(
            "\n".join(index_keys(bytes(r[2]), index_key)) if person and r[1] and index_key else ""
            for r, person in zip(rows, persons, strict=True)
        )
        return chunk
    for r, person in zip(rows, persons, strict=True):
        if person:
            chunk.origins.append(envelope_pb2.Envelope())
            keys = index_keys(bytes(r[2]), index_key) if r[1] and index_key else []
            chunk.subject_indexes.append("\n".join(keys))
        else:
            chunk.origins.append(origin_row_to_pb(r[1], r[2], r[3]))
            chunk.subject_indexes.append("")
    return chunk
