"""Automatic removal of list entries whose management period has ended (DIST-020 … DIST-022).

Pure: the scheduled job on the gateway passes ``today`` and ``at``; nothing here reads a clock.

Invariants kept here:

* DIST-020 the end of an entry's management period is its MD_GLQX_Z; without one, it is the
  start (MD_GLQX_Q, else the listing date MD_LRRQ) plus the catalogue's ``term_months`` for its
  list type — periods change by decree, so they are catalogue *data*, never constants here. A
  list type without a term (e.g. JYYC 经营异常名录) never expires by itself.
* DIST-021 an entry is due when ``today`` is after the last day of its period; the removal is
  dated the first day after the period (deterministic, whenever the job happens to run), with
  reason EXPIRED; :func:`due_for_expiry` orders its answer by (end, entry_id) so two runs over the
  same entries publish the same changes in the same order.
* DIST-022 only LISTED entries are ever due; an entry removed meanwhile yields a no-op.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from creditx.standard.catalogue import Catalogue, load_catalogue
from creditx.standard.lists.lifecycle import ChangeDecision, Event, ListEntry, ListError, State, decide


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months; the day is clamped to the month's end (2024-02-29
    plus 12 months is 2025-02-28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def period_end(entry: ListEntry, catalogue: Catalogue | None = None) -> date | None:
    """DIST-020: the last day of ``entry``'s management period, None when it has no end."""
    if entry.period_end is not None:
        return entry.period_end
    lt = (catalogue or load_catalogue()).list_type(entry.list_type)
    term = lt.term_for(entry.listing_reason) if lt is not None else None
    if term is None:
        return None
    start = entry.period_start or entry.listed_on
    return add_months(start, term) - timedelta(days=1)


@dataclass(frozen=True)
class Due:
    entry_id: str
    list_type: str
    period_end: date
    removed_on: date  # the first day after the period (DIST-021)


def due_for_expiry(entries: Iterable[ListEntry], today: date, catalogue: Catalogue | None = None) -> list[Due]:
    """DIST-021: the LISTED entries whose period ended before ``today``, by (end, entry_id)."""
    cat = catalogue or load_catalogue()
    out = []
    for e in entries:
        if e.state is not State.LISTED:
            continue
        end = period_end(e, cat)
        if end is not None and end < today:
            out.append(Due(e.entry_id, e.list_type, end, end + timedelta(days=1)))
    out.sort(key=lambda d: (d.period_end, d.entry_id))
    return out


def expire(entry: ListEntry, *, today: date, at: datetime, catalogue: Catalogue | None = None) -> ChangeDecision:
    """DIST-021/022: the REMOVE(EXPIRED) change for one entry, through the lifecycle table.
    An entry that is not due is refused (``DIST_NOT_DUE``): the job must not guess."""
    if entry.state is State.REMOVED:
        return decide(entry, Event.REMOVE, "EXPIRED", entry, at=at)
    end = period_end(entry, catalogue)
    if end is None or end >= today:
        return ChangeDecision(
            error=ListError(
                "DIST_NOT_DUE",
                "DIST-021",
                f"entry {entry.entry_id!r} is not due: its period ends {end or 'never'}, today is {today}",
                hint="expire only what due_for_expiry returned for the same day",
            )
        )
    after = replace(entry, removed_on=end + timedelta(days=1), removal_reason="EXPIRED", removal_authority="")
    return decide(entry, Event.REMOVE, "EXPIRED", after, at=at)
