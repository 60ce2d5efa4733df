"""The departments' feed across a re-bootstrap (DIST-061, DIST-062, NODE-048). Pure: no SQLite.

A department's feed is the list log in ``list_seq`` order, and its cursor is a ``list_seq``
(DIST-061). A replica that is reset (operator, divergence, a rolled-back or forged checkpoint)
re-bootstraps from a snapshot at ``S`` while the departments were fed up to the old replica's
applied ``A``: the changes ``A+1 … S`` are never received one by one. The feed then carries, in
their place:

* one **marker** (:class:`Skipped`) naming the range ``A+1 … S`` and the snapshot it was
  jumped by, and
* the **state difference** between the old replica (at ``A``) and the snapshot (at ``S``): one
  record per entry added, changed or removed, as a net change (ADD / CORRECT / REMOVE) whose
  entry is the entry as the snapshot holds it (:func:`difference_kind`).

The difference has at most ``S - A`` records in an honest log (each differing entry was touched
by a skipped change), so record ``k`` of ``n`` takes position ``A + k`` and the last takes ``S``
(:func:`positions`): every position is a plain ``list_seq`` cursor, a department acknowledges
part of a long difference like any other page, and the marker travels with the first record.
Items that share a position (the marker and its first record; the surplus of a difference
larger than its range, seen only after a divergence) are never split across pages
(:func:`page`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from creditx.standard.lists.lifecycle import ChangeKind, ListChange, ListEntry, ListError, State

MARKER = "SKIPPED"  # the stored kind of a marker row


@dataclass(frozen=True)
class Skipped:
    """DIST-062: the log range ``first … last`` a snapshot at ``snapshot_list_seq`` jumped over,
    and how many state-difference records stand in its place."""

    first: int
    last: int
    snapshot_list_seq: int
    differences: int

    def to_obj(self) -> dict[str, int]:
        return {
            "from_list_seq": self.first,
            "to_list_seq": self.last,
            "snapshot_list_seq": self.snapshot_list_seq,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class FeedItem:
    """One record of a feed: a log change, a state-difference record (``skipped`` set) or a
    marker (``change`` None). ``first`` … ``through`` are the positions it stands for."""

    first: int
    through: int
    change: ListChange | None = None
    skipped: Skipped | None = None

    @property
    def is_marker(self) -> bool:
        return self.change is None


def positions(after: int, last: int, n: int) -> list[int]:
    """The cursor position of each of ``n`` difference records of the range ``after+1 … last``:
    ``after+1, after+2, …`` and ``last`` for the final one; records beyond the range's width
    share ``last``."""
    return [last if k == n - 1 else min(after + 1 + k, last) for k in range(n)]


def difference_kind(old: ListEntry | None, new: ListEntry) -> tuple[ChangeKind, str]:
    """The net change from ``old`` (None: not held) to ``new``, and its removal reason."""
    if old is None:
        return ChangeKind.ADD, ""
    if new.state is State.REMOVED and old.state is State.LISTED:
        return ChangeKind.REMOVE, new.removal_reason
    return ChangeKind.CORRECT, ""


def page(
    cursor: int, items: Sequence[FeedItem], list_types: frozenset[str], *, max_changes: int
) -> tuple[list[FeedItem], int]:
    """DIST-061/062: the next page for a department at ``cursor`` from the items after it (in
    position order) and the cursor to store once it is acknowledged. Items of other list types
    move the cursor without being sent; markers are always sent; items of one position stay
    together. Raises ``DIST_GAP`` when the source skips a position."""
    out: list[FeedItem] = []
    new_cursor = cursor
    i = 0
    while i < len(items):
        through = items[i].through
        j = i
        while j < len(items) and items[j].through == through:
            j += 1
        group, i = items[i:j], j
        if through <= new_cursor:
            continue
        if group[0].first != new_cursor + 1:
            raise ListError("DIST_GAP", "DIST-061", f"feed source skipped from {new_cursor} to {group[0].first}")
        wanted = [it for it in group if it.change is None or not list_types or it.change.entry.list_type in list_types]
        if out and len(out) + len(wanted) > max_changes:
            break
        out += wanted
        new_cursor = through
    return out, new_cursor
