"""Snapshots of the list state: entry encoding, chunking maths and resumption (DIST-070 …).

A new node bootstraps from a snapshot *at one list_seq* — every entry (listed and removed) as
it stood after that change — streamed in chunks, then subscribes from ``at_list_seq + 1``.

Invariants kept here:

* DIST-070 a snapshot is consistent at one ``at_list_seq``: every chunk carries it and a node
  never mixes chunks of two snapshots.
* DIST-071 entries are ordered by ``entry_id`` (code-point order) and chunked greedily by the
  size of their canonical encoding (:func:`entry_bytes`) within ``max_bytes`` and
  ``max_entries``: the same state and limits always give the same chunks, so chunk ``k`` of a
  snapshot means the same thing after a restart.
* DIST-072 a node commits each chunk with its progress (at_list_seq, next chunk, last entry_id)
  in one transaction; after a kill it asks for the same snapshot from the next chunk. If the
  gateway can no longer serve that snapshot the node starts a new one from chunk 0 and
  discards the partial state.
* DIST-073 the replica cursor becomes ``at_list_seq`` only when the last chunk is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Protocol

from creditx.standard.canonical import canonicalize
from creditx.standard.lists.lifecycle import ListEntry, ListError, State

_DATES = ("listed_on", "period_start", "period_end", "removed_on")


def entry_to_obj(e: ListEntry) -> dict[str, Any]:
    """The JSON form of an entry: dates ISO 8601 (or null), state and fingerprint as text."""
    obj = {f.name: getattr(e, f.name) for f in fields(e)}
    for k in _DATES:
        obj[k] = obj[k].isoformat() if obj[k] is not None else None
    obj["state"] = e.state.value
    obj["origin_fp"] = e.origin_fp.hex()
    return obj


_ENTRY_MEMBERS = frozenset(f.name for f in fields(ListEntry))  # once: the snapshot reads millions


def check_entry_obj(obj: Any) -> dict[str, Any]:
    """DIST-071/081: ``obj`` is an entry's JSON form (:func:`entry_to_obj`): exactly the standard's
    members, dates ISO 8601 or null, a known state, the fingerprint hex. Returns the typed
    values of the members that are not text (dates, state, fingerprint), so that
    :func:`entry_from_obj` builds the entry from the same checks and a snapshot's loader can
    store the entry's bytes without building it; ListError naming the member otherwise."""
    names = _ENTRY_MEMBERS
    if not isinstance(obj, dict) or obj.keys() != names:
        extra = sorted(set(obj) ^ names) if isinstance(obj, dict) else ["(not an object)"]
        raise ListError(
            "DIST_BAD_ENTRY", "DIST-071", f"entry members differ from the standard's: {extra}", field=extra[0]
        )
    try:
        typed: dict[str, Any] = {k: date.fromisoformat(obj[k]) if obj[k] is not None else None for k in _DATES}
        typed["state"] = State(obj["state"])
        typed["origin_fp"] = bytes.fromhex(obj["origin_fp"])
    except (TypeError, ValueError) as exc:
        raise ListError("DIST_BAD_ENTRY", "DIST-071", f"entry {obj.get('entry_id')!r}: {exc}") from None
    return typed


def entry_from_obj(obj: dict[str, Any]) -> ListEntry:
    """Inverse of :func:`entry_to_obj`; ListError naming the member when it does not fit."""
    return ListEntry(**{**obj, **check_entry_obj(obj)})


def entry_bytes(e: ListEntry) -> bytes:
    """DIST-071: the canonical (RFC 8785) bytes of an entry; their length is what a chunk counts."""
    return canonicalize(entry_to_obj(e))


def plan_chunks(sizes: Sequence[int], *, max_bytes: int, max_entries: int) -> list[range]:
    """DIST-071: split entries of the given encoded sizes (already in entry_id order) into
    consecutive index ranges, each within ``max_bytes`` and ``max_entries``. An empty snapshot
    is one empty chunk (so a node still learns ``at_list_seq``). Raises for an entry that alone
    exceeds ``max_bytes``."""
    if max_bytes < 1 or max_entries < 1:
        raise ValueError("max_bytes and max_entries must be positive")
    chunks: list[range] = []
    start, used = 0, 0
    for i, size in enumerate(sizes):
        if size > max_bytes:
            raise ListError(
                "DIST_ENTRY_TOO_LARGE",
                "DIST-071",
                f"entry {i} is {size} bytes, more than a chunk's {max_bytes}",
                hint="raise the snapshot chunk limit above the record size limit (SIG-020)",
            )
        if i > start and (used + size > max_bytes or i - start == max_entries):
            chunks.append(range(start, i))
            start, used = i, 0
        used += size
    chunks.append(range(start, len(sizes)))
    return chunks


@dataclass(frozen=True)
class SnapshotChunk:
    at_list_seq: int
    index: int
    total: int
    entries: tuple[ListEntry, ...]

    @property
    def entry_ids(self) -> Iterable[str]:
        return (e.entry_id for e in self.entries)


class ChunkHead(Protocol):
    """What :func:`accept_chunk` reads of a chunk: its snapshot, position and entry ids in order
    (a :class:`SnapshotChunk`, or a loader's form of one that keeps the entries as bytes)."""

    @property
    def at_list_seq(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def entry_ids(self) -> Iterable[str]: ...


def chunk_snapshot(
    entries: Sequence[ListEntry], at_list_seq: int, *, max_bytes: int, max_entries: int
) -> list[SnapshotChunk]:
    """DIST-070/071: the chunks of a snapshot of ``entries`` at ``at_list_seq``."""
    ordered = sorted(entries, key=lambda e: e.entry_id)
    ranges = plan_chunks([len(entry_bytes(e)) for e in ordered], max_bytes=max_bytes, max_entries=max_entries)
    return [SnapshotChunk(at_list_seq, i, len(ranges), tuple(ordered[r.start : r.stop])) for i, r in enumerate(ranges)]


@dataclass(frozen=True)
class SnapshotProgress:
    """DIST-072: what a node commits with each applied chunk."""

    at_list_seq: int
    next_chunk: int
    total: int
    last_entry_id: str = ""

    @property
    def complete(self) -> bool:
        return self.next_chunk == self.total


def accept_chunk(progress: SnapshotProgress | None, chunk: ChunkHead) -> SnapshotProgress:
    """DIST-070/072: check that ``chunk`` continues ``progress`` (None: a new snapshot, chunk 0)
    and return the progress to commit with its entries. Raises ListError otherwise."""

    def bad(reason: str, message: str) -> ListError:
        return ListError(
            reason, "DIST-072", message, hint="discard the partial snapshot and request a new one from chunk 0"
        )

    if progress is None:
        progress = SnapshotProgress(chunk.at_list_seq, 0, chunk.total)
    if chunk.at_list_seq != progress.at_list_seq:
        raise bad("DIST_SNAPSHOT_MIXED", f"chunk of snapshot {chunk.at_list_seq} in snapshot {progress.at_list_seq}")
    if chunk.index != progress.next_chunk or chunk.total != progress.total or chunk.index >= chunk.total:
        raise bad(
            "DIST_SNAPSHOT_ORDER",
            f"chunk {chunk.index}/{chunk.total} where {progress.next_chunk}/{progress.total} was expected",
        )
    last = progress.last_entry_id
    for eid in chunk.entry_ids:
        if last and eid <= last:
            raise bad("DIST_SNAPSHOT_ORDER", f"entry {eid!r} is not after {last!r}")
        last = eid
    return SnapshotProgress(progress.at_list_seq, chunk.index + 1, chunk.total, last)
