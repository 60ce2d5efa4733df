"""Protobuf (lists.proto) ↔ :mod:`creditx.standard.lists.lifecycle` dataclasses, both ways (ADR 0003).

Invariant: nothing else in the node touches ``lists_pb2`` messages' fields; dates travel as
ISO 8601 text ("" for none), enums by their AUD-005 names. A malformed message raises
:class:`~creditx.standard.lists.lifecycle.ListError` ``DIST_BAD_ENTRY`` naming the field.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from google.protobuf.message import DecodeError

from creditx.standard.envelope import Envelope, Signature
from creditx.standard.lists.compressed import MAX_CHANGES_SIZE, corrupt, inflate_changes, join_index_keys
from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, ListError, State
from creditx.standard.lists.snapshot import SnapshotChunk, check_entry_obj, entry_from_obj
from creditx.standard.lists.withheld import check_index_keys, masked_person
from creditx.v1 import envelope_pb2
from creditx.v1 import lists_pb2 as pb

_TEXT = (
    "entry_id",
    "list_type",
    "colour",
    "subject_name",
    "subject_category",
    "subject_uscc",
    "subject_id_masked",
    "listing_reason",
    "basis",
    "basis_document",
    "basis_number",
    "authority",
    "authority_uscc",
    "measures",
    "removal_authority",
    "origin_region",
)
_STATE = {State.LISTED: pb.LIST_ENTRY_STATE_LISTED, State.REMOVED: pb.LIST_ENTRY_STATE_REMOVED}
_STATE_BACK = {v: k for k, v in _STATE.items()}
_KIND = {
    ChangeKind.ADD: pb.CHANGE_KIND_ADD,
    ChangeKind.CORRECT: pb.CHANGE_KIND_CORRECT,
    ChangeKind.REMOVE: pb.CHANGE_KIND_REMOVE,
}
_KIND_BACK = {v: k for k, v in _KIND.items()}
_REASON = {
    "": pb.REMOVAL_REASON_UNSPECIFIED,
    "EXPIRED": pb.REMOVAL_REASON_EXPIRED,
    "REPAIRED": pb.REMOVAL_REASON_REPAIRED,
    "REVOKED": pb.REMOVAL_REASON_REVOKED,
    "DEREGISTERED": pb.REMOVAL_REASON_DEREGISTERED,
}
_REASON_BACK = {v: k for k, v in _REASON.items()}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def _bad(field: str, message: str) -> ListError:
    return ListError(
        "DIST_BAD_ENTRY",
        "DIST-002",
        message,
        field=field,
        hint="the gateway sent a malformed list change; report it to the provincial operator",
    )


def _d(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _date(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(field, f"{field} {text!r} is not an ISO 8601 date") from None


def entry_to_pb(e: ListEntry) -> pb.ListEntry:
    return pb.ListEntry(
        **{k: getattr(e, k) for k in _TEXT},
        listed_on=_d(e.listed_on),
        period_start=_d(e.period_start),
        period_end=_d(e.period_end),
        removed_on=_d(e.removed_on),
        state=_STATE[e.state],
        removal_reason=_REASON[e.removal_reason],
        version=e.version,
        origin_fingerprint=e.origin_fp,
        listing=e.listing,
    )


def entry_from_pb(m: pb.ListEntry) -> ListEntry:
    if m.state not in _STATE_BACK:
        raise _bad("entry.state", f"entry {m.entry_id!r} has no state")
    if m.removal_reason not in _REASON_BACK:
        raise _bad("entry.removal_reason", f"unknown removal reason {m.removal_reason}")
    listed_on = _date(m.listed_on, "entry.listed_on")
    if listed_on is None or not m.entry_id:
        raise _bad("entry.listed_on" if m.entry_id else "entry.entry_id", "entry_id and listed_on are required")
    return ListEntry(
        **{k: getattr(m, k) for k in _TEXT},
        listed_on=listed_on,
        period_start=_date(m.period_start, "entry.period_start"),
        period_end=_date(m.period_end, "entry.period_end"),
        state=_STATE_BACK[m.state],
        removed_on=_date(m.removed_on, "entry.removed_on"),
        removal_reason=_REASON_BACK[m.removal_reason],
        version=m.version,
        origin_fp=bytes(m.origin_fingerprint),
        listing=m.listing,
    )


def envelope_to_pb(env: Envelope) -> envelope_pb2.Envelope:
    return envelope_pb2.Envelope(
        payload_type=env.payload_type,
        payload=env.payload,
        signatures=[envelope_pb2.Signature(keyid=s.keyid, suite=s.suite, sig=s.sig) for s in env.signatures],
    )


def envelope_from_pb(m: envelope_pb2.Envelope) -> Envelope:
    return Envelope(
        m.payload_type, bytes(m.payload), tuple(Signature(s.keyid, s.suite, bytes(s.sig)) for s in m.signatures)
    )


def change_to_pb(c: ListChange) -> pb.ListChange:
    return pb.ListChange(
        list_seq=c.list_seq,
        kind=_KIND[c.kind],
        reason=_REASON[c.reason],
        list_type=c.entry.list_type,
        entry=entry_to_pb(c.entry),
        origin=envelope_to_pb(c.origin) if c.origin is not None else None,
        at_unix_ms=(c.at - EPOCH) // MS,
    )


def change_from_pb(m: pb.ListChange) -> ListChange:
    if m.kind not in _KIND_BACK:
        raise _bad("kind", f"change {m.list_seq} has no kind")
    if m.reason not in _REASON_BACK:
        raise _bad("reason", f"change {m.list_seq} has an unknown removal reason {m.reason}")
    origin = envelope_from_pb(m.origin) if m.HasField("origin") else None
    at = EPOCH + m.at_unix_ms * MS  # exact: the leaf's `at` has milliseconds (DIST-050)
    return ListChange(m.list_seq, _KIND_BACK[m.kind], _REASON_BACK[m.reason], entry_from_pb(m.entry), at, origin)


MAX_CHUNK_TEXT = 256 * 1024 * 1024  # DIST-081: a compressed chunk never inflates beyond this


@dataclass(frozen=True)
class CanonicalChunk:
    """A DIST-081 chunk as the loader takes it (NODE-052): each entry as its checked JSON form
    (:func:`creditx.standard.lists.snapshot.check_entry_obj`) beside its canonical text, which is
    what the replica stores; no ListEntry is built."""

    at_list_seq: int
    index: int
    total: int
    objs: tuple[dict[str, Any], ...]

    @property
    def entry_ids(self) -> Iterable[str]:
        return (o["entry_id"] for o in self.objs)

    def entry(self, i: int) -> ListEntry:
        return entry_from_obj(self.objs[i])


def canonical_entries(data: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    """DIST-081: a chunk's ``entries_zlib``: each entry's JSON form, checked as an entry of the
    standard's members, and its canonical text, one per line, read back exactly (the text is
    what the replica stores). Inflation is bounded; any fault is ``DIST_BAD_ENTRY`` naming the
    field."""
    d = zlib.decompressobj()
    try:
        text = d.decompress(data, MAX_CHUNK_TEXT)
    except zlib.error as exc:
        raise _bad("entries_zlib", f"entries_zlib does not inflate: {exc}") from None
    if d.unconsumed_tail or not d.eof:
        raise _bad("entries_zlib", f"entries_zlib is truncated or inflates beyond {MAX_CHUNK_TEXT} bytes")
    lines = text.decode("utf-8", "strict").split("\n") if text else [""]
    if lines.pop() != "":
        raise _bad("entries_zlib", "entries_zlib does not end with a newline")
    try:
        objs = [orjson.loads(line) for line in lines]  # C: about 1 µs per entry (stdlib json: 6)
    except (ValueError, RecursionError) as exc:
        raise _bad("entries_zlib", f"an entry of entries_zlib is not JSON: {exc}") from None
    for o in objs:
        check_entry_obj(o)
    return objs, lines


def chunk_from_pb(
    m: pb.SnapshotChunk,
) -> tuple[SnapshotChunk | CanonicalChunk, list[Envelope | None], list[list[str]], list[str]]:
    """A snapshot chunk, its origins (DIST-075: parallel to the entries; an empty envelope or an
    older gateway's chunk without origins gives None), the index keys of the natural persons'
    entries, whose origins are withheld (DIST-076/077, checked), and, for a DIST-081 chunk, each
    entry's canonical text (stored as it came), for ``ReplicaStore.apply_chunk``."""
    chunk: SnapshotChunk | CanonicalChunk
    if m.entries_zlib:
        objs, bodies = canonical_entries(m.entries_zlib)
        chunk = CanonicalChunk(m.at_list_seq, m.index, m.total, tuple(objs))
        masked = [o["subject_id_masked"] for o in objs]
    else:
        entries, bodies = [entry_from_pb(e) for e in m.entries], []
        chunk = SnapshotChunk(m.at_list_seq, m.index, m.total, tuple(entries))
        masked = [e.subject_id_masked for e in entries]
    origins = [envelope_from_pb(o) if o.payload_type else None for o in m.origins]
    if m.subject_indexes and len(m.subject_indexes) != len(masked):
        raise _bad("subject_indexes", f"chunk {m.index}: subject_indexes is not parallel to entries")
    sent: list[list[str]] = []
    for i, text in enumerate(m.subject_indexes):
        withheld = masked_person(masked[i]) and (not origins or origins[i] is None)
        sent.append(check_index_keys(chunk.at_list_seq, text.split("\n")) if withheld else [])
    return chunk, origins, sent, bodies


def batch_changes(m: pb.ListChangeBatch, bound: int = MAX_CHANGES_SIZE) -> Sequence[pb.ListChange]:
    """DIST-086…089: a Subscribe batch's changes in either form — ``changes`` as sent, or the
    shared ``changes_zlib`` block inflated (never beyond ``bound``) with the side list's index
    keys joined to the persons' changes, as the gateway would have sent them uncompressed. A
    malformed batch raises ListError (DIST_BATCH_TOO_LARGE / DIST_BATCH_CORRUPT) and nothing of
    it is applied."""
    block = m.changes_zlib  # (each read of a bytes field is a copy)
    if not block:
        if m.subject_indexes or m.changes_size:
            raise corrupt("a batch without changes_zlib carries subject_indexes or changes_size", "changes_zlib")
        return m.changes
    if m.changes:
        raise corrupt("a batch carries both changes and changes_zlib", "changes")
    inner = pb.ListChangeBatch()
    try:
        inner.ParseFromString(inflate_changes(block, m.changes_size, bound))
    except DecodeError as exc:
        raise corrupt(f"changes_zlib does not hold ListChange fields: {exc}", "changes_zlib") from None
    if [f.name for f, _ in inner.ListFields()] not in ([], ["changes"]):
        raise corrupt("changes_zlib holds more than changes", "changes_zlib")
    changes = inner.changes
    withheld: dict[int, pb.ListChange] = {}
    for c in changes:  # one pass: a batch holds a hundred changes or more
        if c.subject_index:
            raise corrupt("a change inside changes_zlib carries subject_index (DIST-088: beside it)", "changes_zlib")
        if not c.HasField("origin"):
            withheld[c.list_seq] = c
    if m.subject_indexes:
        keys = join_index_keys(list(withheld), [(s.list_seq, s.subject_index) for s in m.subject_indexes])
        for seq, k in keys.items():
            withheld[seq].subject_index.extend(k)
    return changes
