"""A node's list replica rules: apply in order, answer "is this subject listed?", feed departments.

Pure; the node's SQLite shell calls these inside its transactions (DIST-042: the replica change
and the applied list_seq commit together).

Invariants kept here:

* DIST-040 a replica applies change ``applied + 1`` and nothing else: a change at or below
  ``applied`` is a duplicate of one already applied (at-least-once delivery, DIST-031) and is
  skipped; one above ``applied + 1`` is a gap and is never applied — the node resubscribes
  from ``applied + 1``. :func:`plan_batch` never returns a plan that leaves a gap.
* DIST-060 a check answer lists every *current* membership (LISTED entries) of the subject
  and, apart, its history (REMOVED entries); it always says up to which list_seq the replica is
  applied and when it last heard from the gateway, and flags ``stale`` past a configured age.
* DIST-061 a department's feed is the list log filtered by its list types; its cursor is the
  last list_seq delivered to it, so a department never sees a change twice after acknowledging.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditx.standard.lists.lifecycle import ListChange, ListEntry, ListError, State


class Action(enum.Enum):
    APPLY = "apply"
    SKIP_DUPLICATE = "skip-duplicate"
    GAP = "gap"


def next_action(applied_seq: int, incoming_seq: int) -> Action:
    """DIST-040: what a replica at ``applied_seq`` does with change ``incoming_seq``."""
    if applied_seq < 0 or incoming_seq < 1:
        raise ValueError(f"DIST-001: list_seq starts at 1 (applied {applied_seq}, incoming {incoming_seq})")
    if incoming_seq <= applied_seq:
        return Action.SKIP_DUPLICATE
    return Action.APPLY if incoming_seq == applied_seq + 1 else Action.GAP


@dataclass(frozen=True)
class BatchPlan:
    apply: tuple[ListChange, ...]
    skipped: int
    applied_seq: int  # the cursor to commit with the applied changes (DIST-042)


def plan_batch(applied_seq: int, changes: Sequence[ListChange]) -> BatchPlan:
    """DIST-040: the changes of one batch to apply, in order. Raises ``DIST_GAP`` when the batch
    skips a list_seq (nothing of it is applied: the shell resubscribes from ``applied_seq + 1``)."""
    cursor, todo, skipped = applied_seq, [], 0
    for c in changes:
        action = next_action(cursor, c.list_seq)
        if action is Action.GAP:
            raise ListError(
                "DIST_GAP",
                "DIST-040",
                f"change {c.list_seq} arrived after list_seq {cursor}; {cursor + 1} is missing",
                hint=f"resubscribe with from_list_seq={applied_seq + 1}",
            )
        if action is Action.SKIP_DUPLICATE:
            skipped += 1
            continue
        todo.append(c)
        cursor = c.list_seq
    return BatchPlan(tuple(todo), skipped, cursor)


def entry_subject(entry_id: str) -> str:
    """DIST-060: the subject id part of a LIST natural key (REC-FP-012 … REC-FP-014): the USCC,
    ``R:``+工商注册号, or ``P:``+keyed hash — the value a replica indexes subjects by, so a
    natural person is found by :func:`creditx.standard.natural_key.person_subject_id` without storing
    the ID number."""
    parts = entry_id.split("|")
    if len(parts) != 5 or parts[0] != "LIST":
        raise ValueError(f"DIST-060: {entry_id!r} is not a LIST natural key")
    return parts[-1].replace("%7C", "|").replace("%25", "%")


@dataclass(frozen=True)
class CheckAnswer:
    memberships: tuple[ListEntry, ...]  # current (LISTED), black before red, then by list type
    history: tuple[ListEntry, ...]  # removed, most recent removal first
    applied_list_seq: int
    last_update: datetime | None
    stale: bool


def check_answer(
    entries: Iterable[ListEntry],
    *,
    applied_list_seq: int,
    last_update: datetime | None,
    now: datetime,
    max_age: timedelta,
) -> CheckAnswer:
    """DIST-060: the answer to "is this subject listed?" from the entries the replica holds for
    the subject. ``stale`` when the replica has not heard from the gateway for ``max_age``."""
    entries = list(entries)
    current = sorted(
        (e for e in entries if e.state is State.LISTED),
        key=lambda e: (e.colour != "black", e.list_type, e.listed_on, e.entry_id),
    )
    removed = sorted(
        (e for e in entries if e.state is State.REMOVED), key=lambda e: (e.removed_on, e.entry_id), reverse=True
    )
    stale = last_update is None or now - last_update > max_age
    return CheckAnswer(tuple(current), tuple(removed), applied_list_seq, last_update, stale)


def feed_batch(
    cursor: int, changes: Sequence[ListChange], list_types: frozenset[str], *, max_changes: int
) -> tuple[list[ListChange], int]:
    """DIST-061: the next feed batch for a department at ``cursor`` from log changes after it
    (in list_seq order) and the cursor to store once the department acknowledged it. Changes of
    other list types advance the cursor without being sent; an empty filter means all types."""
    out: list[ListChange] = []
    new_cursor = cursor
    for c in changes:
        if c.list_seq <= cursor:
            continue
        if c.list_seq != new_cursor + 1:
            raise ListError("DIST_GAP", "DIST-061", f"feed source skipped from {new_cursor} to {c.list_seq}")
        if not list_types or c.entry.list_type in list_types:
            if len(out) == max_changes:
                break
            out.append(c)
        new_cursor = c.list_seq
    return out, new_cursor
